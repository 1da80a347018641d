"""What a stored clip is worth to a tracking policy, measured on the robot's own limits and collision geometry.

Every measure is a fraction of frames or a peak, at the clip's stored rate, after preprocess transforms:

- joint-limit excess: frames with a joint beyond its range by more than LIMIT_SLACK of the range;
- joint speed: frame steps with a joint faster than its velocity limit;
- self-collision: frames where two capsules overlap by more than 1 cm (robot.collision);
- floor penetration: frames with any collision geom more than 2 cm below the floor;
- body speed: the fastest any body moves (m/s), where a broken stream or a teleport shows;
- fall: frames with the root lower than a fraction of its standing height (the neutral pose, soles on the floor);
- jerk: RMS third difference of the joint angles (rad/s^3).

The quality score folds them into one number in [0, 1], the share of the clip a tracking policy
can use as it is:

    score = (1 - limit) (1 - speed) (1 - self) (1 - floor) (1 - ik) * min(1, V / v_max) / (1 + (jerk / J)^2)

with the frame fractions above (ik: frames where a retargeted hand or foot misses its target by
more than 5 cm; 0 for clips that were not retargeted), v_max the fastest body speed, V =
BODY_SPEED_REF and J = JERK_REF. A fall is content, not a defect (recovery motions are wanted),
so it does not lower the score; `max_fall_frames` filters falls when they are not wanted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from ..motion import MotionClip
from ..robot import RobotModel
from ..robot.collision import PosedGeometry, collision_measures

LIMIT_SLACK = 0.05  # of a joint's range
# Above this body speed (m/s) a clip is more likely a broken stream or a teleport than a motion.
BODY_SPEED_REF = 10.0
# RMS joint jerk (rad/s^3) that halves the score: several times that of a fast dance.
JERK_REF = 5000.0
SCORE_DECIMALS = 4  # stored rounded, so manifest, shards and report agree to the digit


@dataclass(frozen=True)
class ClipMeasures:
    limit_excess_frames: float
    speed_limit_frames: float
    self_collision_frames: float
    floor_penetration_frames: float
    max_body_speed: float  # m/s
    fall_frames: float
    rms_joint_jerk: float  # rad/s^3

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def rms_joint_jerk(joint_pos: np.ndarray, fps: float) -> float:
    """RMS third difference of (T, J) joint angles over frames (rad/s^3); 0 for fewer than four frames."""
    jerk = np.diff(joint_pos, 3, axis=0) * fps**3
    return float(np.sqrt(np.mean(jerk**2))) if len(jerk) else 0.0


@lru_cache(maxsize=8)
def standing_root_height(robot: RobotModel) -> float:
    """Height of the root body in the neutral pose with the lowest sole on the floor (m)."""
    pos, quat = robot.posed()
    if not robot.foot_bodies:
        return float(-pos[:, 2].min())
    return float(-robot.lowest_sole_heights(pos[None], quat[None]).min())


def measure_clip(
    clip: MotionClip, robot: RobotModel, root: int, fall_height_fraction: float, posed: PosedGeometry | None = None
) -> ClipMeasures:
    """The measures of one clip; `root` is the body whose height says whether the robot has fallen; `posed`,
    the collision geometry already placed by the clip's poses, saves placing it again."""
    q = clip.joint_pos.astype(np.float64)
    span = robot.joint_upper - robot.joint_lower
    beyond = (robot.limit_excess(q) > LIMIT_SLACK * span).any(axis=1)
    too_fast = robot.over_speed_limit(q, clip.fps)
    body_pos = clip.body_pos_w.astype(np.float64)
    collisions = collision_measures(robot, body_pos, clip.body_quat_w.astype(np.float64), posed)
    fallen = body_pos[:, root, 2] < fall_height_fraction * standing_root_height(robot)
    return ClipMeasures(
        limit_excess_frames=float(beyond.mean()),
        speed_limit_frames=float(too_fast.mean()) if len(too_fast) else 0.0,
        self_collision_frames=collisions.self_collision_frames,
        floor_penetration_frames=collisions.floor_penetration_frames,
        max_body_speed=float(np.linalg.norm(clip.body_lin_vel_w, axis=-1).max()),
        fall_frames=float(fallen.mean()),
        rms_joint_jerk=rms_joint_jerk(q, clip.fps),
    )


def quality_score(measures: ClipMeasures, ik_residual_frames: float = 0.0) -> float:
    """The clip's quality in [0, 1] (formula in the module docstring), rounded to SCORE_DECIMALS."""
    m = measures
    usable = 1.0
    for fraction in (m.limit_excess_frames, m.speed_limit_frames, m.self_collision_frames,
                     m.floor_penetration_frames, ik_residual_frames):
        usable *= 1.0 - min(max(fraction, 0.0), 1.0)
    speed = min(1.0, BODY_SPEED_REF / m.max_body_speed) if m.max_body_speed > 0 else 1.0
    smooth = 1.0 / (1.0 + (m.rms_joint_jerk / JERK_REF) ** 2)
    return round(usable * speed * smooth, SCORE_DECIMALS)
