"""The in-memory currency that flows between stages."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

# The highest frame rate anything accepts: spec fields, reader options and rates stored in files alike.
MAX_FPS = 1000.0


@dataclass(frozen=True)
class RobotMotion:
    """Root trajectory plus joint angles: metres, Z-up, wxyz, robot joint order."""

    fps: float
    root_pos: np.ndarray  # (T, 3)
    root_quat: np.ndarray  # (T, 4) wxyz
    joint_pos: np.ndarray  # (T, J)
    joint_names: tuple[str, ...]

    @property
    def num_frames(self) -> int:
        return int(self.root_pos.shape[0])

    def head(self, max_frames: int | None) -> RobotMotion:
        if max_frames is None or max_frames >= self.num_frames:
            return self
        return replace(
            self,
            root_pos=self.root_pos[:max_frames],
            root_quat=self.root_quat[:max_frames],
            joint_pos=self.joint_pos[:max_frames],
        )


@dataclass(frozen=True)
class ReadMotion:
    """A robot motion as one input file gave it, with what reading it had to say."""

    motion: RobotMotion
    notes: tuple[str, ...]
    quality: dict[str, Any] | None = None  # a retarget's quality measures (retarget.quality), else None


@dataclass(frozen=True)
class MotionClip:
    """A robot motion with world-frame body poses and velocities at a fixed rate."""

    fps: int
    joint_names: tuple[str, ...]
    body_names: tuple[str, ...]
    joint_pos: np.ndarray  # (T, J)
    joint_vel: np.ndarray  # (T, J)
    body_pos_w: np.ndarray  # (T, B, 3)
    body_quat_w: np.ndarray  # (T, B, 4) wxyz
    body_lin_vel_w: np.ndarray  # (T, B, 3)
    body_ang_vel_w: np.ndarray  # (T, B, 3)
    notes: tuple[str, ...] = field(default=())
    body_contacts: np.ndarray | None = None  # (T, B) bool, which bodies touch the floor (stages/contacts.py)

    @property
    def num_frames(self) -> int:
        return int(self.joint_pos.shape[0])

    def translated(self, offset: np.ndarray) -> MotionClip:
        """The same clip shifted in the world by a per-frame or constant (3,) offset."""
        offset = np.asarray(offset, dtype=self.body_pos_w.dtype)
        if offset.ndim == 2:
            offset = offset[:, None, :]
        return replace(self, body_pos_w=self.body_pos_w + offset)


@dataclass(frozen=True)
class SkeletonMotion:
    """A human skeleton's joint trajectories: metres, Z-up, world frame, wxyz.

    End sites appear as joints named ``<parent>_End`` that carry their
    parent's rotation, so a toe tip can be mapped like any joint.
    """

    fps: float
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]  # -1 for the root
    positions: np.ndarray  # (T, J, 3)
    rotations: np.ndarray  # (T, J, 4) wxyz, joint frame -> world
    rest_positions: np.ndarray  # (J, 3) every rotation zero, root at the origin
    rest_rotations: np.ndarray  # (J, 4) world orientation of each joint frame at rest
    notes: tuple[str, ...] = field(default=())
    skeleton_format: str = ""  # the bvh_format it was read with (a format name or a format file's path)

    @property
    def num_frames(self) -> int:
        return int(self.positions.shape[0])

    def index(self, name: str) -> int:
        return self.joint_names.index(name)

    def head(self, max_frames: int | None) -> SkeletonMotion:
        if max_frames is None or max_frames >= self.num_frames:
            return self
        return replace(self, positions=self.positions[:max_frames], rotations=self.rotations[:max_frames])


ARRAY_KEYS = (
    "joint_pos",
    "joint_vel",
    "body_pos_w",
    "body_quat_w",
    "body_lin_vel_w",
    "body_ang_vel_w",
)
