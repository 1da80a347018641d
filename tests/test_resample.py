"""Resampling onto another clock: the spline that brings a slower solve back to a take's rate, and the
skeleton decimation before it."""

from __future__ import annotations

import numpy as np

from mimicdata.geometry.rotations import quat_angle_between, rotvec_to_quat
from mimicdata.motion import RobotMotion, SkeletonMotion
from mimicdata.stages.resample import resample, resample_skeleton, spline_resample


def _swing(fps: float, seconds: float = 2.0, joints: int = 3) -> RobotMotion:
    t = np.arange(int(seconds * fps) + 1) / fps
    q = np.stack([np.sin(2 * np.pi * (k + 1) * 0.7 * t) for k in range(joints)], axis=1)
    yaw = rotvec_to_quat(np.stack([0 * t, 0 * t, 1.5 * t], axis=1))
    root = np.stack([0.8 * t, 0 * t, 0.9 + 0.02 * np.sin(2 * np.pi * t)], axis=1)
    return RobotMotion(fps, root, yaw, q, tuple(f"j{k}" for k in range(joints)))


def test_spline_brings_a_slow_motion_back_smoothly_where_linear_has_corners():
    slow, fine = _swing(30.0), _swing(120.0)
    up = spline_resample(slow, 120.0, fine.num_frames + 2)  # two frames past the last source frame: extrapolated
    assert up.fps == 120.0 and up.num_frames == fine.num_frames + 2
    np.testing.assert_allclose(up.joint_pos[: fine.num_frames], fine.joint_pos, atol=2e-3)
    np.testing.assert_allclose(up.root_pos[: fine.num_frames], fine.root_pos, atol=1e-3)
    assert quat_angle_between(up.root_quat[: fine.num_frames], fine.root_quat).max() < 1e-3
    np.testing.assert_allclose(np.linalg.norm(up.root_quat, axis=1), 1.0)
    linear = resample(slow, 120.0)

    def jerk(m: RobotMotion) -> float:
        return float(np.abs(np.diff(m.joint_pos[:, 2], 3, axis=0)).max() * m.fps**3)

    true = jerk(fine)
    assert jerk(up) < 1.5 * true < jerk(linear) / 5  # linear: a corner at every source frame


def test_skeleton_is_decimated_on_its_own_clock():
    fps, T, J = 120.0, 241, 2
    t = np.arange(T) / fps
    positions = np.stack([np.stack([t, 0 * t, 0 * t + j], axis=1) for j in range(J)], axis=1)
    rotations = np.stack([rotvec_to_quat(np.stack([0 * t, 0 * t, t], axis=1))] * J, axis=1)
    skeleton = SkeletonMotion(fps, ("a", "b"), (-1, 0), positions, rotations, np.zeros((J, 3)),
                              np.tile([1.0, 0, 0, 0], (J, 1)))
    slow = resample_skeleton(skeleton, 30.0)
    assert slow.fps == 30.0 and slow.num_frames == 61
    np.testing.assert_allclose(slow.positions, positions[::4])
    assert quat_angle_between(slow.rotations, rotations[::4]).max() < 1e-9
    assert resample_skeleton(skeleton, 120.0) is skeleton
