"""Collision and floor inequalities for the IK, on the robot's collision geometry.

Self-collision: every checked capsule pair keeps a surface distance d >= its clearance. With
p, q the closest points of the two axes and n = (p - q)/|p - q|, d grows along n at p and along
-n at q, so a pair's row is the rate of p along n minus the rate of q along n (a hinge moves a
point at axis x (point - origin); ik.py's docstring has the row). When the two geoms hang from two different chains and only one of them
yields (an arm, for a leg), that one is asked for the whole missing distance and the other for
none; otherwise each chain is asked for half: chains step at the same time, and both moving the
whole way would overshoot.

Floor: the lowest surface point of every listed geom keeps a height z >= its clearance. The
lowest point is the lower axis end less the radius, so its row is that end's rate along +z.

Both are penalties (weight w per metre, rows live only where the inequality is violated), stiff
enough against the tracking weights that what is left after a few iterations is a few millimetres.
They are checked only at listed (frame, pair) or (frame, geom) places, each with its own bound
(`Places`): physical.py lists the places near a contact and raises the bound smoothly around
it, so that limbs ease out of the way instead of bouncing off the margin. The rows are computed
by kernels.c (self_place, floor_place), which the per-frame constrained solve (kernels.refine)
uses too; the classes here give them to the batched solver (ik.solve_ik) and to tests.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .. import kernels
from ..robot import RobotModel
from ..robot.collision import CollisionGeometry
from .ik import Chain, Kinematics, SparseRows, chain_joints

# At most this much of a violation is asked for in one iteration (m): the rows are linear in the
# joints, the distances are not, and asking for a deep overlap at once throws a limb past it.
STRIDE = 0.01


@dataclass(frozen=True)
class Places:
    """Where a constraint is checked: (frame, item) places, each with its bound (m)."""

    frame: np.ndarray  # (N,)
    item: np.ndarray  # (N,) pair or geom index
    clearance: np.ndarray  # (N,)
    num_frames: int

    @staticmethod
    def where(mask: np.ndarray, clearance: np.ndarray) -> Places:
        """The places a (T, I) mask picks, with their bounds from (T, I) clearances."""
        frame, item = np.nonzero(mask)
        return Places(frame, item, clearance[frame, item], mask.shape[0])

    def at(self, frames: slice | np.ndarray) -> Places:
        old = np.arange(self.num_frames)[frames]
        renumber = np.full(self.num_frames, -1)
        renumber[old] = np.arange(len(old))
        new = renumber[self.frame]
        keep = new >= 0
        return Places(new[keep], self.item[keep], self.clearance[keep], len(old))


def _collision(robot: RobotModel, geometry: CollisionGeometry, pairs: np.ndarray, weight: float,
               yielding: tuple[bool, ...]) -> kernels.Collision:
    return kernels.Collision(geometry.body, geometry.start, geometry.end, geometry.radius, pairs,
                             robot.body_joint_mask, np.array(yielding, dtype=bool), weight, STRIDE)


def _rows(kind: int, places: Places, robot: RobotModel, kin: Kinematics, chains: list[Chain],
          collision: kernels.Collision) -> list[SparseRows | None]:
    if not len(places.frame):
        return [None] * len(chains)
    pose = (kin.body_pos, kin.body_quat, kin.origin, kin.axis)
    _, rows = kernels.constraint_rows(kind, (places.frame, places.item, places.clearance), pose, chain_joints(chains),
                                      collision)
    return [None if r is None else SparseRows(*r) for r in rows]


@dataclass(frozen=True)
class SelfCollision:
    geometry: CollisionGeometry
    places: Places  # items index `pairs`
    weight: float  # per metre of missing distance
    pairs: np.ndarray  # (P, 2) geom pairs
    yielding: tuple[bool, ...]  # per chain: moves out of the way of chains that do not

    def at(self, frames: slice | np.ndarray) -> SelfCollision:
        return replace(self, places=self.places.at(frames))

    def rows(self, robot: RobotModel, kin: Kinematics, chains: list[Chain]) -> list[SparseRows | None]:
        return _rows(kernels.SELF, self.places, robot, kin, chains, self._collision(robot))

    def _collision(self, robot: RobotModel) -> kernels.Collision:
        return _collision(robot, self.geometry, self.pairs, self.weight, self.yielding)


@dataclass(frozen=True)
class Floor:
    geometry: CollisionGeometry
    places: Places  # items are geom indices
    weight: float  # per metre below the bound

    def at(self, frames: slice | np.ndarray) -> Floor:
        return replace(self, places=self.places.at(frames))

    def rows(self, robot: RobotModel, kin: Kinematics, chains: list[Chain]) -> list[SparseRows | None]:
        return _rows(kernels.FLOOR, self.places, robot, kin, chains, self._collision(robot))

    def _collision(self, robot: RobotModel) -> kernels.Collision:
        return _collision(robot, self.geometry, np.zeros((0, 2), np.int64), self.weight, ())
