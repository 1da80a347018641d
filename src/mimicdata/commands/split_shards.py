"""split-shards: re-pack shards at clip boundaries, streaming, without touching the input.

Works on any shard directory (a dataset's train/ or val/, or shards another
tool wrote) and on a whole dataset directory, whose manifest and build_info
are re-pointed at the new shards. Members are classified by name: `clip_*`
arrays hold one row per clip, names, fps, schema and 0-d arrays are shared,
and every other array holds one row per frame. All of them are carried over.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..dataset.layout import BUILD_INFO, MANIFEST, clip_starts, dataset_shards, is_dataset_dir
from ..dataset.manifest import read_manifest, write_manifest
from ..dataset.report import Resharded, ShardEntry, SplitEntry, read_build_report
from ..dataset.shards import Member, Shard, file_sha256, write_members
from ..errors import InputError, ShardError
from ..infra.atomic import check_new_output, sweep_temporaries, write_text_atomic

SHARED_KEYS = ("fps", "body_names", "joint_names", "schema_version", "window_steps")
_BLOCK_BYTES = 32 << 20  # rows are copied in blocks of about this size
_MEMBER_OVERHEAD = 320  # zip local + central headers, npy header and alignment of one member


@dataclass(frozen=True)
class _Clip:
    shard: int  # index into the input shard list
    index: int  # clip index inside that shard
    start: int
    length: int


@dataclass
class _Layout:
    """What every input shard of one directory must agree on."""

    order: list[str]
    frame_rows: dict[str, tuple[tuple[int, ...], np.dtype]]  # per-frame members: row shape, dtype
    clip_rows: dict[str, tuple[tuple[int, ...], np.dtype]]  # per-clip members
    shared: dict[str, np.ndarray]
    first: Path

    @property
    def frame_bytes(self) -> int:
        return sum(int(np.prod(s, dtype=np.int64)) * d.itemsize for s, d in self.frame_rows.values())

    @property
    def clip_bytes(self) -> int:
        return sum(int(np.prod(s, dtype=np.int64)) * d.itemsize for s, d in self.clip_rows.values())

    @property
    def fixed_bytes(self) -> int:
        return sum(a.nbytes for a in self.shared.values()) + _MEMBER_OVERHEAD * len(self.order)


@dataclass
class WrittenShard:
    path: str  # relative to the output
    clips: int
    frames: int
    bytes: int
    sha256: str
    clip_ids: list[str]


@dataclass
class ReshardedSplit:
    input_shards: int
    input_bytes: int
    clips: int
    frames: int
    shards: list[WrittenShard]


@dataclass
class ReshardReport:
    input: str
    output: str
    max_shard_bytes: int
    splits: dict[str, ReshardedSplit] = field(default_factory=dict)
    not_copied: list[str] = field(default_factory=list)

    @property
    def clips(self) -> int:
        return sum(s.clips for s in self.splits.values())

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.splits.values())


def split_shards(input_path: Path, output_path: Path, max_shard_bytes: int) -> ReshardReport:
    """Re-pack every shard under `input_path` into shards of at most `max_shard_bytes` in `output_path`.

    A clip larger than the bound gets a shard of its own. The output appears
    only once every shard is written and verified (clip and frame totals,
    clip order and ids); until then it lives in a hidden sibling directory.
    """
    source, target = Path(input_path), Path(output_path)
    if max_shard_bytes <= 0:
        raise InputError(target, "max_size", f"must be positive, got {max_shard_bytes} bytes")
    groups = _shard_groups(source)
    check_new_output(source, target, "input")
    sweep_temporaries(target.parent, f".{target.name}.partial-*")  # a killed run's staging, if its process is gone
    staging = target.with_name(f".{target.name}.partial-{os.getpid()}")
    report = ReshardReport(str(source), str(target), int(max_shard_bytes))
    try:
        for split, files in groups.items():
            report.splits[split or "."] = _reshard_dir(files, staging / split, split, max_shard_bytes)
        if split_names := [s for s in groups if s]:
            report.not_copied = _finish_dataset(source, staging, report, split_names)
        if target.exists():
            target.rmdir()  # check_new_output allowed only an empty directory
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def _shard_groups(source: Path) -> dict[str, list[Path]]:
    """{"train": [...], "val": [...]} for a dataset directory, {"": [...]} for a shard directory."""
    if not source.is_dir():
        raise InputError(source, None, "not a directory of shards (or a dataset directory)")
    splits = dataset_shards(source)
    if is_dataset_dir(source) or splits:
        groups = splits
    else:
        groups = {"": sorted(f for f in source.glob("*.npz") if not f.name.startswith("."))}
    if not any(groups.values()):
        raise InputError(source, None, "holds no .npz shards (nor train/ or val/ directories of them)")
    return groups


def _reshard_dir(files: list[Path], out_dir: Path, split: str, bound: int) -> ReshardedSplit:
    shards = [Shard(f) for f in files]
    layout = _layout(shards)
    clips = [c for n, shard in enumerate(shards) for c in _clips_of(shard, n, layout)]
    groups = _pack(clips, layout, bound)
    width = max(3, len(str(len(groups) - 1)))
    reports: list[WrittenShard] = []
    for n, group in enumerate(groups):
        path = out_dir / f"shard_{n:0{width}d}.npz"
        digest = write_members(path, _members(shards, layout, group))
        _verify(path, shards, layout, group)
        for shard in shards:
            shard.release()  # what one output shard needed is not kept for the next
        rel = f"{split}/{path.name}" if split else path.name
        reports.append(
            WrittenShard(rel, len(group), sum(c.length for c in group), path.stat().st_size, digest, _ids(shards, group))
        )
    frames_in = sum(c.length for c in clips)
    frames_out = sum(r.frames for r in reports)
    if frames_out != frames_in or sum(r.clips for r in reports) != len(clips):
        raise ShardError(f"{out_dir}: wrote {frames_out} frames of {frames_in}; aborted")
    return ReshardedSplit(len(files), sum(f.stat().st_size for f in files), len(clips), frames_in, reports)


def _layout(shards: list[Shard]) -> _Layout:
    first = shards[0]
    layout = _Layout(first.keys(), {}, {}, {}, first.path)
    for key in first.keys():
        shape, dtype = first.header(key)
        if key.startswith("clip_"):
            layout.clip_rows[key] = (shape[1:], dtype)
        elif key in SHARED_KEYS or len(shape) == 0:
            layout.shared[key] = np.asarray(first[key])
        else:
            layout.frame_rows[key] = (shape[1:], dtype)
    if "clip_lengths" not in layout.clip_rows:
        raise InputError(first.path, "clip_lengths", "missing: not a shard of concatenated clips")
    if not layout.frame_rows:
        raise InputError(first.path, None, "has no per-frame arrays to re-shard")
    for shard in shards[1:]:
        _agree(shard, layout)
    return layout


def _agree(shard: Shard, layout: _Layout) -> None:
    """Every shard must have the first one's members, row shapes, dtypes and shared values."""
    if set(shard.keys()) != set(layout.order):
        missing, extra = set(layout.order) - set(shard.keys()), set(shard.keys()) - set(layout.order)
        raise InputError(
            shard.path,
            None,
            f"members differ from {layout.first.name}: missing {sorted(missing)}, extra {sorted(extra)}",
        )
    for rows in (layout.frame_rows, layout.clip_rows):
        for key, (row, dtype) in rows.items():
            shape, found = shard.header(key)
            same_kind = found == dtype or (found.kind == dtype.kind == "U")
            if tuple(shape[1:]) != row or not same_kind:
                raise InputError(
                    shard.path, key, f"rows of {tuple(shape[1:])} {found}, but {layout.first.name} has {row} {dtype}"
                )
            if found.kind == "U" and found.itemsize > dtype.itemsize:
                rows[key] = (row, found)  # the widest string wins, so no id is cut
    for key, value in layout.shared.items():
        if not np.array_equal(np.asarray(shard[key]), value):
            raise InputError(
                shard.path,
                key,
                f"differs from {layout.first.name}; shards that disagree on shared values cannot be merged",
            )


