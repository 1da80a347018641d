"""Compiled per-frame loops (kernels.c), for the work numpy can only do as many small array operations.

Forward kinematics of a short clip and the normal equations of a limb's IK step are a few
hundred floating-point operations per frame spread over dozens of bodies and hinges: as whole-array
numpy calls their cost is the calls, not the arithmetic. The C file is built with the package
(`pip install -e .`) and called through ctypes, which costs nothing to load; a JIT (numba) was
measured at 0.6 s of start-up in every process.
"""

from __future__ import annotations

import ctypes
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import numpy as np

from ..errors import BuildError, RobotModelError

MAX_CHAIN = 64  # hinges in one IK chain (the kernel's stack arrays)

_I64 = np.int64
_F64 = np.float64


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL:
    spec = importlib.util.find_spec("mimicdata.kernels._kernels")
    if spec is None or spec.origin is None:
        raise BuildError(  # no clip is to blame: a build stops at once instead of rejecting every clip
            "mimicdata's compiled kernels are not built (mimicdata/kernels/_kernels*.so is missing): "
            "install the package with `pip install -e .` from the project folder, which compiles them"
        )
    lib = ctypes.CDLL(spec.origin)
    lib.mimic_forward_kinematics.restype = None
    lib.mimic_forward_kinematics.argtypes = [ctypes.c_int64] * 4 + [ctypes.c_void_p] * 16
    lib.mimic_chain_step.restype = None
    i64, f64, ptr = ctypes.c_int64, ctypes.c_double, ctypes.c_void_p
    lib.mimic_chain_step.argtypes = [i64, i64, i64, i64, i64, *[ptr] * 12, i64, f64, f64, i64, ptr, ptr, ptr, f64, ptr, ptr]
    lib.mimic_capsule_distances.restype = None
    lib.mimic_capsule_distances.argtypes = [ctypes.c_int64] + [ctypes.c_void_p] * 10
    lib.mimic_near_pair_distances.restype = None
    lib.mimic_near_pair_distances.argtypes = (
        [ctypes.c_int64] * 3 + [ctypes.c_void_p] * 5 + [ctypes.c_double, ctypes.c_void_p]
    )
    lib.mimic_geoms_in_world.restype = None
    lib.mimic_geoms_in_world.argtypes = [ctypes.c_int64] * 3 + [ctypes.c_void_p] * 7
    lib.mimic_parse_table.restype = ctypes.c_int64
    lib.mimic_parse_table.argtypes = [ctypes.c_char_p, ctypes.c_int64, ctypes.c_char, ctypes.c_int64, ctypes.c_int64,
                                      ctypes.c_void_p]
    lib.mimic_angular_velocity.restype = None
    lib.mimic_angular_velocity.argtypes = [ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p, ctypes.c_double,
                                           ctypes.c_void_p, ctypes.c_void_p]
    lib.mimic_solve_in_order.restype = None
    lib.mimic_solve_in_order.argtypes = [i64, ptr, ptr, ptr, ptr, i64, i64, f64, ptr, ptr, ptr]
    lib.mimic_refine.restype = i64
    lib.mimic_refine.argtypes = [i64, *[ptr] * 13, i64, i64, f64, i64, ptr, ptr, ptr]
    lib.mimic_constraint_rows.restype = None
    lib.mimic_constraint_rows.argtypes = [i64, i64, ptr, ptr, ptr, i64, i64, *[ptr] * 8]
    return lib


def _c(array: np.ndarray, dtype: type = _F64) -> np.ndarray:
    """The array as the kernels read it: C-contiguous, of `dtype` (a copy only when it is not already)."""
    return np.ascontiguousarray(array, dtype=dtype)


def _chain_size(hinges: int) -> int:
    """`hinges`, when a chain of that many fits the kernels' stack arrays."""
    if hinges > MAX_CHAIN:
        raise RobotModelError(f"an IK chain of {hinges} hinges; the solver takes at most {MAX_CHAIN}")
    return hinges


def _ptr(array: np.ndarray | None) -> int | None:
    return None if array is None else array.ctypes.data


