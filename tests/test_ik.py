"""The batched IK on the bundled G1 alone (no ../shared): Jacobians, the compiled step's linear algebra, convergence, limits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from mimicdata import kernels
from mimicdata.geometry.rotations import quat_conjugate, quat_multiply, quat_to_rotvec
from mimicdata.retarget.ik import Task, make_chains, solve_ik

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


@pytest.mark.parametrize("max_step", [10.0, 0.01])
def test_compiled_chain_step_solves_the_normal_equations_numpy_writes_out(robot, max_step):
    """kernels.chain_step against the same damped least squares spelled out in numpy: the Jacobian from the
    hinge frames, the posture pull toward a per-frame nominal, two sparse constraint rows, np.linalg.solve."""
    rng = np.random.default_rng(7)
    T = 6
    root_pos, root_quat, q = _random_pose(robot, rng, T)
    body_pos, body_quat, origin, axis = robot.joint_frames(root_pos, root_quat, q)
    bodies = np.array([robot.body_index(b) for b in ("left_knee_link", "left_ankle_roll_link", "pelvis")])
    chain = make_chains(robot, [Task(int(b)) for b in bodies], [[0, 1]])[0]
    js, n = chain.joints, len(chain.joints)
    pos_w, rot_w = np.array([2.0, 6.0, 0.0]), np.array([0.0, 1.5, 0.0])
    point = body_pos[:, bodies]
    pos_err, rot_err = rng.normal(size=(T, 3, 3)) * 0.1, rng.normal(size=(T, 3, 3)) * 0.1
    nominal = rng.normal(size=(T, robot.num_joints)) * 0.2
    rows = (np.array([1, 4]), rng.normal(size=(2, n)), rng.normal(size=2))
    moves = robot.body_joint_mask[np.ix_(bodies[[0, 1]], js)]
    got = kernels.chain_step(js, np.array([0, 1]), moves, pos_w, rot_w, point, pos_err, rot_err, origin, axis, q,
                             nominal, 1e-3, 0.05, rows, max_step)
    for t in range(T):
        jac, err = [], []
        for c, k in enumerate((0, 1)):
            lever = point[t, k] - origin[t, js]
            if pos_w[k] > 0:
                jac.append((np.cross(axis[t, js], lever) * moves[c][:, None]).T * pos_w[k])
                err.append(pos_err[t, k] * pos_w[k])
            if rot_w[k] > 0:
                jac.append((axis[t, js] * moves[c][:, None]).T * rot_w[k])
                err.append(rot_err[t, k] * rot_w[k])
        J, e = np.concatenate(jac), np.concatenate(err)
        h = J.T @ J + (1e-3 + 0.05) * np.eye(n)
        g = J.T @ e - 0.05 * (q[t, js] - nominal[t, js])
        for frame, row, row_err in zip(*rows):
            if frame == t:
                h += np.outer(row, row)
                g += row * row_err
        expected = np.linalg.solve(h, g)
        expected *= min(1.0, max_step / np.abs(expected).max())
        np.testing.assert_allclose(got[t], expected, rtol=1e-9, atol=1e-12)


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


def test_frames_solved_in_order_reach_the_answer_the_batched_solve_converges_to(robot):
    """The sample walk (data/sample, retargeted by the nokov format): each frame from the one before, until a
    step moves no joint more than the tolerance, ends where 30 batched iterations from the nominal posture do."""
    from conftest import REPO
    from mimicdata.retarget import load_format
    from mimicdata.retarget.pipeline import plan_retarget
    from mimicdata.sources.bvh import read_bvh

    path = REPO / "data" / "sample" / "bvh" / "human_walk.bvh"
    skeleton = read_bvh(path, bvh_format="nokov")
    problem, _ = plan_retarget(skeleton, load_format("nokov"), robot, path)
    converged = problem.solve(robot, iterations=30)
    in_order = problem.solve_in_order(robot)
    assert np.abs(in_order.joint_pos - converged.joint_pos).max() < 2e-3
    np.testing.assert_allclose(in_order.position_error, converged.position_error, atol=1e-4)
    body_pos, body_quat = robot.forward_kinematics(problem.root_pos, problem.root_quat, in_order.joint_pos)
    np.testing.assert_array_equal(in_order.body_pos, body_pos)
    assert (robot.limit_excess(in_order.joint_pos) == 0).all()
