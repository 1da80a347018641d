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
by kernels.c (self_place, floor_place) for the per-frame constrained solve (kernels.refine);
kernels.constraint_rows gives them to Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..robot import RobotModel
from ..robot.collision import CollisionGeometry

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
    def where(mask: np.ndarray, clearance: np.ndarray, items: np.ndarray | None = None) -> Places:
        """The places a (T, I) mask picks, with their bounds from (T, I) clearances; column i is item items[i]
        (default i)."""
        frame, column = np.nonzero(mask)
        return Places(frame, column if items is None else items[column], clearance[frame, column], mask.shape[0])

    def grouped(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The places at `frames` (F,) (sorted), grouped by frame as the compiled solver reads them: where each
        frame's places start (F + 1,), and their items and bounds."""
        keep = np.isin(self.frame, frames)
        return np.searchsorted(self.frame[keep], np.append(frames, self.num_frames)), self.item[keep], self.clearance[keep]


def compiled_settings(robot: RobotModel, geometry: CollisionGeometry, yielding: Sequence[bool],
                      weight: float) -> kernels.Collision:
    """The collision geometry and constraint settings as the compiled rows read them (kernels.c's self_place and
    floor_place): `yielding` per chain, `weight` per metre missing."""
    return kernels.Collision(geometry.body, geometry.start, geometry.end, geometry.radius, geometry.pairs,
                             robot.body_joint_mask, np.array(yielding, dtype=bool), weight, STRIDE)