def _clips_of(shard: Shard, n: int, layout: _Layout) -> Iterator[_Clip]:
    lengths = np.asarray(shard["clip_lengths"])
    total = shard.header(next(iter(layout.frame_rows)))[0][0]
    for key in layout.frame_rows:
        rows = shard.header(key)[0][0]
        if rows != total:
            raise InputError(shard.path, key, f"has {rows} rows, other frame arrays {total}")
    if "clip_starts" in layout.clip_rows:
        starts = np.asarray(shard["clip_starts"])
    else:
        starts = clip_starts(lengths)
    for key in layout.clip_rows:
        if shard.header(key)[0][0] != len(lengths):
            raise InputError(shard.path, key, f"has {shard.header(key)[0][0]} rows for {len(lengths)} clips")
    ends = starts + lengths
    if lengths.ndim != 1 or (lengths < 0).any() or (starts < 0).any() or (ends > total).any():
        raise InputError(shard.path, "clip_starts", f"clips reach outside the {total} frames stored")
    for i, (start, length) in enumerate(zip(starts.tolist(), lengths.tolist())):
        yield _Clip(n, i, int(start), int(length))


def _pack(clips: list[_Clip], layout: _Layout, bound: int) -> list[list[_Clip]]:
    budget = bound - layout.fixed_bytes
    groups: list[list[_Clip]] = []
    current: list[_Clip] = []
    used = 0
    for clip in clips:
        size = clip.length * layout.frame_bytes + layout.clip_bytes
        if current and used + size > budget:
            groups.append(current)
            current, used = [], 0
        current.append(clip)
        used += size
    if current:
        groups.append(current)
    return groups


