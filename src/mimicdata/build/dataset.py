"""The orchestrator: the only module that knows the order of the stages.

ingest -> resample -> FK and velocities -> preprocess/filter -> clip file,
then hash split -> shards -> manifest -> build_info, all in a staging
directory that replaces the dataset only once everything is written.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from joblib import Parallel, delayed

from .. import __version__
from ..dataset.layout import BUILD_INFO, FAILURES, SPLITS, is_mimicdata_dataset
from ..dataset.manifest import ManifestRow, write_manifest
from ..dataset.report import (
    BuildReport,
    CacheUse,
    DuplicateEntry,
    FkCheckSummary,
    FkFailure,
    FlaggedClip,
    NotedClip,
    OptionsEntry,
    Rejection,
    RetargetQuality,
    RobotEntry,
    ShardEntry,
    SourceEntry,
    SplitEntry,
    ToolInfo,
    read_build_report,
)
from ..dataset.shards import SCHEMA_VERSION, Shard, ShardClip, bytes_per_frame, clip_file_loader, write_shard
from ..errors import BuildError, MimicdataError, RobotModelError, SpecError, StrictBuildError
from ..infra.atomic import flush_filesystem, write_text_atomic
from ..infra.lock import dataset_lock
from ..infra.progress import Progress
from ..infra.workers import workers
from ..robot import RobotModel, load_robot
from ..spec import DatasetSpec, load_spec
from ..stages.preprocess import unknown_bodies
from ..stages.split import assign_splits
from .cache import ClipCache, link_or_copy
from .clip import ClipResult, process_clip, writing
from .discover import ClipItem, check_inputs, scan_source
from .duplicates import find_duplicates, same_motion


@dataclass(frozen=True)
class BuildOptions:
    jobs: int = 1
    force: bool = False  # rebuild from scratch: compute every clip (the cache is refreshed, not read)
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


def build_dataset(spec_path: str | Path, options: BuildOptions = BuildOptions()) -> BuildReport:
    """Build the dataset a spec describes; returns the build report (also written as build_info.json)."""
    started = time.perf_counter()
    spec = load_spec(spec_path)
    check_inputs(spec, spec_path)
    try:
        robot = load_robot(spec.robot)
    except RobotModelError as exc:
        raise SpecError(f"{spec_path}: robot: {exc}") from None
    if any(s.type == "bvh" for s in spec.sources):
        from ..retarget import retarget_config

        try:
            retarget_config(robot)  # a human skeleton needs the robot's roles: found once here, not once per clip
        except RobotModelError as exc:
            raise SpecError(f"{spec_path}: robot: cannot retarget human motion onto it: {exc}") from None
    problems = unknown_bodies(spec.preprocess, robot)
    problems += [f"sources[{i}].mirror: robot {robot.name!r} has no mirror map (`mirror:` in its robot.yaml)"
                 for i, s in enumerate(spec.sources) if s.mirror and robot.mirror is None]
    if problems:
        raise SpecError(f"{spec_path}: " + "; ".join(problems))
    output_root = Path(options.output_root).expanduser().resolve()
    dataset_dir = output_root / spec.name
    _check_output_root(spec, output_root)
    with dataset_lock(output_root, spec.name, options.wait_for_lock):
        _check_output(dataset_dir)
        _clear_leftovers(output_root, spec.name)
        timings: dict[str, float] = {}
        scans = {s.name: scan_source(s) for s in spec.sources}
        items, duplicates = _unique_items(scans)
        mirrored = {s.name for s in spec.sources if s.mirror}
        items = sorted(items + [replace(i, mirrored=True) for i in items if i.source in mirrored], key=lambda i: i.clip_id)
        timings["discover"] = time.perf_counter() - started

        staging = output_root / f".{spec.name}.staging-{os.getpid()}"
        with writing(output_root, "cannot write to output root"):
            staging.mkdir(parents=True)
        try:
            with writing(dataset_dir, "writing the dataset failed"):
                report = _build_into(staging, spec, options, robot, scans, items, duplicates, timings)
            report.spec_path = str(Path(spec_path).resolve())
            report.built_at_utc = datetime.now(timezone.utc).isoformat(timespec="seconds")
            report.timings_s["total"] = round(time.perf_counter() - started, 3)
            with writing(dataset_dir, "writing the dataset failed"):
                write_text_atomic(staging / BUILD_INFO, report.to_json())
                flush_filesystem(staging)  # every staged file at once, so none is lost to a power cut after the swap
                _swap_into_place(staging, dataset_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    report.dataset_dir = str(dataset_dir)
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


def _check_output(dataset_dir: Path) -> None:
    """An existing dataset is updated (replaced once the new one is complete); anything else there is never touched."""
    if dataset_dir.exists() and not dataset_dir.is_dir():
        raise BuildError(f"{dataset_dir} exists and is not a directory; refusing to replace it")
    if dataset_dir.is_dir() and any(dataset_dir.iterdir()) and not is_mimicdata_dataset(dataset_dir):
        raise BuildError(
            f"{dataset_dir} exists and is not a mimicdata dataset (no build_info.json); refusing to replace it; "
            "move it away or choose another --output-root"
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
    # Mirror images get a folder of their own, named with a character no source name may hold: beside
    # their originals, `w.mirror.npz` could be both the mirror of `w.csv` and the clip of `w.mirror.csv`.
    folder = f"{item.source}@mirror" if item.mirrored else item.source
    return staging / "clips" / folder / f"{item.rel}.npz"


def _build_into(staging, spec, options, robot, scans, items, duplicates, timings) -> BuildReport:
    sources = {s.name: s for s in spec.sources}
    t0 = time.perf_counter()
    cache = None
    if options.use_cache:
        cache = ClipCache(Path(options.cache_dir or Path(options.output_root) / ".cache").expanduser().resolve())
        cache.sweep()
    known = cache.input_hashes(spec.name) if cache else {}
    tasks = (
        delayed(process_clip)(
            i, sources[i.source], spec, _clip_path(staging, i), cache, known.get(str(i.path)), not options.force
        )
        for i in items
    )
    progress = Progress(len(items)) if options.progress else None
    results: list[ClipResult] = []
    remembered = time.monotonic()
    with workers(options.backend, options.jobs, options.scheduler, options.scheduler_timeout_s) as n_jobs:
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
    stage_totals: Counter[str] = Counter()
    for r in results:
        stage_totals.update(r.timings)
    kept = {r.clip_id: r for r in results if r.kept}
    item_of = {i.clip_id: i for i in items}
    t0 = time.perf_counter()
    # Verdicts on pairs compared before are kept by the clips' content, so a rebuild loads only new pairs.
    remembered_pairs = cache.pair_verdicts(spec.name) if cache else {}
    compared: dict[str, bool] = {}

    def same(a: str, b: str) -> bool:
        key = f"{kept[a].content_key}:{kept[b].content_key}"
        if key not in remembered_pairs or not kept[a].content_key or not kept[b].content_key:
            remembered_pairs[key] = same_motion(*(Shard(_clip_path(staging, item_of[c]))["joint_pos"] for c in (a, b)))
        compared[key] = remembered_pairs[key]
        return compared[key]

    found = find_duplicates(
        # One file holding many clips is not one motion: its clips' content key is the file and the clip.
        {cid: (_content_key(r, item_of[cid]), r.num_frames, r.signature) for cid, r in kept.items()}, same,
    )
    if cache:
        cache.remember_pair_verdicts(spec.name, compared)  # this build's pairs only: the memo never grows stale
    timings["duplicates"] = time.perf_counter() - t0
    same_as = {cid: dup.clip_ids[0] for dup in found for cid in dup.clip_ids}
    if spec.preprocess.drop_duplicates:
        for dup in found:
            for cid in dup.clip_ids[1:]:
                r = kept.pop(cid)
                r.kept, r.reason = False, "duplicate"
                r.detail = f"{dup.how} as {dup.clip_ids[0]}, which is kept (preprocess.drop_duplicates)"
    if options.strict and len(kept) < len(results):
        report = _report(spec, options, robot, scans, results, {}, timings)
        raise StrictBuildError(_strict_message(report.rejected), report)
    if not kept:
        report = _report(spec, options, robot, scans, results, {}, timings)
        raise StrictBuildError(_nothing_survived(report), report)  # carries the report, so --json still prints it

    t0 = time.perf_counter()
    split_of = assign_splits(kept, spec.val_percent, spec.hash_salt, spec.split.group_pattern, same_as)
    bound = options.max_shard_size_mb * 1e6
    per_frame = bytes_per_frame(robot.num_joints, len(robot.body_names))

    def weight(r: ClipResult) -> float:
        by_quality = spec.preprocess.weight_by_quality and r.quality_score is not None
        return sources[r.source].weight * (r.quality_score if by_quality else 1.0)

    def pack(partition: str, chosen: dict[str, ClipResult]) -> tuple[SplitEntry, dict[str, tuple[str, int]]]:
        """Shards of one partition; and where each clip landed (shard relative to the dataset, index)."""
        ids = sorted(chosen)
        shard_reports, where = [], {}
        for n, group in enumerate(_pack(ids, {cid: chosen[cid].num_frames * per_frame for cid in ids}, bound)):
            rel = f"{partition}/shard_{n:03d}.npz"
            clips = [
                ShardClip(cid, chosen[cid].num_frames, weight(chosen[cid]),
                          clip_file_loader(_clip_path(staging, item_of[cid])),
                          _score(chosen[cid]),
                          None if chosen[cid].kept else (chosen[cid].reason, chosen[cid].detail))
                for cid in group
            ]
            key = _shard_key([(cid, chosen[cid].content_key, chosen[cid].num_frames, weight(chosen[cid]),
                               _score(chosen[cid]), chosen[cid].reason) for cid in group], spec.target_fps, robot)
            digest = None if options.force else _reuse_shard(previous.get(rel), key, staging / rel)
            if digest is None:
                digest = write_shard(
                    staging / rel, clips, spec.target_fps, robot.joint_names, robot.body_names, durable=False
                )
            frames = sum(c.num_frames for c in clips)
            shard_reports.append(ShardEntry(path=rel, clips=len(clips), frames=frames,
                                            bytes=(staging / rel).stat().st_size, sha256=digest, key=key))
            where.update({cid: (rel, index) for index, cid in enumerate(group)})
        frames = sum(chosen[cid].num_frames for cid in ids)
        entry = SplitEntry(clips=len(ids), frames=frames, hours=round(frames / spec.target_fps / 3600, 6),
                           shards=shard_reports)
        return entry, where

    previous = _previous_shards(Path(options.output_root).expanduser().resolve() / spec.name)
    rows: list[ManifestRow] = []
    splits_report: dict[str, SplitEntry] = {}
    for split in SPLITS:
        splits_report[split], where = pack(split, {cid: r for cid, r in kept.items() if split_of[cid] == split})
        for cid, (rel, index) in where.items():
            r = kept[cid]
            rows.append(ManifestRow(cid, r.source, r.file_rel, r.num_frames, spec.target_fps, split, rel,
                                    index, weight(r), r.input_sha256, _score(r)))
    failed = {r.clip_id: r for r in results if r.stored and not r.kept}
    failures, stored_at = pack(FAILURES, failed) if failed else (None, {})
    write_manifest(staging / "manifest_resolved.csv", rows)
    if not spec.has_clip_sources:
        shutil.rmtree(staging / "clips", ignore_errors=True)
    else:
        for cid in failed:  # clips/ holds the kept clips; the failures partition holds the others
            _clip_path(staging, item_of[cid]).unlink(missing_ok=True)
    timings["shards"] = time.perf_counter() - t0
    timings.update({f"clip_stage_{k}_cpu": v for k, v in stage_totals.items()})
    report = _report(spec, options, robot, scans, results, splits_report, timings, stored_at)
    report.failures = failures
    report.duplicates = [DuplicateEntry(clip_ids=list(g.clip_ids), how=g.how, kept_all=not spec.preprocess.drop_duplicates)
                         for g in found]
    report.cache = CacheUse(dir=str(cache.root) if cache else None, clips_from_cache=served["clip"],
                            motions_from_cache=served["motion"], computed=served[""])
    if options.fk_check:
        t0 = time.perf_counter()
        report.fk_check = _sampled_fk_check(staging, rows, robot)
        report.timings_s["fk_check"] = round(time.perf_counter() - t0, 3)
    return report


def _shard_key(clips: list[tuple], fps: int, robot: RobotModel) -> str:
    """A shard's content as a key: every input of write_shard, with each clip's content by its cache key."""
    if any(not content for _, content, *_ in clips):
        return ""  # a clip of unknown content: the shard is written
    text = json.dumps([SCHEMA_VERSION, fps, robot.joint_names, robot.body_names, clips])
    return hashlib.sha256(text.encode()).hexdigest()


def _previous_shards(dataset_dir: Path) -> dict[str, tuple[Path, ShardEntry]]:
    """The shards the dataset being rebuilt has now, by relative path, with what build_info.json says of them."""
    try:
        report = read_build_report(dataset_dir)
    except MimicdataError:
        return {}  # no dataset yet, or one whose report cannot be read: everything is written
    entries = [s for split in (*report.splits.values(), report.failures) if split is not None for s in split.shards]
    return {e.path: (dataset_dir / e.path, e) for e in entries if e.key}


def _reuse_shard(previous: tuple[Path, ShardEntry] | None, key: str, target: Path) -> str | None:
    """Put the previous build's shard at `target` (a hard link, else a copy) when it was made from the same
    content and is still the file it wrote; its sha256, or None when the shard must be written."""
    if previous is None or not key:
        return None
    path, entry = previous
    try:
        if entry.key != key or path.stat().st_size != entry.bytes:
            return None
        link_or_copy(path, target)
    except OSError:
        return None
    return entry.sha256


def _content_key(result: ClipResult, item: ClipItem) -> str:
    return result.input_sha256 if item.part is None else f"{result.input_sha256}#{item.part}"


def _score(result: ClipResult) -> float:
    return math.nan if result.quality_score is None else result.quality_score


def _nothing_survived(report: BuildReport) -> str:
    """Which sources gave what, so the user sees at once which folder or filter is wrong."""
    lines = ["no clip survived the build; nothing was written, the existing dataset (if any) is untouched:"]
    for name, src in report.sources.items():
        reasons = ", ".join(f"{k}: {v}" for k, v in src.rejected_by_reason.items()) or "none"
        excluded = f", {sum(src.excluded.values())} excluded by {', '.join(src.excluded)}" if src.excluded else ""
        lines.append(f"  source {name} ({src.type}, {src.input}): {src.scanned} file(s) scanned, "
                     f"{src.rejected} rejected (by reason: {reasons}){excluded}")
    lines += [f"  {r.clip_id} ({r.reason}): {r.detail}" for r in report.rejected[:STRICT_SHOWN]]
    return "\n".join(lines)


def _strict_message(rejected: list[Rejection]) -> str:
    reasons = Counter(r.reason for r in rejected)
    shown = "".join(f"\n  {r.clip_id} ({r.reason}): {r.detail}" for r in rejected[:STRICT_SHOWN])
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


def _sampled_fk_check(staging: Path, rows: list[ManifestRow], robot: RobotModel) -> FkCheckSummary:
    """The first clips of each source (by id), as written, checked against MuJoCo."""
    from ..dataset.stored import stored_clips
    from ..stages.fk_check import MujocoReference, check_stored  # mujoco: not needed by the clip workers

    chosen: dict[str, list[ManifestRow]] = {}
    for row in sorted(rows, key=lambda r: r.clip_id):
        picked = chosen.setdefault(row.source, [])
        if len(picked) < FK_CHECK_CLIPS_PER_SOURCE:
            picked.append(row)
    reference = MujocoReference(robot)
    root = robot.body_index(robot.root_body)
    checks = []
    for row in (r for picked in chosen.values() for r in picked):
        (clip,) = stored_clips(staging / row.shard, robot, row.clip_index)
        checks.append((row.clip_id, check_stored(reference, clip, root, FK_CHECK_FRAMES)))
    return FkCheckSummary(
        clips=len(checks),
        frames_per_clip=FK_CHECK_FRAMES,
        passed=sum(c.passed for _, c in checks),
        worst_pos_max=max((c.pos_max for _, c in checks), default=0.0),
        worst_rot_max=max((c.rot_max for _, c in checks), default=0.0),
        failed=[FkFailure(clip_id=cid, problems=list(c.problems)) for cid, c in checks if not c.passed],
    )


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


def _report(spec, options, robot, scans, results, splits_report, timings, stored_at=None) -> BuildReport:
    per_source: dict[str, SourceEntry] = {}
    for s in spec.sources:
        mine = [r for r in results if r.source == s.name]
        rejected = [r for r in mine if not r.kept]
        per_source[s.name] = SourceEntry(
            type=s.type,
            input=str(s.input),
            scanned=len(scans[s.name].items) + sum(scans[s.name].excluded.values()),
            excluded=dict(scans[s.name].excluded),
            kept=len(mine) - len(rejected),
            rejected=len(rejected),
            rejected_by_reason=dict(sorted(Counter(r.reason for r in rejected).items())),
        )
    by_id = sorted(results, key=lambda r: r.clip_id)
    return BuildReport(
        dataset=spec.name,
        tool=ToolInfo(name="mimicdata", version=__version__),
        schema_version=SCHEMA_VERSION,
        spec=spec.model_dump(mode="json"),
        robot=RobotEntry(name=robot.name, sha256=robot.sha256, joint_names=list(robot.joint_names),
                         body_names=list(robot.body_names)),
        options=OptionsEntry(jobs=options.jobs, max_shard_size_mb=options.max_shard_size_mb,
                             fk_check=options.fk_check, strict=options.strict),
        sources=per_source,
        rejected=[
            Rejection(clip_id=r.clip_id, source=r.source, file=r.file_rel, reason=r.reason, detail=r.detail,
                      quality_score=r.quality_score, shard=shard, clip_index=index)
            for r in by_id if not r.kept
            for shard, index in [(stored_at or {}).get(r.clip_id, (None, None))]
        ],
        flagged=[FlaggedClip(clip_id=r.clip_id, flags=r.flags) for r in by_id if r.flags],
        notes=[NotedClip(clip_id=r.clip_id, notes=r.notes) for r in by_id if r.notes],
        retarget_quality=[RetargetQuality(clip_id=r.clip_id, **r.quality) for r in by_id if r.quality],
        splits=splits_report,
        timings_s={k: round(v, 3) for k, v in timings.items()},
    )


def _swap_into_place(staging: Path, dataset_dir: Path) -> None:
    """Replace the dataset only now that the new one is complete; the old one goes last."""
    old = None
    if dataset_dir.exists():
        old = dataset_dir.with_name(f".{dataset_dir.name}.old-{os.getpid()}")
        os.replace(dataset_dir, old)
    os.replace(staging, dataset_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

