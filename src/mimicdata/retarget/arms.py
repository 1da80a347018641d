"""Hanging arms clear the body: each arm is spread at least as far as the robot's own geometry needs.

A person's shoulders are wider than their hips, so their hands hang clear of the thighs. A robot's
need not be: Booster's T1 has its shoulders as narrow as its hips and 6 cm hand capsules, so the
performer's hanging hand, scaled, lands 8-11 cm inside the hip capsule, where the collision rows
cannot tell out from in and trap the hand behind the back (LAFAN1 walk4: 79% of frames
self-colliding). The G1's hanging hands touch its hips too (they need 12.5 degrees).

The angle an arm must hang out from the vertical, θ, is measured on the robot's collision
geometry: the straight arm of the T-pose is turned about its shoulder to hang at φ from the
vertical, outward in the body's side plane, for φ = 0, STEP, 2 STEP, ... ; θ is the first φ at
which every geom the arm's joints move is `margin` clear of every geom they do not. A robot whose
hanging arms already clear its body (θ = 0) is left as it is; the G1's need 12.5 degrees, but its
config leaves the spread off (spread_arms): its collision rows alone keep its hands off its hips.

Each frame, with o the wrist target's offset from the shoulder in the pelvis's frame (x forward,
y toward the arm's side, z up: the hips and thighs a hanging hand meets hang from the pelvis; a
chest leaning forward, as LAFAN1's does by 40 degrees, would put a hanging hand in front of the
body), the arm hangs at φ = atan2(o_y, -o_z) in the side plane. It is raised to the smooth maximum
of φ and θ,

    φ' = (φ + θ + sqrt((φ - θ)^2 + (k θ)^2)) / 2,

turned by w (φ' - φ) about the pelvis's x axis through the shoulder, elbow and wrist offsets
alike, so the arm keeps its shape and its swing forward and back. w fades from 1 to 0 as the
hand moves in front of or behind the shoulder, from half the arm's length to nine tenths: a hand
held out in front (clapping, arms folded) is clear of the hips already and keeps its place.
On T1, LAFAN1 walk4's self-collision frames went 79% -> 0.1% (CMU 01_01: 12% -> 0.2%).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..geometry.rotations import quat_conjugate, quat_multiply, rotate_vector, rotvec_to_quat, turning
from ..robot import RobotModel
from ..robot.topology import hinges_between
from .calibrate import robot_tpose
from .formats import RetargetConfig

STEP = np.radians(2.5)
MOST = np.radians(60.0)  # no spread beyond this: a robot that needs more has its arms where the performer's are
SOFTNESS = 0.5  # k: the smooth maximum's rounding, as a fraction of θ
FRONT = (0.5, 0.9)  # fractions of the arm's length in front of or behind the shoulder over which w fades


def hanging_angle(robot: RobotModel, config: RetargetConfig, side: Literal["left", "right"], margin: float) -> float:
    """θ (rad): how far from the vertical the straight arm on `side` must hang for its geoms to clear the body."""
    geometry = robot.collision
    chain = config.arms[side]
    if geometry is None:
        return 0.0
    pos, quat = robot_tpose(robot, config)
    shoulder, wrist = pos[robot.body_index(chain[0])], pos[robot.body_index(chain[2])]
    arm = wrist - shoulder
    reach = np.linalg.norm(arm)
    if reach < 1e-6:
        return 0.0
    arm_joints = hinges_between(robot, robot.body_index(config.tasks["torso"].body), robot.body_index(chain[2]))
    moved = np.asarray(robot.body_joint_mask[:, arm_joints].any(axis=1))
    on_arm = moved[geometry.body]
    pairs = on_arm[geometry.pairs[:, 0]] != on_arm[geometry.pairs[:, 1]]  # the arm against the rest
    if not pairs.any():
        return 0.0
    outward = 1.0 if side == "left" else -1.0
    angles = np.arange(0.0, MOST + 1e-9, STEP)
    hang = np.stack([np.zeros_like(angles), outward * np.sin(angles), -np.cos(angles)], axis=1)  # (A, 3)
    turn = np.stack([turning(arm / reach, h) for h in hang])  # (A, 4)
    body_pos = np.repeat(pos[None], len(angles), axis=0)
    body_quat = np.repeat(quat[None], len(angles), axis=0)
    body_pos[:, moved] = shoulder + rotate_vector(turn[:, None], pos[moved] - shoulder)
    body_quat[:, moved] = quat_multiply(turn[:, None], quat[moved])
    distance = geometry.pair_distances(body_pos, body_quat).distance[:, pairs].min(axis=1)
    clear = np.flatnonzero(distance >= margin)
    return float(angles[clear[0]]) if len(clear) else 0.0


def spread(offsets: list[np.ndarray], pelvis_quat: np.ndarray, side: Literal["left", "right"], angle: float,
           reach: float) -> list[np.ndarray]:
    """The (T, 3) world offsets from the shoulder of an arm's targets (elbow, wrist: the wrist last), turned
    outward so the wrist hangs at least `angle` from the vertical (the module's docstring); `pelvis_quat` (T, 4)
    the pelvis's orientation, `reach` the arm's length."""
    if angle <= 0.0:
        return offsets
    local = rotate_vector(quat_conjugate(pelvis_quat), offsets[-1])
    outward = 1.0 if side == "left" else -1.0
    phi = np.arctan2(outward * local[:, 1], -local[:, 2])
    raised = 0.5 * (phi + angle + np.sqrt((phi - angle) ** 2 + (SOFTNESS * angle) ** 2))
    near, far = FRONT[0] * reach, FRONT[1] * reach
    weight = np.clip((far - np.abs(local[:, 0])) / (far - near), 0.0, 1.0)
    turn = rotvec_to_quat(np.outer(outward * weight * (raised - phi), [1.0, 0.0, 0.0]))  # about the pelvis's x
    world_turn = quat_multiply(pelvis_quat, quat_multiply(turn, quat_conjugate(pelvis_quat)))
    return [rotate_vector(world_turn, offset) for offset in offsets]
