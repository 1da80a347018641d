"""Resampling a motion onto a fixed clock: a robot motion linearly (the build's target rate), a
robot motion by cubic spline (back to a take's own rate after solving it slower), a skeleton
motion linearly (down to the rate the retarget solves at)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..geometry.rotations import quat_continuity, quat_normalize, quat_slerp
from ..motion import RobotMotion, SkeletonMotion


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
    lo, hi, frac = _brackets(motion.num_frames, motion.fps, target_fps)

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


def _brackets(num_frames: int, source_fps: float, target_fps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each frame of the resampled clock, the source frames either side of it and how far between."""
    count = resampled_frame_count(num_frames, source_fps, target_fps)
    src = np.arange(count) * (source_fps / target_fps)
    lo = np.minimum(np.floor(src).astype(np.int64), num_frames - 1)
    hi = np.minimum(lo + 1, num_frames - 1)
    return lo, hi, src - lo


def resample_skeleton(skeleton: SkeletonMotion, target_fps: float) -> SkeletonMotion:
    """The skeleton motion at target_fps on its own clock: joint positions interpolated linearly, rotations
    slerped. Going down in rate, smooth it first (pipeline.smoothed): this does not filter."""
    if np.isclose(skeleton.fps, target_fps, rtol=0, atol=1e-9) or skeleton.num_frames <= 1:
        return skeleton
    lo, hi, frac = _brackets(skeleton.num_frames, skeleton.fps, target_fps)
    P = skeleton.positions
    quat = quat_continuity(skeleton.rotations, axis=0)
    shape = quat[lo].shape
    rotations = quat_slerp(quat[lo].reshape(-1, 4), quat[hi].reshape(-1, 4),
                           np.repeat(frac, shape[1])).reshape(shape)
    return replace(skeleton, fps=float(target_fps), positions=P[lo] + (P[hi] - P[lo]) * frac[:, None, None],
                   rotations=rotations)


def spline_resample(motion: RobotMotion, target_fps: float, num_frames: int) -> RobotMotion:
    """`num_frames` frames of the motion at target_fps on its clock (t = k / target_fps), through a cubic
    spline of the root position, the joint angles and the root quaternion (sign-continuous, renormalised):
    continuous in velocity and acceleration where linear interpolation has a corner at every source frame,
    which at four output frames per source frame is a jerk spike at each. Frames past the last source frame
    (a take's final fraction of a source step) are extrapolated."""
    from scipy.interpolate import CubicSpline  # only a retarget of a fast take needs scipy's import time

    if motion.num_frames < 4:
        return resample(motion, target_fps)
    t = np.arange(motion.num_frames) / motion.fps
    out = np.arange(num_frames) / target_fps

    def spline(x: np.ndarray) -> np.ndarray:
        return CubicSpline(t, x, axis=0)(out)

    return RobotMotion(
        fps=float(target_fps),
        root_pos=spline(motion.root_pos),
        root_quat=quat_normalize(spline(quat_continuity(quat_normalize(motion.root_quat)))),
        joint_pos=spline(motion.joint_pos),
        joint_names=motion.joint_names,
    )
