"""manifest_resolved.csv: one row per kept clip, sorted by clip id."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

from .atomic import write_text_atomic
from .errors import ShardError


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


COLUMNS = tuple(f.name for f in fields(ManifestRow))


def write_manifest(path: Path, rows: Iterable[ManifestRow]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in sorted(rows, key=lambda r: r.clip_id):
        writer.writerow([getattr(row, c) for c in COLUMNS])
    write_text_atomic(path, buf.getvalue())


def read_manifest(path: Path) -> list[ManifestRow]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ShardError(f"{path}: columns {reader.fieldnames} are not the manifest's {list(COLUMNS)}")
        return [
            ManifestRow(
                clip_id=r["clip_id"], source=r["source"], file_rel=r["file_rel"],
                num_frames=int(r["num_frames"]), fps=int(r["fps"]), resolved_split=r["resolved_split"],
                shard=r["shard"], clip_index=int(r["clip_index"]), weight=float(r["weight"]),
                input_sha256=r["input_sha256"],
            )
            for r in reader
        ]
