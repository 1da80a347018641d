"""Deterministic train/val split by hashing clip ids (or their group keys)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

from .mirror import original_id


def hash_bucket(salt: str, key: str) -> int:
    """The old tool's bucket: md5 of "<salt>:<key>" as an integer, mod 100."""
    return int(hashlib.md5(f"{salt}:{key}".encode()).hexdigest(), 16) % 100


def group_key(clip_id: str, pattern: re.Pattern[str] | None) -> str:
    """The part of the clip id that must not straddle splits: the first capture group, else the match."""
    if pattern is None:
        return clip_id
    match = pattern.search(clip_id)
    if match is None:
        return clip_id
    return match.group(1) if pattern.groups else match.group(0)


def assign_splits(
    clip_ids: Iterable[str],
    val_percent: int,
    salt: str,
    group_pattern: str | None = None,
    same_as: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """clip id -> "train" | "val".

    If a split would be empty, the first clip by sorted id moves into it (with
    its whole group, so groups never straddle), as the old tool did. `same_as`
    maps a clip to the clip it duplicates; the two share a split.
    """
    pattern = re.compile(group_pattern) if group_pattern else None
    ids = sorted(clip_ids)
    same_as = same_as or {}
    # A mirror image is its original's motion, a duplicate its first copy's: each goes where that goes.
    groups = {cid: group_key(original_id(same_as.get(cid, cid)), pattern) for cid in ids}
    split = {cid: "val" if hash_bucket(salt, groups[cid]) < val_percent else "train" for cid in ids}
    for empty in ("train", "val"):
        if ids and empty not in split.values():
            first_group = groups[ids[0]]
            moved = [cid for cid in ids if groups[cid] == first_group]
            if len(moved) < len(ids):
                for cid in moved:
                    split[cid] = empty
    return split
