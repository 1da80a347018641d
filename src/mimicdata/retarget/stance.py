"""Planted feet stay planted: the part of the foot on the floor does not slide.

The performer says which part of each foot is planted, frame by frame: the whole sole (ankle
and toe markers both down and still), the heel (only the ankle marker) or the ball (only the
toe marker). The robot foot has the same parts: its ankle, the mean of its rear sole points
and the mean of its front ones, c in the foot's frame. A segment of frames with the same
planted part gets one anchor A, a point on the floor plane: for a run's first segment the
part's median position over it; for a later one (the foot rolling from heel to ball) where
that part is when the roll reaches it, so the ankle does not jump. Inside the segment the
ankle target's horizontal position becomes

    p_ankle(t) = A - R(t) c     (x and y),

R(t) the ankle's orientation target: the foot still rolls heel to toe as the performer's did,
about a point that stays put. Heights are left to the performer and the ground stage (a heel
within a few centimetres of the floor is "planted" while it already rises, and pinning it to
z = 0 would push the ball through the floor). Before and after a run of contact the target is
the performer's own, displaced by what the anchor moved it at the run's first (or last) frame,
that displacement fading over `blend` seconds along w = (1 + cos(pi d / (n + 1))) / 2 (d
frames from the edge, n frames of fade): the foot lands and lifts off the way the performer's
did, without a jump in position or velocity.

Segments shorter than `min_run` are flicker, not steps, and gaps shorter than it are closed first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry.rotations import rotate_vector
from ..timeseries import true_runs

HEEL, BALL, FLAT = 0, 1, 2
MIN_RUN = 0.1  # s: a contact, or a gap between two, shorter than this is flicker


@dataclass(frozen=True)
class FootParts:
    """Where a robot foot touches the floor, in the foot body's frame."""

    task: int  # the ankle task whose position target is locked
    heel: np.ndarray  # (3,)
    ball: np.ndarray  # (3,)


def contact_runs(planted: np.ndarray, min_run: int) -> list[tuple[int, int]]:
    """[start, end) runs of one foot's planted flags, short gaps closed and short runs dropped."""
    flags = np.asarray(planted, dtype=bool).copy()
    for s, e in true_runs(~flags):  # close short gaps between two contacts
        if s > 0 and e < len(flags) and e - s < min_run:
            flags[s:e] = True
    return [(s, e) for s, e in true_runs(flags) if e - s >= min_run]


def _segments(part: np.ndarray, s: int, e: int, min_run: int) -> list[tuple[int, int, int]]:
    """(start, end, part) pieces of the run [s, e); a piece shorter than min_run joins the one before."""
    pieces: list[tuple[int, int, int]] = []
    start = s
    for t in range(s + 1, e + 1):
        if t == e or part[t] != part[start]:
            if pieces and t - start < min_run:
                pieces[-1] = (pieces[-1][0], t, pieces[-1][2])
            else:
                pieces.append((start, t, int(part[start])))
            start = t
    return pieces


def lock_planted_feet(
    positions: np.ndarray,
    orientations: np.ndarray,
    feet: list[FootParts],
    planted: np.ndarray,
    fps: float,
    blend: float,
    min_run: float = MIN_RUN,
) -> np.ndarray:
    """Ankle position targets (T, K, 3) with each foot's planted part held still. `planted` (T, F, 2):
    heel and ball flags per foot; `orientations` (T, K, 4) are the ankle orientation targets, which stay
    as they are."""
    positions = positions.copy()
    T = positions.shape[0]
    ramp = max(1, int(round(blend * fps)))
    shortest = max(1, int(round(min_run * fps)))
    for f, foot in enumerate(feet):
        k = foot.task
        heel, ball = planted[:, f, HEEL], planted[:, f, BALL]
        part = np.where(heel & ball, FLAT, np.where(heel, HEEL, BALL))
        runs = contact_runs(np.asarray(planted[:, f].any(axis=1)), shortest)
        for n, (s, e) in enumerate(runs):
            original = positions[[s, e - 1], k].copy()
            for m, (a, b, which) in enumerate(_segments(part, s, e, shortest)):
                point = {HEEL: foot.heel, BALL: foot.ball, FLAT: np.zeros(3)}[which]
                lever = rotate_vector(orientations[a:b, k], point)  # (n, 3) ankle -> contact point
                if m == 0:
                    anchor = np.median(positions[a:b, k, :2] + lever[:, :2], axis=0)
                else:  # the foot rolls onto the new part where it is, so the ankle does not jump
                    anchor = positions[a - 1, k, :2] + lever[0, :2]
                positions[a:b, k, :2] = anchor - lever[:, :2]
            # Fading in and out stays within the gaps: it never reaches a neighbouring run's frames.
            before = np.arange(max(0 if n == 0 else runs[n - 1][1], s - ramp), s)
            after = np.arange(e, min(T if n == len(runs) - 1 else runs[n + 1][0], e + ramp))
            for edge, was, frames in ((s, original[0], before), (e - 1, original[1], after)):
                w = 0.5 + 0.5 * np.cos(np.pi * np.abs(frames - edge) / (ramp + 1))
                positions[frames, k] += w[:, None] * (positions[edge, k] - was)
    return positions
