"""Human skeleton motion -> robot motion: scale, solve IK, smooth, ground."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..motion import RobotMotion, SkeletonMotion
from ..robot import RobotModel
from ..rotations import quat_continuity, quat_multiply, quat_normalize, rotate_vector
from .calibrate import offsets_at, robot_tpose
from .formats import BvhFormat, RetargetConfig, load_retarget_config, resolve_roles
from .ground import foot_contacts, ground_shift
from .ik import Task, make_chains, solve_ik

SIDES = ("left", "right")


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
    targets: dict[str, np.ndarray]  # role -> (T, 3) scaled human position the robot aimed at
    planted: np.ndarray  # (T, 2) human foot contacts, left and right
    notes: tuple[str, ...]


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
    positions = gaussian_filter1d(skeleton.positions, sigma, axis=0, mode="nearest")
    # Averaging sign-continuous unit quaternions and renormalising is an
    # accurate mean for the small angles one smoothing window spans.
    rotations = gaussian_filter1d(quat_continuity(skeleton.rotations, axis=0), sigma, axis=0, mode="nearest")
    return replace(skeleton, positions=positions, rotations=quat_normalize(rotations))


def retarget_skeleton(
    skeleton: SkeletonMotion,
    fmt: BvhFormat,
    robot: RobotModel,
    path: Path | str = "<skeleton>",
    config: RetargetConfig | None = None,
) -> Retargeted:
    """The robot motion that best follows a human skeleton motion."""
    config = config or load_retarget_config(robot.name)
    roles = resolve_roles(skeleton, fmt, path)
    if fmt.calibration.source == "rest":
        offsets = offsets_at(skeleton, roles, robot, config, frame=None)
    else:
        offsets = {r: np.asarray(q, dtype=float) for r, q in fmt.calibration.offsets.items()}
    human = human_measures(skeleton, roles)
    body = robot_measures(robot, config)
    leg_scale, arm_scale = body.leg / human.leg, body.arm / human.arm
    skeleton = smoothed(skeleton, config.input_smoothing)
    P = skeleton.positions
    T = skeleton.num_frames

    # Heights are measured from the floor the performer stands on: the lowest
    # the feet ever get, which is also where a hc_mocap stream's ground is.
    feet = np.stack([P[:, [roles[f"{s}_ankle"], roles[f"{s}_toe"]]] for s in SIDES], axis=1)  # (T, 2, 2, 3)
    floor = float(np.percentile(feet[..., 2].min(axis=(1, 2)), 2.0))
    rest_heights = np.percentile(feet[..., 2], 5.0, axis=0) - floor  # (2, 2) per foot: ankle, toe
    ankle_height = float(rest_heights[:, 0].mean())
    # Standing height to the head joint, from bone lengths: a clip need not
    # contain an upright frame, and the rest pose need not be upright.
    rest = skeleton.rest_positions
    rest_hips = 0.5 * (rest[roles["left_hip"]] + rest[roles["right_hip"]])
    head_height = ankle_height + human.leg + float(np.linalg.norm(rest[roles["head"]] - rest_hips))
    sole_depth = -min(float(pts[:, 2].min()) for pts in robot.sole_points.values())
    # Lower-body targets: the human scaled by the leg ratio about the floor,
    # lifted so a flat human foot puts the robot's sole on the floor.
    lift = sole_depth - leg_scale * ankle_height
    lower = {}
    for role in ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"):
        p = (P[:, roles[role]] - [0.0, 0.0, floor]) * leg_scale
        p[:, 2] += lift
        lower[role] = p

    roles_in_order = list(config.tasks)
    tasks = [
        Task(robot.body_index(w.body), w.position, w.orientation) for w in config.tasks.values()
    ]
    rot_target = np.empty((T, len(tasks), 4))
    rot_target[:] = [1.0, 0.0, 0.0, 0.0]
    for k, role in enumerate(roles_in_order):
        if role in offsets:
            rot_target[:, k] = quat_continuity(quat_multiply(skeleton.rotations[:, roles[role]], offsets[role]))
    static = np.stack([lower.get(r, np.zeros((T, 3))) for r in roles_in_order], axis=1)
    arm_slots = []
    for k, role in enumerate(roles_in_order):
        side, _, part = role.partition("_")
        if side in config.arms and part in ("elbow", "wrist"):
            shoulder = robot.body_index(config.arms[side][0])
            offset = (P[:, roles[role]] - P[:, roles[f"{side}_shoulder"]]) * arm_scale
            arm_slots.append((k, shoulder, offset))

    def targets(body_pos: np.ndarray, body_quat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = static.copy()
        for k, shoulder, offset in arm_slots:
            pos[:, k] = body_pos[:, shoulder] + offset
        return pos, rot_target

    nominal = np.zeros(robot.num_joints)
    for name, value in config.nominal.items():
        nominal[robot.joint_names.index(name)] = value
    # The base: the human pelvis orientation, hip joints on the scaled human's.
    root_quat = rot_target[:, roles_in_order.index(config.root)]
    hips_mid = 0.5 * (lower["left_hip"] + lower["right_hip"])
    tpose_pos, _ = robot_tpose(robot, config)
    hips_offset = 0.5 * sum(tpose_pos[robot.body_index(config.legs[s][0])] for s in SIDES)
    root_pos = hips_mid - rotate_vector(root_quat, hips_offset)
    chains = make_chains(
        robot, tasks, [[roles_in_order.index(r) for r in c.tasks] for c in config.chains.values()]
    )
    solver = config.solver
    result = solve_ik(
        robot,
        tasks,
        chains,
        targets,
        root_pos,
        root_quat,
        np.broadcast_to(nominal, (T, robot.num_joints)),
        iterations=solver.iterations,
        damping=solver.damping,
        posture_weight=solver.posture_weight,
        nominal=nominal,
    )
    joint_pos = result.joint_pos
    for chain, settings in zip(chains, config.chains.values()):
        sigma = settings.smoothing * skeleton.fps
        if sigma > 0.3 and T > 1:
            joint_pos[:, chain.joints] = gaussian_filter1d(joint_pos[:, chain.joints], sigma, axis=0, mode="nearest")
    joint_pos = np.clip(joint_pos, robot.joint_lower, robot.joint_upper)

    body_pos, body_quat = robot.forward_kinematics(root_pos, root_quat, joint_pos)
    soles = np.stack(
        [robot.sole_points_world(f, body_pos, body_quat)[..., 2].min(axis=1) for f in robot.foot_bodies], axis=1
    )
    planted = foot_contacts(feet, rest_heights + floor, skeleton.fps)
    root_pos = root_pos.copy()
    root_pos[:, 2] += ground_shift(soles, planted, skeleton.fps)

    notes = list(skeleton.notes) + [
        f"performer: leg {human.leg:.3f} m, arm {human.arm:.3f} m, head at {head_height:.2f} m; "
        f"scaled by {leg_scale:.3f} (legs) and {arm_scale:.3f} (arms)"
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
        robot=body,
        height=head_height,
        targets=lower,
        planted=planted,
        notes=tuple(notes),
    )
