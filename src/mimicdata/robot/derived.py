"""What a bare MJCF or URDF does not say, derived from its limbs (topology.py) and collision geometry.

- Feet: the two ankles. Sole points: the undersides of the foot's collision capsules, in the foot's
  frame: each capsule end that lies within SOLE_BAND of the lowest, lowered by its radius, plus the
  midpoint of each such capsule (a box foot is two capsules, so four corners and two midpoints).
- Mirror (left-right, across the x-z plane): each body's partner is the body at its mirrored zero-pose
  position (itself on the middle plane); each hinge's partner is its body's partner's hinge, and its
  sign follows from the axes: reflecting a turn about axis a by angle t gives a turn about -M a by t
  (M = diag(1, -1, 1)), so a partner whose axis is -M a takes the same angle and one whose axis is
  M a takes its negative (pitch keeps its sign, roll and yaw change it).
What cannot be derived raises RobotModelError naming it; a robot.yaml next to the model can give it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import RobotModelError
from ..geometry.rotations import quat_conjugate, rotate_vector
from .topology import body_tree, hinges_between, own_hinges

if TYPE_CHECKING:
    from .model import MirrorMap, RobotModel

SOLE_BAND = 0.005  # m: capsule ends this close to the lowest one are on the sole
MIRROR_TOLERANCE = 0.01  # m between a body and its partner's mirrored position
_REFLECT = np.array([1.0, -1.0, 1.0])


def sole_points(robot: RobotModel, foot: str) -> np.ndarray:
    """(S, 3) the sole of a foot body in its own frame, from the collision geoms it and its fixed attachments carry
    (not from a stand-in estimated from its inertia: a sole must be where the foot meets the floor)."""
    geometry = robot.collision
    parents = body_tree(robot)
    hinged = own_hinges(robot, parents)
    b = robot.body_index(foot)
    carried = [b] + [c for c in range(len(parents)) if parents[c] == b and not hinged[c]]
    mine = np.zeros(0, int)
    if geometry is not None:
        measured = np.ones(geometry.num_geoms, bool) if geometry.estimated is None else ~geometry.estimated
        mine = np.flatnonzero(np.isin(geometry.body, carried) & measured)
    if geometry is None or not len(mine):
        raise RobotModelError(f"robot {robot.name!r}: foot {foot!r} has no collision geometry to take its sole from "
                              "(a collision mesh's inertia stand-in does not say where the sole is); "
                              "give its sole_points in a robot.yaml beside the model")
    pos, quat = robot.posed()
    to_foot = quat_conjugate(quat[b])
    down = rotate_vector(to_foot, np.array([0.0, 0.0, -1.0]))  # world down, in the foot's frame
    ends = np.stack([[rotate_vector(to_foot, pos[geometry.body[g]] + rotate_vector(quat[geometry.body[g]], end) - pos[b])
                      for end in (geometry.start[g], geometry.end[g])] for g in mine])  # (G, 2, 3)
    radius = geometry.radius[mine]
    depth = ends @ down + radius[:, None]  # (G, 2) how far below the ankle each end's underside lies
    low = depth >= depth.max() - SOLE_BAND
    bottoms = ends + radius[:, None, None] * down
    points = [bottoms[low]] + [bottoms[both].mean(axis=1) for both in [low.all(axis=1)] if both.any()]
    return np.round(np.vstack(points), 4)


def mirror_map(robot: RobotModel) -> MirrorMap:
    """The left-right mirror of a robot from its zero-pose geometry."""
    from .model import MirrorMap

    pos, _ = robot.posed()
    axis = robot.joint_frames(np.zeros((1, 3)), np.array([[1.0, 0.0, 0.0, 0.0]]), np.zeros((1, robot.num_joints)))[3][0]
    parents = body_tree(robot)
    depth = np.array([_depth(parents, b) for b in range(len(parents))])
    body_partner: list[int] = []
    for b in range(len(robot.body_names)):
        mirrored = pos[b] * _REFLECT
        candidates = [c for c in range(len(robot.body_names))
                      if depth[c] == depth[b] and np.linalg.norm(pos[c] - mirrored) < MIRROR_TOLERANCE]
        if not candidates:
            raise RobotModelError(f"robot {robot.name!r}: body {robot.body_names[b]!r} at {np.round(pos[b], 3).tolist()} "
                                  "has no partner at its mirrored position; give `mirror:` in a robot.yaml")
        body_partner.append(b if b in candidates else candidates[0])
    hinged = own_hinges(robot, parents)
    # Hinge j turns the body whose own hinge it is: the body with j on its chain and one hinge more than its parent.
    joint_body: dict[int, int] = {}
    for b in (int(b) for b in np.flatnonzero(hinged)):
        for hinge in hinges_between(robot, int(parents[b]), b):
            joint_body[int(hinge)] = b
    joint_partner: list[int] = []
    joint_sign: list[float] = []
    body_joint = {body: hinge for hinge, body in joint_body.items()}
    for j in range(robot.num_joints):
        partner_body = body_partner[joint_body[j]]
        k = body_joint.get(partner_body)
        if k is None:
            raise RobotModelError(f"robot {robot.name!r}: joint {robot.joint_names[j]!r} has no partner hinge")
        reflected = -_REFLECT * axis[j]
        joint_partner.append(k)
        joint_sign.append(1.0 if float(axis[k] @ reflected) > 0 else -1.0)
    return MirrorMap(np.array(joint_partner), np.array(joint_sign), np.array(body_partner))


def _depth(parents: np.ndarray, b: int) -> int:
    d = 0
    while parents[b] >= 0:
        b, d = int(parents[b]), d + 1
    return d


def complete_description(robot: RobotModel) -> None:
    """Fill in the feet, soles and mirror a robot's description does not give, where they can be derived;
    what cannot be is listed in `robot.description_problems` for whoever needs it (the retarget)."""
    from .topology import find_limbs

    try:
        limbs = find_limbs(robot)
    except RobotModelError as exc:
        robot.description_problems.append(str(exc))
        return
    if not robot.foot_bodies:
        robot.foot_bodies = tuple(limbs.legs[side][2] for side in ("left", "right"))
    for foot in robot.foot_bodies:
        if foot in robot.given_soles:
            robot.sole_points[foot] = robot.given_soles[foot]
        else:
            try:
                robot.sole_points[foot] = sole_points(robot, foot)
            except RobotModelError as exc:
                robot.description_problems.append(str(exc))
    if robot.mirror is None:
        try:
            robot.mirror = mirror_map(robot)
        except RobotModelError as exc:
            robot.description_problems.append(str(exc))
