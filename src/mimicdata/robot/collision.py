"""Collision geometry of a robot: capsules on its bodies, and the distances a simulator would see.

Every geom is a capsule, the set of points within `radius` of the segment from `start` to `end`
in its body's frame; a sphere is a capsule whose ends coincide. Two capsules are apart by

    d = |p - q| - r_a - r_b,   p, q the closest points of the two segments,

negative when they overlap (its magnitude is the penetration depth). The lowest point of a capsule
is `min(start_z, end_z) - radius`. The gradient of d with respect to anything that moves p (q held)
is n = (p - q) / |p - q|, which is what the IK's collision rows use.

Pairs that are never checked: geoms on the same body, on bodies joined by one joint (their capsules
meet at the joint by design), pairs a description excludes, and pairs already touching in the
neutral pose (every joint at zero), which no motion could separate either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import RobotModelError
from ..geometry.rotations import quat_to_matrix

if TYPE_CHECKING:
    from .model import RobotModel

_EPS = 1e-12


@dataclass(frozen=True)
class CollisionGeometry:
    names: tuple[str, ...]
    body: np.ndarray  # (G,) body index of each geom
    start: np.ndarray  # (G, 3) segment ends in the body frame, metres
    end: np.ndarray  # (G, 3)
    radius: np.ndarray  # (G,)
    pairs: np.ndarray  # (P, 2) geom indices checked for self-collision

    @property
    def num_geoms(self) -> int:
        return len(self.names)

    def world(self, body_pos: np.ndarray, body_quat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T, G, 3) world segment ends of every geom."""
        rot = quat_to_matrix(body_quat[:, self.body])  # (T, G, 3, 3)
        origin = body_pos[:, self.body]
        return (origin + np.einsum("tgij,gj->tgi", rot, self.start),
                origin + np.einsum("tgij,gj->tgi", rot, self.end))

    def lowest_points(self, body_pos: np.ndarray, body_quat: np.ndarray) -> np.ndarray:
        """(T, G) height of each geom's lowest surface point."""
        a, b = self.world(body_pos, body_quat)
        return np.minimum(a[..., 2], b[..., 2]) - self.radius

    def pair_distances(self, body_pos: np.ndarray, body_quat: np.ndarray) -> PairDistances:
        a, b = self.world(body_pos, body_quat)
        return pair_distances(a, b, self.radius, self.pairs)


@dataclass(frozen=True)
class PairDistances:
    distance: np.ndarray  # (T, P) signed surface distance, m
    closest_first: np.ndarray  # (T, P, 3) closest point on the first geom's segment
    closest_second: np.ndarray  # (T, P, 3) and on the second's
    normal: np.ndarray  # (T, P, 3) unit vector from the second's closest point to the first's


def pair_distances(start: np.ndarray, end: np.ndarray, radius: np.ndarray, pairs: np.ndarray) -> PairDistances:
    """Signed distances of the capsule pairs, from (T, G, 3) world segment ends."""
    i, j = pairs[:, 0], pairs[:, 1]
    p, q = closest_points(start[:, i], end[:, i], start[:, j], end[:, j])
    gap = p - q
    length = np.linalg.norm(gap, axis=-1)
    # Coincident axes (rare): any direction is a separating one; take world up.
    normal = np.where(length[..., None] > _EPS, gap / np.maximum(length, _EPS)[..., None], [0.0, 0.0, 1.0])
    return PairDistances(length - radius[i] - radius[j], p, q, normal)


