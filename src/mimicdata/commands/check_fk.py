"""check-fk: stored body poses of any clip, shard or dataset against MuJoCo's FK of the robot."""

from __future__ import annotations

from pathlib import Path

from ..dataset.stored import stored_clips
from ..robot import load_robot
from ..robot.order import BodyOrder
from ..stages.fk_check import FkCheck, MujocoReference, check_stored


def check_fk(
    path: Path,
    robot_spec: str = "unitree_g1",
    *,
    mjcf: Path | None = None,
    clip: int | None = None,
    frames: int | None = None,
    thresholds: dict[str, float] | None = None,
    body_order: BodyOrder = "mujoco",
) -> list[tuple[str, FkCheck, list[str]]]:
    """Check every clip under `path`: (clip id, result, notes on assumed orders) in file order. Files that
    store no names are read in `body_order` (mujoco: depth-first; isaaclab: breadth-first)."""
    robot = load_robot(robot_spec)
    reference = MujocoReference(robot, mjcf)
    root = robot.body_index(robot.root_body)
    return [
        (c.clip_id, check_stored(reference, c, root, frames, thresholds), c.notes)
        for c in stored_clips(path, robot, clip, body_order)
    ]
