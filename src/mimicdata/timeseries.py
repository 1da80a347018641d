"""Along time (axis 0) of per-frame arrays: Gaussian smoothing, a running maximum, runs of flags, and the
smoothstep that schedules a change over frames.

Written here rather than taken from scipy.ndimage, whose import costs a fifth of a second in every
process that retargets (ingest-motion's start-up, each build worker). Both pad the ends: 'nearest'
repeats the first and last frame, 'constant' adds zeros. The Gaussian's weights are
w_k = exp(-k^2 / (2 sigma^2)) / sum, for |k| <= r = int(truncate sigma + 0.5) frames, as scipy's.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Mode = Literal["nearest", "constant"]


def _padded(x: np.ndarray, radius: int, mode: Mode) -> np.ndarray:
    pad = [(radius, radius)] + [(0, 0)] * (x.ndim - 1)
    return np.pad(x, pad, mode="edge") if mode == "nearest" else np.pad(x, pad)


def gaussian_smooth(x: np.ndarray, sigma: float, mode: Mode = "nearest", truncate: float = 4.0) -> np.ndarray:
    """x (T, ...) smoothed along time by a Gaussian of `sigma` frames."""
    x = np.asarray(x, dtype=float)
    radius = int(truncate * sigma + 0.5)
    if sigma <= 0 or radius == 0 or len(x) == 0:
        return x.copy()
    k = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 * (k / sigma) ** 2)
    weights /= weights.sum()
    padded = _padded(x, radius, mode)
    T = len(x)
    out = weights[radius] * padded[radius : radius + T]
    for offset in range(1, radius + 1):  # the kernel is symmetric: the frames either side together
        out += weights[radius + offset] * (padded[radius - offset : radius - offset + T] + padded[radius + offset :
                                                                                                  radius + offset + T])
    return out


def running_max(x: np.ndarray, width: int, mode: Mode = "nearest") -> np.ndarray:
    """x (T, ...) replaced by its maximum over `width` (odd) frames centred on each."""
    x = np.asarray(x)
    half = width // 2
    if half <= 0 or len(x) == 0:
        return x.copy()
    padded = _padded(x, half, mode)
    T = len(x)
    out = padded[:T].copy()
    for offset in range(1, width):
        np.maximum(out, padded[offset : offset + T], out=out)
    return out


def true_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs of True in a (T,) flag array, in order."""
    edges = np.diff(np.concatenate([[0], np.asarray(flags).astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def smoothstep(x: np.ndarray) -> np.ndarray:
    """g(x) = 6x^5 - 15x^4 + 10x^3 on [0, 1]: from 0 to 1 with zero velocity and acceleration at both ends."""
    return x**3 * (10.0 - 15.0 * x + 6.0 * x**2)