def closest_points(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest points of segments a0-a1 and b0-b1, (..., 3) each, batched.

    Minimises |a0 + s u - b0 - t v|^2 over s, t in [0, 1]: the unconstrained s, clamped, gives
    t, which clamped gives s again (Ericson, Real-Time Collision Detection, 5.1.9). A segment of
    zero length (a sphere) falls out of the same formulas.
    """
    u, v, w = a1 - a0, b1 - b0, a0 - b0
    a = np.einsum("...i,...i->...", u, u)
    e = np.einsum("...i,...i->...", v, v)
    b = np.einsum("...i,...i->...", u, v)
    c = np.einsum("...i,...i->...", u, w)
    f = np.einsum("...i,...i->...", v, w)
    denom = a * e - b * b
    def s_given(t: np.ndarray) -> np.ndarray:  # the best s for a fixed t
        return np.where(a > _EPS, np.clip((b * t - c) / np.maximum(a, _EPS), 0.0, 1.0), 0.0)

    s = np.where(denom > _EPS, np.clip((b * f - c * e) / np.maximum(denom, _EPS), 0.0, 1.0), 0.0)
    s = np.where(e > _EPS, s, s_given(np.zeros_like(s)))  # b is a point: t = 0
    t = np.where(e > _EPS, (b * s + f) / np.maximum(e, _EPS), 0.0)
    t_clamped = np.clip(t, 0.0, 1.0)
    s = np.where(t != t_clamped, s_given(t_clamped), s)
    return a0 + s[..., None] * u, b0 + t_clamped[..., None] * v


def collision_from_config(config: Any, robot: RobotModel, source: Path | str) -> CollisionGeometry | None:
    """The geoms a robot.yaml lists under `collision`: `geoms: [{name, body, radius, from, to}]` (a sphere
    omits `to`) and `exclude: [[body, body], ...]`; None when it lists none."""
    if not config:
        return None
    if not isinstance(config, dict) or not isinstance(config.get("geoms"), list):
        raise RobotModelError(f"{source}: collision: expected a mapping with a list of geoms")
    names, bodies, starts, ends, radii = [], [], [], [], []
    for n, entry in enumerate(config["geoms"]):
        where = f"{source}: collision.geoms[{n}]"
        if not isinstance(entry, dict) or not {"name", "body", "radius", "from"} <= set(entry):
            raise RobotModelError(f"{where}: expected name, body, radius, from (and to for a capsule)")
        if entry["body"] not in robot.body_names:
            raise RobotModelError(f"{where}: body {entry['body']!r} is not one of the robot's bodies")
        try:
            start = np.asarray(entry["from"], dtype=float)
            end = np.asarray(entry.get("to", entry["from"]), dtype=float)
            radius = float(entry["radius"])
        except (TypeError, ValueError):
            start = end = np.zeros(0)
            radius = 0.0
        if start.shape != (3,) or end.shape != (3,) or not radius > 0:
            raise RobotModelError(f"{where}: from and to must be 3 numbers each and radius a positive number")
        names.append(str(entry["name"]))
        bodies.append(robot.body_index(entry["body"]))
        starts.append(start)
        ends.append(end)
        radii.append(radius)
    excluded = set()
    for n, pair in enumerate(config.get("exclude") or []):
        if not isinstance(pair, list) or len(pair) != 2 or any(b not in robot.body_names for b in pair):
            raise RobotModelError(f"{source}: collision.exclude[{n}]: expected two body names, got {pair!r}")
        excluded.add(frozenset(robot.body_index(b) for b in pair))
    return _geometry(robot, names, np.array(bodies), np.array(starts), np.array(ends), np.array(radii), excluded)


def _geometry(
    robot: RobotModel,
    names: list[str],
    body: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    radius: np.ndarray,
    excluded: set[frozenset[int]],
) -> CollisionGeometry:
    parents = robot.body_parents
    candidates = [
        (i, j)
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if body[i] != body[j] and parents[body[i]] != body[j] and parents[body[j]] != body[i]
        and frozenset((int(body[i]), int(body[j]))) not in excluded
    ]
    geometry = CollisionGeometry(tuple(names), body, start, end, radius, np.array(candidates, dtype=int).reshape(-1, 2))
    if not candidates:
        return geometry
    neutral = robot.forward_kinematics(np.zeros((1, 3)), np.array([[1.0, 0.0, 0.0, 0.0]]),
                                       np.zeros((1, robot.num_joints)))
    apart = geometry.pair_distances(*neutral).distance[0] > 0.0
    return CollisionGeometry(geometry.names, body, start, end, radius, geometry.pairs[apart])
