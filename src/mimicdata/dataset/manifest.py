"""manifest_resolved.csv: one row per kept clip, sorted by clip id."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

from ..errors import ShardError
from ..infra.atomic import write_text_atomic


@dataclass(frozen=True)
class ManifestRow:
    clip_id: str
    source: str
    file_rel: str
    num_frames: int
    fps: int
    resolved_split: str
    shard: str  # relative to the dataset directory
    clip_index: int
    weight: float
    input_sha256: str
    quality_score: float = math.nan  # stages.measures.quality_score; empty in the file when not measured


COLUMNS = tuple(f.name for f in fields(ManifestRow))
EARLIER_COLUMNS = COLUMNS[:-1]  # mimicdata before the quality score


def write_manifest(path: Path, rows: Iterable[ManifestRow]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in sorted(rows, key=lambda r: r.clip_id):
        writer.writerow([_cell(getattr(row, c)) for c in COLUMNS])
    write_text_atomic(path, buf.getvalue())


# The old tool's NPZ-era manifest: the shard path is absolute and no input hash is kept.
OLD_TOOL_COLUMNS = ("clip_id", "source", "file_rel", "num_frames", "fps", "resolved_split", "resolved_npz_path",
                    "weight", "clip_index")


def read_manifest(path: Path) -> list[ManifestRow]:
    """Rows of a mimicdata manifest, or of the old tool's (shard made relative to the dataset where it can be)."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = tuple(reader.fieldnames or ())
        if columns not in (COLUMNS, EARLIER_COLUMNS, OLD_TOOL_COLUMNS):
            raise ShardError(
                f"{path}: columns {list(columns)} are neither mimicdata's {list(COLUMNS)} "
                f"nor the old tool's {list(OLD_TOOL_COLUMNS)}"
            )
        old = columns == OLD_TOOL_COLUMNS
        try:
            return [
                ManifestRow(
                    clip_id=r["clip_id"], source=r["source"], file_rel=r["file_rel"],
                    num_frames=int(r["num_frames"]), fps=int(float(r["fps"])), resolved_split=r["resolved_split"],
                    shard=_relative_shard(path.parent, r["resolved_npz_path"]) if old else r["shard"],
                    clip_index=int(r["clip_index"]), weight=float(r["weight"]),
                    input_sha256="" if old else r["input_sha256"],
                    quality_score=float(r.get("quality_score") or "nan"),
                )
                for r in reader
            ]
        except (TypeError, ValueError) as exc:
            raise ShardError(f"{path}: line {reader.line_num}: {exc}") from None


def _cell(value: object) -> object:
    """What a manifest cell holds: a NaN (not measured) is left empty."""
    return "" if isinstance(value, float) and math.isnan(value) else value


def _relative_shard(dataset: Path, stored: str) -> str:
    shard = Path(stored)
    for base in (dataset.resolve(), dataset):
        if shard.is_absolute() and shard.is_relative_to(base):
            return shard.relative_to(base).as_posix()
    # Written on another machine: train/shard_000.npz is where the old tool kept it inside the dataset.
    parts = shard.parts
    return "/".join(parts[-2:]) if len(parts) >= 2 and parts[-2] in ("train", "val") else stored
