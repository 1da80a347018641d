"""The old tool's current training shards: Teleopit's precomputed motion HDF5 (format version 2).

One `<split>/shard_000.h5` per split. Clips longer than WINDOW frames are cut into windows of WINDOW
frames overlapping by OVERLAP (the last one ending at the clip's end), stored back to back, so a
window's frames are contiguous: `clip_starts`, `clip_lengths`, `clip_fps` hold one row per window,
`source_clip_ids` (the clip's index) and `source_start_frames` (the window's first frame in its clip)
say where each came from, and `source_clip_starts` (where the clip's first window starts),
`source_clip_lengths`, `source_clip_fps` hold one row per clip. The frame datasets are `joint_pos`,
`joint_vel` (T, J), `body_pos_w`, `body_lin_vel_w`, `body_ang_vel_w` (T, B, 3) and `body_quat_w`
(T, B, 4) wxyz, float32; `body_names` utf-8; attributes `format`, `version`, `fps`,
`max_window_frames`, `overlap_frames`, `source_shard`, `created_at` (the dataset's build time, so
the same dataset gives the same file). `source_clip_names` (the clip ids) is an addition of ours.

`validate` checks what the old tool's `validate_precomputed_motion_dataset` requires, as its
documented contract states it (../shared/docs/formats.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from .clips import ExportClip

FORMAT = "teleopit_precomputed_motion_hdf5"
VERSION = 2
WINDOW = 512
OVERLAP = 64
FRAME_KEYS = ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w")
WINDOW_KEYS = ("clip_starts", "clip_lengths", "clip_fps", "source_clip_ids", "source_start_frames")
SOURCE_KEYS = ("source_clip_starts", "source_clip_lengths", "source_clip_fps")
REQUIRED = (*FRAME_KEYS, "body_names", *WINDOW_KEYS, *SOURCE_KEYS)
JOINTS = 29  # the old tool trains the 29-joint G1 only


def windows(length: int) -> list[int]:
    """Start frames of a clip's windows."""
    if length <= WINDOW:
        return [0]
    starts = list(range(0, length - WINDOW, WINDOW - OVERLAP))
    return starts + [length - WINDOW]


class TeleopitHdf5Writer:
    def __init__(self, out: Path, source: str = "", created_at: str = "") -> None:
        self.out, self.source, self.created_at = out, source, created_at
        self._open: dict[str, tuple] = {}

    def add(self, clip: ExportClip) -> Path:
        import h5py

        if clip.split not in self._open:
            path = self.out / clip.split / "shard_000.h5"
            path.parent.mkdir(parents=True, exist_ok=True)
            h5 = h5py.File(path, "w", track_order=True)
            J, B = len(clip.joint_names), len(clip.body_names)
            widths = {"joint_pos": (J,), "joint_vel": (J,), "body_pos_w": (B, 3), "body_quat_w": (B, 4),
                      "body_lin_vel_w": (B, 3), "body_ang_vel_w": (B, 3)}
            for key, row in widths.items():
                h5.create_dataset(key, shape=(0, *row), maxshape=(None, *row), dtype=np.float32, chunks=(256, *row))
            h5.create_dataset("body_names", data=np.array(clip.body_names, dtype=object),
                              dtype=h5py.string_dtype("utf-8"))
            h5.attrs.update({"format": FORMAT, "version": VERSION, "fps": clip.fps, "max_window_frames": WINDOW,
                             "overlap_frames": OVERLAP, "source_shard": f"{self.source}/{clip.split}",
                             "created_at": self.created_at, "joint_names": ",".join(clip.joint_names),
                             "body_order": clip.body_order})
            self._open[clip.split] = (path, h5, {k: [] for k in (*WINDOW_KEYS, *SOURCE_KEYS, "names")})
        path, h5, rows = self._open[clip.split]
        if int(h5.attrs["fps"]) != clip.fps:
            raise InputError(path, "fps", f"clip {clip.clip_id} is at {clip.fps} fps, the shard at {h5.attrs['fps']}")
        arrays = dict(zip(FRAME_KEYS, (clip.joint_pos, clip.joint_vel, clip.body_pos, clip.body_quat,
                                       clip.body_lin_vel, clip.body_ang_vel)))
        index = len(rows["names"])
        rows["source_clip_starts"].append(h5["joint_pos"].shape[0])
        rows["source_clip_lengths"].append(clip.num_frames)
        rows["source_clip_fps"].append(clip.fps)
        rows["names"].append(clip.clip_id)
        for start in windows(clip.num_frames):
            stop = min(clip.num_frames, start + WINDOW)
            at = h5["joint_pos"].shape[0]
            for key, value in arrays.items():
                h5[key].resize(at + stop - start, axis=0)
                h5[key][at:] = value[start:stop].astype(np.float32)
            rows["clip_starts"].append(at)
            rows["clip_lengths"].append(stop - start)
            rows["clip_fps"].append(clip.fps)
            rows["source_clip_ids"].append(index)
            rows["source_start_frames"].append(start)
        return path

    def finish(self) -> None:
        import h5py

        for _path, h5, rows in self._open.values():
            for key in (*WINDOW_KEYS, *SOURCE_KEYS):
                h5.create_dataset(key, data=np.array(rows[key], dtype=np.int64))
            h5.create_dataset("source_clip_names", data=np.array(rows["names"], dtype=object),
                              dtype=h5py.string_dtype("utf-8"))
            h5.close()
        self._open.clear()


def validate(path: Path) -> None:
    """Raise InputError naming what a precomputed shard lacks or gets wrong, as the old tool's validator would."""
    import h5py

    with h5py.File(path, "r") as h5:
        if h5.attrs.get("format") != FORMAT or int(h5.attrs.get("version", 0)) != VERSION:
            raise InputError(path, "format", f"expected format {FORMAT!r} version {VERSION}")
        missing = [k for k in REQUIRED if k not in h5]
        if missing:
            raise InputError(path, missing[0], f"missing datasets {missing}")
        if h5["joint_pos"].shape[1] != JOINTS:
            raise InputError(path, "joint_pos", f"has {h5['joint_pos'].shape[1]} joints, expected {JOINTS}")
        frames = h5["joint_pos"].shape[0]
        for key in FRAME_KEYS:
            if h5[key].shape[0] != frames or h5[key].dtype != np.float32:
                raise InputError(path, key, f"expected {frames} float32 rows")
        if len({h5[k].shape[0] for k in WINDOW_KEYS}) != 1 or len({h5[k].shape[0] for k in SOURCE_KEYS}) != 1:
            raise InputError(path, "clip_starts", "per-window (or per-source) arrays differ in length")
        starts, lengths = h5["clip_starts"][:], h5["clip_lengths"][:]
        if (starts < 0).any() or (starts + lengths > frames).any() or (lengths > int(h5.attrs["max_window_frames"])).any():
            raise InputError(path, "clip_starts", "a window reaches outside the frames or exceeds max_window_frames")
        if h5["body_pos_w"].shape[1] != h5["body_names"].shape[0]:
            raise InputError(path, "body_names", "count differs from the body axis of the frame datasets")
