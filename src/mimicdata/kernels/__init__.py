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
    lib.mimic_capsule_distances_at.restype = None
    lib.mimic_capsule_distances_at.argtypes = [ctypes.c_int64] * 2 + [ctypes.c_void_p] * 13
    lib.mimic_geoms_in_world.restype = None
    lib.mimic_geoms_in_world.argtypes = [ctypes.c_int64] * 3 + [ctypes.c_void_p] * 7
    lib.mimic_parse_table.restype = ctypes.c_int64
    lib.mimic_parse_table.argtypes = [ctypes.c_char_p, ctypes.c_int64, ctypes.c_char, ctypes.c_int64, ctypes.c_int64,
                                      ctypes.c_void_p]
    lib.mimic_angular_velocity.restype = None
    lib.mimic_angular_velocity.argtypes = [ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p, ctypes.c_double,
                                           ctypes.c_void_p, ctypes.c_void_p]
    lib.mimic_solve_in_order.restype = None
    lib.mimic_solve_in_order.argtypes = [i64] * 7 + [ptr] * 27 + [f64] * 3 + [i64] * 2 + [f64] + [ptr] * 3
    return lib


def _c(array: np.ndarray, dtype: type = _F64) -> np.ndarray:
    """The array as the kernels read it: C-contiguous, of `dtype` (a copy only when it is not already)."""
    return np.ascontiguousarray(array, dtype=dtype)


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
    n = len(joints)
    if n > MAX_CHAIN:
        raise RobotModelError(f"an IK chain of {n} hinges; the solver takes at most {MAX_CHAIN}")
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


def capsule_distances_at(
    frame: np.ndarray,
    gi: np.ndarray,
    gj: np.ndarray,
    body_pos: np.ndarray,
    body_quat: np.ndarray,
    geometry: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """capsule_distances of geoms gi and gj (N,) at frames `frame` (N,) of (T, B) body poses, the geoms given as
    (body (G,), segment start (G, 3) and end (G, 3) in the body's frame, radius (G,))."""
    frame, gi, gj = _c(frame, _I64), _c(gi, _I64), _c(gj, _I64)
    body_pos, body_quat = _c(body_pos), _c(body_quat)
    geom_body, start, end, radius = _c(geometry[0], _I64), _c(geometry[1]), _c(geometry[2]), _c(geometry[3])
    N = len(frame)
    distance, p, q, normal = np.empty(N), np.empty((N, 3)), np.empty((N, 3)), np.empty((N, 3))
    _library().mimic_capsule_distances_at(
        N, body_pos.shape[1], _ptr(frame), _ptr(gi), _ptr(gj), _ptr(body_pos), _ptr(body_quat), _ptr(geom_body),
        _ptr(start), _ptr(end), _ptr(radius), _ptr(distance), _ptr(p), _ptr(q), _ptr(normal),
    )
    return distance, p, q, normal


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


@dataclass(frozen=True)
class ChainLayout:
    """IK chains as the in-order solver reads them: each chain's hinges, tasks and (tasks x hinges) mask of
    which hinge moves which task's body, concatenated, with the start of each chain's part (C + 1 each)."""

    joint_start: np.ndarray
    joints: np.ndarray
    task_start: np.ndarray
    tasks: np.ndarray
    moves_start: np.ndarray
    moves: np.ndarray


def solve_in_order(
    tree: tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]],
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    tasks: tuple[np.ndarray, np.ndarray, np.ndarray],
    targets: tuple[np.ndarray, np.ndarray],
    slots: tuple[np.ndarray, np.ndarray, np.ndarray],
    chains: ChainLayout,
    limits: tuple[np.ndarray, np.ndarray],
    nominal: np.ndarray,
    settings: tuple[float, float, float, int, int, float],
    start: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Joint angles (T, J) of the plain IK solved frame after frame, each from the one before (kernels.c), and
    the steps (T,) each frame took. tree: the robot's (links, bodies) as forward_kinematics takes them; tasks:
    body (K,), position and orientation weights (K,) (square roots); targets (T, K, 3) and (T, K, 4); slots:
    the arm tasks (S,) whose position target is their shoulder body (S,) plus an offset (T, S, 3); settings:
    damping, posture weight, largest step, steps of the first frame, steps of any other, tolerance (rad)."""
    (parent, qidx, off_pos, off_quat, axis), (body_link, body_off_pos, body_off_quat) = tree
    root_pos, root_quat = _c(root_pos), _c(root_quat)
    task_body, pos_w, rot_w = _c(tasks[0], _I64), _c(tasks[1]), _c(tasks[2])
    target_pos, target_quat = _c(targets[0]), _c(targets[1])
    slot_task, slot_body, slot_offset = _c(slots[0], _I64), _c(slots[1], _I64), _c(slots[2])
    lower, upper, nominal, start = _c(limits[0]), _c(limits[1]), _c(nominal), _c(start)
    parts = [_c(getattr(chains, f), _I64) for f in ("joint_start", "joints", "task_start", "tasks", "moves_start")]
    moves = _c(chains.moves)
    if np.diff(parts[0]).max(initial=0) > MAX_CHAIN:
        raise RobotModelError(f"an IK chain of {np.diff(parts[0]).max()} hinges; the solver takes at most {MAX_CHAIN}")
    T, J, K = len(root_pos), len(lower), len(task_body)
    q = np.empty((T, J))
    used = np.empty(T, dtype=np.int64)
    damping, posture_weight, max_step, first, later, tolerance = settings
    _library().mimic_solve_in_order(
        T, len(parent), len(body_link), J, K, len(slot_task), len(parts[0]) - 1,
        _ptr(parent), _ptr(qidx), _ptr(off_pos), _ptr(off_quat), _ptr(axis),
        _ptr(body_link), _ptr(body_off_pos), _ptr(body_off_quat), _ptr(root_pos), _ptr(root_quat),
        _ptr(task_body), _ptr(pos_w), _ptr(rot_w), _ptr(target_pos), _ptr(target_quat),
        _ptr(slot_task), _ptr(slot_body), _ptr(slot_offset),
        *(_ptr(a) for a in parts[:4]), _ptr(parts[4]), _ptr(moves), _ptr(lower), _ptr(upper), _ptr(nominal),
        damping, posture_weight, max_step, first, later, tolerance, _ptr(start), _ptr(q), _ptr(used),
    )
    if T and used[0] < 0:
        raise MemoryError("the in-order IK solver could not allocate its scratch space")
    return q, used
