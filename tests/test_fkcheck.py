"""check_poses against MuJoCo on clips the project builds, and on a planted order mismatch."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import MJLAB_XML, require_shared
from mimicdata.fkcheck import MujocoReference, check_poses
from mimicdata.kinematics import motion_to_clip
from mimicdata.motion import RobotMotion


@pytest.fixture(scope="module")
def clip(robot):
    rng = np.random.default_rng(3)
    T = 90
    t = np.arange(T) / 30.0
    joints = 0.4 * np.sin(2.0 * t[:, None] + rng.uniform(0, 6, robot.num_joints))
    joints = np.clip(joints, robot.joint_lower, robot.joint_upper)
    root = np.stack([0.5 * t, 0.1 * np.sin(t), 0.75 + 0.02 * np.cos(3 * t)], axis=1)
    yaw = 0.3 * t
    quat = np.stack([np.cos(yaw / 2), 0 * yaw, 0 * yaw, np.sin(yaw / 2)], axis=1)
    return motion_to_clip(robot, RobotMotion(30.0, root, quat, joints, robot.joint_names))


def _check(reference, clip, **kw):
    return check_poses(
        reference, clip.fps, clip.joint_pos, clip.body_pos_w, clip.body_quat_w, clip.body_lin_vel_w, **kw
    )


def test_own_clip_passes_against_mujoco_of_the_bundled_urdf(robot, clip):
    result = _check(MujocoReference(robot), clip)
    assert result.passed, result.problems
    assert result.pos_max < 1e-9 and result.rot_max < 1e-7
    assert result.lin_vel_rms < 1e-9


def test_own_clip_passes_against_mjlab_mjcf(robot, clip):
    require_shared("robots", "unitree_g1_mjlab", "g1.xml")
    result = _check(MujocoReference(robot, MJLAB_XML), clip, frames=10)
    assert result.frames_checked == 10
    assert result.passed, result.problems


def test_swapped_joint_columns_fail(robot, clip):
    joints = clip.joint_pos.copy()
    a, b = robot.joint_names.index("left_knee_joint"), robot.joint_names.index("right_knee_joint")
    joints[:, [a, b]] = joints[:, [b, a]]
    result = check_poses(MujocoReference(robot), clip.fps, joints, clip.body_pos_w, clip.body_quat_w)
    assert not result.passed
    assert result.pos_max > 0.01


def test_swapped_body_order_fails(robot, clip):
    order = np.arange(len(robot.body_names))
    order[[4, 10]] = order[[10, 4]]
    result = check_poses(MujocoReference(robot), clip.fps, clip.joint_pos, clip.body_pos_w[:, order], clip.body_quat_w[:, order])
    assert not result.passed


def test_non_unit_quaternions_and_nan_are_problems(robot, clip):
    quat = clip.body_quat_w * 1.1
    joints = clip.joint_pos.copy()
    joints[5, 3] = np.nan
    result = check_poses(MujocoReference(robot), clip.fps, joints, clip.body_pos_w, quat, frames=4)
    text = " ".join(result.problems)
    assert "not unit length" in text and "NaN" in text
