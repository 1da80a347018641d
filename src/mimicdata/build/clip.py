"""One input file through every per-clip stage, in order.

read (and retarget a human skeleton) -> resample -> FK and velocities ->
preprocess / filter -> joint-limit flags -> clip file. `finish_clip` is
that order after reading, for every command that makes clips (the build,
ingest-motion); `process_clip` is the build's worker: the same, served from
the cache where it can, and never raising for a bad clip.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..dataset.shards import file_sha256, write_clip
from ..errors import BuildError, MimicdataError
from ..motion import MotionClip, ReadMotion, RobotMotion, SkeletonMotion
from ..robot import RobotModel, load_robot
from ..sources import read_motion
from ..spec import DatasetSpec, PreprocessSpec, SourceSpec
from ..stages.fk import motion_to_clip
from ..stages.mirror import mirror_motion, mirror_quality
from ..stages.preprocess import Rejection, preprocess
from ..stages.resample import resample
from .cache import ClipCache, file_identity, link_or_copy
from .discover import ClipItem

LIMIT_TOLERANCE_RAD = 1e-3


def read_robot_motion(source: SourceSpec, path: Path, robot: RobotModel, part: int | None = None) -> ReadMotion:
    """Read one file (clip `part` of a many-clip file) and, for a human skeleton, retarget it and measure the result."""
    motion = read_motion(source.type, path, robot, part, **source.reader_options()).head(source.max_frames)
    if isinstance(motion, SkeletonMotion):
        from ..retarget import load_format, retarget_skeleton  # scipy: only human motion needs it
        from ..retarget.quality import measure_retarget

        fmt = load_format(motion.skeleton_format)
        result = retarget_skeleton(motion, fmt, robot, path)
        return ReadMotion(result.motion, result.notes, measure_retarget(robot, result, motion, fmt, path).as_dict())
    return ReadMotion(motion, ())


@dataclass(frozen=True)
class FinishedClip:
    """A clip as it is stored, with its contact labels and quality score, or why it is left out.

    A rejected clip that could be processed keeps its clip (for the failures partition); `clip` is
    None only for one that could not (NaN or Inf in it)."""

    clip: MotionClip | None
    flags: tuple[str, ...]  # kept, but worth a look (joint limits)
    quality_score: float  # NaN without a clip
    rejection: Rejection | None = None


def finish_clip(
    motion: RobotMotion,
    robot: RobotModel,
    fps: int,
    options: PreprocessSpec,
    lap: Callable[[str], None] | None = None,
    retarget: dict[str, Any] | None = None,
) -> FinishedClip:
    """A robot motion -> a stored clip at `fps`, or why it is left out. `lap(stage)` is told as each stage ends;
    `retarget` is the motion's retarget quality, for the filters and the score that read it."""
    lap = lap or (lambda stage: None)
    motion = resample(motion, fps)
    lap("resample")
    clip = motion_to_clip(robot, motion)
    lap("fk")
    processed = preprocess(clip, options, robot, retarget)
    lap("preprocess")
    stored = processed.clip
    if stored is None:
        return FinishedClip(None, (), math.nan, processed.rejection)
    assert processed.quality_score is not None  # measured whenever there is a clip
    return FinishedClip(stored, tuple(limit_flags(stored.joint_pos, robot)), processed.quality_score,
                        processed.rejection)


def limit_flags(joint_pos: np.ndarray, robot: RobotModel) -> list[str]:
    """Clips beyond the joint limits are kept but flagged, so users can see and filter them."""
    excess = robot.limit_excess(joint_pos)
    bad = excess > LIMIT_TOLERANCE_RAD
    if not bad.any():
        return []
    worst = int(np.argmax(excess.max(axis=0)))
    return [
        f"joint_limits: {int(bad.any(axis=1).sum())} frames outside joint limits "
        f"(worst {robot.joint_names[worst]} by {excess[:, worst].max():.3f} rad)"
    ]


@dataclass
class ClipResult:
    """What processing one input file produced; small, so it crosses process boundaries cheaply."""

    clip_id: str
    source: str
    file_rel: str
    input_sha256: str = ""
    kept: bool = False
    reason: str = ""
    detail: str = ""
    num_frames: int = 0
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    cache: str = ""  # "clip" or "motion" when a cache level served it, "" when computed
    input_identity: str = ""  # see cache.file_identity; with input_sha256, remembered for the next build
    quality: dict[str, Any] | None = None  # a retargeted clip's quality measures
    quality_score: float | None = None  # stages.measures.quality_score of the clip as stored (kept or not)
    stored: bool = False  # a clip file was written: kept, or rejected but processable (the failures partition)
    signature: list[float] = field(default_factory=list)  # mean joint angles of the kept clip (build/duplicates.py)
    content_key: str = ""  # the clip cache key: the same key, the same stored clip bytes


