"""Quality measures of a retargeted motion, the same for any robot motion source."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..geometry.rotations import rotate_vector
from ..motion import RobotMotion, SkeletonMotion
from ..robot import RobotModel
from ..robot.collision import collision_measures
from ..stages.measures import rms_joint_jerk
from .formats import BvhFormat, RetargetConfig, resolve_roles

if TYPE_CHECKING:
    from .pipeline import Retargeted

# A foot is in stance when its lowest sole point is this low and it is not
# moving vertically faster than this.
STANCE_HEIGHT = 0.03  # m
STANCE_VERTICAL_SPEED = 0.1  # m/s
# An end effector this far from its IK target (m) has missed it.
IK_RESIDUAL = 0.05
# End effector -> (robot body role, human role).
END_EFFECTORS = {
    "left_hand": "left_wrist",
    "right_hand": "right_wrist",
    "left_foot": "left_ankle",
    "right_foot": "right_ankle",
    "head": "head",
}


@dataclass(frozen=True)
class Quality:
    frames: int
    limit_violation_frames: float  # fraction of frames with any joint outside its range
    speed_limit_frames: float  # fraction of frame steps with any joint faster than its velocity limit
    below_2cm_frames: float  # fraction of frames whose lowest sole point is below -2 cm
    median_lowest_sole: float  # m
    stance_foot_speed: float  # m/s, mean horizontal speed of stance feet
    rms_joint_acc: float  # rad/s^2
    rms_joint_jerk: float  # rad/s^3
    end_effector_error: dict[str, float]  # m, mean, relative to the pelvis, vs the scaled human
    self_collision_frames: float = 0.0  # fraction of frames with two geoms overlapping by more than 1 cm
    deepest_self_penetration: float = 0.0  # m
    worst_pair: str = ""  # the two geoms of the deepest overlap
    floor_penetration_frames: float = 0.0  # fraction of frames with any geom more than 2 cm below the floor
    deepest_floor_penetration: float = 0.0  # m
    ik_residual_frames: float = 0.0  # fraction of frames with a hand or foot ending > 5 cm from its IK target
    planted_foot_tilt: float = 0.0  # deg, median tilt of the robot sole off level while the performer's foot is planted

    def as_dict(self) -> dict:
        return asdict(self)


def evaluate(
    robot: RobotModel,
    motion: RobotMotion,
    config: RetargetConfig,
    human: SkeletonMotion | None = None,
    roles: dict[str, int] | None = None,
    scale: float = 1.0,
    planted: np.ndarray | None = None,
) -> Quality:
    """Measure a robot motion; with a human (and its role map) also the end-effector error, and with the
    performer's planted feet (T, F) how far the robot's soles tilt off level there (a tiptoe shows)."""
    body_pos, body_quat = robot.forward_kinematics(motion.root_pos, motion.root_quat, motion.joint_pos)
    dt = 1.0 / motion.fps
    soles = robot.lowest_sole_heights(body_pos, body_quat)
    lowest = soles.min(axis=1)
    feet = body_pos[:, [robot.body_index(f) for f in robot.foot_bodies]]
    velocity = np.gradient(feet, dt, axis=0)
    stance = (soles < STANCE_HEIGHT) & (np.abs(velocity[..., 2]) < STANCE_VERTICAL_SPEED)
    speed = np.linalg.norm(velocity[..., :2], axis=-1)
    q = motion.joint_pos
    acc = np.diff(q, 2, axis=0) / dt**2
    errors: dict[str, float] = {}
    if human is not None and roles is not None:
        T = min(human.num_frames, motion.num_frames)
        pelvis = robot.body_index(config.tasks[config.root].body)
        robot_rel = body_pos[:T] - body_pos[:T, pelvis, None]
        human_rel = (human.positions[:T] - human.positions[:T, roles[config.root], None]) * scale
        torso = robot.body_index(config.tasks["torso"].body)
        head = body_pos[:T, torso] + rotate_vector(body_quat[:T, torso], np.array(config.head_point))
        for name, role in END_EFFECTORS.items():
            r = head - body_pos[:T, pelvis] if role == "head" else robot_rel[:, robot.body_index(config.tasks[role].body)]
            errors[name] = float(np.linalg.norm(r - human_rel[:, roles[role]], axis=-1).mean())
    collisions = collision_measures(robot, body_pos, body_quat)
    tilt = 0.0
    if planted is not None and robot.foot_bodies:
        feet_quat = body_quat[:, [robot.body_index(f) for f in robot.foot_bodies]]
        up = rotate_vector(feet_quat, np.array([0.0, 0.0, 1.0]))[..., 2]  # the sole normal's height
        down = np.asarray(planted, dtype=bool)[: len(up)]
        if down.any():
            tilt = float(np.degrees(np.arccos(np.clip(np.median(up[: len(down)][down]), -1.0, 1.0))))
    return Quality(
        **asdict(collisions),
        frames=motion.num_frames,
        limit_violation_frames=float((robot.limit_excess(q) > 1e-9).any(axis=1).mean()),
        speed_limit_frames=float(robot.over_speed_limit(q, motion.fps).mean()) if len(q) > 1 else 0.0,
        below_2cm_frames=float((lowest < -0.02).mean()),
        median_lowest_sole=float(np.median(lowest)),
        stance_foot_speed=float(speed[stance].mean()) if stance.any() else 0.0,
        rms_joint_acc=float(np.sqrt(np.mean(acc**2))) if len(acc) else 0.0,
        rms_joint_jerk=rms_joint_jerk(q, motion.fps),
        end_effector_error=errors,
        planted_foot_tilt=tilt,
    )


def measure_retarget(
    robot: RobotModel, result: Retargeted, skeleton: SkeletonMotion, fmt: BvhFormat, path: Path | str
) -> Quality:
    """The quality of a retarget, against the performer it followed (scaled as the retarget scaled it)."""
    from .draft import retarget_config

    config = retarget_config(robot)
    roles = resolve_roles(skeleton, fmt, path)
    quality = evaluate(robot, result.motion, config, skeleton, roles, result.robot.leg / result.human.leg, result.planted)
    missed = result.ik_residual > IK_RESIDUAL
    return replace(quality, ik_residual_frames=float(missed.mean()) if len(missed) else 0.0)
