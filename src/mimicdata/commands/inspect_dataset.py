"""inspect-dataset: what a dataset holds, read from its shards (and its build record when it has one).

Works on a mimicdata dataset directory, on any shard directory or shard file
(another tool's too: missing names are assumed to be the robot's order), and
on directories of single-clip NPZ files such as mjlab exports. Shards are
read one clip at a time, so a dataset of any size fits in memory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..dataset.foreign import body_layout, joint_layout
from ..dataset.layout import (
    BUILD_INFO,
    FAILURES,
    MANIFEST,
    PARTITIONS,
    clip_starts,
    dataset_shards,
    is_dataset_dir,
    npz_files,
)
from ..dataset.manifest import ManifestRow, read_manifest
from ..dataset.report import read_build_report
from ..dataset.shards import Shard, is_shard
from ..dataset.stored import foreign_clip, shard_clip_fps, shard_clip_ids, shard_names, shard_world_first
from ..errors import InputError, MimicdataError
from ..robot import RobotModel, load_robot
from ..robot.order import BodyOrder


@dataclass
class ClipInfo:
    clip_id: str
    source: str
    split: str
    frames: int
    fps: float
    weight: float
    file: str
    quality: float | None = None  # stages.measures.quality_score, where the shard stores it
    reason: str = ""  # why a clip of the failures partition was rejected
    index: int = 0  # the clip's index in its file
    root_peak: tuple[float, int] = (0.0, 0)  # highest root (m), at frame
    speed_peak: tuple[float, int] = (0.0, 0)  # fastest root (m/s), at frame
    flags: list[str] = field(default_factory=list)  # the build's flags (joint limits)

    @property
    def seconds(self) -> float:
        return self.frames / self.fps if self.fps > 0 else 0.0


@dataclass
class Inspection:
    """Everything inspect-dataset reports; `summary()` is the JSON form, the arrays feed the plots."""

    path: str
    kind: str  # "dataset", "shards" or "clip files"
    schema_version: int | None = None
    joint_names: list[str] = field(default_factory=list)
    body_names: list[str] | None = None
    clips: list[ClipInfo] = field(default_factory=list)
    failures: list[ClipInfo] = field(default_factory=list)  # the failures partition: rejected, kept for analysis
    shards: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    flags: dict[str, list[str]] = field(default_factory=dict)  # clip id -> the build's flags
    built_from: dict[str, Any] | None = None
    retarget_quality: dict[str, Any] | None = None  # the build's summary of its retargeted clips
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    joint_min: np.ndarray | None = None
    joint_max: np.ndarray | None = None
    joint_lower: np.ndarray | None = None  # the robot's limits, NaN for joints it does not have
    joint_upper: np.ndarray | None = None
    root_height: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    root_speed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    def summary(self) -> dict[str, Any]:
        frames = sum(c.frames for c in self.clips)
        splits: dict[str, Any] = {}
        sources: dict[str, Any] = {}
        for c in self.clips:
            for bucket in (
                splits.setdefault(c.split, _totals()),
                sources.setdefault(c.source, {}).setdefault(c.split, _totals()),
            ):
                bucket["clips"] += 1
                bucket["frames"] += c.frames
                bucket["hours"] += c.seconds / 3600
        for s in self.shards:
            splits.setdefault(s["split"], _totals()).setdefault("shards", []).append(
                {k: v for k, v in s.items() if k != "split"}
            )
        lengths = np.array([c.seconds for c in self.clips]) if self.clips else np.zeros(1)
        by_reason: dict[str, int] = {}
        for r in self.rejected:
            by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + 1
        return _rounded(
            {
                "path": self.path,
                "kind": self.kind,
                "schema_version": self.schema_version,
                "clips": len(self.clips),
                "frames": frames,
                "hours": sum(c.seconds for c in self.clips) / 3600,
                "fps": sorted({c.fps for c in self.clips}),
                "joint_names": self.joint_names,
                "body_names": self.body_names,
                "splits": splits,
                "sources": sources,
                "clip_seconds": {"min": lengths.min(), "median": float(np.median(lengths)), "max": lengths.max()},
                "rejected": {
                    "clips": len(self.rejected),
                    "by_reason": dict(sorted(by_reason.items())),
                    "list": self.rejected,
                },
                "joints": self._joints(),
                "root_height_m": _percentiles(self.root_height, (0, 1, 50, 99, 100)),
                "root_speed_mps": _percentiles(self.root_speed, (50, 95, 99, 100)),
                "built_from": self.built_from,
                "quality_score": _score_summary(self.clips),
                "failures": {
                    "clips": len(self.failures),
                    "frames": sum(c.frames for c in self.failures),
                    "by_reason": dict(sorted(Counter(c.reason for c in self.failures).items())),
                },
                "retarget_quality": self.retarget_quality,
                "duplicates": self.duplicates,
                "notes": self.notes,
            }
        )

    def _joints(self) -> list[dict[str, Any]]:
        if self.joint_min is None or self.joint_max is None or self.joint_lower is None or self.joint_upper is None:
            return []
        rows = []
        for j, name in enumerate(self.joint_names):
            lo, hi = float(self.joint_lower[j]), float(self.joint_upper[j])
            has_limits = np.isfinite(lo) and np.isfinite(hi)
            used_lo, used_hi = float(self.joint_min[j]), float(self.joint_max[j])
            rows.append(
                {
                    "name": name,
                    "min": used_lo,
                    "max": used_hi,
                    "lower": lo if has_limits else None,
                    "upper": hi if has_limits else None,
                    "beyond_limits": bool(has_limits and (used_lo < lo - 1e-6 or used_hi > hi + 1e-6)),
                }
            )
        return rows


def _score_summary(clips: list[ClipInfo]) -> dict[str, Any] | None:
    """How the quality scores of the clips spread, and the worst few; None when no clip has one."""
    scored = sorted(((c.quality, c) for c in clips if c.quality is not None), key=lambda pair: pair[0])
    if not scored:
        return None
    values = np.array([q for q, _ in scored])
    return {
        "clips": len(scored),
        **(_percentiles(values, (0, 10, 50, 100)) or {}),
        "mean": float(values.mean()),
        "lowest": [{"clip_id": c.clip_id, "quality_score": q} for q, c in scored[:WORST_SHOWN]],
    }


def _totals() -> dict[str, Any]:
    return {"clips": 0, "frames": 0, "hours": 0.0}


def _percentiles(values: np.ndarray, qs: tuple[int, ...]) -> dict[str, float] | None:
    if values.size == 0:
        return None
    found = np.percentile(values, qs)
    names = {0: "min", 100: "max"}
    return {names.get(q, f"p{q}"): float(v) for q, v in zip(qs, found)}


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def inspect_dataset(path: Path, robot_spec: str = "unitree_g1", body_order: BodyOrder = "mujoco") -> Inspection:
    """Read a dataset, shard directory, shard file or clip-file directory and describe it."""
    path = Path(path)
    robot = load_robot(robot_spec)
    if not path.exists():
        raise InputError(path, None, "not found")
    collector = _Collector(robot, body_order)
    if is_dataset_dir(path):
        result = Inspection(str(path), "dataset")
        if (path / BUILD_INFO).is_file():
            _read_build_record(path, result)
        else:
            _note(result, f"{path} has no {BUILD_INFO}: not built by mimicdata (the old tool's layout?)")
        manifest = _manifest_rows(path)
        for split, files in dataset_shards(path).items():
            for file in files:
                collector.shard(file, split, path, result, manifest)
    else:
        files = npz_files(path)
        if not files:
            raise InputError(path, None, "holds no .npz files")
        result = Inspection(str(path), "shards")
        loose = []
        for file in files:
            if is_shard(file):
                split = file.parent.name if file.parent.name in PARTITIONS else "unsplit"
                collector.shard(file, split, path if path.is_dir() else path.parent, result, {})
            else:
                loose.append(file)
        for file in loose:
            collector.clip_file(file, path if path.is_dir() else path.parent, result)
        if loose and not result.shards:
            result.kind = "clip files"
    if not result.clips:
        raise InputError(path, None, "no readable clips" + (f" ({'; '.join(result.notes)})" if result.notes else ""))
    collector.finish(result)
    return result


def _read_build_record(path: Path, result: Inspection) -> None:
    info = read_build_report(path)
    result.rejected = [r.model_dump() for r in info.rejected]
    result.flags = {f.clip_id: list(f.flags) for f in info.flagged}
    result.retarget_quality = info.retarget_summary()
    result.duplicates = [d.model_dump() for d in info.duplicates]
    result.built_from = {
        "tool": info.tool.model_dump(),
        "spec": info.spec_path,
        "built_at_utc": info.built_at_utc,
        "robot": info.robot.name if info.robot else None,
        "resharded": info.resharded.model_dump(by_alias=True) if info.resharded else None,
        "fk_check": info.fk_check.model_dump(exclude={"failed"}) if info.fk_check else None,
    }


def _manifest_rows(path: Path) -> dict[tuple[str, int], ManifestRow]:
    """(shard relative to the dataset, clip index) -> its manifest row; the old tool's manifest too."""
    manifest = path / MANIFEST
    return {(r.shard, r.clip_index): r for r in read_manifest(manifest)} if manifest.is_file() else {}