def forward_kinematics(
    links: tuple[np.ndarray, ...],
    bodies: tuple[np.ndarray, ...],
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    joint_pos: np.ndarray,
    with_joints: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Body positions (T, B, 3) and wxyz orientations (T, B, 4), and with_joints each hinge's world
    origin and unit axis (T, J, 3), of a tree whose links are (parent, joint column, offset position,
    offset wxyz, unit axis) arrays, parents first, link 0 the floating base; bodies are (link, offset
    position, offset wxyz). The root quaternions are taken as they are (unit, sign-continuous)."""
    parent, qidx, off_pos, off_quat, axis = links
    body_link, body_pos_off, body_quat_off = bodies
    root_pos, root_quat, joint_pos = _c(root_pos), _c(root_quat), _c(joint_pos)
    T, J = joint_pos.shape
    L, B = len(parent), len(body_link)
    body_pos = np.empty((T, B, 3))
    body_quat = np.empty((T, B, 4))
    origin = np.empty((T, J, 3)) if with_joints else None
    hinge_axis = np.empty((T, J, 3)) if with_joints else None
    work = np.empty(7 * L)
    _library().mimic_forward_kinematics(
        T, L, B, J, _ptr(parent), _ptr(qidx), _ptr(off_pos), _ptr(off_quat), _ptr(axis),
        _ptr(body_link), _ptr(body_pos_off), _ptr(body_quat_off),
        _ptr(root_pos), _ptr(root_quat), _ptr(joint_pos),
        _ptr(body_pos), _ptr(body_quat), _ptr(origin), _ptr(hinge_axis), _ptr(work),
    )
    return body_pos, body_quat, origin, hinge_axis


def chain_step(
    joints: np.ndarray,
    tasks: np.ndarray,
    moves: np.ndarray,
    pos_w: np.ndarray,
    rot_w: np.ndarray,
    point: np.ndarray,
    pos_err: np.ndarray,
    rot_err: np.ndarray,
    origin: np.ndarray,
    axis: np.ndarray,
    q: np.ndarray,
    nominal: np.ndarray,
    damping: float,
    posture_weight: float,
    rows: tuple[np.ndarray, np.ndarray, np.ndarray],
    max_step: float,
) -> np.ndarray:
    """(T, n) one damped Gauss-Newton step of the hinges `joints` (n,) of one chain toward its `tasks`
    (C,) (retarget/ik.py has the math): task weights pos_w, rot_w (K,) (square roots), moves (C, n) 1
    where a hinge moves a task's body, the tasks' points and errors (T, K, 3), hinge origins and axes
    (T, J, 3), joint angles q (T, J), the posture nominal (J,) or (T, J), and extra constraint rows
    (frame (R,), jacobian (R, n), error (R,)) added to the frames they name."""
    n = _chain_size(len(joints))
    T, J = q.shape
    K = point.shape[1]
    nominal = _c(nominal).reshape(-1, J)
    row_frame, row_jac, row_err = _c(rows[0], _I64), _c(rows[1]).reshape(-1, n), _c(rows[2])
    point, pos_err, rot_err, origin, axis, q = (_c(a) for a in (point, pos_err, rot_err, origin, axis, q))
    joints, tasks, moves, pos_w, rot_w = _c(joints, _I64), _c(tasks, _I64), _c(moves), _c(pos_w), _c(rot_w)
    step = np.empty((T, n))
    work = np.empty(T * (n * n + n))
    _library().mimic_chain_step(
        T, n, J, K, len(tasks),
        _ptr(joints), _ptr(tasks), _ptr(moves), _ptr(pos_w), _ptr(rot_w),
        _ptr(point), _ptr(pos_err), _ptr(rot_err), _ptr(origin), _ptr(axis),
        _ptr(q), _ptr(nominal), len(nominal), damping, posture_weight,
        len(row_frame), _ptr(row_frame), _ptr(row_jac), _ptr(row_err),
        max_step, _ptr(step), _ptr(work),
    )
    return step


def capsule_distances(
    a0: np.ndarray, a1: np.ndarray, ra: np.ndarray, b0: np.ndarray, b1: np.ndarray, rb: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Signed distances (...) of capsules (a0-a1, ra) and (b0-b1, rb), (..., 3) ends and (...) radii, with
    the closest points of the two axes and the unit normal from the second to the first, (..., 3) each."""
    shape = np.broadcast_shapes(a0.shape, a1.shape, b0.shape, b1.shape, np.shape(ra) + (3,), np.shape(rb) + (3,))
    ends = [_c(np.broadcast_to(x, shape)).reshape(-1, 3) for x in (a0, a1, b0, b1)]
    radii = [_c(np.broadcast_to(r, shape[:-1])).reshape(-1) for r in (ra, rb)]
    N = len(ends[0])
    distance, p, q, normal = np.empty(N), np.empty((N, 3)), np.empty((N, 3)), np.empty((N, 3))
    _library().mimic_capsule_distances(
        N, _ptr(ends[0]), _ptr(ends[1]), _ptr(radii[0]), _ptr(ends[2]), _ptr(ends[3]), _ptr(radii[1]),
        _ptr(distance), _ptr(p), _ptr(q), _ptr(normal),
    )
    return distance.reshape(shape[:-1]), p.reshape(shape), q.reshape(shape), normal.reshape(shape)


def near_pair_distances(
    start: np.ndarray, end: np.ndarray, radius: np.ndarray, reach: np.ndarray, pairs: np.ndarray, within: float
) -> np.ndarray:
    """(T, P) signed distances of the geom pairs (P, 2) of (T, G, 3) world segment ends with radii (G,):
    exact wherever the bounding spheres (reach (G,) about each segment's middle) allow them to be within
    `within`, elsewhere that lower bound."""
    start, end, radius, reach, pairs = _c(start), _c(end), _c(radius), _c(reach), _c(pairs, _I64)
    T, G, _ = start.shape
    P = len(pairs)
    distance = np.empty((T, P))
    _library().mimic_near_pair_distances(
        T, G, P, _ptr(start), _ptr(end), _ptr(radius), _ptr(reach), _ptr(pairs), within, _ptr(distance)
    )
    return distance


def geoms_in_world(
    body_pos: np.ndarray, body_quat: np.ndarray, geom_body: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(T, G, 3) world ends of segments from start to end (G, 3) in the frames of bodies geom_body (G,), on (T, B)
    body poses."""
    body_pos, body_quat = _c(body_pos), _c(body_quat)
    geom_body, start, end = _c(geom_body, _I64), _c(start), _c(end)
    T, B, _ = body_pos.shape
    G = len(geom_body)
    world_start, world_end = np.empty((T, G, 3)), np.empty((T, G, 3))
    _library().mimic_geoms_in_world(
        T, B, G, _ptr(body_pos), _ptr(body_quat), _ptr(geom_body), _ptr(start), _ptr(end), _ptr(world_start),
        _ptr(world_end),
    )
    return world_start, world_end


def parse_table(text: bytes, width: int, sep: str, max_rows: int) -> np.ndarray | None:
    """(rows, width) float64 of a plain table of decimal numbers, `width` per line, separated by blanks (sep
    " ") or commas (sep ","), blank lines skipped; None if the text is anything else or holds more than
    max_rows rows (the caller's careful reader then names the problem)."""
    out = np.empty((max_rows, width))
    rows = _library().mimic_parse_table(text, len(text), sep.encode(), width, max_rows, _ptr(out))
    return None if rows < 0 else out[:rows]


def angular_velocity(quat: np.ndarray, dt: float) -> np.ndarray:
    """World angular velocity (T, ..., 3) of wxyz orientation tracks (T, ..., 4) sampled every dt s (see
    kernels.c: central differences of the sign-continuous track, one-sided at the ends)."""
    quat = _c(quat)
    T = quat.shape[0]
    N = int(np.prod(quat.shape[1:-1], dtype=np.int64))
    out = np.empty(quat.shape[:-1] + (3,))
    work = np.empty(quat.shape)
    _library().mimic_angular_velocity(T, N, _ptr(quat), dt, _ptr(out), _ptr(work))
    return out


# The C structs of kernels.c, filled from numpy arrays. Each holds the arrays it points into (`keep`).
_S = TypeVar("_S", bound="_Struct")


class _Struct(ctypes.Structure):
    keep: list

    @classmethod
    def of(cls: type[_S], *values: object) -> _S:
        arrays = [v for v in values if isinstance(v, np.ndarray)]
        struct = cls(*(v.ctypes.data if isinstance(v, np.ndarray) else v for v in values))
        struct.keep = arrays
        return struct


def _fields(ints: str, pointers: str, doubles: str = "") -> list:
    return ([(n, ctypes.c_int64) for n in ints.split()] + [(n, ctypes.c_void_p) for n in pointers.split()]
            + [(n, ctypes.c_double) for n in doubles.split()])


class _Tree(_Struct):
    _fields_ = _fields("L B J", "parent qidx off_pos off_quat axis body_link body_off_pos body_off_quat root_pos root_quat")


class _Tasks(_Struct):
    _fields_ = _fields("K S", "task_body pos_w rot_w target_pos target_quat slot_task slot_body slot_offset")


class _Chains(_Struct):
    _fields_ = _fields("C", "joint_start joints task_start tasks moves_start moves lower upper",
                       "damping posture_weight max_step")


class _Collision(_Struct):
    _fields_ = _fields("", "geom_body start end radius pairs mask yielding", "weight stride")


class _Rows(_Struct):
    _fields_ = _fields("cap", "count frame jac err")


@dataclass(frozen=True)
class Clip:
    """A clip's IK as the per-frame solvers read it. tree: the robot's (links, bodies) as forward_kinematics
    takes them, and the base (T, 3), (T, 4) unit and sign-continuous; tasks: body (K,) and the square roots of
    the position and orientation weights (K,); targets (T, K, 3) and (T, K, 4); slots: the arm tasks (S,) whose
    position target is their shoulder body (S,) plus an offset (T, S, 3); chains: each chain's hinges, tasks
    and (tasks x hinges) mask of which hinge moves which task's body, concatenated, with the start of each
    chain's part (C + 1 each); limits (J,) each. `structs` adds the step's damping, posture weight and largest
    step."""

    tree: tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]
    root: tuple[np.ndarray, np.ndarray]
    tasks: tuple[np.ndarray, np.ndarray, np.ndarray]
    targets: tuple[np.ndarray, np.ndarray]
    slots: tuple[np.ndarray, np.ndarray, np.ndarray]
    chains: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    limits: tuple[np.ndarray, np.ndarray]

    def structs(self, damping: float, posture_weight: float, max_step: float) -> tuple[_Tree, _Tasks, _Chains]:
        (parent, qidx, off_pos, off_quat, axis), (body_link, body_off_pos, body_off_quat) = self.tree
        tree = _Tree.of(len(parent), len(body_link), len(self.limits[0]), *(_c(a, _I64) for a in (parent, qidx)),
                        *(_c(a) for a in (off_pos, off_quat, axis)), _c(body_link, _I64),
                        *(_c(a) for a in (body_off_pos, body_off_quat, *self.root)))
        task_body, pos_w, rot_w = self.tasks
        slot_task, slot_body, slot_offset = self.slots
        tasks = _Tasks.of(len(task_body), len(slot_task), _c(task_body, _I64), _c(pos_w), _c(rot_w),
                          *(_c(a) for a in self.targets), _c(slot_task, _I64), _c(slot_body, _I64), _c(slot_offset))
        joint_start = _c(self.chains[0], _I64)
        _chain_size(int(np.diff(joint_start).max(initial=0)))
        chains = _Chains.of(len(joint_start) - 1, joint_start, *(_c(a, _I64) for a in self.chains[1:5]),
                            _c(self.chains[5]), *(_c(a) for a in self.limits), damping, posture_weight, max_step)
        return tree, tasks, chains


def solve_in_order(
    clip: Clip, settings: tuple[float, float, float], nominal: np.ndarray, steps: tuple[int, int, float],
    start: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Joint angles (T, J) of the plain IK solved frame after frame, each from the one before (kernels.c), and
    the steps (T,) each frame took; settings: damping, posture weight, largest step; steps: of the first frame,
    of any other, and the tolerance (rad) under which a frame is solved."""
    tree, tasks, chains = clip.structs(*settings)
    T, J = len(clip.root[0]), len(clip.limits[0])
    q = np.empty((T, J))
    used = np.empty(T, dtype=np.int64)
    nominal, start = _c(nominal), _c(start)
    first, later, tolerance = steps
    _library().mimic_solve_in_order(T, ctypes.byref(tree), ctypes.byref(tasks), ctypes.byref(chains), _ptr(nominal),
                                    first, later, tolerance, _ptr(start), _ptr(q), _ptr(used))
    if T and used[0] < 0:
        raise MemoryError("the in-order IK solver could not allocate its scratch space")
    return q, used


@dataclass(frozen=True)
class Collision:
    """The collision geometry and constraint settings as kernels.c reads them: each geom's body (G,) and segment
    (G, 3) ends in it, radii (G,), the pairs checked (P, 2), which hinge moves which body (B, J), which chains
    yield (C,), the rows' weight per metre and the most asked of one step (m)."""

    geom_body: np.ndarray
    start: np.ndarray
    end: np.ndarray
    radius: np.ndarray
    pairs: np.ndarray
    mask: np.ndarray
    yielding: np.ndarray
    weight: float
    stride: float

    def struct(self) -> _Collision:
        return _Collision.of(_c(self.geom_body, _I64), _c(self.start), _c(self.end), _c(self.radius),
                             _c(self.pairs, _I64), _c(self.mask, np.uint8), _c(self.yielding, np.uint8), self.weight,
                             self.stride)


SELF, FLOOR = 0, 1


def constraint_rows(
    kind: int, places: tuple[np.ndarray, np.ndarray, np.ndarray], pose: tuple[np.ndarray, ...],
    chain_joints: tuple[np.ndarray, np.ndarray], collision: Collision, with_rows: bool = True,
) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray, np.ndarray] | None]]:
    """What each place (frame, pair or geom, clearance (N,) each) of one kind (SELF or FLOOR) misses at the pose
    (body positions, orientations, hinge origins and axes of every frame), and with_rows each chain's rows
    (frame (R,), jacobian (R, n), error (R,); None for a chain without any): retarget/constraints.py. The
    chains are given by their hinges, concatenated, and the start of each (C + 1,)."""
    frame, item, clearance = _c(places[0], _I64), _c(places[1], _I64), _c(places[2])
    body_pos, body_quat, origin, hinge = (_c(a) for a in pose)
    starts = _c(chain_joints[0], _I64)
    chains = _Chains.of(len(starts) - 1, starts, _c(chain_joints[1], _I64), *([None] * 6), 0.0, 0.0, 0.0)
    C, N = len(starts) - 1, len(frame)
    missing = np.empty(N)
    rows = _Rows.of(N, np.zeros(C, np.int64), np.zeros(C * N + 1, np.int64), np.zeros(C * N * MAX_CHAIN + 1),
                    np.zeros(C * N + 1)) if with_rows else None
    _library().mimic_constraint_rows(
        N, kind, _ptr(frame), _ptr(item), _ptr(clearance), body_pos.shape[1], origin.shape[1], _ptr(body_pos),
        _ptr(body_quat), _ptr(origin), _ptr(hinge), ctypes.byref(chains), ctypes.byref(collision.struct()),
        _ptr(missing), ctypes.byref(rows) if rows is not None else None,
    )
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = [None] * C
    if rows is not None:
        count, frames, jac, err = rows.keep
        for c in range(C):
            r, n = int(count[c]), int(starts[c + 1] - starts[c])
            if r:
                block = jac[c * N * MAX_CHAIN: c * N * MAX_CHAIN + r * n].reshape(r, n)
                out[c] = (frames[c * N: c * N + r].copy(), block.copy(), err[c * N: c * N + r].copy())
    return missing, out


