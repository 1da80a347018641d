"""A solved motion made trackable: capsules apart and above the floor, the base off the floor.

The plain solve runs on every frame. Then only the frames around those that break a constraint
are solved again from there with the collision and floor rows on, each frame on its own in
compiled code (kernels.refine), in rounds of a few iterations until its bounds hold: most
frames of most takes never get near a constraint. A pair (or a geom and the floor) is checked
only at the frames where it comes within PAIR_REACH of its bound.

A frame's constrained answer is not unique: two thighs crossing in a turn part by hip pitch,
roll or knee, and neighbouring frames, each solved on its own, pick different mixes (SOMA
walk_arc: the knee's correction +0.15, -0.07, -0.20 rad on three frames in a row, the planted
foot jumping 2 cm a frame). So the correction Δq(t) = q_refined - q_plain is smoothed along
time by a Gaussian of CORRECTION_SIGMA, and further passes (PASSES in all) refine, from that
smoothed motion, the frames it left short of a bound; their corrections are small and agree. On
the takes of tools/eval_retarget.py this cut RMS joint jerk by 20-80% (SOMA walk 5,808 -> 2,007,
hiphop 9,505 -> 1,723, CMU 01_01 1,963 -> 999, LAFAN1 fall 682 -> 499) with self-collision
frames no higher.

A leg whose foot is planted is held: a pair it makes with another chain is the other's to clear
(the swing leg steps around the stance leg, as a person's does). Shared, the thighs crossing in a
turn pushed the stance leg aside and slid its planted foot by up to 5 cm (SOMA walk_arc: stance
foot 0.20 -> 0.13 m/s; walk 0.090 -> 0.050, jog 0.091 -> 0.049). Where both feet are planted,
or neither, the legs share as before.

The IK moves limbs, not the base. Where the trunk (or a limb the IK could not lift) is
still below the floor, the base is raised by the depth, spread over neighbouring frames by a
running maximum and a Gaussian so the lift has no corners, and the limbs are solved again
around it: targets given in the world (feet) stay where they were, targets hanging from the
shoulders follow the trunk.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import kernels
from ..robot import RobotModel
from ..robot.collision import CollisionGeometry
from ..timeseries import gaussian_smooth, running_max
from .constraints import Places, compiled_settings
from .formats import ConstraintSettings
from .ik import IkResult
from .problem import IkProblem

PAIR_REACH = 0.03  # m: a pair (or geom) is checked at the frames where it comes this close to its bound
ROUND = 4  # constrained iterations between checks of which frames still need them
SETTLED = 0.002  # m: a bound missed by less than this needs no more iterations
SPREAD = 0.1  # s: half-width of the running maximum that spreads a bound or a base lift over time
SPREAD_SIGMA = 0.04  # s: the Gaussian after it
CORRECTION_SIGMA = 0.04  # s: the Gaussian the refinement's joint corrections are smoothed by along time
PASSES = 3  # refinements of the plain solve, each from the one before's smoothed answer
ROOTED = 2  # hinges: a geom moved by no more of a chain's is held off the floor by the base, not by the chain


def floor_geoms(robot: RobotModel, geometry: CollisionGeometry, problem: IkProblem, chains: list[str]) -> np.ndarray:
    """Geoms the named chains lift off the floor: those on bodies more than ROOTED of their hinges move, not on
    the feet (soles are the ground stage's). A geom only the first hinges of a limb move (the G1's hip
    capsule, on its hip roll link) sits where the trunk sits: seated on the floor it is the base lift's to
    hold up, like the pelvis. Asked of the leg, it pulled the hip through the whole leg and slid the
    planted foot on the floor (LAFAN1 fallAndGetUp1 frames 1600-1700: stance foot 0.054 -> 0.013 m/s)."""
    names = list(problem.config.chains)
    joints = np.concatenate([problem.chains[names.index(c)].joints for c in chains]) if chains else np.zeros(0, int)
    moved_by = robot.body_joint_mask[geometry.body][:, joints].sum(axis=1)
    return np.flatnonzero((moved_by > ROOTED) & ~_on_feet(robot, geometry))


def _on_feet(robot: RobotModel, geometry: CollisionGeometry) -> np.ndarray:
    """(G,) whether each geom hangs from one of the robot's feet."""
    return np.isin(geometry.body, [robot.body_index(f) for f in robot.foot_bodies])


def enforce(
    problem: IkProblem, robot: RobotModel, solved: IkResult, settings: ConstraintSettings, fps: float,
    held: np.ndarray | None = None,
) -> tuple[np.ndarray, IkProblem]:
    """Joint angles, and the problem with its base lifted, that keep the robot's collision geometry
    apart and above the floor, from a plain solve; (its joint_pos, problem) unchanged for a robot
    without collision geometry. `held` (T, C): the chains that leave a colliding pair to the other chains
    moving it, frame by frame (a leg on a planted foot: moved, the foot would slide)."""
    geometry = robot.collision
    if geometry is None:
        return solved.joint_pos, problem
    for _ in range(PASSES):
        solved = _refine(problem, robot, solved, settings, geometry, fps, held)
    if settings.floor is None:
        return solved.joint_pos, problem
    lowest = geometry.lowest_points(solved.body_pos, solved.body_quat)[:, ~_on_feet(robot, geometry)].min(axis=1)
    depth = settings.floor.margin - lowest
    if depth.max() <= 1e-3:
        return solved.joint_pos, problem
    root_pos = problem.root_pos.copy()
    root_pos[:, 2] += smooth_envelope(np.maximum(depth, 0.0), fps)
    problem = replace(problem, root_pos=root_pos)
    body_pos, body_quat = robot.forward_kinematics(problem.root_pos, problem.root_quat, solved.joint_pos)
    lifted = replace(solved, body_pos=body_pos, body_quat=body_quat)
    return _refine(problem, robot, lifted, settings, geometry, fps, held).joint_pos, problem


