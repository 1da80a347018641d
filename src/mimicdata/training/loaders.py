"""Torch datasets of frame windows over shard directories: opened instantly, memory-mapped, streamed.

    from mimicdata.loaders import MotionWindows, MotionWindowStream

    ds = MotionWindows("data/datasets/sample", split="train", window=[0, 1, 2, -1, -2])
    ds[0]["joint_pos"].shape                  # (5, 29) float32
    for batch in ds.loader(batch_size=256, seed=0, num_workers=2):
        batch["body_pos_w"]                   # (256, 5, 30, 3)

Windows never cross clip boundaries; clips are drawn with probability
clip_weights x number of valid windows; clips shorter than the window are
skipped and counted (`skipped_clips`). With `rank`/`world_size`, each DDP
rank reads its own shards (or, with fewer shards than ranks, its own clips).
DataLoader workers each open their own memory maps once, on first read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler, get_worker_info

from .windows import ShardSet, Window, WindowIndex, partition


class _Windows:
    """What both dataset styles share: the shards, the window, this rank's clips, and the names."""

    def __init__(
        self,
        path: str | Path,
        split: str | None,
        window: int | Sequence[int],
        keys: Sequence[str] | None,
        rank: int,
        world_size: int,
    ) -> None:
        self.shards = ShardSet(Path(path), split, keys)
        self.window = Window.of(window)
        self.rank, self.world_size = rank, world_size
        self.index = WindowIndex(self.shards, self.window, partition(self.shards, rank, world_size))

    @property
    def keys(self) -> list[str]:
        return self.shards.keys

    @property
    def joint_names(self) -> list[str]:
        return self.shards.joint_names

    @property
    def body_names(self) -> list[str]:
        return self.shards.body_names

    @property
    def fps(self) -> int:
        return self.shards.fps

    @property
    def schema_version(self) -> int | None:
        return self.shards.schema_version

    @property
    def clip_ids(self) -> list[str]:
        """Every clip of the shards read, in shard order (all ranks')."""
        return [str(c) for c in self.shards.clip_ids]

    @property
    def skipped_clips(self) -> int:
        """Clips of this rank too short for the window."""
        return self.index.skipped_clips

    def _batch(self, flat: np.ndarray) -> dict[str, torch.Tensor]:
        clips, anchors = self.index.locate(flat)
        return {k: torch.from_numpy(self.shards.gather(k, clips, anchors, self.window)) for k in self.keys}


class MotionWindows(_Windows, Dataset):
    """Map-style: index i is the i-th valid window of this rank's clips.

    `ds[i]` gives one window, `ds[[i, j, ...]]` a whole batch in one
    vectorised read; `loader()` pairs it with a weighted batch sampler.
    """

    def __init__(
        self,
        path: str | Path,
        split: str | None = None,
        window: int | Sequence[int] = 32,
        keys: Sequence[str] | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        super().__init__(path, split, window, keys, rank, world_size)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: int | Sequence[int] | np.ndarray) -> dict[str, torch.Tensor]:
        if np.ndim(item) == 0:
            batch = self._batch(np.array([int(np.asarray(item))]))
            return {k: v[0] for k, v in batch.items()}
        return self._batch(np.asarray(item, dtype=np.int64))

    def __getitems__(self, items: list[int]) -> list[dict[str, torch.Tensor]]:
        # A plain DataLoader(batch_size=...) collates a list of samples: one
        # vectorised read still serves the whole batch.
        batch = self._batch(np.asarray(items, dtype=np.int64))
        return [{k: v[i] for k, v in batch.items()} for i in range(len(items))]

    def sampler(self, batch_size: int, seed: int = 0, batches: int | None = None) -> WeightedWindowSampler:
        return WeightedWindowSampler(self, batch_size, seed, batches)

    def loader(
        self, batch_size: int, seed: int = 0, batches: int | None = None, num_workers: int = 0, **kwargs
    ) -> DataLoader:
        """A DataLoader of weighted batches; each item is already a batch, so no collation copy is made."""
        return DataLoader(
            self,
            sampler=self.sampler(batch_size, seed, batches),
            batch_size=None,
            num_workers=num_workers,
            persistent_workers=num_workers > 0,
            **kwargs,
        )


class WeightedWindowSampler(Sampler):
    """Batches of window indices drawn by clip weight x valid windows; seeded, with `set_epoch`."""

    def __init__(self, dataset: MotionWindows, batch_size: int, seed: int = 0, batches: int | None = None) -> None:
        self.index = dataset.index
        self.batch_size = int(batch_size)
        self.seed, self.epoch, self.rank = seed, 0, dataset.rank
        self.batches = batches if batches is not None else max(1, len(dataset) // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.batches

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch, self.rank])
        for _ in range(self.batches):
            yield self.index.sample(rng, self.batch_size).tolist()


class MotionWindowStream(_Windows, IterableDataset):
    """Iterable: yields batches (dicts of (B, W, ...) tensors), `batches` per epoch split over the workers.

    Use with `DataLoader(stream, batch_size=None, num_workers=N)`. Each
    worker draws from its own seed (seed, epoch, rank, worker), so the
    stream is reproducible for a given worker count.
    """

    def __init__(
        self,
        path: str | Path,
        split: str | None = None,
        window: int | Sequence[int] = 32,
        keys: Sequence[str] | None = None,
        batch_size: int = 256,
        batches: int = 1000,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        super().__init__(path, split, window, keys, rank, world_size)
        self.batch_size, self.batches, self.seed, self.epoch = int(batch_size), int(batches), seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        mine = len(range(worker, self.batches, workers))
        rng = np.random.default_rng([self.seed, self.epoch, self.rank, worker])
        for _ in range(mine):
            yield self._batch(self.index.sample(rng, self.batch_size))
