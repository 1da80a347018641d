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

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import kernels
from ..errors import RobotModelError
from ..geometry.rotations import rotate_vector

if TYPE_CHECKING:
    from .model import RobotModel

# Depths that count (m): what a simulator tracking the motion would fight.
SELF_COLLISION_DEPTH = 0.01
FLOOR_DEPTH = 0.02
# How much thicker than its equivalent inertia box a link stood in for by one is: with it, mjlab's G1 with
# its collision capsules made meshes flags self-collision in about as many frames as with the capsules, over
# Unitree's five G1 retargets of LAFAN1 (88% against 91% in sum; 1.0 gives 30%, 1.5 gives 125%).
INERTIA_THICKENING = 1.3


@dataclass(frozen=True)
class CollisionGeometry:
    names: tuple[str, ...]
    body: np.ndarray  # (G,) body index of each geom
    start: np.ndarray  # (G, 3) segment ends in the body frame, metres
    end: np.ndarray  # (G, 3)
    radius: np.ndarray  # (G,)
    pairs: np.ndarray  # (P, 2) geom indices checked for self-collision
    rest_distance: np.ndarray  # (P,) their distance in the neutral pose, m
    estimated: np.ndarray | None = None  # (G,) True for a stand-in estimated from inertia (collision_from_model)

    @property
    def num_geoms(self) -> int:
        return len(self.names)

    def world(self, body_pos: np.ndarray, body_quat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T, G, 3) world segment ends of every geom."""
        return kernels.geoms_in_world(body_pos, body_quat, self.body, self.start, self.end)

    def posed(self, body_pos: np.ndarray, body_quat: np.ndarray) -> PosedGeometry:
        """The geoms where (T, B) body poses put them, to ask several questions of one placement."""
        return PosedGeometry(self, *self.world(body_pos, body_quat))

    def near_pair_distances(self, body_pos: np.ndarray, body_quat: np.ndarray, within: float) -> np.ndarray:
        """See PosedGeometry.near_pair_distances."""
        return self.posed(body_pos, body_quat).near_pair_distances(within)

    def lowest_points(self, body_pos: np.ndarray, body_quat: np.ndarray) -> np.ndarray:
        """(T, G) height of each geom's lowest surface point."""
        return self.posed(body_pos, body_quat).lowest_points()

    def pair_distances(self, body_pos: np.ndarray, body_quat: np.ndarray) -> PairDistances:
        return self.posed(body_pos, body_quat).pair_distances()


@dataclass(frozen=True)
class PosedGeometry:
    """Collision geometry placed in the world: every geom's segment, (T, G, 3) ends."""

    geometry: CollisionGeometry
    start: np.ndarray
    end: np.ndarray

    def near_pair_distances(self, within: float) -> np.ndarray:
        """(T, P) signed distances, exact wherever they are at most `within`; elsewhere a lower bound
        above it (from each capsule's bounding sphere), which is all most far-apart pairs need. Callers may
        rely on the bound (retarget.physical does): it is never replaced by a mere sentinel."""
        g = self.geometry
        reach = 0.5 * np.linalg.norm(g.end - g.start, axis=1) + g.radius  # (G,)
        return kernels.near_pair_distances(self.start, self.end, g.radius, reach, g.pairs, within)

    def lowest_surface_points(self) -> np.ndarray:
        """(T, G, 3) each geom's lowest surface point: its lower segment end, a radius down."""
        point = np.where((self.start[..., 2] <= self.end[..., 2])[..., None], self.start, self.end)
        point[..., 2] -= self.geometry.radius
        return point

    def lowest_points(self) -> np.ndarray:
        """(T, G) height of each geom's lowest surface point."""
        return np.minimum(self.start[..., 2], self.end[..., 2]) - self.geometry.radius

    def pair_distances(self) -> PairDistances:
        return pair_distances(self.start, self.end, self.geometry.radius, self.geometry.pairs)


@dataclass(frozen=True)
class PairDistances:
    distance: np.ndarray  # (..., P) signed surface distance, m
    closest_first: np.ndarray  # (..., P, 3) closest point on the first geom's segment
    closest_second: np.ndarray  # (..., P, 3) and on the second's
    normal: np.ndarray  # (..., P, 3) unit vector from the second's closest point to the first's


def pair_distances(start: np.ndarray, end: np.ndarray, radius: np.ndarray, pairs: np.ndarray) -> PairDistances:
    """Signed distances of the capsule pairs, from (T, G, 3) world segment ends."""
    i, j = pairs[:, 0], pairs[:, 1]
    return capsule_distances(start[:, i], end[:, i], radius[i], start[:, j], end[:, j], radius[j])