def smooth_envelope(need: np.ndarray, fps: float) -> np.ndarray:
    """(T, ...) a curve without corners that is at least `need` (T, ...) everywhere, and 0 far from where
    need is positive: a running maximum over SPREAD either side, then a Gaussian, along time."""
    flat = need.reshape(len(need), -1)
    active = np.flatnonzero((flat > 0).any(axis=0))  # most pairs never need a push: only these are filtered
    out = flat.copy()
    if len(active) and len(flat):
        width = 2 * int(round(SPREAD * fps)) + 1
        spread = running_max(flat[:, active], width)
        smooth = gaussian_smooth(spread, SPREAD_SIGMA * fps, truncate=3.0)
        # The Gaussian's far tail is numerical dust; cut it so "no push" means exactly 0.
        out[:, active] = np.maximum(np.where(smooth > 1e-4, smooth, 0.0), flat[:, active])
    return out.reshape(need.shape)


def _refine(
    problem: IkProblem,
    robot: RobotModel,
    solved: IkResult,
    settings: ConstraintSettings,
    geometry: CollisionGeometry,
    fps: float,
    held: np.ndarray | None = None,
) -> IkResult:
    """Solve again, with the constraints on, the frames where the plain solution comes near them.

    Each bound the plain solution breaks is raised by what it lacks, smoothed over time (smooth_envelope):
    where a hand passes 3 cm into the torso at one frame, the solver is asked for the margin plus
    a clearance that grows and fades over the neighbouring frames, so the corrected limb moves
    without corners and the IK's active set never switches between two frames. The joint corrections
    are then smoothed along time (CORRECTION_SIGMA; see the module's docstring for why).
    `solved` carries the bodies of its joint angles; so does the result (errors as `solved` gave them).
    """
    body_pos, body_quat = solved.body_pos, solved.body_quat
    T = len(solved.joint_pos)
    near = np.zeros(T, dtype=bool)
    places = {}
    if settings.self_collision is not None and len(geometry.pairs):
        margin = np.minimum(settings.self_collision.margin, 0.5 * geometry.rest_distance)
        # Exact within reach; farther, the bounding-sphere lower bound, which the raised clearances below
        # build on in the fade of a contact: a sentinel there instead would ask for a metre of clearance.
        distance = geometry.near_pair_distances(body_pos, body_quat, margin.max() + PAIR_REACH)  # (T, P)
        # Only the pairs that ever come within reach can have places (most never do).
        pairs = np.flatnonzero((distance < margin + PAIR_REACH).any(axis=0))
        distance, margin = distance[:, pairs], margin[pairs]
        push = smooth_envelope(np.maximum(margin - distance, 0.0), fps)
        near |= (push > SETTLED).any(axis=1)
        clearance = np.where(push > 0, distance + push, margin)
        places["self"] = Places.where(distance < clearance + PAIR_REACH, clearance, pairs)
    if settings.floor is not None:
        geoms = floor_geoms(robot, geometry, problem, settings.floor.chains)
        lowest = geometry.lowest_points(body_pos, body_quat)[:, geoms]
        push = smooth_envelope(np.maximum(settings.floor.margin - lowest, 0.0), fps)
        near |= (push > SETTLED).any(axis=1)
        clearance = np.where(push > 0, lowest + push, settings.floor.margin)
        places["floor"] = Places.where(lowest < clearance + PAIR_REACH, clearance, geoms)
    picked = np.flatnonzero(near)
    if not len(picked):
        return solved

    none = (np.zeros(len(picked) + 1, np.int64), np.zeros(0, np.int64), np.zeros(0))
    self_places, floor_places = (places[kind].grouped(picked) if kind in places else none for kind in ("self", "floor"))
    yielding = settings.self_collision.yielding if settings.self_collision is not None else []
    collision = compiled_settings(robot, geometry, [name in yielding for name in problem.config.chains], settings.weight)
    reference = solved.joint_pos
    refined, _, _ = kernels.refine(  # the bodies it returns are those before the smoothing below
        problem.kernel_clip(robot), (problem.config.solver.damping, settings.posture_weight, settings.max_step),
        collision, picked, reference[picked], self_places, floor_places,
        (settings.iterations, ROUND, SETTLED), None if held is None else held[picked],
    )
    correction = np.zeros_like(reference)
    correction[picked] = refined - reference[picked]
    changed = np.flatnonzero(np.abs(correction).max(axis=0) > 0.0)  # the joints of the chains that had rows
    correction[:, changed] = gaussian_smooth(correction[:, changed], CORRECTION_SIGMA * fps, "constant", truncate=3.0)
    moved = np.flatnonzero(np.abs(correction).max(axis=1) > 0.0)
    joint_pos, body_pos, body_quat = reference + correction, body_pos.copy(), body_quat.copy()
    body_pos[moved], body_quat[moved] = robot.forward_kinematics(problem.root_pos[moved], problem.root_quat[moved],
                                                                 joint_pos[moved])
    return replace(solved, joint_pos=joint_pos, body_pos=body_pos, body_quat=body_quat)
