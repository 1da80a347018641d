"""What a dataset directory looks like: its splits, its shards, and where clips start.

Every command that takes "a dataset, a shard directory or a shard file"
resolves it here, so they all agree on what each of those is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ShardError

SPLITS = ("train", "val")
FAILURES = "failures"  # rejected clips that could be processed, kept for analysis; never read unless asked
PARTITIONS = (*SPLITS, FAILURES)
BUILD_INFO = "build_info.json"
MANIFEST = "manifest_resolved.csv"
DATASET_MARKERS = (BUILD_INFO, MANIFEST)


def is_dataset_dir(path: Path) -> bool:
    """A dataset directory: mimicdata's (build_info.json) or the old tool's (manifest beside train/ or val/)."""
    path = Path(path)
    if not path.is_dir():
        return False
    if (path / BUILD_INFO).is_file():
        return True
    return (path / MANIFEST).is_file() and any((path / s).is_dir() for s in SPLITS)


def is_mimicdata_dataset(path: Path) -> bool:
    """A directory mimicdata built (and may therefore replace)."""
    return (Path(path) / BUILD_INFO).is_file()


def looks_like_dataset(path: Path) -> bool:
    """Whether a folder holds a built dataset's files at its top (so it is no folder of motion inputs)."""
    return Path(path).is_dir() and any((Path(path) / m).exists() for m in DATASET_MARKERS)


def npz_files(path: Path) -> list[Path]:
    """The .npz files under a folder (recursively), hidden ones left out; a file is itself."""
    path = Path(path)
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.npz") if not any(part.startswith(".") for part in p.relative_to(path).parts))


def split_shard_files(dataset: Path, split: str) -> list[Path]:
    """The shards of one split of a dataset directory, in name order (none if the split is absent)."""
    folder = Path(dataset) / split
    return sorted(p for p in folder.glob("*.npz") if not p.name.startswith(".")) if folder.is_dir() else []


def dataset_shards(dataset: Path) -> dict[str, list[Path]]:
    """partition -> shard files, for every split (and the failures partition) a dataset directory has."""
    return {s: files for s in PARTITIONS if (files := split_shard_files(dataset, s))}


def shard_files(path: Path, split: str | None = None) -> list[Path]:
    """The shards of a dataset split (train by default; "failures" only when asked), of a shard directory,
    or one shard file."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ShardError(f"{path}: not found")
    if is_dataset_dir(path) or any((path / s).is_dir() for s in SPLITS):
        split = split or "train"
        if split not in PARTITIONS:
            raise ShardError(f"{path}: split must be one of {PARTITIONS}, not {split!r}")
        files = split_shard_files(path, split)
        path = path / split
    elif split is not None:
        raise ShardError(f"{path}: a shard directory has no splits; drop split={split!r} or pass the dataset directory")
    else:
        files = sorted(p for p in path.glob("*.npz") if not p.name.startswith("."))
    if not files:
        raise ShardError(f"{path}: holds no .npz shards")
    return files


def clip_starts(lengths: np.ndarray) -> np.ndarray:
    """Where each of clips of these lengths starts when they are concatenated in order."""
    lengths = np.asarray(lengths, dtype=np.int64)
    return np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if lengths.size else lengths.copy()
