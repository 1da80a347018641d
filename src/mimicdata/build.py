"""The orchestrator: the only module that knows the order of the stages.

ingest -> resample -> FK and velocities -> preprocess/filter -> clip file,
then hash split -> shards -> manifest -> build_info, all in a staging
directory that replaces the dataset only once everything is written.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed, parallel_config

from . import __version__
from .discover import ClipItem, scan_source
from .errors import BuildError, MimicdataError, RobotModelError, SpecError, StrictBuildError
from .kinematics import motion_to_clip, resample
from .lock import dataset_lock
from .progress import Progress
from .atomic import flush_filesystem, write_text_atomic
from .cache import ClipCache, file_identity, link_or_copy
from .manifest import ManifestRow, write_manifest
from .preprocess import Rejection, preprocess, unknown_bodies
from .robot import RobotModel, load_robot
from .shards import SCHEMA_VERSION, ShardClip, bytes_per_frame, clip_file_loader, file_sha256, write_clip, write_shard
from .ingest import load_robot_motion, reader_options
from .spec import DatasetSpec, SourceSpec, check_inputs, load_spec
from .split import assign_splits

SPLITS = ("train", "val")


@dataclass(frozen=True)
class BuildOptions:
    jobs: int = 1
    force: bool = False
    output_root: Path = Path("data/datasets")
    max_shard_size_mb: float = 2048.0
    fk_check: bool = True  # MuJoCo check of a few written clips per source
    cache_dir: Path | None = None  # default: <output_root>/.cache, shared by the datasets there
    use_cache: bool = True
    wait_for_lock: bool = False  # queue behind a running build of the same dataset instead of refusing
    progress: bool = False  # clips done, frames/s, ETA and rejections on stderr
    backend: str = "local"  # "local": joblib processes on this machine; "dask": a Dask cluster's workers
    scheduler: str | None = None  # the Dask scheduler's address, e.g. tcp://10.0.0.5:8786
    scheduler_timeout_s: float = 30.0
    strict: bool = False  # any rejected clip fails the build before anything is published


FK_CHECK_CLIPS_PER_SOURCE = 2
FK_CHECK_FRAMES = 20
HASH_MEMO_INTERVAL_S = 30.0
STRICT_SHOWN = 20  # rejections spelled out in a --strict failure; the report lists all


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


def process_clip(
    item: ClipItem,
    source: SourceSpec,
    spec: DatasetSpec,
    clip_path: Path,
    cache: ClipCache | None = None,
    known_input: list[str] | None = None,
) -> ClipResult:
    """Run one file through every per-clip stage, from the cache where it can; never raises for a bad clip.

    `known_input` is [identity, sha256] of the file as an earlier build saw it;
    the hash is reused only if the file's identity is unchanged.
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
        options = reader_options(source)
        motion_key = ClipCache.motion_key(
            result.input_sha256, source.type, options, source.max_frames, robot.sha256,
            Path(source.bvh_format) if source.bvh_format and source.bvh_format.endswith((".yaml", ".yml")) else None,
        )
        clip_key = ClipCache.clip_key(motion_key, {
            "target_fps": spec.target_fps, "preprocess": spec.preprocess.model_dump(mode="json"),
            "weight": source.weight, "clip_id": item.clip_id,
        })
        hit = cache.load_clip(clip_key) if cache else None
        if hit is not None:
            fields, cached_file = hit
            for name in CACHED_FIELDS:
                setattr(result, name, fields[name])
            if cached_file is not None:
                with _writing(clip_path):
                    link_or_copy(cached_file, clip_path)
            result.cache = "clip"
            lap("cache")
            return result
        loaded = cache.load_motion(motion_key) if cache else None
        if loaded is None:
            motion, notes = load_robot_motion(source.type, item.path, robot, max_frames=source.max_frames, **options)
            if file_identity(item.path) != result.input_identity:
                # What was read may not be what was hashed: nothing may be cached or kept under that hash.
                result.reason, result.input_identity = "input_changed", ""
                result.detail = f"{item.path} changed while the build was reading it; build again once it is final"
                return result
            if cache:
                with _writing(cache.root):
                    cache.store_motion(motion_key, motion, tuple(notes))
        else:
            motion, notes = loaded
            result.cache = "motion"
        result.notes = list(notes)
        lap("ingest")
        motion = resample(motion, spec.target_fps)
        lap("resample")
        clip = motion_to_clip(robot, motion)
        lap("fk")
        processed = preprocess(clip, spec.preprocess, robot)
        lap("preprocess")
        if isinstance(processed, Rejection):
            result.reason, result.detail = processed.reason, processed.detail
        else:
            result.flags = _limit_flags(processed.joint_pos, robot)
            with _writing(clip_path):
                clip_sha256 = write_clip(clip_path, item.clip_id, processed, source.weight, durable=False)
            lap("write")
            result.kept = True
            result.num_frames = processed.num_frames
        if cache:
            kept = result.kept
            with _writing(cache.root):
                cache.store_clip(clip_key, _cached_fields(result), clip_path if kept else None, clip_sha256 if kept else "")
    except BuildError:
        raise  # the build's own writes failed (disk full, read-only): no clip is to blame
    except MimicdataError as exc:
        result.reason, result.detail = "unreadable", str(exc)
    except Exception as exc:  # a bad clip must never take the build down
        result.reason, result.detail = "error", f"{type(exc).__name__}: {exc}"
    return result


