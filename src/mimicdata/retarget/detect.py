"""Which skeleton format a BVH file is written in (`bvh_format: auto`).

A format fits a file when all three hold, read from the file's hierarchy alone (no motion):
  1. names: every role finds one of the format's joints in the file;
  2. size: the rest pose read in the format's length unit and up axis is a person's, leg
     (hip, knee, ankle) plus hips-to-head between REST_SIZE metres (LAFAN1's centimetres read as
     CMU's units make a 9 m performer);
  3. rest pose: the one the format's rotation offsets assume. A format calibrated from the rest
     pose needs it upright (hips to head along +z); one with stored offsets needs the hips-to-head
     direction of the file it was calibrated on (`calibration.rest_up`), which is how LAFAN1 (rest
     pose lying along +x) and NOKOV exports (upright T-pose) tell apart with the same joint names.
Exactly one format must fit: none or several is an error that names each format and what
decided it. The answer depends only on the hierarchy, so files sharing one are detected once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SpecError
from .formats import BvhFormat, format_names, load_format, match_roles

AUTO = "auto"
REST_SIZE = (0.6, 2.4)  # m, leg plus hips-to-head at rest: a child to a very tall adult
UPRIGHT = 0.9  # cosine between the rest pose's hips-to-head and the direction the format expects


@dataclass(frozen=True)
class Verdict:
    """One format tried on one file: whether it fits, and what decided."""

    name: str
    fits: bool
    reason: str  # the joints that matched, or why it does not fit


def detect_format(path: Path | str) -> BvhFormat:
    """The one bundled skeleton format that fits a BVH file; SpecError naming every candidate otherwise."""
    from ..sources.bvh import read_rest_pose

    path = Path(path)
    names, rest = read_rest_pose(path)
    formats = tuple(format_names())
    key = hashlib.sha256(repr((names, np.round(rest, 6).tolist(), formats)).encode()).hexdigest()
    verdicts = _verdicts(key, names, rest, formats)
    fitting = [v.name for v in verdicts if v.fits]
    if len(fitting) == 1:
        return load_format(fitting[0])
    listing = "; ".join(f"{v.name}: {v.reason}" for v in verdicts)
    if not fitting:
        raise SpecError(f"{path}: bvh_format auto: no skeleton format fits this file ({listing}); "
                        f"add a format file for this skeleton (README: adding a skeleton) and name it in bvh_format")
    raise SpecError(f"{path}: bvh_format auto: {len(fitting)} skeleton formats fit this file equally "
                    f"({listing}); set bvh_format to the right one of {fitting}")


_DETECTED: dict[str, tuple[Verdict, ...]] = {}


def _verdicts(key: str, names: tuple[str, ...], rest: np.ndarray, formats: tuple[str, ...]) -> tuple[Verdict, ...]:
    if key not in _DETECTED:
        _DETECTED[key] = tuple(judge(load_format(name), names, rest, name) for name in formats)
    return _DETECTED[key]


def judge(fmt: BvhFormat, names: tuple[str, ...], rest_file: np.ndarray, label: str) -> Verdict:
    """Whether one format (called `label`, as bvh_format names it) fits a hierarchy: joint names and rest
    positions in the file's units and axes."""
    from ..sources.bvh import UP_AXIS_TO_Z_UP

    found, missing = match_roles(fmt, names)
    if missing:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        return Verdict(label, False, f"lacks {shown}")
    rest = (rest_file @ UP_AXIS_TO_Z_UP[fmt.up_axis].T) * fmt.length_unit
    at = {role: rest[names.index(joint)] for role, joint in found.items()}
    hips = 0.5 * (at["left_hip"] + at["right_hip"])
    spine = at["head"] - hips
    leg = np.mean([np.linalg.norm(at[f"{s}_hip"] - at[f"{s}_knee"]) + np.linalg.norm(at[f"{s}_knee"] - at[f"{s}_ankle"])
                   for s in ("left", "right")])
    size = float(leg + np.linalg.norm(spine))
    if not REST_SIZE[0] <= size <= REST_SIZE[1]:
        return Verdict(label, False, f"a {size:.2f} m performer in its length unit {fmt.length_unit:g} m "
                                        f"(leg plus hips-to-head; a person is {REST_SIZE[0]:g}-{REST_SIZE[1]:g} m)")
    expected = np.array([0.0, 0.0, 1.0]) if fmt.calibration.source == "rest" else fmt.calibration.rest_up
    up = spine / max(float(np.linalg.norm(spine)), 1e-9)
    if expected is not None and float(up @ np.asarray(expected)) < UPRIGHT:
        want = "upright" if fmt.calibration.source == "rest" else f"hips to head along {list(expected)}"
        return Verdict(label, False, f"its rest pose has hips to head along {np.round(up, 2).tolist()}, "
                                        f"the format's calibration assumes {want}")
    decided = ", ".join(found[r] for r in ("pelvis", "torso", "left_knee", "left_toe", "left_shoulder"))
    return Verdict(label, True, f"fits ({decided}, ...; a {size:.2f} m performer)")
