"""Vectorised rotation helpers. Quaternions are always (..., 4) in wxyz order."""

from __future__ import annotations

import numpy as np

__all__ = [
    "rotate_vector",
    "cross",
    "xyzw_to_wxyz",
    "wxyz_to_xyzw",
    "quat_normalize",
    "quat_conjugate",
    "quat_multiply",
    "quat_to_matrix",
    "matrix_to_quat",
    "quat_continuity",
    "quat_slerp",
    "quat_angle_between",
    "angular_velocity",
    "euler_to_quat",
    "quat_to_rotvec",
    "rotvec_to_quat",
]


def xyzw_to_wxyz(q: np.ndarray) -> np.ndarray:
    return np.concatenate([q[..., 3:4], q[..., 0:3]], axis=-1)


def wxyz_to_xyzw(q: np.ndarray) -> np.ndarray:
    return np.concatenate([q[..., 1:4], q[..., 0:1]], axis=-1)


def quat_normalize(q: np.ndarray) -> np.ndarray:
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def quat_conjugate(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0], dtype=q.dtype)


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a x b for (..., 3) arrays that broadcast; component by component, several times faster than
    np.cross on the many small batches the IK and the collision geometry run."""
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[..., 0] = ay * bz - az * by
    out[..., 1] = az * bx - ax * bz
    out[..., 2] = ax * by - ay * bx
    return out


def rotate_vector(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) or a constant (3,) by unit wxyz quaternions q (..., 4):
    v + w t + u x t with t = 2 u x v, u the vector part."""
    t = 2.0 * cross(q[..., 1:], v)
    return v + q[..., :1] * t + cross(q[..., 1:], t)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """(..., 4) wxyz -> (..., 3, 3); the input need not be normalised."""
    q = quat_normalize(q)
    w, x, y, z = np.moveaxis(q, -1, 0)
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz = x * y, x * z, y * z
    wx, wy, wz = w * x, w * y, w * z
    m = np.stack(
        [
            1 - 2 * (yy + zz), 2 * (xy - wz), 2 * (xz + wy),
            2 * (xy + wz), 1 - 2 * (xx + zz), 2 * (yz - wx),
            2 * (xz - wy), 2 * (yz + wx), 1 - 2 * (xx + yy),
        ],
        axis=-1,
    )
    return m.reshape(q.shape[:-1] + (3, 3))


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 4) wxyz with w >= 0.

    Shepperd's method, evaluated for all four pivots and picked per matrix,
    so it stays accurate near 180° and needs no Python loop.
    """
    shape = m.shape[:-2]
    m = m.reshape(-1, 3, 3)
    m00, m01, m02 = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
    m10, m11, m12 = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
    m20, m21, m22 = m[:, 2, 0], m[:, 2, 1], m[:, 2, 2]
    trace = m00 + m11 + m22
    pivots = np.stack([trace, m00, m11, m22], axis=-1)
    best = np.argmax(pivots, axis=-1)
    out = np.empty((m.shape[0], 4))
    for k, rows in enumerate(
        (
            (1 + trace, m21 - m12, m02 - m20, m10 - m01),
            (m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20),
            (m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21),
            (m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22),
        )
    ):
        sel = best == k
        if sel.any():
            out[sel] = np.stack([r[sel] for r in rows], axis=-1)
    out /= np.linalg.norm(out, axis=-1, keepdims=True)
    out *= np.where(out[:, :1] < 0, -1.0, 1.0)
    return out.reshape(shape + (4,))


def quat_continuity(q: np.ndarray, axis: int = 0) -> np.ndarray:
    """Flip signs along `axis` so consecutive quaternions lie in the same hemisphere.

    q and -q are the same rotation, but finite differences and interpolation
    between them pass through a 360° detour; this picks the representative
    closest to its predecessor.
    """
    q = np.moveaxis(np.asarray(q, dtype=np.float64), axis, 0).copy()
    if q.shape[0] < 2:
        return np.moveaxis(q, 0, axis)
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    flips = np.cumsum(dots < 0, axis=0) % 2
    q[1:] *= np.where(flips[..., None] == 1, -1.0, 1.0)
    return np.moveaxis(q, 0, axis)


def quat_slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Elementwise slerp between (N, 4) pairs at fractions t (N,)."""
    dot = np.sum(q0 * q1, axis=-1)
    q1 = np.where(dot[:, None] < 0, -q1, q1)
    dot = np.abs(dot).clip(max=1.0)
    theta = np.arccos(dot)
    sin_theta = np.sin(theta)
    small = sin_theta < 1e-8
    safe = np.where(small, 1.0, sin_theta)
    w0 = np.where(small, 1.0 - t, np.sin((1.0 - t) * theta) / safe)
    w1 = np.where(small, t, np.sin(t * theta) / safe)
    return quat_normalize(w0[:, None] * q0 + w1[:, None] * q1)


