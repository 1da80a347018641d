"""Skeleton formats and robot retarget configs, both loaded from data files.

Adding a skeleton means adding one YAML file to ``configs/formats/``: which joint
plays each role, the length unit, the up axis and how its rotation offsets
are calibrated.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationError

from ..errors import InputError, SpecError
from ..motion import SkeletonMotion

FORMATS = Path(__file__).parent / "configs" / "formats"
ROBOTS = Path(__file__).parent / "configs" / "robots"

ROLES = (
    "pelvis",
    "torso",
    "head",
    *(f"{side}_{part}" for side in ("left", "right") for part in ("hip", "knee", "ankle", "toe", "shoulder", "elbow", "wrist")),
)
# Roles whose orientation drives a robot body, and so need a rotation offset.
ORIENTED_ROLES = ("pelvis", "torso", "left_ankle", "right_ankle", "left_wrist", "right_wrist")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Calibration(_Strict):
    # `rest`: each file's rest pose is an upright T-pose and calibrates itself.
    # `stored`: offsets measured once on a T-pose frame (tools/calibrate_bvh_format.py).
    source: Literal["rest", "stored"] = Field(alias="from")
    measured_on: str | None = None
    # Stored offsets hold for files whose rest pose is the calibration file's: its hips-to-head direction
    # (Z-up), which bvh_format auto checks (detect.py).
    rest_up: tuple[float, float, float] | None = None
    offsets: dict[str, tuple[float, float, float, float]] = {}


class BvhFormat(_Strict):
    name: str
    length_unit: PositiveFloat  # metres per file unit
    up_axis: Literal["y", "z"]
    joints: dict[str, str | list[str]]
    calibration: Calibration

    def candidates(self, role: str) -> list[str]:
        names = self.joints[role]
        return [names] if isinstance(names, str) else list(names)


class TaskWeights(_Strict):
    body: str
    position: float = 0.0
    orientation: float = 0.0


class ChainSettings(_Strict):
    tasks: list[str]
    smoothing: float = Field(default=0.0, ge=0)


class SolverSettings(_Strict):
    iterations: int = Field(ge=1)  # Gauss-Newton steps a frame may take (problem.IkProblem.solve_in_order)
    damping: float = Field(ge=0)
    posture_weight: float = Field(ge=0)
    tolerance: float = Field(default=1e-4, gt=0)  # rad: a frame whose step moves no joint more is solved


class SelfCollisionSettings(_Strict):
    margin: float = Field(ge=0)  # m kept between any two checked capsules
    # Chains that move out of the way when they touch another chain; a pair between two of
    # them, or two others, is shared.
    yielding: list[str] = []
    # Hanging arms spread at least as far from the body as the robot's collision geometry needs (arms.py).
    spread_arms: bool = False


class FloorSettings(_Strict):
    margin: float = Field(ge=0)  # m kept between any geom and the floor
    chains: list[str]  # chains whose geoms the IK holds up (feet excepted); the base is lifted for the rest


class StanceSettings(_Strict):
    blend: float = Field(gt=0)  # s to move into and out of a locked foot placement


class SwingSettings(_Strict):
    height: float = Field(gt=0)  # m the lowest sole point of a swing foot clears the floor by (swing.py)
    rise: float = Field(gt=0)  # s from a contact to full clearance, and from it to the next contact


class ReachSettings(_Strict):
    rounds: int = Field(ge=1)  # times the base moves toward the feet that fall short and the legs are solved again
    most: float = Field(gt=0)  # m the base may move from the performer's pelvis (reach.py)
    fade: float = Field(gt=0)  # s over which a foot leaving the floor stops counting, and starts again before landing


class ReplantSettings(_Strict):
    rounds: int = Field(ge=1)  # times the feet a leg cannot hold are planted farther out and the legs solved again
    fade: float = Field(gt=0)  # s over which the outward shift fades in before a take's first contact, out after its last


class ConstraintSettings(_Strict):
    weight: float = Field(gt=0)  # per metre of violation, against task weights in per metre too
    iterations: int = Field(ge=1)  # constrained iterations on the frames that need them
    # Pull (per rad^2) toward the unconstrained solution while the constraints move it: the
    # correction is the smallest one, and as smooth in time as the solution it corrects.
    posture_weight: float = Field(default=0.0, ge=0)
    # Largest joint change per constrained iteration (rad): stiff rows linearised over a large
    # rotation would throw a limb from one side of a contact to the other.
    max_step: float = Field(default=0.5, gt=0)
    self_collision: SelfCollisionSettings | None = None
    floor: FloorSettings | None = None
    stance_lock: StanceSettings | None = None
    swing_clearance: SwingSettings | None = None
    base_reach: ReachSettings | None = None
    foot_reach: ReplantSettings | None = None  # replant.py
    speed_limits: bool = False


class RetargetConfig(_Strict):
    robot: str
    tpose: dict[str, float]
    legs: dict[Literal["left", "right"], tuple[str, str, str]]
    arms: dict[Literal["left", "right"], tuple[str, str, str]]
    root: str
    tasks: dict[str, TaskWeights]
    input_smoothing: float = Field(default=0.0, ge=0)
    solve_fps: float | None = Field(default=None, gt=0)  # a faster take is solved at this rate, then splined back
    chains: dict[str, ChainSettings]
    solver: SolverSettings
    nominal: dict[str, float] = {}
    head_point: tuple[float, float, float]
    constraints: ConstraintSettings | None = None


def format_names() -> list[str]:
    return sorted(p.stem for p in FORMATS.glob("*.yaml"))


@cache
def load_format(name: str) -> BvhFormat:
    """A skeleton format by name (a file in configs/formats/) or by path to a YAML file."""
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        if not path.is_file():
            raise SpecError(f"{path}: skeleton format file not found")
    elif name in format_names():
        path = FORMATS / f"{name}.yaml"
    else:
        raise SpecError(f"unknown bvh_format {name!r}; known formats are {format_names()}")
    fmt = _load(path, BvhFormat)
    missing = [r for r in ROLES if r not in fmt.joints]
    unknown = [r for r in fmt.joints if r not in ROLES]
    if missing or unknown:
        raise SpecError(f"{path}: joints must map exactly the roles {list(ROLES)}; missing {missing}, unknown {unknown}")
    if fmt.calibration.source == "stored":
        lacking = [r for r in ORIENTED_ROLES if r not in fmt.calibration.offsets]
        if lacking:
            raise SpecError(f"{path}: calibration.offsets lacks {lacking}; run tools/calibrate_bvh_format.py")
    return fmt


@cache
def load_retarget_config(robot_name: str) -> RetargetConfig:
    path = ROBOTS / f"{robot_name}.yaml"
    if not path.is_file():
        raise SpecError(f"no retarget config for robot {robot_name!r}: expected {path}")
    return _load(path, RetargetConfig)


Loaded = TypeVar("Loaded", bound=BaseModel)


def _load(path: Path, model: type[Loaded]) -> Loaded:
    try:
        return model.model_validate(yaml.safe_load(path.read_text()))
    except (yaml.YAMLError, ValidationError) as exc:
        raise SpecError(f"{path}: {exc}") from exc


def match_roles(fmt: BvhFormat, joint_names: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """The joint that plays each role (the first of the format's candidates present), and for each role
    none plays, its candidates as "A or B"."""
    present = set(joint_names)
    found: dict[str, str] = {}
    missing: list[str] = []
    for role in ROLES:
        names = fmt.candidates(role)
        hit = next((n for n in names if n in present), None)
        if hit is None:
            missing.append(" or ".join(names))
        else:
            found[role] = hit
    return found, missing


def resolve_roles(skeleton: SkeletonMotion, fmt: BvhFormat, path: Path | str) -> dict[str, int]:
    """Joint index of every role; a skeleton lacking any is rejected with the full list."""
    found, missing = match_roles(fmt, skeleton.joint_names)
    if missing:
        raise InputError(
            path, "HIERARCHY", f"the skeleton lacks joints the {fmt.name!r} format needs: {missing}"
        )
    return {role: skeleton.index(name) for role, name in found.items()}