def capsule_distances(
    a0: np.ndarray, a1: np.ndarray, ra: np.ndarray, b0: np.ndarray, b1: np.ndarray, rb: np.ndarray
) -> PairDistances:
    """Signed distances of capsules (a0-a1, ra) and (b0-b1, rb), (..., 3) ends and (...) radii, batched.

    The closest points of the two segments minimise |a0 + s u - b0 - t v|^2 over s, t in [0, 1]: the
    unconstrained s, clamped, gives t, which clamped gives s again (Ericson, Real-Time Collision
    Detection, 5.1.9); a segment of zero length (a sphere) falls out of the same formulas. Where the two
    axes meet, any direction separates them: the normal is then world up. (kernels.c computes it.)
    """
    return PairDistances(*kernels.capsule_distances(a0, a1, ra, b0, b1, rb))


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


def collision_from_model(path: Path, robot: RobotModel) -> CollisionGeometry | None:
    """The collision geoms of an MJCF or URDF as MuJoCo compiles them (those with a contype or conaffinity),
    and its contact exclusions; None when it has none this module can represent.

    Capsules and cylinders keep their axis and radius (a cylinder's flat ends become round), spheres and
    ellipsoids become spheres of their largest radius, a box becomes two capsules side by side along its
    longest axis, as thick as its thinnest side. A collision mesh (its asset is not needed to load a
    model, and often absent) is stood in for by its body's equivalent inertia box, converted as a box is:
    the uniform box of the body's mass and principal moments I_1..I_3, whose half sides are

        h_i = sqrt(3 (I_j + I_k - I_i) / (2 m)),

    centred on the body's centre of mass along its principal axes (MuJoCo draws the same box), its
    capsules made INERTIA_THICKENING times as thick. It is an estimate: a link's mass sits in its motors,
    near the axis, so the box is thinner than the shell. Its geoms are named `<body>_inertia_<k>`; a
    description can list capsules instead (robot.yaml `collision`).
    """
    from mujoco import mjtGeom

    from .mujoco_model import MESH_STAND_IN, compile_mujoco

    try:
        model = compile_mujoco(path, mesh_stand_ins=True)
    except RobotModelError:
        return None  # a URDF whose collision meshes are missing: kinematics alone still load
    names, bodies, starts, ends, radii, stand_ins = [], [], [], [], [], []
    estimated: set[int] = set()
    for g in range(model.ngeom):
        body_id = int(model.geom_bodyid[g])
        body = model.body(body_id).name
        if body_id == 0 or not (model.geom_contype[g] or model.geom_conaffinity[g]) or body not in robot.body_names:
            continue
        kind, size = int(model.geom_type[g]), np.asarray(model.geom_size[g], dtype=float)
        pos, quat = np.asarray(model.geom_pos[g], dtype=float), np.asarray(model.geom_quat[g], dtype=float)
        name = model.geom(g).name or f"{body}_geom{g}"
        if name.startswith(MESH_STAND_IN):
            if body_id in estimated or not model.body_mass[body_id] > 0:
                continue
            estimated.add(body_id)
            half = inertia_box(float(model.body_mass[body_id]), np.asarray(model.body_inertia[body_id], dtype=float))
            pieces = [(piece, start, end, radius * INERTIA_THICKENING) for piece, start, end, radius in
                      _box_capsules(f"{body}_inertia", np.asarray(model.body_ipos[body_id], dtype=float),
                                    np.asarray(model.body_iquat[body_id], dtype=float), half)]
        elif kind in (mjtGeom.mjGEOM_CAPSULE, mjtGeom.mjGEOM_CYLINDER):
            axis = rotate_vector(quat, np.array([0.0, 0.0, size[1]]))
            pieces = [(name, pos - axis, pos + axis, size[0])]
        elif kind in (mjtGeom.mjGEOM_SPHERE, mjtGeom.mjGEOM_ELLIPSOID):
            pieces = [(name, pos, pos, float(size.max() if kind == mjtGeom.mjGEOM_ELLIPSOID else size[0]))]
        elif kind == mjtGeom.mjGEOM_BOX:
            pieces = _box_capsules(name, pos, quat, size)
        else:
            continue
        for piece, start, end, radius in pieces:
            stand_ins.append(name.startswith(MESH_STAND_IN))
            names.append(piece)
            bodies.append(robot.body_index(body))
            starts.append(start)
            ends.append(end)
            radii.append(float(radius))
    if not names:
        return None
    excluded = set()
    for signature in np.asarray(model.exclude_signature, dtype=np.int64):
        first, second = model.body(int(signature >> 16)).name, model.body(int(signature & 0xFFFF)).name
        if first in robot.body_names and second in robot.body_names:
            excluded.add(frozenset((robot.body_index(first), robot.body_index(second))))
    return _geometry(robot, names, np.array(bodies), np.array(starts), np.array(ends), np.array(radii), excluded,
                     np.array(stand_ins))


