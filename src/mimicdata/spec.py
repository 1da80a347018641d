"""The dataset spec: pydantic models of the YAML, with errors that name file and field."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import SpecError
from .retarget.formats import format_names

SOURCE_TYPES = ("bvh", "pkl", "npz", "seed_csv", "csv", "hdf5")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PreprocessSpec(_Strict):
    normalize_root_xy: bool = False
    ground_align: Literal["none", "clip_min_foot", "first_frame_foot"] = "none"
    min_frames: int = Field(1, gt=0)
    max_root_lin_vel: float | None = Field(None, gt=0)
    min_peak_body_height: float | None = Field(None, ge=0)
    max_all_off_ground_s: float | None = Field(None, gt=0)
    off_ground_height: float = Field(0.2, ge=0)
    max_feet_off_ground_s: float | None = Field(None, gt=0)
    foot_off_ground_height: float = Field(0.08, ge=0)
    root_body_name: str | None = None
    foot_body_names: tuple[str, ...] | None = None


class SourceSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    type: Literal["bvh", "pkl", "npz", "seed_csv", "csv", "hdf5"]
    input: Path
    weight: float = Field(1.0, gt=0)
    exclude_patterns: tuple[str, ...] = ()
    max_frames: int | None = Field(None, gt=0)
    fps: float | None = Field(None, gt=0, le=1000)
    # seed_csv
    metadata_csv: Path | None = None
    filters: dict[str, list[Any]] = Field(default_factory=dict)
    # bvh
    # A skeleton format file in mimicdata/retarget/configs/formats (lafan1, hc_mocap, nokov, cmu, ...).
    bvh_format: str | None = None
    robot_name: str = "unitree_g1"
    # hdf5
    root_pos_key: str = "root_pos"
    root_quat_key: str = "root_quat"
    joint_pos_key: str = "joint_pos"
    quat_order: Literal["wxyz", "xyzw"] = "wxyz"

    @model_validator(mode="after")
    def _type_specific(self) -> "SourceSpec":
        if self.type == "csv" and self.fps is None:
            raise ValueError("a csv source needs `fps`: Unitree-layout CSV files store no frame rate")
        if self.type == "bvh" and self.bvh_format is None:
            raise ValueError(f"a bvh source needs `bvh_format`, one of {format_names()}")
        if self.bvh_format is not None and self.bvh_format not in format_names():
            raise ValueError(f"unknown bvh_format {self.bvh_format!r}; known formats are {format_names()}")
        if self.type != "bvh" and self.bvh_format is not None:
            raise ValueError("`bvh_format` only applies to bvh sources")
        if self.type != "seed_csv" and (self.metadata_csv is not None or self.filters):
            raise ValueError("`metadata_csv` and `filters` only apply to seed_csv sources")
        if self.filters and self.metadata_csv is None:
            raise ValueError("`filters` need a `metadata_csv` to filter on")
        return self

    @field_validator("exclude_patterns")
    @classmethod
    def _non_empty_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not p.strip() for p in value):
            raise ValueError("exclude patterns must be non-empty glob strings")
        return value


class SplitSpec(_Strict):
    group_pattern: str | None = None

    @field_validator("group_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class DatasetSpec(_Strict):
    name: str
    target_fps: int = Field(gt=0, le=1000)
    val_percent: int = Field(ge=1, le=99)
    hash_salt: str = ""
    preprocess: PreprocessSpec = PreprocessSpec()
    sources: tuple[SourceSpec, ...] = Field(min_length=1)
    robot: str = "unitree_g1"
    split: SplitSpec = SplitSpec()

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", value) or ".." in value:
            raise ValueError(
                f"must be a plain directory name starting with a letter or digit (then letters, digits, '_', '-', "
                f"'.'; no path separators or '..'), found {value!r}"
            )
        return value

    @field_validator("hash_salt", mode="before")
    @classmethod
    def _salt_as_text(cls, value: Any) -> Any:
        return "" if value is None else str(value) if isinstance(value, (int, float)) else value

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, value: tuple[SourceSpec, ...]) -> tuple[SourceSpec, ...]:
        seen: set[str] = set()
        dupes = [s.name for s in value if s.name in seen or seen.add(s.name)]
        if dupes:
            raise ValueError(f"source names must be unique; repeated: {sorted(set(dupes))}")
        return value

    @property
    def has_clip_sources(self) -> bool:
        """Whether clips/<source>/ is kept, as the old tool did for these types."""
        return any(s.type in ("bvh", "npz") for s in self.sources)


def _suggest(key: str, allowed: list[str]) -> str:
    match = difflib.get_close_matches(key, allowed, n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the model the error location points into."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        if field is None:
            return []
        ann = field.annotation
        for candidate in getattr(ann, "__args__", ()) or (ann,):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                current = candidate
                break
        else:
            return []
    return list(current.model_fields)


def _field_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def format_validation_error(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: invalid dataset spec ({exc.error_count()} problem{'s' * (exc.error_count() > 1)})"]
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p not in ("function-after",))
        where = _field_path(loc)
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            allowed = _allowed_keys(DatasetSpec, loc)
            msg = f"unknown key {key!r}{_suggest(key, allowed)}; allowed keys: {', '.join(allowed)}"
        elif err["type"] == "missing":
            msg = "required field is missing"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if "input" in err and not isinstance(err["input"], (dict, list)):
                msg += f" (got {err['input']!r})"
        lines.append(f"  {where}: {msg}")
    return "\n".join(lines)


def load_spec(path: str | Path) -> DatasetSpec:
    """Read, validate and resolve a spec; relative inputs are taken from the spec's directory."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: spec file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read spec: {exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{path}: YAML syntax error at {where}: {problem}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping of spec fields at top level, got {type(raw).__name__}")
    try:
        spec = DatasetSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(format_validation_error(path, exc)) from None
    return resolve_paths(spec, path.resolve().parent)