class _Collector:
    """Accumulates names, joint ranges and root distributions one clip at a time."""

    def __init__(self, robot: RobotModel, assumed: BodyOrder = "mujoco") -> None:
        self.robot = robot
        self.assumed = assumed  # the order of files that store no names
        self.names: list[str] | None = None
        self.lo: np.ndarray | None = None
        self.hi: np.ndarray | None = None
        self.heights: list[np.ndarray] = []
        self.speeds: list[np.ndarray] = []

    def shard(
        self, file: Path, split: str, root: Path, result: Inspection, manifest: dict[tuple[str, int], ManifestRow]
    ) -> None:
        try:
            shard = Shard(file)
            lengths = np.asarray(shard["clip_lengths"])
            starts = np.asarray(shard["clip_starts"]) if "clip_starts" in shard else clip_starts(lengths)
            names = self._names(shard, file, result)
            if self.names is not None and names != self.names:
                raise InputError(file, "joint_names", "differ from those of the files before it")
            root_body = self._root_body(shard, file, result)
        except MimicdataError as exc:
            result.notes.append(f"skipped {file}: {exc}")
            return
        n = len(lengths)
        rel = str(file.relative_to(root)) if file.is_relative_to(root) else str(file)
        rows = [manifest.get((rel, i)) for i in range(n)]
        ids = shard_clip_ids(file, shard)
        if "clip_ids" not in shard:  # the old tool's shards: its manifest knows the ids
            ids = [row.clip_id if row else cid for row, cid in zip(rows, ids)]
        fps = shard_clip_fps(shard)
        weights = np.asarray(shard["clip_weights"], dtype=float) if "clip_weights" in shard else np.ones(n)
        quality = np.asarray(shard["clip_quality"], dtype=float) if "clip_quality" in shard else np.full(n, np.nan)
        reasons = [str(r) for r in shard["clip_reject_reasons"]] if "clip_reject_reasons" in shard else [""] * n
        if "schema_version" in shard:
            result.schema_version = int(shard["schema_version"])
        result.shards.append(
            {"path": rel, "split": split, "clips": n, "frames": int(lengths.sum()), "bytes": file.stat().st_size}
        )
        for i in range(n):
            a, b = int(starts[i]), int(starts[i] + lengths[i])
            row = rows[i]
            source = row.source if row else (ids[i].split(":", 1)[0] if ":" in ids[i] else split)
            info = ClipInfo(ids[i], source, split, b - a, float(fps[i]), float(weights[i]), rel,
                            None if np.isnan(quality[i]) else float(quality[i]), reasons[i], i,
                            flags=list(result.flags.get(ids[i], [])))
            tracks = None
            if root_body is not None:
                tracks = _root_tracks(shard.rows("body_pos_w", a, b)[:, root_body], float(fps[i]))
                info.root_peak, info.speed_peak = _peak(tracks[0]), _peak(tracks[1])
            if split == FAILURES:
                result.failures.append(info)  # counted apart, and left out of the ranges of what trains
                continue
            result.clips.append(info)
            self._add(names, shard.rows("joint_pos", a, b), tracks)

    def clip_file(self, file: Path, root: Path, result: Inspection) -> None:
        try:
            clip = foreign_clip(file, self.robot, self.assumed)
        except MimicdataError as exc:
            result.notes.append(f"skipped {file}: {exc}")
            return
        rel = file.relative_to(root) if file.is_relative_to(root) else file
        source = rel.parts[0] if len(rel.parts) > 1 else file.parent.name
        tracks = _root_tracks(clip.body_pos[:, self.robot.body_index(self.robot.root_body)], clip.fps)
        info = ClipInfo(clip.clip_id, source, "unsplit", len(clip.joint_pos), clip.fps, 1.0, str(rel))
        info.root_peak, info.speed_peak = _peak(tracks[0]), _peak(tracks[1])
        result.clips.append(info)
        self._add(list(self.robot.joint_names), clip.joint_pos, tracks)
        if result.body_names is None:
            result.body_names = list(self.robot.body_names)

    def _names(self, shard: Shard, file: Path, result: Inspection) -> list[str]:
        width = shard.header("joint_pos")[0][1]
        stored = shard_names(file, shard, "joint_names")
        if result.body_names is None:
            result.body_names = shard_names(file, shard, "body_names")
        if stored is not None:
            return stored
        try:
            layout = joint_layout(file, width, None, self.robot, self.assumed)
        except InputError:
            _note(result, f"{file.name} has no joint_names and {width} joints: limits unknown")
            return [f"joint_{j}" for j in range(width)]
        if layout.note:
            _note(result, layout.note)
        return list(self.robot.joint_names)

    def _root_body(self, shard: Shard, file: Path, result: Inspection) -> int | None:
        if "body_pos_w" not in shard:
            return None
        names = shard_names(file, shard, "body_names")
        world = shard_world_first(shard, self.robot, names)
        try:
            layout = body_layout(file, shard.header("body_pos_w")[0][1], names, self.robot, world_first=world,
                                 assumed=self.assumed)
            index = layout.index(self.robot, self.robot.root_body)
        except InputError:
            index = -1
        if index >= 0:
            return index
        _note(result, f"{file.name}: root taken as body 0 (no '{self.robot.root_body}' among its body names)")
        return 0

    def _add(self, names: list[str], joint_pos: np.ndarray, tracks: tuple[np.ndarray, np.ndarray] | None) -> None:
        if self.names is None:
            self.names = names
        lo, hi = np.nanmin(joint_pos, axis=0), np.nanmax(joint_pos, axis=0)
        self.lo = lo if self.lo is None else np.minimum(self.lo, lo)
        self.hi = hi if self.hi is None else np.maximum(self.hi, hi)
        if tracks is not None:
            self.heights.append(tracks[0].astype(np.float32))
            if len(tracks[1]):
                self.speeds.append(tracks[1].astype(np.float32))

    def finish(self, result: Inspection) -> None:
        result.joint_names = self.names or []
        result.joint_min, result.joint_max = self.lo, self.hi
        index = {n: j for j, n in enumerate(self.robot.joint_names)}
        result.joint_lower = np.array(
            [self.robot.joint_lower[index[n]] if n in index else np.nan for n in result.joint_names]
        )
        result.joint_upper = np.array(
            [self.robot.joint_upper[index[n]] if n in index else np.nan for n in result.joint_names]
        )
        if self.heights:
            result.root_height = np.concatenate(self.heights)
        if self.speeds:
            result.root_speed = np.concatenate(self.speeds)


WORST_SHOWN = 5  # lowest-scored clips listed in the summary


def _root_tracks(root_pos: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(T,) root heights and (T,) root speeds of one clip (no speeds for a single frame)."""
    root_pos = np.asarray(root_pos, dtype=float)
    if len(root_pos) < 2:
        return root_pos[:, 2], np.zeros(0)
    return root_pos[:, 2], np.linalg.norm(np.gradient(root_pos, 1.0 / fps, axis=0), axis=-1)


def _peak(values: np.ndarray) -> tuple[float, int]:
    """(largest value, its frame); (0, 0) for none."""
    if not len(values):
        return 0.0, 0
    top = int(np.argmax(values))
    return float(values[top]), top


def _note(result: Inspection, text: str) -> None:
    if text not in result.notes:
        result.notes.append(text)
