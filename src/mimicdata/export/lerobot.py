"""A LeRobot v3 dataset: meta/info.json, meta/stats.json, meta/tasks.parquet, meta/episodes and data parquet.

One episode per clip. Each frame row holds `observation.state` (float32: root position, root
quaternion wxyz, then the joint angles, each named in `features`), `action` (the next frame's joint
angles, the last frame's own at the end: what a policy that tracks the motion is to reach),
`timestamp`, `frame_index`, `episode_index`, `index` and `task_index` (one task: following the
reference motion). `splits` gives each split's episode range. Frames stream to the data file one clip
at a time (a parquet row group per clip).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MimicdataError
from ..infra.atomic import write_text_atomic
from .clips import ExportClip

DATA_FILE = "data/chunk-000/file-000.parquet"
EPISODES_FILE = "meta/episodes/chunk-000/file-000.parquet"
TASK = "follow the reference motion"
ROOT_NAMES = ["root_x", "root_y", "root_z", "root_qw", "root_qx", "root_qy", "root_qz"]


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401  (the submodule is used through pyarrow.parquet)
    except ImportError:
        raise MimicdataError("the lerobot export writes parquet with pyarrow: pip install pyarrow") from None
    return pyarrow


class _RunningStats:
    """Mean, std, min and max per column of rows seen one clip at a time, holding no frames."""

    def __init__(self, width: int) -> None:
        self.count = 0
        self.total, self.squares = np.zeros(width), np.zeros(width)
        self.low, self.high = np.full(width, np.inf), np.full(width, -np.inf)

    def add(self, rows: np.ndarray) -> None:
        rows = rows.astype(np.float64)
        self.count += len(rows)
        self.total += rows.sum(0)
        self.squares += (rows * rows).sum(0)
        self.low, self.high = np.minimum(self.low, rows.min(0)), np.maximum(self.high, rows.max(0))

    def as_dict(self) -> dict[str, list]:
        mean = self.total / self.count
        std = np.sqrt(np.maximum(self.squares / self.count - mean * mean, 0.0))
        return {"mean": mean.tolist(), "std": std.tolist(), "min": self.low.tolist(), "max": self.high.tolist(),
                "count": [self.count]}


class LeRobotWriter:
    def __init__(self, out: Path, robot_type: str) -> None:
        self.out, self.robot_type = out, robot_type
        self.pa = _pyarrow()
        self._writer: Any = None
        self._episodes: list[dict[str, Any]] = []
        self._splits: dict[str, list[int]] = {}
        self._stats: dict[str, _RunningStats] = {}
        self._frames = 0
        self._fps: int | None = None
        self._names: list[str] = []

    def add(self, clip: ExportClip) -> Path:
        pa = self.pa
        state = np.concatenate([clip.root_pos, clip.root_quat, clip.joint_pos], axis=1).astype(np.float32)
        action = np.concatenate([clip.joint_pos[1:], clip.joint_pos[-1:]], axis=0).astype(np.float32)
        T, episode = clip.num_frames, len(self._episodes)
        if self._writer is None:
            self._fps, self._names = clip.fps, clip.joint_names
            self._stats = {"observation.state": _RunningStats(state.shape[1]), "action": _RunningStats(action.shape[1])}
            self._schema = pa.schema([
                ("observation.state", pa.list_(pa.float32(), state.shape[1])),
                ("action", pa.list_(pa.float32(), action.shape[1])),
                ("timestamp", pa.float32()), ("frame_index", pa.int64()), ("episode_index", pa.int64()),
                ("index", pa.int64()), ("task_index", pa.int64()),
            ])
            (self.out / DATA_FILE).parent.mkdir(parents=True, exist_ok=True)
            self._writer = pa.parquet.ParquetWriter(self.out / DATA_FILE, self._schema)
        table = pa.table({
            "observation.state": pa.FixedSizeListArray.from_arrays(pa.array(state.ravel()), state.shape[1]),
            "action": pa.FixedSizeListArray.from_arrays(pa.array(action.ravel()), action.shape[1]),
            "timestamp": pa.array(np.arange(T, dtype=np.float32) / np.float32(clip.fps)),
            "frame_index": pa.array(np.arange(T, dtype=np.int64)),
            "episode_index": pa.array(np.full(T, episode, dtype=np.int64)),
            "index": pa.array(np.arange(self._frames, self._frames + T, dtype=np.int64)),
            "task_index": pa.array(np.zeros(T, dtype=np.int64)),
        }, schema=self._schema)
        self._writer.write_table(table)
        self._episodes.append({"episode_index": episode, "clip_id": clip.clip_id, "tasks": [TASK], "length": T,
                               "data/chunk_index": 0, "data/file_index": 0, "dataset_from_index": self._frames,
                               "dataset_to_index": self._frames + T, "meta/episodes/chunk_index": 0,
                               "meta/episodes/file_index": 0})
        self._splits.setdefault(clip.split, []).append(episode)
        self._stats["observation.state"].add(state)
        self._stats["action"].add(action)
        self._frames += T
        return self.out / DATA_FILE

    def finish(self) -> None:
        if self._writer is None:
            return
        pa = self.pa
        self._writer.close()
        (self.out / EPISODES_FILE).parent.mkdir(parents=True, exist_ok=True)
        pa.parquet.write_table(pa.Table.from_pylist(self._episodes), self.out / EPISODES_FILE)
        pa.parquet.write_table(pa.table({"task_index": pa.array([0], pa.int64()), "task": [TASK]}),
                               self.out / "meta" / "tasks.parquet")
        stats = {key: running.as_dict() for key, running in self._stats.items()}
        write_text_atomic(self.out / "meta" / "stats.json", json.dumps(stats, indent=2) + "\n")
        state_names = [*ROOT_NAMES, *self._names]
        info = {
            "codebase_version": "v3.0",
            "robot_type": self.robot_type,
            "total_episodes": len(self._episodes),
            "total_frames": self._frames,
            "total_tasks": 1,
            "chunks_size": 1000,
            "data_files_size_in_mb": 100,
            "video_files_size_in_mb": 500,
            "fps": self._fps,
            "splits": {split: f"{eps[0]}:{eps[-1] + 1}" for split, eps in self._splits.items()},
            "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
            "video_path": None,
            "features": {
                "observation.state": {"dtype": "float32", "shape": [len(state_names)], "names": state_names},
                "action": {"dtype": "float32", "shape": [len(self._names)], "names": list(self._names)},
                "timestamp": {"dtype": "float32", "shape": [1], "names": None},
                "frame_index": {"dtype": "int64", "shape": [1], "names": None},
                "episode_index": {"dtype": "int64", "shape": [1], "names": None},
                "index": {"dtype": "int64", "shape": [1], "names": None},
                "task_index": {"dtype": "int64", "shape": [1], "names": None},
            },
        }
        write_text_atomic(self.out / "meta" / "info.json", json.dumps(info, indent=2) + "\n")
