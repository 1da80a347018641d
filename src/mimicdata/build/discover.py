"""Which files a source contributes, and the clip id of each."""

from __future__ import annotations

import csv
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..dataset.layout import looks_like_dataset
from ..errors import InputError, MimicdataError, SpecError
from ..sources import CLIP_NAMES, SUFFIXES
from ..spec import DatasetSpec, SourceSpec
from ..stages.mirror import MIRROR_SUFFIX


@dataclass(frozen=True)
class ClipItem:
    """One input file of one source."""

    source: str
    path: Path
    rel: str  # posix path relative to the source input, without suffix (and /<clip name> for a many-clip file)
    mirrored: bool = False  # the file's motion mirrored left to right (stages/mirror.py)
    part: int | None = None  # the clip's index in a file that holds many (sources.CLIP_NAMES)

    @property
    def clip_id(self) -> str:
        return f"{self.source}:{self.rel}" + (MIRROR_SUFFIX if self.mirrored else "")

    @property
    def file_rel(self) -> str:
        if self.part is not None:
            folder, _, clip = self.rel.rpartition("/")
            return f"{folder}{self.path.suffix}#{clip}"
        return f"{self.rel}{self.path.suffix}"


@dataclass
class SourceScan:
    """Files found for a source and those left out before any reading, with reasons."""

    items: list[ClipItem] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)


def input_problem(source: SourceSpec) -> str | None:
    """Why an existing input cannot serve its source's type, or None if it can."""
    suffixes = SUFFIXES[source.type]
    root = source.input
    if root.is_file() and root.suffix.lower() not in suffixes:
        return (
            f"{root} is a {root.suffix or 'suffix-less'} file; a {source.type} source takes "
            f"{'/'.join(suffixes)} files or a folder of them"
        )
    # Pointing an npz source at a dataset would ingest our own shards.
    if looks_like_dataset(root):
        return f"{root} is a built dataset directory; point the source at motion files, not at a mimicdata output"
    return None


def check_inputs(spec: DatasetSpec, spec_path: str | Path) -> None:
    """Fail before any work, listing every input that is missing or of the wrong kind."""
    problems = []
    for i, s in enumerate(spec.sources):
        where = f"  sources[{i}] ({s.name})"
        if not s.input.exists():
            problems.append(f"{where}.input: {s.input} does not exist")
        elif not (s.input.is_file() or s.input.is_dir()):
            problems.append(f"{where}.input: {s.input} is neither a file nor a directory")
        elif problem := input_problem(s):
            problems.append(f"{where}.input: {problem}")
        metadata = getattr(s, "metadata_csv", None)
        if metadata is not None and not metadata.is_file():
            problems.append(f"{where}.metadata_csv: {metadata} is not a file")
        fmt = s.format_file()
        if fmt is not None and not fmt.is_file():
            problems.append(f"{where}.bvh_format: skeleton format file {fmt} does not exist")
    if problems:
        raise SpecError(f"{spec_path}: {len(problems)} input(s) missing or unusable:\n" + "\n".join(problems))


def scan_source(source: SourceSpec) -> SourceScan:
    suffixes = SUFFIXES[source.type]
    root = source.input
    problem = input_problem(source)
    if problem:
        raise SpecError(f"source {source.name!r}: {problem}")
    if root.is_file():
        files = [(root, root.stem)]
    else:
        files = [
            (p, PurePosixPath(p.relative_to(root).as_posix()).with_suffix("").as_posix())
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix.lower() in suffixes
            # Hidden files and folders (a build's .cache or .staging among them) are never inputs.
            and not any(part.startswith(".") for part in p.relative_to(root).parts)
        ]
    scan = SourceScan()
    for path, rel in files:
        if _excluded(path, rel, source.exclude_patterns):
            scan.excluded["exclude_patterns"] = scan.excluded.get("exclude_patterns", 0) + 1
            continue
        if source.type in CLIP_NAMES:
            names = _clip_names(source, path)
            scan.items += [ClipItem(source.name, path, f"{rel}/{name}", part=k) for k, name in enumerate(names)]
            if not names:  # unreadable: one item for the file, which the build reports with the reader's reason
                scan.items.append(ClipItem(source.name, path, rel))
        else:
            scan.items.append(ClipItem(source.name, path, rel))
    if getattr(source, "bvh_format", None) == "auto":
        _check_detected_formats(source, scan.items)
    if getattr(source, "filters", None) and getattr(source, "metadata_csv", None) is not None:
        allowed = _seed_metadata_allowed(source)
        kept = [i for i in scan.items if i.rel in allowed or PurePosixPath(i.rel).name in allowed]
        if len(kept) < len(scan.items):
            scan.excluded["metadata_filters"] = len(scan.items) - len(kept)
        scan.items = kept
    return scan


def _check_detected_formats(source: SourceSpec, items: list[ClipItem]) -> None:
    """Every file of a `bvh_format: auto` source fits exactly one skeleton format, before any work; a file
    that cannot be read at all is left to its reading, which reports it as a bad clip."""
    from ..retarget.detect import detect_format

    undecided = []
    for item in items:
        try:
            detect_format(item.path)
        except SpecError as exc:
            undecided.append(str(exc))
        except InputError:
            continue
    if undecided:
        shown = "\n  ".join(undecided[:5]) + (f"\n  ... and {len(undecided) - 5} more" if len(undecided) > 5 else "")
        raise SpecError(f"source {source.name!r}: bvh_format auto cannot decide for {len(undecided)} file(s):\n  {shown}")


def _clip_names(source: SourceSpec, path: Path) -> list[str]:
    """The clips a many-clip file holds; none for a file that cannot be opened (its reading says why)."""
    try:
        return CLIP_NAMES[source.type](path)
    except MimicdataError:
        return []


def _excluded(path: Path, rel: str, patterns: tuple[str, ...]) -> bool:
    candidates = [c.lower() for c in (rel, rel + path.suffix, path.name, path.stem)]
    return any(fnmatch.fnmatchcase(c, p.lower()) for p in patterns for c in candidates)


def _cell_matches(cell: str, allowed: Any) -> bool:
    """YAML values against CSV text: `false` matches False/false/0, numbers match numerically."""
    text = cell.strip()
    if isinstance(allowed, bool):
        return text.lower() in (("true", "1", "yes") if allowed else ("false", "0", "no"))
    if isinstance(allowed, (int, float)):
        try:
            return float(text) == float(allowed)
        except ValueError:
            return False
    return text == str(allowed)


def _seed_metadata_allowed(source: SourceSpec) -> set[str]:
    """Clip keys (relative path without suffix, or bare stem) whose metadata row passes every filter."""
    path: Path = getattr(source, "metadata_csv")
    filters: dict[str, list[Any]] = getattr(source, "filters")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in filters if c not in header]
        if missing:
            raise InputError(path, ", ".join(missing), f"filter column(s) not in the header {header}")
        path_column = next((c for c in ("move_g1_path", "filename", "file", "path") if c in header), None)
        if path_column is None:
            raise InputError(path, "move_g1_path", f"no column naming the motion file; header is {header}")
        allowed: set[str] = set()
        for row in reader:
            if all(any(_cell_matches(row[c], v) for v in values) for c, values in filters.items()):
                name = PurePosixPath(row[path_column].strip().replace("\\", "/"))
                allowed.add(name.with_suffix("").name)
                allowed.add(name.with_suffix("").as_posix())
    return allowed
