"""Resampling a robot motion onto a fixed clock."""

from __future__ import annotations

import numpy as np

from ..geometry.rotations import quat_continuity, quat_normalize, quat_slerp
from ..motion import RobotMotion


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