@contextmanager
def _writing(target: Path, what: str = "cannot write") -> Iterator[None]:
    """An OSError while writing (disk full, read-only, no permission) stops the build with where and why."""
    try:
        yield
    except OSError as exc:
        raise BuildError(
            f"{what} {target}: {exc.strerror or exc}"
            + (f" ({exc.filename})" if exc.filename and str(exc.filename) != str(target) else "")
            + "; the build stopped and published nothing, any earlier dataset is untouched"
        ) from None


CACHED_FIELDS = ("kept", "reason", "detail", "num_frames", "flags", "notes")  # what a clip-level hit restores


def _cached_fields(result: ClipResult) -> dict[str, Any]:
    return {name: getattr(result, name) for name in CACHED_FIELDS}


def _limit_flags(joint_pos: np.ndarray, robot: RobotModel) -> list[str]:
    """Clips beyond the joint limits are kept but flagged, so users can see and filter them."""
    excess = robot.limit_excess(joint_pos)
    bad = excess > 1e-3
    if not bad.any():
        return []
    worst = int(np.argmax(excess.max(axis=0)))
    return [
        f"joint_limits: {int(bad.any(axis=1).sum())} frames outside joint limits "
        f"(worst {robot.joint_names[worst]} by {excess[:, worst].max():.3f} rad)"
    ]


