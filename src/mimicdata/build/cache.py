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
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..dataset.shards import file_sha256
from ..infra.atomic import atomic_file, sweep_temporaries
from ..motion import ReadMotion, RobotMotion

# Bump when a stage's output changes for the same inputs and options.
CACHE_SCHEMA = 3  # 3: BVH offsets read exactly (not float32), a leaf without an End Site ends where it starts
_MOTION_MAGIC = b"mimicdata-motion\n"


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The tool version, the cache schema and the content of every bundled retarget config."""
    configs = Path(__file__).parents[1] / "retarget" / "configs"
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

    def input_hashes(self, dataset: str) -> dict[str, list[str]]:
        """What the last build of `dataset` learnt: path -> [file identity, sha256]; empty if unknown or damaged."""
        try:
            known = json.loads(self._hashes_file(dataset).read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(known, dict):
            return {}
        return {
            path: entry
            for path, entry in known.items()
            if isinstance(entry, list) and len(entry) == 2 and all(isinstance(x, str) for x in entry)
        }

    def remember_input_hashes(self, dataset: str, hashes: dict[str, list[str]]) -> None:
        """One file per dataset, rewritten whole by its build's main process (the build lock serialises them)."""
        with atomic_file(self._hashes_file(dataset), self.tmp, durable=False) as (fh, _):
            fh.write(json.dumps(hashes, sort_keys=True).encode())

    def _hashes_file(self, dataset: str) -> Path:
        return self.root / "inputs" / f"{dataset}.json"

    def pair_verdicts(self, dataset: str) -> dict[str, bool]:
        """Which clip pairs the last build of `dataset` compared frame by frame (build/duplicates.py), and
        whether they were one motion: "content key:content key" -> bool; empty if unknown or damaged."""
        try:
            known = json.loads(self._pairs_file(dataset).read_text())
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in known.items() if isinstance(v, bool)} if isinstance(known, dict) else {}

    def remember_pair_verdicts(self, dataset: str, verdicts: dict[str, bool]) -> None:
        with atomic_file(self._pairs_file(dataset), self.tmp, durable=False) as (fh, _):
            fh.write(json.dumps(verdicts, sort_keys=True).encode())

    def _pairs_file(self, dataset: str) -> Path:
        return self.root / "pairs" / f"{dataset}.json"

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

    def load_motion(self, key: str) -> ReadMotion | None:
        """The cached motion, or None if absent or damaged (its CRC-32 is checked): then it is computed again."""
        try:
            data = bytearray(self._entry("motion", key, ".bin").read_bytes())
            if not data.startswith(_MOTION_MAGIC):
                return None
            start = len(_MOTION_MAGIC) + 8
            size = int.from_bytes(data[len(_MOTION_MAGIC) : start], "little")
            meta = json.loads(data[start : start + size])
            payload = memoryview(data)[start + size :]
            names = tuple(meta["joint_names"])
            if zlib.crc32(payload) != meta["crc32"] or len(payload) != meta["frames"] * (7 + len(names)) * 8:
                return None
            table = np.frombuffer(payload, dtype="<f8").reshape(meta["frames"], 7 + len(names))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        motion = RobotMotion(float(meta["fps"]), table[:, :3], table[:, 3:7], table[:, 7:], names)
        return ReadMotion(motion, tuple(meta["notes"]), meta.get("quality"))

    def store_motion(self, key: str, read: ReadMotion) -> None:
        """One small file per motion: magic, header length, JSON header, then frames as rows of float64."""
        motion = read.motion
        payload = np.concatenate([motion.root_pos, motion.root_quat, motion.joint_pos], axis=1).astype("<f8").tobytes()
        meta = json.dumps({
            "fps": float(motion.fps), "frames": motion.num_frames, "joint_names": list(motion.joint_names),
            "notes": list(read.notes), "quality": read.quality, "crc32": zlib.crc32(payload),
        }).encode()
        with atomic_file(self._entry("motion", key, ".bin"), self.tmp, durable=False) as (fh, _):
            fh.write(b"".join([_MOTION_MAGIC, len(meta).to_bytes(8, "little"), meta, payload]))

    # ------------------------------------------------------------ clip level

    def load_clip(self, key: str) -> tuple[dict, Path | None] | None:
        """(result fields, path of the clip file or None for a rejection without one), or None on a miss."""
        meta = self._entry("clip", key, ".json")
        try:
            fields = json.loads(meta.read_text())
        except (OSError, ValueError):
            return None
        if "sha256" not in fields:
            return fields, None  # a rejection without a clip file
        clip = self._entry("clip", key, ".npz")
        try:
            # The file the entry was stored with, untouched since (a replaced one has another inode and time),
            # is trusted without reading it; any other is hashed.
            intact = fields.get("stored_as") == _entry_identity(clip) or file_sha256(clip) == fields.get("sha256")
        except OSError:
            return None
        return (fields, clip) if intact else None

    def store_clip(self, key: str, fields: dict, clip_file: Path | None = None, clip_sha256: str = "") -> None:
        """Remember a clip (its file is linked, not copied) or a rejection; the clip's hash is checked on reuse."""
        if clip_file is not None:
            entry = self._entry("clip", key, ".npz")
            link_or_copy(clip_file, entry, self.tmp)
            fields = {**fields, "sha256": clip_sha256, "stored_as": _entry_identity(entry)}
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


def _entry_identity(path: Path) -> str:
    """A cache entry's size, modification time and inode: not its change time, which every hard link made
    to it (one per build that uses it) moves."""
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


def file_identity(path: Path) -> str:
    """Changes whenever the file's bytes may have: size, modification and change times, inode."""
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


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
