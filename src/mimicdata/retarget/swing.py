"""Swing feet clear the floor: between two contacts a robot foot is lifted off it.

A robot foot that follows the performer's, scaled and levelled flat, can skim the floor in
swing where the performer's pitched foot cleared it: for a simulator that is a foot sliding
along the floor at walking speed. Between two runs of contact (stance.contact_runs), the lowest
sole point must be at least

    c(t) = H g(min(1, d(t) / rise)),    g(x) = 6x^5 - 15x^4 + 10x^3,

above the floor (where the ground stage will stand the robot's planted soles, ground.planted_floor), d(t) the time to the nearest contact frame (either side): the clearance grows
from 0 at lift-off to H within `rise` seconds and falls back to 0 at landing, with continuous
velocity and acceleration (g' and g'' vanish at both ends). With R(t) the ankle orientation target
and s_i the foot's sole points in its frame, the lowest sole point is z + min_i (R s_i)_z for an
ankle at height z, so the ankle target needs z >= z_min = c - min_i (R s_i)_z. It is raised by a
smooth maximum,

    z' = (z + z_min + sqrt((z - z_min)^2 + (k c)^2)) / 2,

which is z where the performer's foot is already well clear (z >> z_min), never a corner in time
where the two cross, and z itself at a contact (c = 0). z_min is capped at z + c, so a target
that lies below the floor next to a contact is lifted gradually, never by more than c.
"""

from __future__ import annotations

import numpy as np

from ..geometry.rotations import rotate_vector
from ..timeseries import smoothstep
from .ground import planted_floor
from .stance import MIN_RUN, contact_runs

SOFTNESS = 0.5  # k: the smooth maximum's rounding, as a fraction of the clearance


def swing_clearance(planted: np.ndarray, fps: float, height: float, rise: float, min_run: float = MIN_RUN) -> np.ndarray:
    """(T, F) the clearance c(t) each foot's lowest sole point needs, from the performer's planted flags (T, F)."""
    T, F = planted.shape
    clearance = np.zeros((T, F))
    frames = np.arange(T)
    for f in range(F):
        runs = contact_runs(planted[:, f], max(1, int(round(min_run * fps))))
        if not runs:
            continue  # a foot never planted (a take on the floor, a jump): nothing to lift it from
        down = np.zeros(T, dtype=bool)
        down[: runs[0][0]] = down[runs[-1][1]:] = True  # before the first contact and after the last: the
        for s, e in runs:  # performer's own (a clip opening in a T-pose with its toes up is not in swing)
            down[s:e] = True
        contact = np.flatnonzero(down)
        # Frames to the nearest contact frame: searchsorted gives the next one, the one before precedes it.
        after = np.searchsorted(contact, frames)
        next_gap = np.where(after < len(contact), contact[np.minimum(after, len(contact) - 1)] - frames, T)
        prev_gap = np.where(after > 0, frames - contact[np.maximum(after - 1, 0)], T)
        x = np.clip(np.minimum(next_gap, prev_gap) / (rise * fps), 0.0, 1.0)
        clearance[:, f] = height * smoothstep(x)
    return clearance


def lift_swing_feet(
    positions: np.ndarray,
    orientations: np.ndarray,
    feet: list[tuple[int, np.ndarray]],
    clearance: np.ndarray,
    standing: np.ndarray,
    fps: float,
) -> np.ndarray:
    """Ankle position targets (T, K, 3) with each foot (its ankle task and sole points (S, 3)) raised to its
    clearance (T, F) above the floor the ground stage will stand the robot on: where the soles of the feet
    `standing` (T, F) are, as it measures them (ground.planted_floor), not z = 0, which a planted foot's
    target on its ball or heel can miss by centimetres."""
    positions = positions.copy()
    tasks = [k for k, _ in feet]
    depth = np.stack([rotate_vector(orientations[:, k, None], points[None])[..., 2].min(axis=1) for k, points in feet],
                     axis=1)  # (T, F) min_i (R s_i)_z
    floor = planted_floor(positions[:, tasks, 2] + depth, standing, fps)
    for f, k in enumerate(tasks):
        c = clearance[:, f]
        if not c.any():
            continue
        z = positions[:, k, 2]
        # Never lifted by more than c: a target already below the floor near a contact rises with c, no jump.
        need = np.minimum(floor + c - depth[:, f], z + c)
        positions[:, k, 2] = 0.5 * (z + need + np.sqrt((z - need) ** 2 + (SOFTNESS * c) ** 2))
    return positions
