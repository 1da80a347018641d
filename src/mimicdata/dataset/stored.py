"""Clips as stored on disk, in the robot's joint and body order, whoever wrote them.

A mimicdata clip file or shard, the old tool's NPZ-era shards (no joint
names, no clip ids), or a foreign NPZ clip (mjlab, holosoma, ...): each is
read into StoredClip, whose arrays follow the robot model's order. An order
that has to be assumed (no names stored) is said in `notes`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..robot import RobotModel
from ..robot.order import BodyOrder
from ..sources._common import fps_value
from .foreign import (
    BodyLayout,
    JointLayout,
    body_layout,
    is_world_body,
    joint_layout,
    load_arrays,
    names_of,
    require_bodies,
    stored_names,
)
from .layout import dataset_shards, is_dataset_dir, npz_files
from .shards import Shard, is_shard


@dataclass
class StoredClip:
    """One clip's stored arrays, in the robot's joint and body order."""

    clip_id: str
    fps: float
    joint_pos: np.ndarray
    body_pos: np.ndarray
    body_quat: np.ndarray
    body_lin_vel: np.ndarray | None
    body_ang_vel: np.ndarray | None
    notes: list[str] = field(default_factory=list)


def stored_files(path: Path) -> list[Path]:
    """The NPZ files that hold the clips under `path`: a dataset's shards, else every .npz there."""
    path = Path(path)
    if is_dataset_dir(path):
        # A dataset: its shards hold every clip; clips/ would repeat them.
        files = [f for shards in dataset_shards(path).values() for f in shards]
        if not files:
            raise InputError(path, None, "is a dataset directory without shards in train/ or val/")
        return files
    if not path.exists():
        raise InputError(path, None, "not found")
    files = npz_files(path)
    if not files:
        raise InputError(path, None, "holds no .npz files")
    return files


def stored_clips(
    path: Path, robot: RobotModel, clip: int | None = None, assumed: BodyOrder = "mujoco"
) -> Iterator[StoredClip]:
    """Every clip of a clip file, shard, foreign NPZ, or directory of them (a dataset, say); files without
    names are read in the `assumed` order (robot.order)."""
    for file in stored_files(path):
        if is_shard(file):
            yield from shard_clips(file, robot, clip, assumed)
        else:
            if clip not in (None, 0):
                raise InputError(file, "clip", f"a single-clip file has no clip {clip}")
            yield foreign_clip(file, robot, assumed)


def shard_names(path: Path, shard: Shard, key: str) -> list[str] | None:
    """A shard's stored joint or body names, None when it stores none (the old tool's shards lack joint_names)."""
    return names_of(path, key, shard[key]) if key in shard else None


def shard_world_first(shard: Shard, robot: RobotModel, body_names: list[str] | None) -> bool:
    """Whether an unnamed shard's body 0 is MuJoCo's static world frame, in front of the robot's bodies."""
    if body_names is not None or "body_quat_w" not in shard:
        return False
    frames, B = shard.header("body_pos_w")[0][:2]
    if not frames or B != len(robot.body_names) + 1:
        return False
    # Body 0 must be the static world frame all through; a thousand spread frames tell without reading all.
    picked = np.unique(np.linspace(0, frames - 1, min(frames, 1000)).astype(np.int64))
    return is_world_body(shard["body_pos_w"][picked, 0], shard["body_quat_w"][picked, 0])


def shard_clip_fps(shard: Shard) -> np.ndarray:
    """Each clip's rate: clip_fps, or the shard's one fps for shards that store no per-clip rate."""
    if "clip_fps" in shard:
        return np.asarray(shard["clip_fps"], dtype=float)
    return np.full(shard.num_clips, float(np.asarray(shard["fps"]).ravel()[0]))


def shard_joint_and_body_layout(
    path: Path, shard: Shard, robot: RobotModel, assumed: BodyOrder = "mujoco"
) -> tuple[JointLayout, BodyLayout]:
    """A shard's joint and body layouts (names where stored, the `assumed` order where not)."""
    joints = joint_layout(path, shard.header("joint_pos")[0][1], shard_names(path, shard, "joint_names"), robot,
                          assumed)
    names = shard_names(path, shard, "body_names")
    B = shard.header("body_pos_w")[0][1]
    return joints, body_layout(path, B, names, robot, world_first=shard_world_first(shard, robot, names),
                               assumed=assumed)


