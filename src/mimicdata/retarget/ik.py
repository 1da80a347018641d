"""Damped Gauss-Newton IK over limb chains, solved for every frame at once.

The floating base is placed from the human pelvis beforehand, so each limb
is a small independent least-squares problem (6 or 7 hinges, a few targets).
Frames are stacked: one iteration is a fixed handful of vectorised numpy calls
per chain, whatever the clip length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..robot import RobotModel
from ..rotations import quat_conjugate, quat_multiply, quat_to_rotvec

# Largest change of one joint in one iteration (rad): keeps a far start from
# overshooting into another IK branch.
_MAX_STEP = 0.5


@dataclass(frozen=True)
class Task:
    """Targets for one robot body: weights in 1/m^2 (position) and 1/rad^2 (orientation)."""

    body: int
    position_weight: float = 0.0
    orientation_weight: float = 0.0


@dataclass(frozen=True)
class Chain:
    """Hinges solved together against the tasks they move."""

    joints: np.ndarray  # (n,) joint indices
    tasks: tuple[int, ...]  # indices into the task list


# targets(body_pos, body_quat) -> ((T, K, 3) positions, (T, K, 4) orientations), one per task.
TargetFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class IkResult:
    joint_pos: np.ndarray  # (T, J)
    position_error: np.ndarray  # (T, K) metres; 0 for tasks without a position target
    orientation_error: np.ndarray  # (T, K) radians; 0 for tasks without an orientation target


def make_chains(robot: RobotModel, tasks: list[Task], groups: list[list[int]]) -> list[Chain]:
    """Each group of tasks drives the hinges above its bodies not claimed by an earlier group."""
    claimed = np.zeros(robot.num_joints, dtype=bool)
    chains = []
    for group in groups:
        reach = robot.body_joint_mask[[tasks[k].body for k in group]].any(axis=0) & ~claimed
        claimed |= reach
        chains.append(Chain(np.flatnonzero(reach), tuple(group)))
    return chains


def solve_ik(
    robot: RobotModel,
    tasks: list[Task],
    chains: list[Chain],
    targets: TargetFn,
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    joint_pos: np.ndarray,
    *,
    iterations: int,
    damping: float,
    posture_weight: float,
    nominal: np.ndarray,
) -> IkResult:
    """Joint angles within limits that best reach the targets, the base held where it is.

    `targets` is called every iteration, so a target may follow the current
    pose (an arm target anchored at the robot's own shoulder, say).
    """
    bodies = np.array([t.body for t in tasks])
    pos_w = np.sqrt([t.position_weight for t in tasks])
    rot_w = np.sqrt([t.orientation_weight for t in tasks])
    q = np.clip(np.array(joint_pos, dtype=float), robot.joint_lower, robot.joint_upper)
    for it in range(iterations + 1):
        body_pos, body_quat, origin, axis = robot.joint_frames(root_pos, root_quat, q)
        pos_target, rot_target = targets(body_pos, body_quat)
        p = body_pos[:, bodies]
        pos_err = pos_target - p
        rot_err = quat_to_rotvec(quat_multiply(rot_target, quat_conjugate(body_quat[:, bodies])))
        if it == iterations:
            break
        for chain in chains:
            _step(robot, chain, bodies, pos_w, rot_w, p, pos_err, rot_err, origin, axis, q, damping, posture_weight, nominal)
    return IkResult(
        joint_pos=q,
        position_error=np.linalg.norm(pos_err, axis=-1) * (pos_w > 0),
        orientation_error=np.linalg.norm(rot_err, axis=-1) * (rot_w > 0),
    )


def _step(
    robot: RobotModel,
    chain: Chain,
    bodies: np.ndarray,
    pos_w: np.ndarray,
    rot_w: np.ndarray,
    p: np.ndarray,
    pos_err: np.ndarray,
    rot_err: np.ndarray,
    origin: np.ndarray,
    axis: np.ndarray,
    q: np.ndarray,
    damping: float,
    posture_weight: float,
    nominal: np.ndarray,
) -> None:
    """One damped Gauss-Newton step of one chain, applied to q in place."""
    js = chain.joints
    a = axis[:, js]  # (T, n, 3)
    o = origin[:, js]
    blocks, residuals = [], []
    for k in chain.tasks:
        moves = robot.body_joint_mask[bodies[k], js].astype(float)  # (n,)
        if pos_w[k] > 0:
            # A hinge moves a point at axis x (point - origin).
            lever = p[:, k, None, :] - o
            cross = np.stack(
                [
                    a[..., 1] * lever[..., 2] - a[..., 2] * lever[..., 1],
                    a[..., 2] * lever[..., 0] - a[..., 0] * lever[..., 2],
                    a[..., 0] * lever[..., 1] - a[..., 1] * lever[..., 0],
                ],
                axis=1,
            )  # (T, 3, n)
            blocks.append(cross * (moves * pos_w[k]))
            residuals.append(pos_err[:, k] * pos_w[k])
        if rot_w[k] > 0:
            blocks.append(a.transpose(0, 2, 1) * (moves * rot_w[k]))
            residuals.append(rot_err[:, k] * rot_w[k])
    jac = np.concatenate(blocks, axis=1)  # (T, m, n)
    err = np.concatenate(residuals, axis=1)  # (T, m)
    jt = jac.transpose(0, 2, 1)
    hessian = jt @ jac
    n = len(js)
    hessian[:, np.arange(n), np.arange(n)] += damping + posture_weight
    gradient = np.einsum("tmn,tm->tn", jac, err) - posture_weight * (q[:, js] - nominal[js])
    step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
    step *= np.minimum(1.0, _MAX_STEP / np.maximum(np.abs(step).max(axis=1, keepdims=True), 1e-12))
    q[:, js] = np.clip(q[:, js] + step, robot.joint_lower[js], robot.joint_upper[js])