def quat_angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation angle (rad) between two orientations, sign-invariant and accurate near zero."""
    rel = quat_multiply(quat_normalize(a), quat_conjugate(quat_normalize(b)))
    return 2.0 * np.arctan2(np.linalg.norm(rel[..., 1:], axis=-1), np.abs(rel[..., 0]))


def angular_velocity(q: np.ndarray, dt: float) -> np.ndarray:
    """World-frame angular velocity (T, ..., 3) of a wxyz orientation track (T, ..., 4).

    Central differences inside the clip and one-sided ones at its ends, as
    np.gradient does for positions, so linear and angular velocities share
    the same time stencil: the relative rotation q(t+1) q(t-1)^-1 of the
    sign-continuous track, as a rotation vector over the time between them.
    A per-frame loop (kernels.c).
    """
    from .. import kernels

    return kernels.angular_velocity(np.asarray(q, dtype=np.float64), dt)


def euler_to_quat(angles: np.ndarray, seq: str, degrees: bool = False) -> np.ndarray:
    """Euler angles (T, 3) in scipy's `seq` convention -> wxyz quaternions."""
    from scipy.spatial.transform import Rotation  # only the SEED reader needs it; scipy.spatial is slow to import

    return xyzw_to_wxyz(Rotation.from_euler(seq, angles, degrees=degrees).as_quat())


def quat_to_rotvec(q: np.ndarray) -> np.ndarray:
    """Rotation vectors (..., 3) of wxyz quaternions, taking the shorter way round."""
    q = q * np.where(q[..., :1] < 0, -1.0, 1.0)
    sin_half = np.linalg.norm(q[..., 1:], axis=-1)
    angle = 2.0 * np.arctan2(sin_half, q[..., 0])
    scale = np.where(sin_half > 1e-12, angle / np.where(sin_half > 1e-12, sin_half, 1.0), 2.0)
    return q[..., 1:] * scale[..., None]


def rotvec_to_quat(v: np.ndarray) -> np.ndarray:
    """wxyz quaternions of rotation vectors (..., 3)."""
    angle = np.linalg.norm(v, axis=-1)
    half = 0.5 * angle
    # sin(x/2)/x tends to 1/2 at 0; the series keeps tiny angles exact.
    k = np.where(angle > 1e-8, np.sin(half) / np.where(angle > 1e-8, angle, 1.0), 0.5 - angle**2 / 48.0)
    return np.concatenate([np.cos(half)[..., None], v * k[..., None]], axis=-1)


def turning(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The shortest rotation (4,) that takes unit vector a (3,) onto unit vector b (3,): about a x b, by the
    angle between them; the identity when they already agree, a half turn about an axis square to a when
    they are opposite."""
    axis = cross(a, b)  # |axis| = sin(angle)
    sin = float(np.linalg.norm(axis))
    angle = np.arctan2(sin, float(np.dot(a, b)))
    if sin < 1e-12:
        if angle < 1.0:
            return np.array([1.0, 0.0, 0.0, 0.0])
        square = cross(a, np.eye(3)[int(np.argmin(np.abs(a)))])
        return rotvec_to_quat(square * (np.pi / np.linalg.norm(square)))
    return rotvec_to_quat(axis * (angle / sin))