def build_dataset(spec_path: str | Path, options: BuildOptions = BuildOptions()) -> dict[str, Any]:
    """Build the dataset a spec describes; returns the build report (also written as build_info.json)."""
    started = time.perf_counter()
    spec = load_spec(spec_path)
    check_inputs(spec, spec_path)
    try:
        robot = load_robot(spec.robot)
    except RobotModelError as exc:
        raise SpecError(f"{spec_path}: robot: {exc}") from None
    problems = unknown_bodies(spec.preprocess, robot)
    if problems:
        raise SpecError(f"{spec_path}: " + "; ".join(problems))
    output_root = Path(options.output_root).expanduser().resolve()
    dataset_dir = output_root / spec.name
    _check_output_root(spec, output_root)
    with dataset_lock(output_root, spec.name, options.wait_for_lock):
        _check_output(dataset_dir, options.force)
        _clear_leftovers(output_root, spec.name)
        timings: dict[str, float] = {}
        scans = {s.name: scan_source(s) for s in spec.sources}
        items, duplicates = _unique_items(scans)
        timings["discover"] = time.perf_counter() - started

        staging = output_root / f".{spec.name}.staging-{os.getpid()}"
        with _writing(output_root, "cannot write to output root"):
            staging.mkdir(parents=True)
        try:
            with _writing(dataset_dir, "writing the dataset failed"):
                report = _build_into(staging, spec, options, robot, scans, items, duplicates, timings)
            report["spec_path"] = str(Path(spec_path).resolve())
            report["built_at_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            report["timings_s"]["total"] = round(time.perf_counter() - started, 3)
            with _writing(dataset_dir, "writing the dataset failed"):
                write_text_atomic(staging / "build_info.json", json.dumps(report, indent=2, sort_keys=False) + "\n")
                flush_filesystem(staging)  # every staged file at once, so none is lost to a power cut after the swap
                _swap_into_place(staging, dataset_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    report["dataset_dir"] = str(dataset_dir)
    return report


def _clear_leftovers(output_root: Path, name: str) -> None:
    """What killed builds of this dataset left: staging and swapped-out copies (the lock says none is running)."""
    for leftover in [*output_root.glob(f".{name}.staging-*"), *output_root.glob(f".{name}.old-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def _check_output_root(spec: DatasetSpec, output_root: Path) -> None:
    """Before anything is created: a build never writes among its inputs."""
    for s in spec.sources:
        root = s.input if s.input.is_dir() else s.input.parent
        if output_root == root or root in output_root.parents:
            raise BuildError(
                f"output root {output_root} lies inside the input of source {s.name!r} ({s.input}); "
                "choose another --output-root so the build never writes among its inputs"
            )


def _check_output(dataset_dir: Path, force: bool) -> None:
    if dataset_dir.exists():
        if not force:
            raise BuildError(f"{dataset_dir} already exists; pass --force to rebuild it")
        if any(dataset_dir.iterdir()) and not (dataset_dir / "build_info.json").is_file():
            raise BuildError(
                f"{dataset_dir} exists and is not a mimicdata dataset (no build_info.json); "
                "refusing to replace it even with --force"
            )


def _unique_items(scans: dict) -> tuple[list[ClipItem], list[ClipResult]]:
    seen: dict[str, ClipItem] = {}
    duplicates = []
    for scan in scans.values():
        for item in scan.items:
            if item.clip_id in seen:
                duplicates.append(
                    ClipResult(
                        item.clip_id, item.source, item.file_rel, reason="duplicate_clip_id",
                        detail=f"{item.path} gives the same clip id as {seen[item.clip_id].path}",
                    )
                )
            else:
                seen[item.clip_id] = item
    return sorted(seen.values(), key=lambda i: i.clip_id), duplicates


def _clip_path(staging: Path, item: ClipItem) -> Path:
    return staging / "clips" / item.source / f"{item.rel}.npz"


def _build_into(staging, spec, options, robot, scans, items, duplicates, timings) -> dict[str, Any]:
    sources = {s.name: s for s in spec.sources}
    t0 = time.perf_counter()
    cache = None
    if options.use_cache:
        cache = ClipCache(Path(options.cache_dir or Path(options.output_root) / ".cache").expanduser().resolve())
        cache.sweep()
    known = cache.input_hashes(spec.name) if cache else {}
    tasks = (
        delayed(process_clip)(i, sources[i.source], spec, _clip_path(staging, i), cache, known.get(str(i.path)))
        for i in items
    )
    progress = Progress(len(items)) if options.progress else None
    results: list[ClipResult] = []
    remembered = time.monotonic()
    with _workers(options) as n_jobs:
        for result in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks):
            results.append(result)
            if progress:
                progress.update(result.kept, result.num_frames)
            if cache and time.monotonic() - remembered > HASH_MEMO_INTERVAL_S:
                # So a build killed midway does not have to hash its inputs again.
                cache.remember_input_hashes(spec.name, _input_hashes(items, results, known))
                remembered = time.monotonic()
    if progress:
        progress.close()
    if cache:
        cache.remember_input_hashes(spec.name, _input_hashes(items, results, known))
    served = Counter(r.cache for r in results)  # duplicates below were never processed, so not counted
    results = sorted(results, key=lambda r: r.clip_id) + duplicates
    timings["clips_wall"] = time.perf_counter() - t0
    stage_totals = Counter()
    for r in results:
        stage_totals.update(r.timings)
    kept = {r.clip_id: r for r in results if r.kept}
    if options.strict and len(kept) < len(results):
        report = _report(spec, options, robot, scans, results, {}, timings)
        raise StrictBuildError(_strict_message(report["rejected"]), report)
    if not kept:
        reasons = Counter(r.reason for r in results)
        raise BuildError(f"no clip survived the build ({len(results)} scanned; rejected by reason: {dict(reasons)})")

    t0 = time.perf_counter()
    split_of = assign_splits(kept, spec.val_percent, spec.hash_salt, spec.split.group_pattern)
    item_of = {i.clip_id: i for i in items}
    bound = options.max_shard_size_mb * 1e6
    per_frame = bytes_per_frame(robot.num_joints, len(robot.body_names))
    rows: list[ManifestRow] = []
    splits_report: dict[str, Any] = {}
    for split in SPLITS:
        ids = sorted(cid for cid, s in split_of.items() if s == split)
        shards = _pack(ids, {cid: kept[cid].num_frames * per_frame for cid in ids}, bound)
        shard_reports = []
        for n, group in enumerate(shards):
            rel = f"{split}/shard_{n:03d}.npz"
            clips = [
                ShardClip(cid, kept[cid].num_frames, sources[kept[cid].source].weight,
                          clip_file_loader(_clip_path(staging, item_of[cid])))
                for cid in group
            ]
            digest = write_shard(
                staging / rel, clips, spec.target_fps, robot.joint_names, robot.body_names, durable=False
            )
            frames = sum(c.num_frames for c in clips)
            shard_reports.append(
                {"path": rel, "clips": len(clips), "frames": frames,
                 "bytes": (staging / rel).stat().st_size, "sha256": digest}
            )
            for index, cid in enumerate(group):
                r = kept[cid]
                rows.append(ManifestRow(cid, r.source, r.file_rel, r.num_frames, spec.target_fps, split, rel,
                                        index, sources[r.source].weight, r.input_sha256))
        frames = sum(kept[cid].num_frames for cid in ids)
        splits_report[split] = {
            "clips": len(ids), "frames": frames, "hours": round(frames / spec.target_fps / 3600, 6),
            "shards": shard_reports,
        }
    write_manifest(staging / "manifest_resolved.csv", rows)
    if not spec.has_clip_sources:
        shutil.rmtree(staging / "clips", ignore_errors=True)
    timings["shards"] = time.perf_counter() - t0
    timings.update({f"clip_stage_{k}_cpu": v for k, v in stage_totals.items()})
    report = _report(spec, options, robot, scans, results, splits_report, timings)
    report["cache"] = {"dir": str(cache.root) if cache else None, "clips_from_cache": served["clip"],
                       "motions_from_cache": served["motion"], "computed": served[""]}
    if options.fk_check:
        t0 = time.perf_counter()
        report["fk_check"] = _sampled_fk_check(staging, rows, robot)
        report["timings_s"]["fk_check"] = round(time.perf_counter() - t0, 3)
    return report


def _strict_message(rejected: list[dict]) -> str:
    reasons = Counter(r["reason"] for r in rejected)
    shown = "".join(f"\n  {r['clip_id']} ({r['reason']}): {r['detail']}" for r in rejected[:STRICT_SHOWN])
    more = f"\n  ... and {len(rejected) - STRICT_SHOWN} more" if len(rejected) > STRICT_SHOWN else ""
    return (
        f"--strict: {len(rejected)} clip(s) rejected ({', '.join(f'{k}: {v}' for k, v in sorted(reasons.items()))}); "
        f"nothing was written, the existing dataset (if any) is untouched:{shown}{more}"
    )


def _input_hashes(items: list[ClipItem], results: list[ClipResult], known: dict) -> dict[str, list[str]]:
    """path -> [identity, sha256] for this build's inputs: what was hashed now, else what was known before."""
    fresh = {r.clip_id: r for r in results if r.input_identity}
    memo = {}
    for item in items:
        r = fresh.get(item.clip_id)
        entry = [r.input_identity, r.input_sha256] if r else known.get(str(item.path))
        if entry:
            memo[str(item.path)] = entry
    return memo


@contextmanager
def _workers(options: BuildOptions) -> Iterator[int]:
    """The n_jobs for joblib, inside the backend the options ask for."""
    if options.backend == "local":
        yield max(1, int(options.jobs))
        return
    if options.backend != "dask":
        raise BuildError(f"unknown backend {options.backend!r}; use 'local' or 'dask'")
    if not options.scheduler:
        raise BuildError("--backend dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    try:
        from distributed import Client
    except ImportError:
        raise BuildError("--backend dask needs dask.distributed: pip install 'mimicdata[dask]'") from None
    try:
        client = Client(options.scheduler, timeout=options.scheduler_timeout_s)
    except (OSError, TimeoutError) as exc:
        raise BuildError(f"cannot reach the Dask scheduler at {options.scheduler}: {exc}") from None
    try:
        with parallel_config(backend="dask"):
            yield -1  # every worker the cluster has
    finally:
        client.close()


def _sampled_fk_check(staging: Path, rows: list[ManifestRow], robot: RobotModel) -> dict[str, Any]:
    """The first clips of each source (by id), as written, checked against MuJoCo."""
    from .fkcheck import MujocoReference, check_stored, stored_clips  # mujoco: not needed by the clip workers

    chosen: dict[str, list[ManifestRow]] = {}
    for row in sorted(rows, key=lambda r: r.clip_id):
        picked = chosen.setdefault(row.source, [])
        if len(picked) < FK_CHECK_CLIPS_PER_SOURCE:
            picked.append(row)
    reference = MujocoReference(robot)
    root = robot.body_index(robot.root_body)
    results = []
    for row in (r for picked in chosen.values() for r in picked):
        (clip,) = stored_clips(staging / row.shard, robot, row.clip_index)
        check = check_stored(reference, clip, root, FK_CHECK_FRAMES)
        results.append({"clip_id": row.clip_id, **check.as_dict()})
    return {
        "clips": len(results),
        "frames_per_clip": FK_CHECK_FRAMES,
        "passed": sum(r["passed"] for r in results),
        "worst_pos_max": max((r["pos_max"] for r in results), default=0.0),
        "worst_rot_max": max((r["rot_max"] for r in results), default=0.0),
        "failed": [{"clip_id": r["clip_id"], "problems": r["problems"]} for r in results if not r["passed"]],
    }


def _pack(ids: list[str], sizes: dict[str, float], bound: float) -> list[list[str]]:
    """Greedy packing at clip boundaries; a clip larger than the bound gets a shard of its own."""
    shards: list[list[str]] = []
    current: list[str] = []
    used = 0.0
    for cid in ids:
        if current and used + sizes[cid] > bound:
            shards.append(current)
            current, used = [], 0.0
        current.append(cid)
        used += sizes[cid]
    if current:
        shards.append(current)
    return shards


def _report(spec, options, robot, scans, results, splits_report, timings) -> dict[str, Any]:
    per_source: dict[str, Any] = {}
    for s in spec.sources:
        mine = [r for r in results if r.source == s.name]
        rejected = [r for r in mine if not r.kept]
        per_source[s.name] = {
            "type": s.type,
            "input": str(s.input),
            "scanned": len(scans[s.name].items) + sum(scans[s.name].excluded.values()),
            "excluded": dict(scans[s.name].excluded),
            "kept": len(mine) - len(rejected),
            "rejected": len(rejected),
            "rejected_by_reason": dict(sorted(Counter(r.reason for r in rejected).items())),
        }
    rejected = sorted((r for r in results if not r.kept), key=lambda r: r.clip_id)
    return {
        "dataset": spec.name,
        "tool": {"name": "mimicdata", "version": __version__},
        "schema_version": SCHEMA_VERSION,
        "spec": spec.model_dump(mode="json"),
        "robot": {"name": robot.name, "sha256": robot.sha256, "joint_names": list(robot.joint_names),
                  "body_names": list(robot.body_names)},
        "options": {"jobs": options.jobs, "max_shard_size_mb": options.max_shard_size_mb,
                    "fk_check": options.fk_check, "strict": options.strict},
        "sources": per_source,
        "rejected": [
            {"clip_id": r.clip_id, "source": r.source, "file": r.file_rel, "reason": r.reason, "detail": r.detail}
            for r in rejected
        ],
        "flagged": [
            {"clip_id": r.clip_id, "flags": r.flags} for r in sorted(results, key=lambda r: r.clip_id) if r.flags
        ],
        "notes": [
            {"clip_id": r.clip_id, "notes": r.notes} for r in sorted(results, key=lambda r: r.clip_id) if r.notes
        ],
        "splits": splits_report,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }


def _swap_into_place(staging: Path, dataset_dir: Path) -> None:
    """Replace the dataset only now that the new one is complete; the old one goes last."""
    old = None
    if dataset_dir.exists():
        old = dataset_dir.with_name(f".{dataset_dir.name}.old-{os.getpid()}")
        os.replace(dataset_dir, old)
    os.replace(staging, dataset_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

