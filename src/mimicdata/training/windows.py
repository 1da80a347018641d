"""Windows of frames over a shard directory, in numpy: opening, checking, sampling and gathering.

The torch loaders (mimicdata.training.loaders) are a thin layer over this. Opening
reads each shard's zip directory and its small per-clip arrays only; frame
arrays are memory-mapped on first use, per process, and read window by
window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..dataset.layout import shard_files
from ..dataset.shards import Shard
from ..errors import ShardError
from ..motion import ARRAY_KEYS


@dataclass(frozen=True)
class Window:
    """Frame offsets relative to an anchor frame, e.g. (0, 1, 2, -1, -2): current, future and history."""

    offsets: tuple[int, ...]

    @classmethod
    def of(cls, window: int | Sequence[int]) -> Window:
        offsets = tuple(range(window)) if isinstance(window, int) else tuple(int(o) for o in window)
        if not offsets:
            raise ValueError("a window needs at least one frame offset")
        return cls(offsets)

    @property
    def span(self) -> int:
        return max(self.offsets) - min(self.offsets)

    def anchors(self, lengths: np.ndarray) -> np.ndarray:
        """How many anchor frames of each clip keep the whole window inside the clip."""
        return np.maximum(np.asarray(lengths, dtype=np.int64) - self.span, 0)

    @property
    def first_anchor(self) -> int:
        return -min(self.offsets)


class ShardSet:
    """A directory of shards that agree on names, fps and schema, opened without reading frames."""

    def __init__(self, path: Path, split: str | None = None, keys: Sequence[str] | None = None) -> None:
        self.files = shard_files(path, split)
        self.shards = [Shard(f) for f in self.files]
        first = self.shards[0]
        for key in ("joint_names", "body_names"):
            if key not in first:
                raise ShardError(
                    f"{first.path}: not a mimicdata shard: no {key!r}, so the order of its columns is unknown and a "
                    "loader never guesses it "
                    "(the old tool's NPZ shards store no joint names); build the dataset with build-dataset, "
                    "an npz source reading the per-clip files"
                )
        for key in ("fps", "clip_lengths", "clip_starts"):
            if key not in first:
                raise ShardError(f"{first.path}: no {key!r}; not a mimicdata shard")
        self.fps = int(first["fps"])
        self.joint_names = [str(n) for n in first["joint_names"]]
        self.body_names = [str(n) for n in first["body_names"]]
        self.schema_version = int(first["schema_version"]) if "schema_version" in first else None
        self.keys = list(keys) if keys is not None else [k for k in ARRAY_KEYS if k in first]
        for shard in self.shards:
            self._check_agrees(shard)
        self._table()

    def _check_agrees(self, shard: Shard) -> None:
        ref = self.files[0].name
        if int(shard["fps"]) != self.fps:
            raise ShardError(f"{shard.path}: fps {int(shard['fps'])}, but {ref} has {self.fps}")
        for key, names in (("joint_names", self.joint_names), ("body_names", self.body_names)):
            found = [str(n) for n in shard[key]]
            if found != names:
                diff = next((i for i, (a, b) in enumerate(zip(found, names)) if a != b), min(len(found), len(names)))
                raise ShardError(
                    f"{shard.path}: {key} differ from {ref}'s at index {diff} "
                    f"({found[diff] if diff < len(found) else 'end'!r} vs {names[diff] if diff < len(names) else 'end'!r})"
                )
        version = int(shard["schema_version"]) if "schema_version" in shard else None
        if version != self.schema_version:
            raise ShardError(f"{shard.path}: schema_version {version}, but {ref} has {self.schema_version}")
        if "clip_fps" in shard and (np.asarray(shard["clip_fps"]) != self.fps).any():
            raise ShardError(f"{shard.path}: clip_fps disagrees with fps {self.fps}")
        missing = [k for k in self.keys if k not in shard]
        if missing:
            raise ShardError(f"{shard.path}: no member {missing[0]!r} (asked for {self.keys})")

    def _table(self) -> None:
        shard_of, starts, lengths, weights, ids = [], [], [], [], []
        for n, shard in enumerate(self.shards):
            count = shard.num_clips
            shard_of.append(np.full(count, n, dtype=np.int64))
            starts.append(np.asarray(shard["clip_starts"], dtype=np.int64))
            lengths.append(np.asarray(shard["clip_lengths"], dtype=np.int64))
            weights.append(
                np.asarray(shard["clip_weights"], dtype=np.float64) if "clip_weights" in shard else np.ones(count)
            )
            ids.append(
                np.asarray(shard["clip_ids"]).astype(str)
                if "clip_ids" in shard
                else np.array([f"{shard.path.name}#{i}" for i in range(count)])
            )
        self.clip_shard = np.concatenate(shard_of)
        self.clip_start = np.concatenate(starts)
        self.clip_length = np.concatenate(lengths)
        self.clip_weight = np.concatenate(weights)
        self.clip_ids = np.concatenate(ids)
        if (self.clip_weight < 0).any() or not np.isfinite(self.clip_weight).all():
            raise ShardError(f"{self.files[0].parent}: clip_weights must be finite and non-negative")

    @property
    def num_clips(self) -> int:
        return len(self.clip_length)

    @property
    def num_frames(self) -> int:
        return int(self.clip_length.sum())

    def row_shape(self, key: str) -> tuple[int, ...]:
        return tuple(self.shards[0].header(key)[0][1:])

    def gather(self, key: str, clips: np.ndarray, anchors: np.ndarray, window: Window) -> np.ndarray:
        """(n, W, *row): the window at each (clip, anchor frame), in the order given; float32 for float
        members, the stored dtype for others (body_contacts stays boolean).

        When the windows come grouped by shard (sampled batches are sorted),
        each shard's rows are taken straight into the output: one copy.
        """
        offsets = np.asarray(window.offsets, dtype=np.int64)
        rows = (self.clip_start[clips] + anchors)[:, None] + offsets[None, :]
        row = self.row_shape(key)
        stored = self.shards[0].header(key)[1]
        out = np.empty((len(clips), len(offsets), *row), dtype=np.float32 if stored.kind == "f" else stored)
        flat_out = out.reshape(len(clips), len(offsets), -1)
        shard_of = self.clip_shard[clips]
        grouped = bool(np.all(shard_of[1:] >= shard_of[:-1]))
        for s in np.unique(shard_of):
            source = self.shards[s][key].view(np.ndarray)  # np.memmap's subclass hooks cost per call
            flat = source.reshape(source.shape[0], -1)
            if grouped and source.dtype == out.dtype:
                a, b = np.searchsorted(shard_of, [s, s + 1])
                # mode="clip" skips take's buffered bounds check; every row is inside its clip by construction.
                np.take(flat, rows[a:b], axis=0, out=flat_out[a:b], mode="clip")
            else:
                mask = shard_of == s
                flat_out[mask] = flat[rows[mask]]
        return out


def partition(shard_set: ShardSet, rank: int, world_size: int) -> np.ndarray:
    """Boolean mask of the clips this rank reads: whole shards when there are enough, else every n-th clip."""
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is outside world_size {world_size}")
    if len(shard_set.shards) >= world_size:
        mine = shard_set.clip_shard % world_size == rank
    else:
        mine = np.arange(shard_set.num_clips) % world_size == rank
    if not mine.any():
        raise ShardError(f"rank {rank} of {world_size} gets no clip ({shard_set.num_clips} clips in all)")
    return mine


class WindowIndex:
    """The valid windows of the clips a rank reads: flat indices, weighted sampling, and their (clip, anchor)."""

    def __init__(self, shard_set: ShardSet, window: Window, clips: np.ndarray) -> None:
        self.window = window
        valid = window.anchors(shard_set.clip_length)
        usable = clips & (valid > 0)
        self.skipped_clips = int((clips & (valid == 0)).sum())
        self.clips = np.flatnonzero(usable)
        if len(self.clips) == 0:
            raise ShardError(f"no clip is long enough for a window spanning {window.span + 1} frames")
        self.valid = valid[self.clips]
        self.cumulative = np.cumsum(self.valid)
        weights = shard_set.clip_weight[self.clips] * self.valid
        if weights.sum() <= 0:
            raise ShardError("every usable clip has weight 0")
        self.probability = weights / weights.sum()
        self._cumulative_probability = np.cumsum(self.probability)
        self._before = self.cumulative - self.valid

    def __len__(self) -> int:
        return int(self.cumulative[-1])

    def locate(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(clip, anchor frame) of flat window indices."""
        flat = np.asarray(flat, dtype=np.int64)
        if flat.size and (flat.min() < 0 or flat.max() >= len(self)):
            raise IndexError(f"window index out of range 0..{len(self) - 1}")
        which = np.searchsorted(self.cumulative, flat, side="right")
        return self.clips[which], flat - self._before[which] + self.window.first_anchor

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n flat indices, sorted (a batch then reads each shard in file order): a clip with
        probability weight x valid windows, then a uniform window in it."""
        which = np.minimum(
            np.searchsorted(self._cumulative_probability, rng.random(n), side="right"), len(self.clips) - 1
        )
        return np.sort(self._before[which] + (rng.random(n) * self.valid[which]).astype(np.int64))