def refine(
    clip: Clip, settings: tuple[float, float, float], collision: Collision, frames: np.ndarray, reference: np.ndarray,
    self_places: tuple[np.ndarray, np.ndarray, np.ndarray], floor_places: tuple[np.ndarray, np.ndarray, np.ndarray],
    rounds: tuple[int, int, float], held: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frames `frames` (F,) solved again, each on its own, with their constraint places (per frame start
    (F + 1,), pair or geom, clearance), from their plain solution reference (F, J): rounds of constrained
    steps until every place misses its bound by at most the tolerance, or the steps run out; rounds: steps,
    steps per round, tolerance (m). `held` (F, C): chains that leave a self-collision pair to the other chains
    moving it, at each frame. Returns joint angles (F, J) and the bodies there (F, B, 3|4)."""
    tree, tasks, chains = clip.structs(*settings)
    frames, reference = _c(frames, _I64), _c(reference)
    self_start, self_pair, self_clear = _c(self_places[0], _I64), _c(self_places[1], _I64), _c(self_places[2])
    floor_start, floor_geom, floor_clear = _c(floor_places[0], _I64), _c(floor_places[1], _I64), _c(floor_places[2])
    F, J, B = len(frames), len(clip.limits[0]), len(clip.tree[1][0])
    capacity = int(max(np.diff(self_start).max(initial=0) + np.diff(floor_start).max(initial=0), 1))
    q, body_pos, body_quat = np.empty((F, J)), np.empty((F, B, 3)), np.empty((F, B, 4))
    iterations, round_steps, settled = rounds
    held_flags = None if held is None else _c(held, np.uint8)  # bound to a name: alive through the call
    if held_flags is not None and held_flags.shape != (F, len(clip.chains[0]) - 1):
        raise ValueError(f"held is {held_flags.shape}, not (frames, chains)")
    status = _library().mimic_refine(
        F, _ptr(frames), ctypes.byref(tree), ctypes.byref(tasks), ctypes.byref(chains),
        ctypes.byref(collision.struct()), _ptr(held_flags), _ptr(reference), _ptr(self_start), _ptr(self_pair), _ptr(self_clear),
        _ptr(floor_start), _ptr(floor_geom), _ptr(floor_clear), iterations, round_steps, settled, capacity, _ptr(q),
        _ptr(body_pos), _ptr(body_quat),
    )
    if status < 0:
        raise MemoryError("the constrained IK solver could not allocate its scratch space")
    return q, body_pos, body_quat
