"""The FK and velocities stage: RobotMotion -> MotionClip."""

from __future__ import annotations

import numpy as np

from ..geometry.rotations import angular_velocity
from ..motion import MotionClip, RobotMotion
from ..robot import RobotModel


def motion_to_clip(robot: RobotModel, motion: RobotMotion) -> MotionClip:
    """Body poses by batched FK, then velocities by finite differences on the clip's clock."""
    if tuple(motion.joint_names) != robot.joint_names:
        raise ValueError("motion joints are not in the robot's order")
    fps = motion.fps
    if not float(fps).is_integer():
        raise ValueError(f"clips are stored at integer rates; resample first (fps={fps})")
    body_pos, body_quat = robot.forward_kinematics(motion.root_pos, motion.root_quat, motion.joint_pos)
    dt = 1.0 / fps
    return MotionClip(
        fps=int(fps),
        joint_names=robot.joint_names,
        body_names=robot.body_names,
        joint_pos=motion.joint_pos,
        joint_vel=_gradient(motion.joint_pos, dt),
        body_pos_w=body_pos,
        body_quat_w=body_quat,
        body_lin_vel_w=_gradient(body_pos, dt),
        body_ang_vel_w=angular_velocity(body_quat, dt),
    )


def _gradient(x: np.ndarray, dt: float) -> np.ndarray:
    """Central differences inside, one-sided at the ends; zeros for a single frame."""
    if x.shape[0] < 2:
        return np.zeros_like(x)
    return np.gradient(x, dt, axis=0)
