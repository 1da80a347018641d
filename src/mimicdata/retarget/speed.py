"""Joint speed limits: every step of every joint within the robot's velocity limits.

Each joint's trajectory must satisfy |q[t+1] - q[t]| <= d = v_max / fps. A rate limiter run
forward (y[t] = clamp(q[t], y[t-1] - d, y[t-1] + d)) meets it but lags behind every fast
move; run backward it leads instead. Their mean meets it too, since

    |(f[t+1] + b[t+1]) - (f[t] + b[t])| / 2 <= (d + d) / 2,

and has no lag: a glitch becomes a symmetric ramp about where it was. Frames far from any
fast move are left exactly as they were. Later smoothing with a non-negative kernel keeps
the bound (a weighted mean of shifted copies), and so does clipping to the joint ranges.
"""

from __future__ import annotations

import numpy as np


def _rate_limited(q: np.ndarray, step: np.ndarray) -> np.ndarray:
    out = q.copy()
    for t in range(1, len(q)):
        np.clip(out[t], out[t - 1] - step, out[t - 1] + step, out=out[t])
    return out


def limit_joint_speed(joint_pos: np.ndarray, velocity_limit: np.ndarray, fps: float) -> np.ndarray:
    """(T, J) joint angles whose finite-difference speeds stay within (J,) rad/s limits."""
    q = np.array(joint_pos, dtype=float)
    step = velocity_limit / fps
    if len(q) < 2:
        return q
    fast = (np.abs(np.diff(q, axis=0)) > step).any(axis=0)
    if not fast.any():
        return q
    q[:, fast] = 0.5 * (_rate_limited(q[:, fast], step[fast]) + _rate_limited(q[::-1, fast], step[fast])[::-1])
    return q