def inertia_box(mass: float, moments: np.ndarray) -> np.ndarray:
    """(3,) half sides of the uniform box with this mass and these principal moments of inertia."""
    return np.sqrt(np.maximum(1.5 * (moments.sum() - 2.0 * moments) / mass, 0.0))


def _box_capsules(
    name: str, pos: np.ndarray, quat: np.ndarray, half: np.ndarray
) -> list[tuple[str, np.ndarray, np.ndarray, float]]:
    """A box (centre, orientation, half sides) as two capsules side by side along its longest axis, as thick
    as its thinnest side."""
    long, mid, thin = np.argsort(half)[::-1]
    radius = float(half[thin])
    along = np.zeros(3)
    along[long] = max(half[long] - radius, 0.0)
    aside = np.zeros(3)
    aside[mid] = max(half[mid] - radius, 0.0)
    return [(f"{name}_{k}", pos + rotate_vector(quat, side - along), pos + rotate_vector(quat, side + along), radius)
            for k, side in enumerate((aside, -aside))]


def _joints_between(parents: np.ndarray | list[int], a: int, b: int) -> int:
    """How many joints the tree path from body a to body b crosses."""
    ancestors = [a]
    while parents[ancestors[-1]] >= 0:
        ancestors.append(int(parents[ancestors[-1]]))
    steps = 0
    while b not in ancestors:
        b, steps = int(parents[b]), steps + 1
        if b < 0:
            return len(ancestors) + steps  # separate trees: farther than any path
    return ancestors.index(b) + steps


def _geometry(
    robot: RobotModel,
    names: list[str],
    body: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    radius: np.ndarray,
    excluded: set[frozenset[int]],
    estimated: np.ndarray | None = None,
) -> CollisionGeometry:
    parents = robot.body_parents
    guessed = np.zeros(len(names), bool) if estimated is None else estimated
    # A hip or shoulder's hinges sit two bodies apart, and its links are shaped to clear each other over
    # their range, which an inertia stand-in does not know: two bodies one body apart are not checked when
    # either geom is one.
    candidates = [
        (i, j)
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if body[i] != body[j] and _joints_between(parents, int(body[i]), int(body[j])) > (2 if guessed[i] or guessed[j] else 1)
        and frozenset((int(body[i]), int(body[j]))) not in excluded
    ]
    pairs = np.array(candidates, dtype=int).reshape(-1, 2)
    geometry = CollisionGeometry(tuple(names), body, start, end, radius, pairs, np.full(len(pairs), np.inf), estimated)
    if not candidates:
        return geometry
    pos, quat = robot.posed()
    rest = geometry.pair_distances(pos[None], quat[None]).distance[0]
    apart = rest > 0.0
    return replace(geometry, pairs=pairs[apart], rest_distance=rest[apart])


@dataclass(frozen=True)
class CollisionMeasures:
    """What a simulator would fight, on the robot's collision geometry (all zero without one)."""

    self_collision_frames: float = 0.0
    deepest_self_penetration: float = 0.0
    worst_pair: str = ""
    floor_penetration_frames: float = 0.0
    deepest_floor_penetration: float = 0.0


def collision_measures(
    robot: RobotModel, body_pos: np.ndarray, body_quat: np.ndarray, posed: PosedGeometry | None = None
) -> CollisionMeasures:
    """Self-collision and floor penetration on the robot's collision geometry (zeros if it has none);
    `posed`, the geometry already placed by these poses, saves placing it again."""
    geometry = robot.collision
    if geometry is None or not len(body_pos):
        return CollisionMeasures()
    posed = posed or geometry.posed(body_pos, body_quat)
    lowest = posed.lowest_points().min(axis=1)
    floor = CollisionMeasures(
        floor_penetration_frames=float((lowest < -FLOOR_DEPTH).mean()),
        deepest_floor_penetration=float(max(0.0, -lowest.min())),
    )
    if not len(geometry.pairs):
        return floor
    distance = posed.near_pair_distances(0.0)  # (T, P), exact where touching
    t, p = np.unravel_index(np.argmin(distance), distance.shape)
    i, j = geometry.pairs[p]
    return replace(
        floor,
        self_collision_frames=float((distance.min(axis=1) < -SELF_COLLISION_DEPTH).mean()),
        deepest_self_penetration=float(max(0.0, -distance[t, p])),
        worst_pair=f"{geometry.names[i]}/{geometry.names[j]}" if distance[t, p] < 0 else "",
    )
