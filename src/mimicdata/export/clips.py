"""The clips of a dataset as an export sees them: one at a time, at the export's rate, in the asked order.

Every clip is rebuilt from its stored root and joints: resampled to the export's rate (positions
interpolated, rotations slerped), then FK and velocities recomputed at that rate (stages.fk), the
same path a build takes; nothing is interpolated from stored velocities.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..dataset.layout import FAILURES, SPLITS, split_shard_files
from ..dataset.stored import shard_clips
from ..errors import InputError
from ..motion import RobotMotion
from ..robot import RobotModel
from ..robot.order import Order
from ..stages.fk import motion_to_clip
from ..stages.resample import resample

SPLIT_CHOICES = ("train", "val", "all", FAILURES)


@dataclass(frozen=True)
class ExportClip:
    """One clip in an export's rate and order: (T, ...) float64 arrays, names in the same order."""

    split: str
    clip_id: str
    fps: int
    body_order: str
    joint_names: list[str]
    body_names: list[str]
    root_pos: np.ndarray  # (T, 3)
    root_quat: np.ndarray  # (T, 4) wxyz
    root_lin_vel: np.ndarray  # (T, 3) world frame
    root_ang_vel: np.ndarray  # (T, 3) world frame
    joint_pos: np.ndarray  # (T, J)
    joint_vel: np.ndarray
    body_pos: np.ndarray  # (T, B, 3)
    body_quat: np.ndarray  # (T, B, 4) wxyz
    body_lin_vel: np.ndarray
    body_ang_vel: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.joint_pos.shape[0])

    def file_stem(self) -> str:
        """A relative path for this clip's own file: source/relative/path, a mirror image with @mirror."""
        source, _, rel = self.clip_id.partition(":")
        rel, mirrored = (rel.removesuffix(":mirror"), rel.endswith(":mirror"))
        return f"{source}/{rel or source}" + ("@mirror" if mirrored else "")


def dataset_clips(
    dataset: Path, split: str, robot: RobotModel, fps: int | None, order: Order
) -> Iterator[ExportClip]:
    """Every clip of the chosen split ("all": train then val) of a dataset (export_dataset checks both),
    one at a time."""
    splits = SPLITS if split == "all" else (split,)
    found = False
    root = robot.body_index(robot.root_body)
    for name in splits:
        for file in split_shard_files(dataset, name):
            for stored in shard_clips(file, robot):
                found = True
                motion = RobotMotion(stored.fps, stored.body_pos[:, root], stored.body_quat[:, root],
                                     stored.joint_pos, robot.joint_names)
                clip = motion_to_clip(robot, resample(motion, fps) if fps else motion)
                b, j = order.bodies, order.joints
                yield ExportClip(
                    name, stored.clip_id, clip.fps, order.name, order.joint_names(robot), order.body_names(robot),
                    clip.body_pos_w[:, root], clip.body_quat_w[:, root], clip.body_lin_vel_w[:, root],
                    clip.body_ang_vel_w[:, root], clip.joint_pos[:, j], clip.joint_vel[:, j],
                    clip.body_pos_w[:, b], clip.body_quat_w[:, b], clip.body_lin_vel_w[:, b], clip.body_ang_vel_w[:, b],
                )
    if not found:
        raise InputError(dataset, "split", f"holds no clips in {' or '.join(splits)}")
