"""A humanoid's limbs found from its kinematic tree and zero pose, with link names as no more than labels.

Vendors name links `AL1`, `Shank_Left`, `thigh_pitch` or `left_knee_link`, so roles come from geometry:
  - a limb end is the deepest body with a hinge of its own on the way to a leaf of the tree (a fixed
    toe or hand frame hangs from it); a limb is the path from the root to an end with at least
    MIN_LIMB_HINGES hinges on it (a head on a fixed neck is not one);
  - the legs are the two limb ends lowest in the zero pose, one each side (left is +y);
    the arms are the remaining limb ends with the longest chains, one each side;
  - each limb starts where it leaves the other limb of its pair: that body is the pelvis for the
    legs and the torso for the arms; the hip (shoulder) is the first body after it, the ankle the
    leg's end (the body the foot turns on), the wrist the body the arm's end carries farthest out (a
    hand frame fixed to the last forearm link), the knee (elbow) the body with a hinge of its own
    whose distance along the limb is nearest half way.
A robot that does not show four limbs this way gets an error naming what is missing and the links
looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import RobotModelError

if TYPE_CHECKING:
    from .model import RobotModel

Side = Literal["left", "right"]
SIDES: tuple[Side, Side] = ("left", "right")
MIN_LIMB_HINGES = 3
SIDE_MARGIN = 0.02  # m: a body this close to the x-z plane is on neither side


@dataclass(frozen=True)
class Limbs:
    """Body names of a humanoid's roles."""

    root: str
    pelvis: str  # where the legs part
    torso: str  # where the arms part
    legs: dict[Side, tuple[str, str, str]]  # hip, knee, ankle
    arms: dict[Side, tuple[str, str, str]]  # shoulder, elbow, wrist


def body_tree(robot: RobotModel) -> np.ndarray:
    """(B,) each body's parent body in the model's tree (-1 for the root), fixed attachments included."""
    parsed = robot.parsed
    index = {name: b for b, name in enumerate(robot.body_names)}
    parents = np.full(len(robot.body_names), -1)
    for frame, name in enumerate(parsed.body_names):
        if name not in index:
            continue
        up = int(parsed.body_parent[frame])
        while up >= 0 and parsed.body_names[up] not in index:
            up = int(parsed.body_parent[up])
        parents[index[name]] = index[parsed.body_names[up]] if up >= 0 else -1
    return parents


def find_limbs(robot: RobotModel) -> Limbs:
    parents = body_tree(robot)
    names = robot.body_names
    pos, _ = robot.posed()
    hinged = own_hinges(robot, parents)
    children = [np.flatnonzero(parents == b) for b in range(len(names))]

    def path(b: int) -> list[int]:
        out = [b]
        while parents[out[-1]] >= 0:
            out.append(int(parents[out[-1]]))
        return out[::-1]

    ends = set()
    for leaf in (b for b in range(len(names)) if not len(children[b])):
        hinged_on_path = [b for b in path(leaf) if hinged[b]]
        if len(hinged_on_path) >= MIN_LIMB_HINGES:
            ends.add(hinged_on_path[-1])
    described = ", ".join(f"{names[e]} at {np.round(pos[e], 2).tolist()}" for e in sorted(ends)) or "none"
    lowest = sorted(ends, key=lambda e: _lowest(e, pos, children))
    legs = _pair(lowest[:2], pos)
    if legs is None:
        raise RobotModelError(
            f"robot {robot.name!r}: cannot find the legs, the two lowest limb ends one each side (left is +y); "
            f"limb ends (deepest hinged body toward each leaf, {MIN_LIMB_HINGES}+ hinges from the root): {described}")
    rest = sorted((e for e in ends if e not in legs.values()), key=lambda e: -len(path(e)))
    arms = _pair([next((e for e in rest if pos[e, 1] > SIDE_MARGIN), -1),
                  next((e for e in rest if pos[e, 1] < -SIDE_MARGIN), -1)], pos)
    if arms is None:
        raise RobotModelError(
            f"robot {robot.name!r}: cannot find the arms, two more limb ends one each side besides the legs "
            f"({names[legs['left']]}, {names[legs['right']]}); limb ends: {described}")

    def reach(end: int) -> int:
        """The body rigidly carried by a limb end farthest from it (a hand frame fixed to the last forearm link)."""
        carried, stack = [end], [end]
        while stack:
            stack += (fixed := [int(c) for c in children[stack.pop()] if not hinged[c]])
            carried += fixed
        return max(carried, key=lambda b: float(np.linalg.norm(pos[b] - pos[end])))

    def limb(pair: dict[Side, int]) -> tuple[str, dict[Side, tuple[str, str, str]]]:
        chains = {side: path(end) for side, end in pair.items()}
        shared = 0
        while chains["left"][shared] == chains["right"][shared]:
            shared += 1
        roles = {}
        for side, chain in chains.items():
            own = chain[shared:]
            along = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pos[own], axis=0), axis=1))])
            middle = [k for k in range(1, len(own) - 1) if hinged[own[k]]]
            if not middle:
                raise RobotModelError(f"robot {robot.name!r}: the {side} limb {[names[b] for b in own]} has no hinged "
                                      "body between its first and its end to serve as knee or elbow")
            knee = min(middle, key=lambda k: abs(along[k] - along[-1] / 2))
            roles[side] = (names[own[0]], names[own[knee]], names[own[-1]])
        return names[chains["left"][shared - 1]], roles

    pelvis, leg_roles = limb(legs)
    torso, arm_roles = limb({side: reach(end) for side, end in arms.items()})
    return Limbs(names[0], pelvis, torso, leg_roles, arm_roles)


def own_hinges(robot: RobotModel, parents: np.ndarray) -> np.ndarray:
    """(B,) whether a body turns on a hinge of its own (not only on its parent's)."""
    return np.array([parents[b] >= 0 and len(hinges_between(robot, int(parents[b]), b)) > 0 for b in range(len(parents))])


def hinges_between(robot: RobotModel, upper: int, lower: int) -> np.ndarray:
    """The hinges that move body `lower` but not body `upper`, an ancestor of it: the joints of the chain
    between the two (a body's own hinge, with `upper` its parent)."""
    return np.flatnonzero(robot.body_joint_mask[lower] & ~robot.body_joint_mask[upper])


def _lowest(end: int, pos: np.ndarray, children: list[np.ndarray]) -> float:
    """The lowest zero-pose z of a body and everything it carries."""
    low, stack = pos[end, 2], [end]
    while stack:
        b = stack.pop()
        low = min(low, pos[b, 2])
        stack += list(children[b])
    return float(low)


def _pair(ends: list[int], pos: np.ndarray) -> dict[Side, int] | None:
    if len(ends) != 2 or min(ends) < 0:
        return None
    left, right = sorted(ends, key=lambda e: -pos[e, 1])
    if not (pos[left, 1] > SIDE_MARGIN and pos[right, 1] < -SIDE_MARGIN):
        return None
    return {"left": left, "right": right}
