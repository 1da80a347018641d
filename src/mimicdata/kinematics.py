"""Resampling and the FK + velocities stage: RobotMotion -> MotionClip."""

from __future__ import annotations

import numpy as np

from .motion import MotionClip, RobotMotion
from .robot import RobotModel
from .rotations import angular_velocity, quat_continuity, quat_normalize, quat_slerp


def resampled_frame_count(num_frames: int, source_fps: float, target_fps: float) -> int:
    """Frames at k / target_fps that fall inside the source clip's time span."""
    if num_frames <= 1:
        return num_frames
    duration = (num_frames - 1) / source_fps
    # The epsilon keeps an exact multiple (e.g. 4 s at 30 fps) from losing its last frame to rounding.
    return int(np.floor(duration * target_fps + 1e-9)) + 1


def resample(motion: RobotMotion, target_fps: float) -> RobotMotion:
    """The same motion sampled at target_fps on the source clock (t = k / target_fps).

    Positions and joint angles are interpolated linearly, the root orientation
    is slerped; velocities are derived afterwards, never interpolated.
    """
    if np.isclose(motion.fps, target_fps, rtol=0, atol=1e-9) or motion.num_frames <= 1:
        return motion
    count = resampled_frame_count(motion.num_frames, motion.fps, target_fps)
    src = np.arange(count) * (motion.fps / target_fps)
    lo = np.minimum(np.floor(src).astype(np.int64), motion.num_frames - 1)
    hi = np.minimum(lo + 1, motion.num_frames - 1)
    frac = src - lo

    def lerp(x: np.ndarray) -> np.ndarray:
        return x[lo] + (x[hi] - x[lo]) * frac[:, None]

    quat = quat_continuity(quat_normalize(motion.root_quat))
    return RobotMotion(
        fps=float(target_fps),
        root_pos=lerp(motion.root_pos),
        root_quat=quat_slerp(quat[lo], quat[hi], frac),
        joint_pos=lerp(motion.joint_pos),
        joint_names=motion.joint_names,
    )


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
