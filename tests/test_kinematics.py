import numpy as np
import pytest

from mimicdata.geometry.rotations import euler_to_quat, quat_angle_between
from mimicdata.motion import RobotMotion
from mimicdata.stages.fk import motion_to_clip
from mimicdata.stages.resample import resample, resampled_frame_count


def _motion(robot, fps, T, yaw_rate=0.0, speed=0.0):
    t = np.arange(T) / fps
    root = np.stack([speed * t, 0 * t, 0.8 + 0 * t], axis=1)
    quat = euler_to_quat(np.stack([0 * t, 0 * t, yaw_rate * t], axis=1), "xyz")
    q = 0.2 * np.sin(np.outer(t, np.linspace(0.5, 2.0, robot.num_joints)))
    q = np.clip(q, robot.joint_lower, robot.joint_upper)
    return RobotMotion(float(fps), root, quat, q, robot.joint_names)


@pytest.mark.parametrize(
    "T, src, dst, expected",
    [(120, 120, 30, 30), (121, 120, 30, 31), (300, 29.97, 30, 300), (1000, 29.97, 30, 1001),
     (50, 50, 30, 30), (9, 30, 30, 9), (1, 60, 30, 1), (151, 50, 30, 91)],
)
def test_resampled_frame_count(T, src, dst, expected):
    assert resampled_frame_count(T, src, dst) == expected


def test_resample_keeps_shared_instants_and_interpolates_between(robot):
    m = _motion(robot, 120, 121, yaw_rate=0.7, speed=1.0)
    r = resample(m, 30)
    assert r.num_frames == 31 and r.fps == 30
    np.testing.assert_allclose(r.joint_pos, m.joint_pos[::4], atol=1e-12)
    np.testing.assert_allclose(r.root_pos, m.root_pos[::4], atol=1e-12)
    assert quat_angle_between(r.root_quat, m.root_quat[::4]).max() < 1e-9
    # a non-integer ratio: 29.97 -> 30 fps; linear root motion stays linear, yaw stays uniform
    m2 = _motion(robot, 29.97, 300, yaw_rate=0.5, speed=1.0)
    r2 = resample(m2, 30)
    t = np.arange(r2.num_frames) / 30
    np.testing.assert_allclose(r2.root_pos[:, 0], t, atol=1e-9)
    expect = euler_to_quat(np.stack([0 * t, 0 * t, 0.5 * t], axis=1), "xyz")
    assert quat_angle_between(r2.root_quat, expect).max() < 1e-9


def test_velocities_from_positions_not_interpolated(robot):
    m = resample(_motion(robot, 50, 200, yaw_rate=0.8, speed=1.5), 30)
    clip = motion_to_clip(robot, m)
    pelvis = robot.body_index("pelvis")
    np.testing.assert_allclose(clip.body_lin_vel_w[:, pelvis, 0], 1.5, atol=1e-9)
    np.testing.assert_allclose(clip.body_ang_vel_w[:, pelvis], np.tile([0, 0, 0.8], (clip.num_frames, 1)), atol=1e-9)
    np.testing.assert_allclose(clip.joint_vel, np.gradient(clip.joint_pos, 1 / 30, axis=0))


def test_angular_velocity_ignores_quaternion_sign_flips(robot):
    m = _motion(robot, 30, 90, yaw_rate=1.0)
    flipped = RobotMotion(m.fps, m.root_pos, m.root_quat * np.where(np.arange(90) % 3 == 0, -1, 1)[:, None],
                          m.joint_pos, m.joint_names)
    a = motion_to_clip(robot, m)
    b = motion_to_clip(robot, flipped)
    np.testing.assert_allclose(a.body_ang_vel_w, b.body_ang_vel_w, atol=1e-9)
    assert np.abs(b.body_ang_vel_w[:, 0, 2] - 1.0).max() < 1e-9


def test_turning_takes_one_direction_onto_another_the_short_way():
    """geometry.rotations.turning: the level-feet correction and the arm's hanging probe both use it."""
    from mimicdata.geometry.rotations import rotate_vector, turning

    rng = np.random.default_rng(5)
    for a, b in [(rng.normal(size=3), rng.normal(size=3)) for _ in range(20)] + [
        (np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, -1.0])),  # a straight arm hanging down
        (np.array([0.3, 0.4, 0.5]), np.array([0.3, 0.4, 0.5])),  # already there
        (np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, -1.0])),  # opposite: a half turn
    ]:
        a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
        q = turning(a, b)
        np.testing.assert_allclose(rotate_vector(q, a), b, atol=1e-12)
        angle = np.arccos(np.clip(a @ b, -1.0, 1.0))
        assert float(quat_angle_between(q, np.array([1.0, 0.0, 0.0, 0.0]))) == pytest.approx(angle, abs=1e-7)
