"""The build report: what `build-dataset` returns and writes as `build_info.json`.

One typed record, read back the same way by everything that uses it (the CLI summary, inspect-dataset,
split-shards, train-motion), so no reader spells a key of its own. Fields added in later versions have
defaults, so a dataset built by an earlier mimicdata still reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InputError
from .layout import BUILD_INFO


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class ShardEntry(_Record):
    path: str  # relative to the dataset folder
    clips: int
    frames: int
    bytes: int
    sha256: str
    # What the shard was made from (its clips' content keys, weights, scores, the rate and the robot's names):
    # a rebuild whose shard at this path would have the same key keeps this file instead of writing it again.
    key: str = ""


class SplitEntry(_Record):
    clips: int = 0
    frames: int = 0
    hours: float = 0.0
    shards: list[ShardEntry] = Field(default_factory=list)


class SourceEntry(_Record):
    type: str
    input: str
    scanned: int
    excluded: dict[str, int] = Field(default_factory=dict)  # pattern kind -> files left out
    kept: int
    rejected: int
    rejected_by_reason: dict[str, int] = Field(default_factory=dict)


class Rejection(_Record):
    clip_id: str
    source: str
    file: str
    reason: str
    detail: str = ""
    quality_score: float | None = None  # of the clip as it would have been stored; None if not processable
    shard: str | None = None  # where the failures partition holds it (relative to the dataset), if it does
    clip_index: int | None = None


class FlaggedClip(_Record):
    clip_id: str
    flags: list[str]


class NotedClip(_Record):
    clip_id: str
    notes: list[str]


class RetargetQuality(_Record):
    """A retargeted clip measured on the robot's collision geometry (mimicdata.retarget.quality.Quality),
    at the take's own rate, before resampling."""

    clip_id: str
    frames: int
    self_collision_frames: float  # fraction of frames with two capsules overlapping by more than 1 cm
    deepest_self_penetration: float  # m
    worst_pair: str = ""
    floor_penetration_frames: float  # fraction of frames with any geom more than 2 cm below the floor
    deepest_floor_penetration: float  # m
    limit_violation_frames: float
    speed_limit_frames: float = 0.0
    below_2cm_frames: float  # soles
    median_lowest_sole: float  # m
    stance_foot_speed: float  # m/s
    rms_joint_acc: float
    rms_joint_jerk: float
    end_effector_error: dict[str, float] = Field(default_factory=dict)  # m
    ik_residual_frames: float = 0.0  # frames with a hand or foot ending > 5 cm from its IK target
    planted_foot_tilt: float = 0.0  # deg, median tilt of the robot sole off level while the performer's foot is planted


class DuplicateEntry(_Record):
    """Clips that are one motion (build/duplicates.py): the first is the one kept when duplicates are dropped."""

    clip_ids: list[str]
    how: str  # "same input bytes" or "same motion"
    kept_all: bool = True  # False: preprocess.drop_duplicates left out all but the first


class FkFailure(_Record):
    clip_id: str
    problems: list[str]


class FkCheckSummary(_Record):
    clips: int
    frames_per_clip: int
    passed: int
    worst_pos_max: float
    worst_rot_max: float
    failed: list[FkFailure] = Field(default_factory=list)


class CacheUse(_Record):
    dir: str | None = None
    clips_from_cache: int = 0
    motions_from_cache: int = 0
    computed: int = 0


class ToolInfo(_Record):
    name: str = "mimicdata"
    version: str = ""


class RobotEntry(_Record):
    name: str
    sha256: str = ""
    joint_names: list[str] = Field(default_factory=list)
    body_names: list[str] = Field(default_factory=list)


class OptionsEntry(_Record):
    jobs: int = 1
    max_shard_size_mb: float = 0.0
    fk_check: bool = False
    strict: bool = False


class Resharded(_Record):
    source: str = Field(alias="from")  # the dataset split-shards read
    max_shard_bytes: int
    input_build_info_sha256: str
    at_utc: str


class BuildReport(_Record):
    dataset: str
    tool: ToolInfo = Field(default_factory=ToolInfo)
    schema_version: int | None = None
    spec: dict[str, Any] = Field(default_factory=dict)  # the resolved spec, as its own models dump it
    robot: RobotEntry | None = None
    options: OptionsEntry = Field(default_factory=OptionsEntry)
    sources: dict[str, SourceEntry] = Field(default_factory=dict)
    rejected: list[Rejection] = Field(default_factory=list)
    flagged: list[FlaggedClip] = Field(default_factory=list)
    notes: list[NotedClip] = Field(default_factory=list)
    retarget_quality: list[RetargetQuality] = Field(default_factory=list)
    duplicates: list[DuplicateEntry] = Field(default_factory=list)
    splits: dict[str, SplitEntry] = Field(default_factory=dict)
    failures: SplitEntry | None = None  # the failures partition: rejected clips that could be processed
    timings_s: dict[str, float] = Field(default_factory=dict)
    cache: CacheUse | None = None
    fk_check: FkCheckSummary | None = None
    spec_path: str | None = None
    built_at_utc: str | None = None
    resharded: Resharded | None = None
    dataset_dir: str | None = None  # where this build put it; not stored, the file is inside it

    @property
    def kept(self) -> int:
        return sum(s.kept for s in self.sources.values())

    def retarget_summary(self) -> dict[str, Any] | None:
        """The retarget quality of all retargeted clips at once: shares weighted by frames, the deepest overlap."""
        measured = self.retarget_quality
        if not measured:
            return None
        frames = sum(q.frames for q in measured)

        def share(key: str) -> float:
            return sum(getattr(q, key) * q.frames for q in measured) / max(frames, 1)

        worst = max(measured, key=lambda q: q.deepest_self_penetration)
        return {
            "clips": len(measured),
            "frames": frames,
            **{key: share(key) for key in ("self_collision_frames", "floor_penetration_frames", "stance_foot_speed",
                                           "ik_residual_frames")},
            "deepest_self_penetration": {"clip_id": worst.clip_id, "m": worst.deepest_self_penetration,
                                         "pair": worst.worst_pair},
        }

    def shard_hashes(self) -> dict[str, str]:
        """Shard path (relative to the dataset) -> sha256, over the train and val splits (not the failures)."""
        return {s.path: s.sha256 for split in self.splits.values() for s in split.shards}

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_json(self) -> str:
        """The text of build_info.json."""
        stored = self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"dataset_dir"})
        return json.dumps(stored, indent=2) + "\n"


def read_build_report(path: Path) -> BuildReport:
    """Read a build_info.json (or the one in a dataset folder), naming the file and field if it is malformed."""
    path = Path(path)
    if path.is_dir():
        path = path / BUILD_INFO
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise InputError(path, None, f"cannot be read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, None, f"is not valid JSON ({exc})") from None
    try:
        return BuildReport.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or None
        raise InputError(path, where, f"{first['msg']} (not a build_info.json this version can read)") from None
