"""Damped Gauss-Newton IK over limb chains.

The floating base is placed from the human pelvis beforehand, so each limb
is a small independent least-squares problem (6 or 7 hinges, a few targets).
solve_ik stacks frames: one iteration is one FK pass over all frames and, per
chain, one compiled loop over the frames (kernels.chain_step) that forms each
frame's normal equations and solves them by Cholesky. The retarget solves its
frames one after another instead (problem.IkProblem.solve_in_order, and
kernels.refine for the constrained frames), with the same step.

Inequalities (collision, floor) enter as extra rows of the same least squares,
weighted heavily and switched on per frame only where violated: a stiff
penalty whose active set is recomputed every iteration. They are sparse (a pair
of capsules touches in a few frames), so each is a list of (frame, row) entries
whose products J^T J and J^T e are added into the frames' normal equations. For a
point P on body b pushed along a unit direction u, the row of hinge k (axis a_k
through o_k) is

    dg/dq_k = u . (a_k x (P - o_k)) = a_k . (P x u) + u . (o_k x a_k)   if k moves b, else 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .. import kernels
from ..geometry.rotations import quat_conjugate, quat_multiply, quat_to_rotvec
from ..robot import RobotModel

# Largest change of one joint in one iteration (rad): keeps a far start from
# overshooting into another IK branch.
MAX_STEP = 0.5
_CHUNK = 2048


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


class TargetFn(Protocol):
    """Targets of every task for the current pose, and the same for some of the frames."""

    def __call__(self, body_pos: np.ndarray, body_quat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T, K, 3) position and (T, K, 4) orientation targets, one per task."""

    def at(self, frames: slice | np.ndarray) -> TargetFn:
        """The targets of the frames a slice or an index array picks."""


def _error_vectors(
    targets: TargetFn, bodies: np.ndarray, oriented: np.ndarray, body_pos: np.ndarray, body_quat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(T, K, 3) each task's position error and, for the `oriented` tasks, rotation error (the rotation vector
    of target * body^-1; zero for the others), the targets taken at this pose."""
    pos_target, rot_target = targets(body_pos, body_quat)
    pos_err = pos_target - body_pos[:, bodies]
    rot_err = np.zeros_like(pos_err)
    rot_err[:, oriented] = quat_to_rotvec(quat_multiply(rot_target[:, oriented], quat_conjugate(body_quat[:, bodies[oriented]])))
    return pos_err, rot_err


def task_errors(tasks: list[Task], targets: TargetFn, body_pos: np.ndarray, body_quat: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """(T, K) how far each task's body is from its position target (m) and its orientation target (rad); 0
    for a task without that target."""
    bodies = np.array([t.body for t in tasks])
    has_pos = np.array([t.position_weight > 0 for t in tasks])
    has_rot = np.array([t.orientation_weight > 0 for t in tasks])
    pos_err, rot_err = _error_vectors(targets, bodies, np.flatnonzero(has_rot), body_pos, body_quat)
    return np.linalg.norm(pos_err, axis=-1) * has_pos, np.linalg.norm(rot_err, axis=-1) * has_rot


@dataclass(frozen=True)
class IkResult:
    joint_pos: np.ndarray  # (T, J)
    body_pos: np.ndarray  # (T, B, 3) the robot's bodies at joint_pos, the base as given
    body_quat: np.ndarray  # (T, B, 4)
    position_error: np.ndarray  # (T, K) metres; 0 for tasks without a position target
    orientation_error: np.ndarray  # (T, K) radians; 0 for tasks without an orientation target


def chain_joints(chains: list[Chain]) -> tuple[np.ndarray, np.ndarray]:
    """The chains' hinges concatenated, and where each chain's start (C + 1,), as the kernels take them."""
    return np.cumsum([0, *(len(c.joints) for c in chains)]), np.concatenate([c.joints for c in chains])


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
    max_step: float = MAX_STEP,
) -> IkResult:
    """Joint angles within limits that best reach the targets, the base held where it is.

    `targets` is called every iteration, so a target may follow the current
    pose (an arm target anchored at the robot's own shoulder, say). The posture
    term pulls toward `nominal`, one posture (J,) or one per frame (T, J).
    """
    T = joint_pos.shape[0]
    if T > _CHUNK:
        # Frames are independent problems; chunks keep the working set in cache.
        parts = [
            solve_ik(
                robot,
                tasks,
                chains,
                targets.at(slice(t0, t0 + _CHUNK)),
                root_pos[t0 : t0 + _CHUNK],
                root_quat[t0 : t0 + _CHUNK],
                joint_pos[t0 : t0 + _CHUNK],
                iterations=iterations,
                damping=damping,
                posture_weight=posture_weight,
                nominal=nominal if nominal.ndim == 1 else nominal[t0 : t0 + _CHUNK],
                max_step=max_step,
            )
            for t0 in range(0, T, _CHUNK)
        ]
        return IkResult(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("joint_pos", "body_pos", "body_quat", "position_error", "orientation_error")
            )
        )
    bodies = np.array([t.body for t in tasks])
    pos_w = np.sqrt([t.position_weight for t in tasks])
    rot_w = np.sqrt([t.orientation_weight for t in tasks])
    oriented = np.flatnonzero(rot_w > 0)
    q = np.clip(np.array(joint_pos, dtype=float), robot.joint_lower, robot.joint_upper)
    for it in range(iterations + 1):
        body_pos, body_quat, origin, axis = robot.joint_frames(root_pos, root_quat, q)
        p = body_pos[:, bodies]
        pos_err, rot_err = _error_vectors(targets, bodies, oriented, body_pos, body_quat)
        if it == iterations:
            break
        no_rows = (np.zeros(0, np.int64), np.zeros((0, 0)), np.zeros(0))
        steps = []
        for chain in chains:
            moves = robot.body_joint_mask[np.ix_(bodies[list(chain.tasks)], chain.joints)]
            steps.append((chain, kernels.chain_step(
                chain.joints, np.array(chain.tasks), moves, pos_w, rot_w, p, pos_err, rot_err, origin, axis, q,
                nominal, damping, posture_weight, no_rows, max_step)))
        for chain, step in steps:
            q[:, chain.joints] = np.clip(
                q[:, chain.joints] + step, robot.joint_lower[chain.joints], robot.joint_upper[chain.joints]
            )
    return IkResult(
        joint_pos=q,
        body_pos=body_pos,
        body_quat=body_quat,
        position_error=np.linalg.norm(pos_err, axis=-1) * (pos_w > 0),
        orientation_error=np.linalg.norm(rot_err, axis=-1) * (rot_w > 0),
    )
