"""The batched IK on the bundled G1 alone (no ../shared): Jacobians, the solver's linear algebra, convergence, limits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from mimicdata.geometry.rotations import quat_conjugate, quat_multiply, quat_to_rotvec
from mimicdata.retarget.ik import Task, _cholesky_solve, make_chains, solve_ik

LIMBS = ("left_ankle_roll_link", "right_ankle_roll_link", "left_wrist_yaw_link", "right_wrist_yaw_link")


def _random_pose(robot, rng, frames, margin=0.15):
    lo, hi = robot.joint_lower + margin, robot.joint_upper - margin
    q = lo + (hi - lo) * rng.random((frames, robot.num_joints))
    root_pos = np.tile([0.0, 0.0, 0.8], (frames, 1))
    root_quat = np.tile([1.0, 0.0, 0.0, 0.0], (frames, 1))
    return root_pos, root_quat, q


def test_hinge_frames_give_the_jacobian_finite_differences_measure(robot):
    rng = np.random.default_rng(0)
    root_pos, root_quat, q = _random_pose(robot, rng, 3)
    body_pos, body_quat, origin, axis = robot.joint_frames(root_pos, root_quat, q)
    eps = 1e-6
    for j in range(robot.num_joints):
        bumped = q.copy()
        bumped[:, j] += eps
        pos2, quat2 = robot.forward_kinematics(root_pos, root_quat, bumped)
        linear = (pos2 - body_pos) / eps  # (T, B, 3)
        angular = quat_to_rotvec(quat_multiply(quat2, quat_conjugate(body_quat))) / eps
        moved = robot.body_joint_mask[:, j]
        expected_lin = np.cross(axis[:, j, None, :], body_pos - origin[:, j, None, :]) * moved[None, :, None]
        expected_ang = np.broadcast_to(axis[:, j, None, :], angular.shape) * moved[None, :, None]
        np.testing.assert_allclose(linear, expected_lin, atol=1e-5, err_msg=robot.joint_names[j])
        np.testing.assert_allclose(angular, expected_ang, atol=1e-5, err_msg=robot.joint_names[j])


@pytest.mark.parametrize("n", [1, 3, 7])
def test_batched_cholesky_matches_numpy_solve(n):
    rng = np.random.default_rng(n)
    T = 50
    a = rng.normal(size=(T, n, n))
    h = a @ a.transpose(0, 2, 1) + 0.1 * np.eye(n)
    g = rng.normal(size=(T, n))
    expected = np.linalg.solve(h, g[..., None])[..., 0]
    got = _cholesky_solve(np.ascontiguousarray(h.transpose(1, 2, 0)), np.ascontiguousarray(g.T)).T
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


@dataclass(frozen=True)
class _Fixed:
    pos: np.ndarray  # (T, K, 3)
    quat: np.ndarray  # (T, K, 4)

    def __call__(self, body_pos, body_quat):
        return self.pos, self.quat

    def at(self, frames):
        return _Fixed(self.pos[frames], self.quat[frames])


def _problem(robot, targets_from_q, rng, frames=40):
    root_pos, root_quat, _ = _random_pose(robot, rng, frames)
    # Poses within 0.5 rad of the neutral one: a start the solver is meant to take them from.
    goal = np.clip(rng.uniform(-0.5, 0.5, (frames, robot.num_joints)), robot.joint_lower + 0.05, robot.joint_upper - 0.05)
    bodies = [robot.body_index(b) for b in LIMBS]
    pos, quat = robot.forward_kinematics(root_pos, root_quat, goal)
    tasks = [Task(b, position_weight=1.0, orientation_weight=0.1) for b in bodies]
    chains = make_chains(robot, tasks, [[k] for k in range(len(tasks))])
    targets = _Fixed(pos[:, bodies] + targets_from_q, quat[:, bodies])
    return tasks, chains, targets, root_pos, root_quat, goal


def test_reachable_targets_are_reached_from_a_neutral_start(robot):
    rng = np.random.default_rng(1)
    tasks, chains, targets, root_pos, root_quat, goal = _problem(robot, 0.0, rng)
    start = np.clip(np.zeros_like(goal), robot.joint_lower, robot.joint_upper)
    result = solve_ik(robot, tasks, chains, targets, root_pos, root_quat, start, iterations=60, damping=1e-4,
                      posture_weight=0.0, nominal=np.zeros(robot.num_joints))
    # Limb poses (not necessarily the same angles) are reached: every frame, every limb.
    assert np.median(result.position_error) < 1e-3, np.median(result.position_error)
    assert np.percentile(result.position_error, 90) < 1e-2
    assert np.percentile(result.orientation_error, 90) < 5e-2


def test_unreachable_targets_never_push_joints_past_their_limits(robot):
    rng = np.random.default_rng(2)
    tasks, chains, targets, root_pos, root_quat, _ = _problem(robot, np.array([3.0, -2.0, 4.0]), rng)
    start = np.clip(np.zeros((root_pos.shape[0], robot.num_joints)), robot.joint_lower, robot.joint_upper)
    result = solve_ik(robot, tasks, chains, targets, root_pos, root_quat, start, iterations=30, damping=1e-3,
                      posture_weight=0.0, nominal=np.zeros(robot.num_joints))
    assert np.isfinite(result.joint_pos).all()
    assert (result.joint_pos >= robot.joint_lower - 1e-12).all() and (result.joint_pos <= robot.joint_upper + 1e-12).all()
    assert result.position_error.min() > 1.0  # the targets really were out of reach
