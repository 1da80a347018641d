"""The base gives way where a leg on the floor is too short for its foot's target.

The base follows the performer's pelvis, scaled by the leg ratio. A robot's legs are not the
performer's scaled: at the end of a long stride the trailing leg straightens before the
performer's did, and its planted foot ends above and ahead of its target (CMU 131_01: 2 cm up).
The ground stage then lowers the whole robot to stand that sole on the floor, and the other foot,
landing, meets the floor early and skids along it. So, after the plain solve, the base moves
toward what the legs cannot reach. With h_f the hip of leg f, a_f where its ankle ended and
t_f its target, the leg lacks

    l_f = max(0, |t_f - h_f| - |a_f - h_f| - DEAD_ZONE)

along u_f = (t_f - h_f) / |t_f - h_f|. Only this radial lack counts: a foot beside its target
with its leg bent is the IK trading position against the foot's orientation (a pitch limit, say),
and moving the base toward it only straightens the knee into its limit (tried: CMU 131_01's joint
jerk doubled). Weighted by w_f = 1 - c_f / H, 1 in contact and 0 in mid-swing (c_f the swing
clearance profile of swing.swing_clearance, rising over `fade` seconds), each axis i of the base's
displacement is

    d_i = the larger of w_f l_f u_f,i in size   where the legs agree (moving by it, the other still reaches),
    d_i = their sum                            where they pull opposite ways (a compromise),

spread over time as the base lift is (physical.smooth_envelope, each sign on its own), and capped
at `most` metres from the performer's pelvis. A straight leg follows its hip one to one, so the
legs, solved again around the moved base, close their gaps; a second round takes what the first
left. Targets given in the world (feet, knees) stay; targets hanging from the shoulders follow the
trunk.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..robot import RobotModel
from ..timeseries import true_runs
from .formats import ReachSettings
from .ik import IkResult, task_errors
from .physical import smooth_envelope
from .problem import IkProblem
from .swing import swing_clearance

DEAD_ZONE = 0.005  # m


def base_displacement(hips: np.ndarray, reached: np.ndarray, targets: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(T, 3) the base's displacement from each leg's hip, where its foot got to and its target (T, F, 3), and
    the feet's weights (T, F): per axis the larger weighted shortfall where all feet agree in sign, their sum
    where not."""
    toward = targets - hips
    distance = np.linalg.norm(toward, axis=-1)
    lacking = np.maximum(distance - np.linalg.norm(reached - hips, axis=-1) - DEAD_ZONE, 0.0)
    pull = toward * (lacking * weight / np.maximum(distance, 1e-12))[..., None]  # (T, F, 3)
    agree = (pull >= 0).all(axis=1) | (pull <= 0).all(axis=1)
    largest = np.take_along_axis(pull, np.abs(pull).argmax(axis=1)[:, None], axis=1)[:, 0]
    return np.where(agree, largest, pull.sum(axis=1))


def give_way(
    problem: IkProblem,
    robot: RobotModel,
    solved: IkResult,
    feet: list[int],
    hips: list[int],
    down: np.ndarray,
    settings: ReachSettings,
    fps: float,
) -> tuple[IkProblem, IkResult]:
    """The problem with its base moved toward the feet (tasks `feet`, their legs hanging from the bodies `hips`)
    that fall short of their targets where they are `down` (T, F), and its plain in-order solve; (problem,
    solved) as given where no leg falls short."""
    weight = 1.0 - swing_clearance(down, fps, 1.0, settings.fade)
    start = problem.root_pos
    for _ in range(settings.rounds):
        targets, _ = problem.targets(solved.body_pos, solved.body_quat)
        reached = solved.body_pos[:, [problem.tasks[k].body for k in feet]]
        move = base_displacement(solved.body_pos[:, hips], reached, targets[:, feet], weight)
        if not move.size or np.abs(move).max() <= 1e-3:
            break
        move = smooth_envelope(np.maximum(move, 0.0), fps) - smooth_envelope(np.maximum(-move, 0.0), fps)
        root_pos = problem.root_pos + move
        offset = root_pos - start
        size = np.linalg.norm(offset, axis=-1, keepdims=True)
        root_pos = start + offset * np.minimum(1.0, settings.most / np.maximum(size, 1e-12))
        problem = replace(problem, root_pos=root_pos)
        solved = solve_again(problem, robot, solved, np.abs(move).max(axis=1) > 0.0)
    return problem, solved


def solve_again(problem: IkProblem, robot: RobotModel, solved: IkResult, moved: np.ndarray) -> IkResult:
    """`solved` with the runs of `moved` frames solved again in order, each run from its first frame's old
    answer (the base moved by centimetres: a few steps away); the others as they were."""
    joint_pos = solved.joint_pos.copy()
    for start, stop in true_runs(moved):
        joint_pos[start:stop] = problem.between(start, stop).joint_pos_in_order(robot, joint_pos[start])
    body_pos, body_quat = solved.body_pos.copy(), solved.body_quat.copy()
    position_error, orientation_error = solved.position_error.copy(), solved.orientation_error.copy()
    frames = np.flatnonzero(moved)
    body_pos[frames], body_quat[frames] = robot.forward_kinematics(problem.root_pos[frames], problem.root_quat[frames],
                                                                   joint_pos[frames])
    position_error[frames], orientation_error[frames] = task_errors(
        problem.tasks, problem.targets.at(frames), body_pos[frames], body_quat[frames])
    return IkResult(joint_pos, body_pos, body_quat, position_error, orientation_error)