def resolve_paths(spec: DatasetSpec, base: Path) -> DatasetSpec:
    def absolute(p: Path) -> Path:
        p = p.expanduser()
        return p if p.is_absolute() else (base / p).resolve()

    sources = tuple(
        s.model_copy(
            update={
                "input": absolute(s.input),
                "metadata_csv": absolute(s.metadata_csv) if s.metadata_csv else None,
            }
        )
        for s in spec.sources
    )
    robot = spec.robot
    if robot.endswith((".urdf", ".xml", ".mjcf", ".yaml", ".yml")):
        robot = str(absolute(Path(robot)))
    return spec.model_copy(update={"sources": sources, "robot": robot})


def check_inputs(spec: DatasetSpec, spec_path: str | Path) -> None:
    """Fail before any work, listing every input that is missing or of the wrong kind."""
    from .discover import input_problem  # discover builds on this module

    problems = []
    for i, s in enumerate(spec.sources):
        if not s.input.exists():
            problems.append(f"  sources[{i}] ({s.name}).input: {s.input} does not exist")
        elif not (s.input.is_file() or s.input.is_dir()):
            problems.append(f"  sources[{i}] ({s.name}).input: {s.input} is neither a file nor a directory")
        elif problem := input_problem(s):
            problems.append(f"  sources[{i}] ({s.name}).input: {problem}")
        if s.metadata_csv is not None and not s.metadata_csv.is_file():
            problems.append(f"  sources[{i}] ({s.name}).metadata_csv: {s.metadata_csv} is not a file")
    if problems:
        raise SpecError(f"{spec_path}: {len(problems)} input(s) missing or unusable:\n" + "\n".join(problems))


def source_spec(**fields: Any) -> SourceSpec:
    """A SourceSpec from keyword fields (None means unset), e.g. from command-line options."""
    given = {k: v for k, v in fields.items() if v is not None}
    try:
        spec = SourceSpec.model_validate(given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_field_path(tuple(e['loc'])) if e['loc'] else 'options'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise SpecError(f"invalid source options: {problems}") from None
    if not spec.input.exists():
        raise SpecError(f"input {spec.input} does not exist")
    return spec
