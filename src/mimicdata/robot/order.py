"""Body and joint orders other simulators use for the same robot.

MuJoCo (and mimicdata, and mjlab) list bodies depth-first: a limb's whole chain before the next limb.
IsaacLab (PhysX articulations) lists them breadth-first: the root, then every body one joint away, then
every body two joints away, siblings in their definition order; joints follow their child bodies. A file
written in one order and read in the other trains a policy on shuffled limbs, so every export and
import names the order it uses.

For the G1: depth-first pelvis, left_hip_pitch_link, left_hip_roll_link, ...; breadth-first pelvis,
left_hip_pitch_link, right_hip_pitch_link, waist_yaw_link, left_hip_roll_link, ...
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .model import RobotModel

BodyOrder = Literal["mujoco", "isaaclab"]
BODY_ORDERS: tuple[BodyOrder, ...] = ("mujoco", "isaaclab")


@dataclass(frozen=True)
class Order:
    """Index arrays into the robot's own (depth-first) order: out = x[..., bodies] gives the new order."""

    name: BodyOrder
    bodies: np.ndarray  # (B,)
    joints: np.ndarray  # (J,)

    def body_names(self, robot: RobotModel) -> list[str]:
        return [robot.body_names[b] for b in self.bodies]

    def joint_names(self, robot: RobotModel) -> list[str]:
        return [robot.joint_names[j] for j in self.joints]


def order(robot: RobotModel, name: BodyOrder) -> Order:
    """The robot's bodies and joints in a simulator's order; an order not in BODY_ORDERS is refused."""
    if name not in BODY_ORDERS:
        raise ValueError(f"unknown body order {name!r}; one of {BODY_ORDERS}")
    if name == "mujoco":
        return Order(name, np.arange(len(robot.body_names)), np.arange(robot.num_joints))
    return Order(name, *_breadth_first(robot))


def _breadth_first(robot: RobotModel) -> tuple[np.ndarray, np.ndarray]:
    parents = robot.body_parents
    children: dict[int, list[int]] = {}
    for body, parent in enumerate(parents):
        children.setdefault(int(parent), []).append(body)  # bodies in definition order, so siblings stay in it
    bodies: list[int] = []
    queue = deque(children.get(-1, []))
    while queue:
        body = queue.popleft()
        bodies.append(body)
        queue.extend(children.get(body, []))
    # The hinge whose child is body b moves b but not b's parent.
    mask = robot.body_joint_mask
    joints = []
    for body in bodies:
        parent = parents[body]
        own = mask[body] & ~(mask[parent] if parent >= 0 else False)
        joints.extend(np.flatnonzero(own).tolist())
    if sorted(joints) != list(range(robot.num_joints)):
        raise ValueError(f"robot {robot.name!r}: its joints do not map one to one onto child bodies")
    return np.array(bodies), np.array(joints)
