"""Per-clip build cache, keyed by content, in two levels.

- motion: what ingest (and, for BVH, retarget) made of one input file, keyed
  by the file's sha256, the reader's resolved options, the robot model's
  hash, the retarget configs and the tool version. The expensive part.
- clip: the finished clip (or its rejection), keyed by the motion key plus
  every later stage's options (target fps, preprocess, weight).

Changing a preprocess threshold therefore misses the clip level only and
re-runs resample, FK and preprocess from the cached motion; adding a file
computes that file only. Entries are written to a temporary name and renamed,
so a killed build leaves whole entries or none. Keys are content hashes, so
one cache directory can serve any number of datasets.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .atomic import atomic_file, sweep_temporaries
from .motion import RobotMotion
from .shards import file_sha256

# Bump when a stage's output changes for the same inputs and options.
CACHE_SCHEMA = 1


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The tool version, the cache schema and the content of every bundled retarget config."""
    configs = Path(__file__).parent / "retarget" / "configs"
    h = hashlib.sha256(f"{__version__}/{CACHE_SCHEMA}".encode())
    for path in sorted(configs.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(configs).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


@dataclass(frozen=True)
class ClipCache:
    root: Path

    # ------------------------------------------------------------ input hashes

    def input_sha256(self, path: Path) -> str:
        """sha256 of a file's bytes, remembered by (path, size, mtime, inode) so unchanged files are not re-read."""
        stat = path.stat()
        memo = self._entry("stat", _digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino), ".txt")
        try:
            known = memo.read_text()
            if len(known) == 64:
                return known
        except OSError:
            pass
        digest = file_sha256(path)
        with atomic_file(memo, self.tmp, durable=False) as (fh, _):
            fh.write(digest.encode())
        return digest

    # ------------------------------------------------------------ keys

    @staticmethod
    def motion_key(
        input_sha256: str,
        source_type: str,
        reader_options: dict,
        max_frames: int | None,
        robot_sha256: str,
        bvh_format_file: Path | None = None,
    ) -> str:
        custom = file_sha256(bvh_format_file) if bvh_format_file is not None and bvh_format_file.is_file() else None
        return _digest(
            "motion", input_sha256, source_type, reader_options, max_frames, robot_sha256, custom, code_fingerprint()
        )

    @staticmethod
    def clip_key(motion_key: str, later_stages: dict) -> str:
        return _digest("clip", motion_key, later_stages)

    # ------------------------------------------------------------ motion level

    def load_motion(self, key: str) -> tuple[RobotMotion, tuple[str, ...]] | None:
        path = self._entry("motion", key, ".npz")
        try:
            with np.load(path, allow_pickle=False) as data:
                motion = RobotMotion(
                    float(data["fps"]),
                    data["root_pos"],
                    data["root_quat"],
                    data["joint_pos"],
                    tuple(str(n) for n in data["joint_names"]),
                )
                return motion, tuple(str(n) for n in data["notes"])
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            return None  # absent, or damaged (zip CRCs are checked on read): computed again

    def store_motion(self, key: str, motion: RobotMotion, notes: tuple[str, ...]) -> None:
        arrays = {
            "fps": np.array(motion.fps),
            "root_pos": motion.root_pos,
            "root_quat": motion.root_quat,
            "joint_pos": motion.joint_pos,
            "joint_names": np.array(motion.joint_names, dtype=str),
            "notes": np.array(list(notes), dtype=str),
        }
        with atomic_file(self._entry("motion", key, ".npz"), self.tmp, durable=False) as (fh, _):
            np.savez(fh, **arrays)

    # ------------------------------------------------------------ clip level

    def load_clip(self, key: str) -> tuple[dict, Path | None] | None:
        """(result fields, path of the clip file or None for a rejection), or None on a miss."""
        meta = self._entry("clip", key, ".json")
        try:
            fields = json.loads(meta.read_text())
        except (OSError, ValueError):
            return None
        if not fields.get("kept"):
            return fields, None
        clip = self._entry("clip", key, ".npz")
        try:
            intact = file_sha256(clip) == fields.get("sha256")
        except OSError:
            return None
        return (fields, clip) if intact else None

    def store_clip(self, key: str, fields: dict, clip_file: Path | None = None, clip_sha256: str = "") -> None:
        """Remember a clip (its file is linked, not copied) or a rejection; the clip's hash is checked on reuse."""
        if clip_file is not None:
            link_or_copy(clip_file, self._entry("clip", key, ".npz"), self.tmp)
            fields = {**fields, "sha256": clip_sha256}
        with atomic_file(self._entry("clip", key, ".json"), self.tmp, durable=False) as (fh, _):
            fh.write(json.dumps(fields, sort_keys=True).encode())

    @property
    def tmp(self) -> Path:
        """Where entries are written before being renamed into place (swept by `sweep`)."""
        return self.root / "tmp"

    def sweep(self) -> int:
        """Remove what killed builds left half-written; returns how many files."""
        return sweep_temporaries(self.tmp) if self.tmp.is_dir() else 0

    def _entry(self, kind: str, key: str, suffix: str) -> Path:
        return self.root / kind / key[:2] / f"{key}{suffix}"


def link_or_copy(source: Path, target: Path, tmp_dir: Path | None = None) -> None:
    """Put `source`'s bytes at `target` atomically: a hard link where the filesystem allows, else a copy.

    Safe because neither side is ever modified in place: every writer
    replaces a file by renaming a new one over it.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tmp_dir or target.parent) / f".{target.name}.tmp-{os.getpid()}"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)
        with atomic_file(target, tmp_dir, durable=False) as (fh, _), open(source, "rb") as src:
            shutil.copyfileobj(src, fh, 1 << 20)
