"""Human skeleton motion -> robot motion: scale, solve IK, smooth, ground."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import InputError
from ..geometry.rotations import (
    quat_conjugate,
    quat_continuity,
    quat_multiply,
    quat_normalize,
    rotate_vector,
    turning,
)
from ..motion import RobotMotion, SkeletonMotion
from ..robot import RobotModel
from ..stages.resample import resample_skeleton, spline_resample
from ..timeseries import gaussian_smooth
from .arms import hanging_angle, spread
from .calibrate import offsets_at, robot_tpose, stored_offsets
from .draft import retarget_config
from .formats import BvhFormat, RetargetConfig, SwingSettings, resolve_roles
from .ground import foot_contacts, ground_shift, marker_contacts
from .ik import Task, make_chains
from .physical import enforce
from .problem import IkProblem, Targets
from .reach import give_way
from .replant import replant
from .speed import limit_joint_speed
from .stance import FootParts, lock_planted_feet
from .swing import lift_swing_feet, swing_clearance

# Floor to head joint (m) of anyone mocap is recorded from, child to very tall adult: a skeleton read
# with the wrong length unit lands far outside (LAFAN1's cm read as CMU units: 9 m).
HUMAN_HEIGHT = (0.8, 2.4)
# A foot this high above the floor (m) or lower keeps the performer's height; far higher, the height
# scales with the leg (stepping over an obstacle, a smaller robot lifts its foot less).
CLEARANCE = 0.1
END_EFFECTOR_ROLES = ("left_wrist", "right_wrist", "left_ankle", "right_ankle")
SIDES: tuple[Literal["left", "right"], ...] = ("left", "right")


@dataclass(frozen=True)
class BodyMeasures:
    """Limb lengths (m) of one body, human or robot."""

    leg: float  # hip -> knee -> ankle, mean of both sides
    arm: float  # shoulder -> elbow -> wrist, mean of both sides


@dataclass(frozen=True)
class Retargeted:
    motion: RobotMotion
    human: BodyMeasures
    robot: BodyMeasures
    height: float  # the performer's standing height to the head joint, m
    planted: np.ndarray  # (T, 2) human foot contacts, left and right
    notes: tuple[str, ...]
    ik_residual: np.ndarray  # (T,) m, the farthest a hand or foot ends from its IK target
    performer: np.ndarray  # (T, J, 3) the performer's joints scaled as the targets were (by the leg ratio, about the floor)


def human_measures(skeleton: SkeletonMotion, roles: dict[str, int]) -> BodyMeasures:
    rest = skeleton.rest_positions

    def chain(*names: str) -> float:
        pts = rest[[roles[n] for n in names]]
        return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())

    leg = np.mean([chain(f"{s}_hip", f"{s}_knee", f"{s}_ankle") for s in SIDES])
    arm = np.mean([chain(f"{s}_shoulder", f"{s}_elbow", f"{s}_wrist") for s in SIDES])
    return BodyMeasures(leg=float(leg), arm=float(arm))


def robot_measures(robot: RobotModel, config: RetargetConfig) -> BodyMeasures:
    pos, _ = robot_tpose(robot, config)

    def chain(bodies: tuple[str, str, str]) -> float:
        pts = pos[[robot.body_index(b) for b in bodies]]
        return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())

    return BodyMeasures(
        leg=float(np.mean([chain(config.legs[s]) for s in SIDES])),
        arm=float(np.mean([chain(config.arms[s]) for s in SIDES])),
    )


def smoothed(skeleton: SkeletonMotion, sigma_seconds: float) -> SkeletonMotion:
    """Zero-phase Gaussian smoothing of joint positions and orientations."""
    sigma = sigma_seconds * skeleton.fps
    if sigma <= 0.3 or skeleton.num_frames < 2:
        return skeleton
    positions = gaussian_smooth(skeleton.positions, sigma)
    # Averaging sign-continuous unit quaternions and renormalising is an
    # accurate mean for the small angles one smoothing window spans.
    rotations = gaussian_smooth(quat_continuity(skeleton.rotations, axis=0), sigma)
    return replace(skeleton, positions=positions, rotations=quat_normalize(rotations))


@dataclass(frozen=True)
class _Scaled:
    """The human motion measured and scaled to the robot."""

    skeleton: SkeletonMotion  # smoothed
    roles: dict[str, int]
    human: BodyMeasures
    robot: BodyMeasures
    head_height: float
    lower: dict[str, np.ndarray]  # lower-body role -> (T, 3) target
    feet: np.ndarray  # (T, 2, 2, 3) human ankle and toe, left and right
    feet_rest: np.ndarray  # (2, 2) their heights when planted
    planted_parts: np.ndarray  # (T, 2, 2) whether each of those markers is planted (ground.marker_contacts)
    floor: float  # the height the performer stands on, in the skeleton's frame


def _scale(skeleton: SkeletonMotion, fmt: BvhFormat, robot: RobotModel, config: RetargetConfig, path) -> _Scaled:
    roles = resolve_roles(skeleton, fmt, path)
    human = human_measures(skeleton, roles)
    body = robot_measures(robot, config)
    leg_scale = body.leg / human.leg
    skeleton = smoothed(skeleton, config.input_smoothing)
    P = skeleton.positions
    # Heights are measured from the floor the performer stands on: the lowest
    # the feet ever get, which is also where a hc_mocap stream's ground is.
    feet = np.stack([P[:, [roles[f"{s}_ankle"], roles[f"{s}_toe"]]] for s in SIDES], axis=1)
    floor = float(np.percentile(feet[..., 2].min(axis=(1, 2)), 2.0))
    feet_rest = np.percentile(feet[..., 2], 5.0, axis=0)
    ankle_height = float(feet_rest[:, 0].mean()) - floor
    # Standing height to the head joint, from bone lengths: a clip need not
    # contain an upright frame, and the rest pose need not be upright.
    rest = skeleton.rest_positions
    rest_hips = 0.5 * (rest[roles["left_hip"]] + rest[roles["right_hip"]])
    head_height = ankle_height + human.leg + float(np.linalg.norm(rest[roles["head"]] - rest_hips))
    if not HUMAN_HEIGHT[0] <= head_height <= HUMAN_HEIGHT[1]:
        raise InputError(
            path, "HIERARCHY",
            f"the performer measures {head_height:.2f} m from the floor to the head joint when read with "
            f"bvh_format {fmt.name!r} (length unit {fmt.length_unit:g} m); a person is "
            f"{HUMAN_HEIGHT[0]:g}-{HUMAN_HEIGHT[1]:g} m: is this the right format for the file?",
        )
    # Lower-body targets: the human scaled by the leg ratio about the floor,
    # lifted so a flat human foot puts the robot's sole on the floor. A foot's
    # height c above where it rests is the performer's near the floor and
    # scaled far above it, s c + (1 - s) C tanh(c / C) (slope 1 at the floor,
    # s far up): a scaled-down swing foot would skim the floor where the
    # performer's cleared it, an unscaled high step would reach the pelvis.
    sole_depth = -min(float(pts[:, 2].min()) for pts in robot.sole_points.values())
    lift = sole_depth - leg_scale * ankle_height
    lower = {}
    widen = _hip_widening(robot, config, rest[roles["left_hip"]] - rest[roles["right_hip"]], leg_scale)
    across = P[:, roles["left_hip"]] - P[:, roles["right_hip"]]
    across /= np.linalg.norm(across, axis=1, keepdims=True)
    for role in ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"):
        p = (P[:, roles[role]] - [0.0, 0.0, floor]) * leg_scale
        p[:, 2] += lift
        if not role.endswith("hip"):
            p += (widen if role.startswith("left") else -widen) * across
        if role.endswith("ankle"):
            clearance = P[:, roles[role], 2] - floor - ankle_height
            p[:, 2] = sole_depth + leg_scale * clearance + (1 - leg_scale) * CLEARANCE * np.tanh(clearance / CLEARANCE)
        lower[role] = p
    planted_parts = marker_contacts(feet, feet_rest, skeleton.fps)
    return _Scaled(skeleton, roles, human, body, head_height, lower, feet, feet_rest, planted_parts, floor)


def _hip_widening(robot: RobotModel, config: RetargetConfig, human_hips: np.ndarray, leg_scale: float) -> float:
    """How far (m) each knee and ankle target is set out along the performer's hip line: by as much as the
    robot's hip joints are farther apart than the performer's, scaled. Feet at the performer's track under
    hips set wider hold every stance leg adducted, and a hip's adduction range is its narrowest (T1's 0.3
    rad: SOMA's walkers kept one stance leg at that limit, its foot sliding). Never inward: a robot with
    narrower hips reaches the track by abduction, and bringing the feet together brings the legs into each
    other."""
    pos, _ = robot_tpose(robot, config)
    robot_hips = pos[robot.body_index(config.legs["left"][0])] - pos[robot.body_index(config.legs["right"][0])]
    return max(0.0, 0.5 * (float(np.linalg.norm(robot_hips)) - leg_scale * float(np.linalg.norm(human_hips))))


def _problem(scaled: _Scaled, robot: RobotModel, config: RetargetConfig, offsets: dict[str, np.ndarray]) -> IkProblem:
    skeleton, roles, lower = scaled.skeleton, scaled.roles, scaled.lower
    T = skeleton.num_frames
    arm_scale = scaled.robot.arm / scaled.human.arm
    order = list(config.tasks)
    tasks = [Task(robot.body_index(w.body), w.position, w.orientation) for w in config.tasks.values()]
    rot_target = np.empty((T, len(tasks), 4))
    rot_target[:] = [1.0, 0.0, 0.0, 0.0]
    for k, role in enumerate(order):
        if role in offsets:
            rot_target[:, k] = quat_continuity(quat_multiply(skeleton.rotations[:, roles[role]], offsets[role]))
    flat = np.asarray(scaled.planted_parts.all(axis=2))  # (T, 2) heel and ball down
    for f, foot_side in enumerate(SIDES):
        k = order.index(f"{foot_side}_ankle")
        rot_target[:, k] = level_feet(rot_target[:, k], flat[:, f])
    positions = np.stack([lower.get(r, np.zeros((T, 3))) for r in order], axis=1)
    arm_slots: list[tuple[int, int, np.ndarray]] = []
    collision = config.constraints.self_collision if config.constraints is not None else None
    for side in SIDES:
        if side not in config.arms:
            continue
        parts = [role for role in (f"{side}_elbow", f"{side}_wrist") if role in order]
        shoulder_pos = skeleton.positions[:, roles[f"{side}_shoulder"]]
        arm_offsets = [(skeleton.positions[:, roles[role]] - shoulder_pos) * arm_scale for role in parts]
        if collision is not None and collision.spread_arms and parts and parts[-1].endswith("wrist"):
            angle = hanging_angle(robot, config, side, collision.margin)
            arm_offsets = spread(arm_offsets, rot_target[:, order.index("pelvis")], side, angle, scaled.robot.arm)
        shoulder = robot.body_index(config.arms[side][0])
        arm_slots.extend((order.index(role), shoulder, offset) for role, offset in zip(parts, arm_offsets))
    arm_slots.sort(key=lambda slot: slot[0])
    nominal = np.zeros(robot.num_joints)
    for name, value in config.nominal.items():
        nominal[robot.joint_names.index(name)] = value
    # The base: the human pelvis orientation, hip joints on the scaled human's. A base that is the torso
    # (Booster's T1 floats its trunk) takes it too, turned as the T-pose holds it from the pelvis body: a
    # mocap chest joint can sit tens of degrees off the pelvis (LAFAN1's Spine2 in walk4: 41 on average),
    # which would tip the legs forward to their hip limits; the waist then turns the pelvis body.
    tpose_pos, tpose_quat = robot_tpose(robot, config)
    pelvis_body = robot.body_index(config.tasks["pelvis"].body)
    base_from_pelvis = quat_multiply(quat_conjugate(tpose_quat[pelvis_body]), tpose_quat[robot.body_index(config.tasks[config.root].body)])
    root_quat = quat_normalize(quat_multiply(rot_target[:, order.index("pelvis")], np.broadcast_to(base_from_pelvis, (T, 4))))
    hips_offset = 0.5 * sum(tpose_pos[robot.body_index(config.legs[s][0])] for s in SIDES)
    root_pos = 0.5 * (lower["left_hip"] + lower["right_hip"]) - rotate_vector(root_quat, hips_offset)
    chains = make_chains(robot, tasks, [[order.index(r) for r in c.tasks] for c in config.chains.values()])
    return IkProblem(tasks, chains, Targets(positions, rot_target, arm_slots), root_pos, root_quat, nominal, config)


def level_feet(foot_quat: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """(T, 4) foot orientation targets turned, by one constant rotation in the foot's frame, so that the
    robot sole lies level where the performer's foot is flat on the floor (`flat`, (T,)).

    A calibration frame whose feet are not flat (LAFAN1's T-pose has its toes 7 cm up) would otherwise
    put every planted robot foot on tiptoe. With u the world up in the foot frame, averaged over the
    flat frames, the correction C turns the foot's own up axis onto u, so that R C z = z there.
    """
    if flat.sum() < 3:
        return foot_quat  # no flat stance to level against (a take on the floor, say)
    up = rotate_vector(quat_conjugate(foot_quat[np.asarray(flat, dtype=bool)]), np.array([0.0, 0.0, 1.0])).mean(axis=0)
    up /= np.linalg.norm(up)
    if np.arctan2(np.linalg.norm(up[:2]), up[2]) < 1e-6:
        return foot_quat  # level already
    correction = turning(np.array([0.0, 0.0, 1.0]), up)
    return quat_multiply(foot_quat, np.broadcast_to(correction, foot_quat.shape))


def plan_retarget(
    skeleton: SkeletonMotion,
    fmt: BvhFormat,
    robot: RobotModel,
    path: Path | str = "<skeleton>",
    config: RetargetConfig | None = None,
) -> tuple[IkProblem, _Scaled]:
    """The IK problem of a skeleton motion, before it is solved."""
    config = config or retarget_config(robot)
    scaled = _scale(skeleton, fmt, robot, config, path)
    if fmt.calibration.source == "rest":
        offsets = offsets_at(skeleton, scaled.roles, robot, config, frame=None)
    else:
        stored = {r: np.asarray(q, dtype=float) for r, q in fmt.calibration.offsets.items()}
        offsets = stored_offsets(stored, robot, config)
    return _problem(scaled, robot, config, offsets), scaled


def _ankles(problem: IkProblem, robot: RobotModel) -> list[tuple[int, np.ndarray]]:
    """Each foot's ankle task and the sole points (S, 3) of its body, left then right."""
    order = list(problem.config.tasks)
    tasks = [order.index(f"{side}_ankle") for side in SIDES]
    return [(k, robot.sole_points.get(robot.body_names[problem.tasks[k].body], np.zeros((1, 3)))) for k in tasks]


def _with_feet_locked(problem: IkProblem, robot: RobotModel, planted: np.ndarray, fps: float, blend: float) -> IkProblem:
    """The problem with the planted part of each foot held still (stance.py); `planted` (T, 2, 2)."""
    feet = []
    for k, soles in _ankles(problem, robot):
        rear = soles[:, 0] <= np.median(soles[:, 0])
        feet.append(FootParts(k, soles[rear].mean(axis=0), soles[~rear].mean(axis=0)))
    targets = problem.targets
    positions = lock_planted_feet(targets.positions, targets.orientations, feet, planted, fps, blend)
    return replace(problem, targets=replace(targets, positions=positions))


def _with_swing_lifted(problem: IkProblem, robot: RobotModel, down: np.ndarray, standing: np.ndarray, fps: float,
                       swing: SwingSettings) -> IkProblem:
    """The problem with each foot lifted clear of the floor between its contacts `down` (T, 2) (swing.py),
    the floor being where the ground stage will put the feet `standing` (T, 2)."""
    targets = problem.targets
    clearance = swing_clearance(down, fps, swing.height, swing.rise)
    positions = lift_swing_feet(targets.positions, targets.orientations, _ankles(problem, robot), clearance, standing, fps)
    return replace(problem, targets=replace(targets, positions=positions))


def _legs_on(problem: IkProblem, down: np.ndarray) -> np.ndarray:
    """(T, C) the chains that carry a foot planted at the frame (`down` (T, 2), left and right)."""
    order = list(problem.config.tasks)
    legs = np.zeros((len(down), len(problem.chains)), dtype=bool)
    for f, side in enumerate(SIDES):
        ankle = order.index(f"{side}_ankle")
        for c, chain in enumerate(problem.chains):
            if ankle in chain.tasks:
                legs[:, c] |= down[:, f]
    return legs


def ik_residual(problem: IkProblem, body_pos: np.ndarray, body_quat: np.ndarray) -> np.ndarray:
    """(T,) how far the farthest end effector (hand or foot) ends from its IK target (m), the base as solved.
    Knees and elbows are left out: their targets are hints that other proportions cannot all meet."""
    targets, _ = problem.targets(body_pos, body_quat)
    order = list(problem.config.tasks)
    ends = [order.index(role) for role in END_EFFECTOR_ROLES if role in order]
    bodies = [problem.tasks[k].body for k in ends]
    return np.linalg.norm(targets[:, ends] - body_pos[:, bodies], axis=-1).max(axis=1)


def retarget_skeleton(
    skeleton: SkeletonMotion,
    fmt: BvhFormat,
    robot: RobotModel,
    path: Path | str = "<skeleton>",
    config: RetargetConfig | None = None,
) -> Retargeted:
    """The robot motion that best follows a human skeleton motion, at the skeleton's own rate.

    A take recorded faster than the config's `solve_fps` (CMU and SOMA at 120 fps) is smoothed as every
    take is (input_smoothing, which also keeps the decimation from aliasing), solved at solve_fps, and
    brought back to its own rate through a cubic spline (stages.resample.spline_resample), then held
    within the joint limits and speed limits again. The smoothed motion has nothing left near the
    slower rate's Nyquist frequency, so the slower solve loses nothing a tracking policy could follow;
    it costs a fraction of the frames, and the IK's frame-to-frame residual noise, which at 120 fps
    became most of the joint jerk, is not there to interpolate.
    """
    config = config or retarget_config(robot)
    rate = config.solve_fps
    if rate is None or skeleton.fps <= rate * (1 + 1e-6) or skeleton.num_frames < 8:
        return _retarget(skeleton, fmt, robot, path, config)
    smooth = smoothed(skeleton, config.input_smoothing)
    slow = _retarget(resample_skeleton(smooth, rate), fmt, robot, path, config.model_copy(update={"input_smoothing": 0.0}))
    fps, T = skeleton.fps, skeleton.num_frames
    motion = spline_resample(slow.motion, fps, T)
    joint_pos = motion.joint_pos
    if config.constraints is not None and config.constraints.speed_limits:
        joint_pos = limit_joint_speed(joint_pos, robot.velocity_limit, fps)
    motion = replace(motion, joint_pos=np.clip(joint_pos, robot.joint_lower, robot.joint_upper))
    at = np.arange(T) * (rate / fps)  # each output frame's place on the slow clock
    slow_frames = np.arange(slow.motion.num_frames)
    nearest = np.minimum(np.rint(at).astype(np.int64), slow.motion.num_frames - 1)
    performer = np.stack([np.interp(at, slow_frames, column) for column in slow.performer.reshape(len(slow_frames), -1).T],
                         axis=1).reshape(T, *slow.performer.shape[1:])
    return replace(
        slow,
        motion=motion,
        planted=slow.planted[nearest],
        ik_residual=np.interp(at, slow_frames, slow.ik_residual),
        performer=performer,
        notes=(*slow.notes, f"solved at {rate:g} fps and interpolated back to the take's {fps:g} fps"),
    )


def _retarget(
    skeleton: SkeletonMotion, fmt: BvhFormat, robot: RobotModel, path: Path | str, config: RetargetConfig
) -> Retargeted:
    """retarget_skeleton at the skeleton's own rate."""
    problem, scaled = plan_retarget(skeleton, fmt, robot, path, config)
    config, settings = problem.config, problem.config.constraints
    fps, T = skeleton.fps, skeleton.num_frames
    planted = foot_contacts(scaled.feet, scaled.feet_rest, fps)
    # A foot on the floor by either measure: the ground stage's looser contacts or the lock's planted parts.
    down = planted | scaled.planted_parts.any(axis=2)
    if settings is not None and settings.stance_lock is not None:
        problem = _with_feet_locked(problem, robot, scaled.planted_parts, fps, settings.stance_lock.blend)
    if settings is not None and settings.swing_clearance is not None:
        problem = _with_swing_lifted(problem, robot, down, planted, fps, settings.swing_clearance)
    solved = problem.solve_in_order(robot)
    hips = [robot.body_index(config.legs[side][0]) for side in SIDES]
    if settings is not None and settings.base_reach is not None:
        feet = [k for k, _ in _ankles(problem, robot)]
        problem, solved = give_way(problem, robot, solved, feet, hips, down, settings.base_reach, fps)
    if settings is not None and settings.foot_reach is not None:
        ankles = [k for k, _ in _ankles(problem, robot)]
        problem, solved = replant(problem, robot, solved, ankles, hips, down, settings.foot_reach.rounds,
                                  settings.foot_reach.fade, fps)
    joint_pos = solved.joint_pos
    if settings is not None:
        joint_pos, problem = enforce(problem, robot, solved, settings, fps, _legs_on(problem, down))
    if settings is not None and settings.speed_limits:
        # Before smoothing and clipping, which both keep a speed bound (speed.py).
        joint_pos = limit_joint_speed(joint_pos, robot.velocity_limit, fps)
    for chain, chain_settings in zip(problem.chains, config.chains.values()):
        sigma = chain_settings.smoothing * fps
        if sigma > 0.3 and T > 1:
            joint_pos[:, chain.joints] = gaussian_smooth(joint_pos[:, chain.joints], sigma)
    joint_pos = np.clip(joint_pos, robot.joint_lower, robot.joint_upper)

    root_pos, root_quat = problem.root_pos.copy(), problem.root_quat
    body_pos, body_quat = robot.forward_kinematics(root_pos, root_quat, joint_pos)
    residual = ik_residual(problem, body_pos, body_quat)
    soles = robot.lowest_sole_heights(body_pos, body_quat)
    lowest = None if robot.collision is None else robot.collision.lowest_points(body_pos, body_quat).min(axis=1)
    root_pos[:, 2] += ground_shift(soles, planted, fps, lowest)

    human = scaled.human
    notes = [
        *skeleton.notes,
        f"performer: leg {human.leg:.3f} m, arm {human.arm:.3f} m, head at {scaled.head_height:.2f} m; "
        f"scaled by {scaled.robot.leg / human.leg:.3f} (legs) and {scaled.robot.arm / human.arm:.3f} (arms)",
    ]
    return Retargeted(
        motion=RobotMotion(
            fps=skeleton.fps,
            root_pos=root_pos,
            root_quat=root_quat,
            joint_pos=joint_pos,
            joint_names=robot.joint_names,
        ),
        human=human,
        robot=scaled.robot,
        height=scaled.head_height,
        planted=planted,
        notes=tuple(notes),
        ik_residual=residual,
        performer=(scaled.skeleton.positions - [0.0, 0.0, scaled.floor]) * (scaled.robot.leg / scaled.human.leg),
    )