CACHED_FIELDS = ("kept", "reason", "detail", "num_frames", "flags", "notes", "quality", "quality_score", "stored",
                 "signature")  # what a clip-level hit restores


def process_clip(
    item: ClipItem,
    source: SourceSpec,
    spec: DatasetSpec,
    clip_path: Path,
    cache: ClipCache | None = None,
    known_input: list[str] | None = None,
    read_cache: bool = True,
) -> ClipResult:
    """Run one file through every per-clip stage, from the cache where it can; never raises for a bad clip.

    `known_input` is [identity, sha256] of the file as an earlier build saw it;
    the hash is reused only if the file's identity is unchanged. With
    `read_cache` False every stage runs and the cache is only refreshed.
    """
    result = ClipResult(item.clip_id, item.source, item.file_rel)
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        result.timings[stage] = result.timings.get(stage, 0.0) + now - clock
        clock = now

    try:
        robot = load_robot(spec.robot)
        result.input_identity = file_identity(item.path)
        if known_input and known_input[0] == result.input_identity:
            result.input_sha256 = known_input[1]
        else:
            result.input_sha256 = file_sha256(item.path)
        motion_key = ClipCache.motion_key(
            result.input_sha256, source.type,
            {**source.reader_options(), **({} if item.part is None else {"part": item.part})},
            source.max_frames, robot.sha256, source.format_file(),
        )
        clip_key = ClipCache.clip_key(motion_key, {
            "target_fps": spec.target_fps, "preprocess": spec.preprocess.model_dump(mode="json"),
            "weight": source.weight, "clip_id": item.clip_id,
        })
        result.content_key = clip_key
        hit = cache.load_clip(clip_key) if cache and read_cache else None
        if hit is not None and not all(name in hit[0] for name in CACHED_FIELDS):
            hit = None  # written by an earlier version that kept fewer fields: compute it again
        if hit is not None:
            fields, cached_file = hit
            for name in CACHED_FIELDS:
                setattr(result, name, fields[name])
            if cached_file is not None:
                with writing(clip_path):
                    link_or_copy(cached_file, clip_path)
            result.cache = "clip"
            lap("cache")
            return result
        read = cache.load_motion(motion_key) if cache and read_cache else None
        if read is None:
            read = read_robot_motion(source, item.path, robot, item.part)
            if file_identity(item.path) != result.input_identity:
                # What was read may not be what was hashed: nothing may be cached or kept under that hash.
                result.reason, result.input_identity = "input_changed", ""
                result.detail = f"{item.path} changed while the build was reading it; build again once it is final"
                return result
            if cache:
                with writing(cache.root):
                    cache.store_motion(motion_key, read)
        else:
            result.cache = "motion"
        motion = mirror_motion(read.motion, robot) if item.mirrored else read.motion
        result.notes = list(read.notes)
        result.quality = mirror_quality(read.quality, robot) if item.mirrored else read.quality
        lap("ingest")
        finished = finish_clip(motion, robot, spec.target_fps, spec.preprocess, lap, read.quality)
        clip_sha256 = ""
        if finished.rejection is not None:
            result.reason, result.detail = finished.rejection.reason, finished.rejection.detail
        if finished.clip is not None:
            # Rejected clips are written too: the build packs them into the failures partition.
            with writing(clip_path):
                clip_sha256 = write_clip(clip_path, item.clip_id, finished.clip, source.weight, durable=False,
                                         quality=finished.quality_score)
            lap("write")
            result.stored, result.quality_score = True, finished.quality_score
            result.kept = finished.rejection is None
            result.flags = list(finished.flags)
            result.num_frames = finished.clip.num_frames
            if result.kept:
                result.signature = [float(v) for v in finished.clip.joint_pos.mean(axis=0)]
        if cache:
            with writing(cache.root):
                cache.store_clip(clip_key, _cached_fields(result), clip_path if result.stored else None, clip_sha256)
    except BuildError:
        raise  # the build's own writes failed (disk full, read-only): no clip is to blame
    except MimicdataError as exc:
        result.reason, result.detail = "unreadable", str(exc)
    except Exception as exc:  # a bad clip must never take the build down
        result.reason, result.detail = "error", f"{type(exc).__name__}: {exc}"
    return result


def _cached_fields(result: ClipResult) -> dict[str, Any]:
    return {name: getattr(result, name) for name in CACHED_FIELDS}


@contextmanager
def writing(target: Path, what: str = "cannot write") -> Iterator[None]:
    """An OSError while writing (disk full, read-only, no permission) stops the build with where and why."""
    try:
        yield
    except OSError as exc:
        raise BuildError(
            f"{what} {target}: {exc.strerror or exc}"
            + (f" ({exc.filename})" if exc.filename and str(exc.filename) != str(target) else "")
            + "; the build stopped and published nothing, any earlier dataset is untouched"
        ) from None
