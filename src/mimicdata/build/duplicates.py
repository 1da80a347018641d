"""The same motion reaching a dataset twice: through the same file bytes, or as the same motion in another format.

Two clips are the same motion when their lengths at the target rate differ by at most LENGTH_SLACK
frames and, aligned at their first or at their last frame, no joint differs by more than SAME_MOTION_RAD
over the frames they share (the same take as mjlab NPZ and as Unitree CSV differs by float32 rounding,
and by a frame where the two rates were resampled). Each clip carries a signature, its mean joint angles (computed by the
worker, kept in the cache); only clips whose signatures are that close are compared frame by frame,
so a corpus is never compared pair by pair.

A mirror image is a motion of its own: it is compared with other mirror images only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..stages.mirror import MIRROR_SUFFIX

SAME_MOTION_RAD = 0.01
LENGTH_SLACK = 2  # frames: two rates resampled to one may end a frame or two apart


@dataclass(frozen=True)
class DuplicateGroup:
    clip_ids: tuple[str, ...]  # sorted; the first is the one a build keeps when asked to drop the others
    how: str  # "same input bytes" or "same motion"


def find_duplicates(clips: dict[str, tuple[str, int, list[float]]], same: Callable[[str, str], bool]) -> list[DuplicateGroup]:
    """Groups of clips that are one motion. `clips`: clip id -> (input sha256, frames, signature);
    `same(a, b)` says whether two clips are one motion (same_motion on their joint angles), asked only of
    the few pairs the signatures bring up."""
    parent = {cid: cid for cid in clips}

    def root(cid: str) -> str:
        while parent[cid] != cid:
            parent[cid] = parent[parent[cid]]
            cid = parent[cid]
        return cid

    def join(a: str, b: str) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_bytes: dict[tuple[str, bool], list[str]] = defaultdict(list)
    for cid, (sha, _, _) in clips.items():
        if sha:
            by_bytes[(sha, cid.endswith(MIRROR_SUFFIX))].append(cid)
    same_bytes = {cid for ids in by_bytes.values() if len(ids) > 1 for cid in ids}
    for ids in by_bytes.values():
        for other in ids[1:]:
            join(ids[0], other)
    by_shape: dict[tuple[int, bool], list[str]] = defaultdict(list)
    for cid, (_, _, signature) in clips.items():
        by_shape[(len(signature), cid.endswith(MIRROR_SUFFIX))].append(cid)
    for ids in by_shape.values():
        if len(ids) < 2:
            continue
        for i, j in close_pairs(np.array([clips[cid][2] for cid in ids]), SAME_MOTION_RAD):
            a, b = ids[i], ids[j]
            if root(a) != root(b) and abs(clips[a][1] - clips[b][1]) <= LENGTH_SLACK and same(a, b):
                join(a, b)
    groups: dict[str, list[str]] = defaultdict(list)
    for cid in clips:
        groups[root(cid)].append(cid)
    return [
        DuplicateGroup(tuple(sorted(ids)), "same input bytes" if set(ids) <= same_bytes else "same motion")
        for ids in sorted(groups.values(), key=min) if len(ids) > 1
    ]


def close_pairs(points: np.ndarray, radius: float) -> list[tuple[int, int]]:
    """Sorted (i, j), i < j, of the rows of `points` (N, D) within `radius` of each other in every coordinate.

    Sorted along the coordinate that spreads them most, a row's partners are the rows after it until that
    coordinate alone is more than `radius` on: one vectorised pass per offset, no pair-by-pair loop (and no
    scipy import, a third of a second of a no-op rebuild)."""
    if len(points) < 2:
        return []
    axis = int(np.argmax(np.ptp(points, axis=0)))
    order = np.argsort(points[:, axis], kind="stable")
    ranked = points[order]
    found: list[tuple[int, int]] = []
    for offset in range(1, len(points)):
        near = ranked[offset:, axis] - ranked[:-offset, axis] <= radius
        if not near.any():
            break
        rows = np.flatnonzero(near)
        close = rows[np.abs(ranked[rows + offset] - ranked[rows]).max(axis=1) <= radius]
        found += [(min(a, b), max(a, b)) for a, b in zip(order[close].tolist(), order[close + offset].tolist())]
    return sorted(found)


def same_motion(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two clips' (T, J) joint angles are one motion: aligned at their first or last frame, within
    SAME_MOTION_RAD everywhere they overlap."""
    n = min(len(a), len(b))
    return bool(min(np.abs(a[:n] - b[:n]).max(), np.abs(a[len(a) - n :] - b[len(b) - n :]).max()) <= SAME_MOTION_RAD)