def _members(shards: list[Shard], layout: _Layout, group: list[_Clip]) -> Iterator[Member]:
    total = sum(c.length for c in group)
    for key in layout.order:
        if key in layout.frame_rows:
            row, dtype = layout.frame_rows[key]
            yield key, (total, *row), dtype, _frame_chunks(shards, key, group, row, dtype)
        elif key in layout.clip_rows:
            row, dtype = layout.clip_rows[key]
            if key == "clip_starts":
                lengths = np.array([c.length for c in group], dtype=np.int64)
                values = clip_starts(lengths).astype(dtype)
            else:
                values = np.array([shards[c.shard][key][c.index] for c in group], dtype=dtype).reshape(len(group), *row)
            yield key, values.shape, values.dtype, iter([values.tobytes()])
        else:
            value = layout.shared[key]
            yield key, value.shape, value.dtype, iter([np.ascontiguousarray(value).tobytes()])


def _frame_chunks(shards, key, group, row, dtype) -> Iterator[bytes]:
    step = max(1, _BLOCK_BYTES // max(1, int(np.prod(row, dtype=np.int64)) * dtype.itemsize))
    for clip in group:
        for a in range(clip.start, clip.start + clip.length, step):
            b = min(a + step, clip.start + clip.length)
            yield np.ascontiguousarray(shards[clip.shard].rows(key, a, b), dtype=dtype).tobytes()


def _ids(shards: list[Shard], group: list[_Clip]) -> list[str]:
    if "clip_ids" in shards[0]:
        return [str(shards[c.shard]["clip_ids"][c.index]) for c in group]
    return [f"{shards[c.shard].path.name}#{c.index}" for c in group]


def _verify(path: Path, shards: list[Shard], layout: _Layout, group: list[_Clip]) -> None:
    """Re-read what was written: clip lengths, ids and frame rows must be what was planned."""
    written = Shard(path, mmap=False)
    lengths = np.asarray(written["clip_lengths"]).tolist()
    if lengths != [c.length for c in group]:
        raise ShardError(f"{path}: clip lengths are not the planned ones; aborted")
    if "clip_ids" in written and np.asarray(written["clip_ids"]).tolist() != _ids(shards, group):
        raise ShardError(f"{path}: clip ids are not the planned ones; aborted")
    for key in layout.frame_rows:
        rows = written.header(key)[0][0]
        if rows != sum(lengths):
            raise ShardError(f"{path}: {key} has {rows} rows, expected {sum(lengths)}; aborted")


def _finish_dataset(source: Path, staging: Path, report: ReshardReport, splits: list[str]) -> list[str]:
    """Point the manifest and build_info at the new shards; returns what was deliberately not copied."""
    location = {
        cid: (shard.path, index)
        for split in splits
        for shard in report.splits[split].shards
        for index, cid in enumerate(shard.clip_ids)
    }
    manifest = source / MANIFEST
    if manifest.is_file():
        rows = read_manifest(manifest)
        missing = [r.clip_id for r in rows if r.clip_id not in location]
        if missing:
            raise InputError(manifest, "clip_id", f"{len(missing)} clips are in no shard, e.g. {missing[:3]}")
        rows = [replace(r, shard=location[r.clip_id][0], clip_index=location[r.clip_id][1]) for r in rows]
        write_manifest(staging / MANIFEST, rows)
    info_path = source / BUILD_INFO
    if info_path.is_file():
        info = read_build_report(info_path)
        for split in splits:
            shards = [ShardEntry(path=s.path, clips=s.clips, frames=s.frames, bytes=s.bytes, sha256=s.sha256)
                      for s in report.splits[split].shards]
            info.splits.setdefault(split, SplitEntry()).shards = shards
        info.resharded = Resharded(
            source=str(source.resolve()),
            max_shard_bytes=report.max_shard_bytes,
            input_build_info_sha256=file_sha256(info_path),
            at_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        write_text_atomic(staging / BUILD_INFO, info.to_json())
    kept = {MANIFEST, BUILD_INFO, *splits}
    return sorted(p.name for p in source.iterdir() if p.name not in kept and not p.name.startswith("."))