def shard_clip_ids(path: Path, shard: Shard) -> list[str]:
    """Stored clip ids, or `<file stem>#<index>` for shards that store none (the old tool's)."""
    if "clip_ids" in shard:
        return [str(i) for i in shard["clip_ids"]]
    return [f"{Path(path).stem}#{i}" for i in range(shard.num_clips)]


def shard_clips(
    path: Path, robot: RobotModel, clip: int | None = None, assumed: BodyOrder = "mujoco"
) -> Iterator[StoredClip]:
    shard = Shard(path)
    joints, bodies = shard_joint_and_body_layout(path, shard, robot, assumed)
    require_bodies(path, bodies, robot)
    notes = [joints.note] if joints.note else []
    ids = shard_clip_ids(path, shard)
    fps = shard_clip_fps(shard)
    indices = range(shard.num_clips) if clip is None else [clip]
    b = bodies.columns
    for i in indices:
        if not 0 <= i < shard.num_clips:
            raise InputError(path, "clip", f"has clips 0..{shard.num_clips - 1}, not {i}")
        arrays = shard.clip(i)
        joint_pos = np.asarray(arrays["joint_pos"], dtype=float)
        yield StoredClip(
            clip_id=ids[i],
            fps=float(fps[i]),
            joint_pos=(joint_pos[:, 7:] if joints.packed_root else joint_pos)[:, joints.columns],
            body_pos=np.asarray(arrays["body_pos_w"], dtype=float)[:, b],
            body_quat=np.asarray(arrays["body_quat_w"], dtype=float)[:, b],
            body_lin_vel=np.asarray(arrays["body_lin_vel_w"], dtype=float)[:, b] if "body_lin_vel_w" in shard else None,
            body_ang_vel=np.asarray(arrays["body_ang_vel_w"], dtype=float)[:, b] if "body_ang_vel_w" in shard else None,
            notes=list(notes),
        )


def foreign_clip(path: Path, robot: RobotModel, assumed: BodyOrder = "mujoco") -> StoredClip:
    """A single-clip NPZ of another tool (mjlab, holosoma, BeyondMimic) in the robot's order; without stored
    names, read in the `assumed` order."""
    arrays = load_arrays(path)
    for key in ("fps", "joint_pos", "body_pos_w", "body_quat_w"):
        if key not in arrays:
            raise InputError(path, key, f"missing; the file has {sorted(arrays)}")
    fps = fps_value(path, "fps", arrays["fps"])
    joint_pos = np.asarray(arrays["joint_pos"], dtype=float)
    if joint_pos.ndim != 2:
        raise InputError(path, "joint_pos", f"expected a (T, joints) array, found shape {joint_pos.shape}")
    joints = joint_layout(path, joint_pos.shape[1], stored_names(path, arrays, "joint_names"), robot, assumed)
    joint_pos = (joint_pos[:, 7:] if joints.packed_root else joint_pos)[:, joints.columns]
    body_pos = np.asarray(arrays["body_pos_w"], dtype=float)
    body_quat = np.asarray(arrays["body_quat_w"], dtype=float)
    if body_pos.ndim != 3 or body_quat.shape[:2] != body_pos.shape[:2]:
        raise InputError(path, "body_pos_w", f"expected (T, B, 3) and (T, B, 4) body arrays, found "
                         f"{body_pos.shape} and {body_quat.shape}")
    world = body_pos.shape[1] > 0 and is_world_body(body_pos[:, 0], body_quat[:, 0])
    bodies = body_layout(path, body_pos.shape[1], stored_names(path, arrays, "body_names"), robot, world_first=world,
                         assumed=assumed)
    require_bodies(path, bodies, robot)
    b = bodies.columns
    lin_vel, ang_vel = (
        np.asarray(arrays[k], dtype=float)[:, b] if k in arrays else None for k in ("body_lin_vel_w", "body_ang_vel_w")
    )
    return StoredClip(
        clip_id=Path(path).stem,
        fps=fps,
        joint_pos=joint_pos,
        body_pos=body_pos[:, b],
        body_quat=body_quat[:, b],
        body_lin_vel=lin_vel,
        body_ang_vel=ang_vel,
        notes=[joints.note] if joints.note else [],
    )
