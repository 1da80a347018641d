"""Collision and floor inequalities for the IK, on the robot's collision geometry.

Self-collision: every checked capsule pair keeps a surface distance d >= its clearance. With
p, q the closest points of the two axes and n = (p - q)/|p - q|, d grows along n at p and along
-n at q, so a pair's row is the rate of p along n minus the rate of q along n
(ik.directional_rates). When the two geoms hang from two different chains and only one of them
yields (an arm, for a leg), that one is asked for the whole missing distance and the other for
none; otherwise each chain is asked for half: chains step at the same time, and both moving the
whole way would overshoot.

Floor: the lowest surface point of every listed geom keeps a height z >= its clearance. The
lowest point is the lower axis end less the radius, so its row is that end's rate along +z.

Both are penalties (weight w per metre, rows live only where the inequality is violated), stiff
enough against the tracking weights that what is left after a few iterations is a few millimetres.
They are checked only at listed (frame, pair) or (frame, geom) places, each with its own bound
(`Places`): physical.py lists the places near a contact and raises the bound smoothly around
it, so that limbs ease out of the way instead of bouncing off the margin.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..robot import RobotModel
from ..robot.collision import CollisionGeometry, PairDistances
from .ik import Chain, Kinematics, SparseRows, directional_rates

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


def _moved_by(robot: RobotModel, chain: Chain, bodies: np.ndarray) -> np.ndarray:
    """(len(bodies),) whether the chain's hinges move each body."""
    return robot.body_joint_mask[np.ix_(bodies, chain.joints)].any(axis=1)


@dataclass(frozen=True)
class SelfCollision:
    geometry: CollisionGeometry
    places: Places  # items index `pairs`
    weight: float  # per metre of missing distance
    pairs: np.ndarray  # (P, 2) geom pairs
    yielding: tuple[bool, ...]  # per chain: moves out of the way of chains that do not

    def at(self, frames: slice | np.ndarray) -> SelfCollision:
        return replace(self, places=self.places.at(frames))

    def _distances(self, body_pos: np.ndarray, body_quat: np.ndarray) -> PairDistances:
        at = self.places
        return self.geometry.distances_at(body_pos, body_quat, at.frame, self.pairs[at.item, 0], self.pairs[at.item, 1])

    def shortfall(self, body_pos: np.ndarray, body_quat: np.ndarray) -> np.ndarray:
        """(N,) how far each place is from its bound, m (0 where it holds)."""
        return np.maximum(self.places.clearance - self._distances(body_pos, body_quat).distance, 0.0)

    def rows(self, robot: RobotModel, kin: Kinematics, chains: list[Chain]) -> list[SparseRows | None]:
        g, at = self.geometry, self.places
        if not len(at.frame):
            return [None] * len(chains)
        found = self._distances(kin.body_pos, kin.body_quat)
        missing = at.clearance - found.distance
        on = missing > 0
        if not on.any():
            return [None] * len(chains)
        frame, item, missing = at.frame[on], at.item[on], missing[on]
        p, q, normal = found.closest_first[on], found.closest_second[on], found.normal[on]
        body_i, body_j = g.body[self.pairs[:, 0]], g.body[self.pairs[:, 1]]
        moves = np.array([_moved_by(robot, c, body_i) | _moved_by(robot, c, body_j) for c in chains])  # (C, P)
        yields = np.array(self.yielding)[:, None] & moves
        # Only the yielding chains move a pair that any yielding chain moves; else every chain that moves it.
        movers = np.where(yields.any(axis=0), yields, moves)[:, item]  # (C, N)
        share = 1.0 / np.maximum(movers.sum(axis=0), 1)
        out: list[SparseRows | None] = []
        for c, chain in enumerate(chains):
            mine = movers[c]
            if not mine.any():
                out.append(None)
                continue
            f = frame[mine]
            rate = directional_rates(robot, kin, chain, f, body_i[item[mine]], p[mine], normal[mine])
            rate -= directional_rates(robot, kin, chain, f, body_j[item[mine]], q[mine], normal[mine])
            asked = np.minimum(missing[mine], STRIDE) * share[mine]
            out.append(SparseRows(f, rate * self.weight, asked * self.weight))
        return out


@dataclass(frozen=True)
class Floor:
    geometry: CollisionGeometry
    places: Places  # items are geom indices
    weight: float  # per metre below the bound

    def at(self, frames: slice | np.ndarray) -> Floor:
        return replace(self, places=self.places.at(frames))

    def _low_ends(self, body_pos: np.ndarray, body_quat: np.ndarray) -> np.ndarray:
        """(N, 3) the lower axis end of each place's geom."""
        at, g = self.places, self.geometry
        body = g.body[at.item]
        a, b = g.world_at(body_pos[at.frame, body], body_quat[at.frame, body], at.item)
        return np.where((a[:, 2] <= b[:, 2])[:, None], a, b)

    def shortfall(self, body_pos: np.ndarray, body_quat: np.ndarray) -> np.ndarray:
        """(N,) how far each place is below its bound, m (0 where it holds)."""
        low = self._low_ends(body_pos, body_quat)[:, 2] - self.geometry.radius[self.places.item]
        return np.maximum(self.places.clearance - low, 0.0)

    def rows(self, robot: RobotModel, kin: Kinematics, chains: list[Chain]) -> list[SparseRows | None]:
        g, at = self.geometry, self.places
        if not len(at.frame):
            return [None] * len(chains)
        low_end = self._low_ends(kin.body_pos, kin.body_quat)
        missing = at.clearance - (low_end[:, 2] - g.radius[at.item])
        on = missing > 0
        frame, geom, missing, low_end = at.frame[on], at.item[on], missing[on], low_end[on]
        bodies = g.body[geom]
        up = np.broadcast_to([0.0, 0.0, 1.0], low_end.shape)
        out: list[SparseRows | None] = []
        for chain in chains:
            mine = _moved_by(robot, chain, bodies)
            if not mine.any():
                out.append(None)
                continue
            rate = directional_rates(robot, kin, chain, frame[mine], bodies[mine], low_end[mine], up[mine])
            asked = np.minimum(missing[mine], STRIDE)
            out.append(SparseRows(frame[mine], rate * self.weight, asked * self.weight))
        return out
