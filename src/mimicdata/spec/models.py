"""The dataset spec as pydantic models: every field honoured or refused, never dropped.

A source's fields are the common ones (SourceBase) plus the options its
type's reader declares in its signature (mimicdata.sources.reader_parameters):
a field that a source type does not use is an error naming it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, cast

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from ..motion import MAX_FPS
from ..sources import READERS, reader_parameters

SOURCE_TYPES = tuple(READERS)
FORMAT_SUFFIXES = (".yaml", ".yml")


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
    # Quality gate (stages/measures.py), each off unless given: the largest fraction of frames
    # allowed to break a rule, or the largest peak.
    max_joint_limit_excess_frames: float | None = Field(None, ge=0, le=1)
    max_joint_speed_limit_frames: float | None = Field(None, ge=0, le=1)
    max_self_collision_frames: float | None = Field(None, ge=0, le=1)
    max_floor_penetration_frames: float | None = Field(None, ge=0, le=1)
    max_body_speed: float | None = Field(None, gt=0)
    max_fall_frames: float | None = Field(None, ge=0, le=1)
    fall_height_fraction: float = Field(0.5, gt=0, lt=1)
    max_rms_joint_jerk: float | None = Field(None, gt=0)
    max_ik_residual_frames: float | None = Field(None, ge=0, le=1)  # retargeted (bvh) clips only
    # The same motion through two sources (build/duplicates.py) always shares a split; this keeps one.
    drop_duplicates: bool = False
    # Multiply each clip's sampling weight (clip_weights) by its quality score (stages/measures.py).
    weight_by_quality: bool = False


class SourceBase(_Strict):
    """What every source has, whatever its type."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    type: str
    input: Path
    weight: float = Field(1.0, gt=0)
    exclude_patterns: tuple[str, ...] = ()
    max_frames: int | None = Field(None, gt=0)
    # The old tool's key: it names the robot the source is meant for, which must be the dataset's.
    robot_name: str | None = None
    # Add every kept clip's left-right mirror image (clip id "<id>:mirror"), in the same split.
    mirror: bool = False

    @field_validator("exclude_patterns")
    @classmethod
    def _non_empty_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not p.strip() for p in value):
            raise ValueError("exclude patterns must be non-empty glob strings")
        return value

    def reader_options(self) -> dict[str, Any]:
        """The keyword options this source's reader takes, as the spec gives them."""
        return {name: getattr(self, name) for name in reader_parameters(self.type)}

    def format_file(self) -> Path | None:
        """A skeleton format given as a file (its content is part of the cache key), or None."""
        return None



class _BvhSource(SourceBase):
    bvh_format: str = "auto"  # each file's own (retarget/detect.py) unless named

    @field_validator("bvh_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        from ..retarget.formats import format_names

        if not value.endswith(FORMAT_SUFFIXES) and value not in ("auto", *format_names()):
            raise ValueError(
                f"unknown bvh_format {value!r}; known formats are auto, {format_names()}, or give the path of a "
                ".yaml format file"
            )
        return value

    def format_file(self) -> Path | None:
        return Path(self.bvh_format) if self.bvh_format.endswith(FORMAT_SUFFIXES) else None


class _SeedCsvSource(SourceBase):
    # Not reader options: they choose which files are read (see build.discover).
    metadata_csv: Path | None = None
    filters: dict[str, list[Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _filters_need_metadata(self) -> _SeedCsvSource:
        if self.filters and self.metadata_csv is None:
            raise ValueError("`filters` need a `metadata_csv` to filter on")
        return self


_TYPE_BASES: dict[str, type[SourceBase]] = {"bvh": _BvhSource, "seed_csv": _SeedCsvSource}


def _source_model(source_type: str) -> type[SourceBase]:
    base = _TYPE_BASES.get(source_type, SourceBase)
    options = {n: o for n, o in reader_parameters(source_type).items() if n not in base.model_fields}
    name = "".join(part.title() for part in source_type.split("_")) + "Source"
    model = create_model(name, __base__=base, type=(Literal[source_type], ...), **options)  # type: ignore[call-overload]
    return cast(type[SourceBase], model)


SOURCE_MODELS: dict[str, type[SourceBase]] = {t: _source_model(t) for t in SOURCE_TYPES}
# What code that handles any source sees; every concrete source is one of SOURCE_MODELS.
SourceSpec = SourceBase
if TYPE_CHECKING:
    AnySource = SourceBase
else:
    AnySource = Annotated[Union[tuple(SOURCE_MODELS.values())], Field(discriminator="type")]


def source_types_with_field(name: str) -> list[str]:
    return [t for t, m in SOURCE_MODELS.items() if name in m.model_fields]


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
    target_fps: int = Field(gt=0, le=int(MAX_FPS))
    val_percent: int = Field(ge=1, le=99)
    hash_salt: str = ""
    preprocess: PreprocessSpec = PreprocessSpec()
    sources: tuple[AnySource, ...] = Field(min_length=1)
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

    @model_validator(mode="before")
    @classmethod
    def _robot_from_robot_name(cls, data: Any) -> Any:
        """A spec of the old tool names its robot per source (`robot_name`); without `robot`, that choice holds."""
        if isinstance(data, dict) and "robot" not in data and isinstance(data.get("sources"), (list, tuple)):
            named = {s.get("robot_name") for s in data["sources"] if isinstance(s, dict) and s.get("robot_name")}
            if len(named) == 1:
                return {**data, "robot": named.pop()}
        return data

    @model_validator(mode="after")
    def _one_robot(self) -> DatasetSpec:
        wrong = [
            f"sources[{i}].robot_name: {s.robot_name!r} disagrees with the dataset's robot {self.robot!r}"
            for i, s in enumerate(self.sources)
            if s.robot_name is not None and s.robot_name != self.robot
        ]
        if wrong:
            raise ValueError("; ".join(wrong) + " (a dataset has one robot: set `robot`, or the same robot_name everywhere)")
        return self

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, value: tuple[SourceSpec, ...]) -> tuple[SourceSpec, ...]:
        names = [s.name for s in value]
        dupes = [n for i, n in enumerate(names) if n in names[:i]]
        if dupes:
            raise ValueError(f"source names must be unique; repeated: {sorted(set(dupes))}")
        return value

    @property
    def has_clip_sources(self) -> bool:
        """Whether clips/<source>/ is kept, as the old tool did for these types."""
        return any(s.type in ("bvh", "npz") for s in self.sources)


