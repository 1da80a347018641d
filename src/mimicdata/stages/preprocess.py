"""Transforms and filters on a MotionClip; a filter that rejects says why."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..motion import MotionClip
from ..robot import RobotModel
from ..spec import PreprocessSpec
from ..timeseries import true_runs
from .contacts import body_contacts
from .measures import ClipMeasures, measure_clip, quality_score


@dataclass(frozen=True)
class Rejection:
    """Why a clip was left out. `reason` is a stable key for counting; `detail` is for people."""

    reason: str
    detail: str


def unknown_bodies(options: PreprocessSpec, robot: RobotModel) -> list[str]:
    """Problems with the body names the options give, as `field: message`; checked once, before any clip."""
    problems = []
    named = [("root_body_name", options.root_body_name)] if options.root_body_name else []
    named += [(f"foot_body_names[{i}]", n) for i, n in enumerate(options.foot_body_names or ())]
    for field, name in named:
        if name not in robot.body_names:
            close = difflib.get_close_matches(name, robot.body_names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; bodies are {list(robot.body_names)}"
            problems.append(f"preprocess.{field}: {name!r} is not a body of robot {robot.name!r}{hint}")
    return problems


@dataclass(frozen=True)
class Preprocessed:
    """A clip after the transforms, with its measures and score, and why it is left out (None if kept).

    `clip` is None only for a clip that cannot be processed at all (NaN or Inf in it); a clip a
    filter rejects is still here, as it would have been stored, for the failures partition."""

    clip: MotionClip | None
    measures: ClipMeasures | None
    quality_score: float | None
    rejection: Rejection | None


def preprocess(
    clip: MotionClip, options: PreprocessSpec, robot: RobotModel, retarget: Mapping[str, Any] | None = None
) -> Preprocessed:
    """Transforms first (so measures and filters see the clip as it will be stored), then the contact
    labels, the measures and the quality score, then the filters in a fixed order. `retarget` is a retargeted clip's quality
    (retarget.quality), which the IK-residual filter and the score read."""
    root = robot.body_index(options.root_body_name or robot.root_body)
    feet = options.foot_body_names or robot.foot_bodies
    # Nothing to store, not even among the failures: NaN or Inf in the clip, or no frame at all.
    rejection = _non_finite(clip) or (_too_short(clip, options) if not clip.num_frames else None)
    if rejection is not None:
        return Preprocessed(None, None, None, rejection)
    if options.normalize_root_xy:
        clip = normalize_root_xy(clip, root)
    if options.ground_align != "none":
        clip = ground_align(clip, robot, feet, options.ground_align)
    # One placement of the collision geometry serves the measures and the contact labels.
    posed = robot.collision.posed(clip.body_pos_w.astype(np.float64), clip.body_quat_w.astype(np.float64)) \
        if robot.collision is not None else None
    measures = measure_clip(clip, robot, root, options.fall_height_fraction, posed)
    clip = replace(clip, body_contacts=body_contacts(robot, clip, posed))
    ik_missed = float(retarget.get("ik_residual_frames", 0.0)) if retarget else 0.0
    score = quality_score(measures, ik_missed)
    return Preprocessed(clip, measures, score, _first_rejection(clip, options, robot, root, feet, measures, retarget))


def _too_short(clip: MotionClip, options: PreprocessSpec) -> Rejection | None:
    if clip.num_frames < options.min_frames:
        return Rejection("too_short", f"clip too short: {clip.num_frames} < {options.min_frames} frames")
    return None


def _first_rejection(clip, options, robot, root, feet, measures, retarget) -> Rejection | None:
    rejection = _too_short(clip, options)
    if rejection is not None:
        return rejection
    for check in (_root_speed, _all_off_ground, _feet_off_ground, _peak_height):
        rejection = check(clip, options, robot, root, feet)
        if rejection is not None:
            return rejection
    return _quality_gate(measures, options) or _ik_residual(options, retarget)


# Quality-gate filters: spec key -> (measure, rejection reason, what the measure is, how to print it).
QUALITY_FILTERS = {
    "max_joint_limit_excess_frames": ("limit_excess_frames", "joint_limits_exceeded",
                                      "frames with a joint beyond its range by more than 5% of it", "{:.1%}"),
    "max_joint_speed_limit_frames": ("speed_limit_frames", "joint_too_fast",
                                     "frame steps with a joint faster than its velocity limit", "{:.1%}"),
    "max_self_collision_frames": ("self_collision_frames", "self_collision",
                                  "frames with two collision capsules overlapping by more than 1 cm", "{:.1%}"),
    "max_floor_penetration_frames": ("floor_penetration_frames", "through_floor",
                                     "frames with a collision geom more than 2 cm below the floor", "{:.1%}"),
    "max_body_speed": ("max_body_speed", "body_speed_spike", "fastest body speed (m/s)", "{:.2f}"),
    "max_fall_frames": ("fall_frames", "fall", "frames with the root below the fall height", "{:.1%}"),
    "max_rms_joint_jerk": ("rms_joint_jerk", "too_jerky", "RMS joint jerk (rad/s^3)", "{:.0f}"),
}


def _ik_residual(options: PreprocessSpec, retarget: Mapping[str, Any] | None) -> Rejection | None:
    limit = options.max_ik_residual_frames
    if limit is None or not retarget:
        return None  # a clip that was not retargeted has no IK to miss
    missed = float(retarget.get("ik_residual_frames", 0.0))
    if missed > limit:
        return Rejection("ik_missed", f"frames with an end effector more than 5 cm from its IK target: {missed:.1%} > "
                         f"{limit:.1%} (preprocess.max_ik_residual_frames)")
    return None


def _quality_gate(measures: ClipMeasures, options: PreprocessSpec) -> Rejection | None:
    """The first quality filter the clip breaks, in QUALITY_FILTERS order."""
    for key, (measure, reason, what, form) in QUALITY_FILTERS.items():
        limit = getattr(options, key)
        value = getattr(measures, measure)
        if limit is not None and value > limit:
            return Rejection(reason, f"{what}: {form.format(value)} > {form.format(limit)} (preprocess.{key})")
    return None


def normalize_root_xy(clip: MotionClip, root: int) -> MotionClip:
    """Start the root at the world origin in x and y (z untouched)."""
    offset = np.zeros(3)
    offset[:2] = -clip.body_pos_w[0, root, :2]
    return clip.translated(offset)


def ground_align(clip: MotionClip, robot: RobotModel, feet: tuple[str, ...], mode: str) -> MotionClip:
    """Shift vertically so the lowest sole point (not the ankle origin) sits at z = 0."""
    soles = robot.lowest_sole_heights(clip.body_pos_w, clip.body_quat_w, feet)
    ground = soles.min() if mode == "clip_min_foot" else soles[0].min()
    return clip.translated(np.array([0.0, 0.0, -ground]))


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    """(length, start) of the longest run of True."""
    runs = true_runs(mask)
    if not runs:
        return 0, 0
    start, end = max(runs, key=lambda run: run[1] - run[0])  # the first of the longest
    return end - start, start


def _non_finite(clip: MotionClip) -> Rejection | None:
    for key in ("joint_pos", "body_pos_w", "body_quat_w", "joint_vel", "body_lin_vel_w", "body_ang_vel_w"):
        arr = getattr(clip, key)
        bad = ~np.isfinite(arr)
        if bad.any():
            frame = int(np.argwhere(bad)[0][0])
            return Rejection("non_finite", f"{key} holds NaN or Inf (first at frame {frame})")
    return None


def _root_speed(clip, options, robot, root, feet) -> Rejection | None:
    if options.max_root_lin_vel is None:
        return None
    speed = np.linalg.norm(clip.body_lin_vel_w[:, root], axis=-1)
    frame = int(np.argmax(speed))
    if speed[frame] > options.max_root_lin_vel:
        return Rejection(
            "root_too_fast",
            f"root speed {speed[frame]:.2f} m/s > {options.max_root_lin_vel} m/s at frame {frame}",
        )
    return None


def _off_ground_too_long(
    above: np.ndarray, fps: int, max_s: float, reason: str, what: str, height: float
) -> Rejection | None:
    """Reject when `above` holds for longer than max_s; the limit is rounded to whole frames."""
    run, start = _longest_run(above)
    if run > int(round(max_s * fps)):
        return Rejection(reason, f"{what} above {height} m for {run / fps:.2f} s > {max_s} s (from frame {start})")
    return None


def _all_off_ground(clip, options, robot, root, feet) -> Rejection | None:
    if options.max_all_off_ground_s is None:
        return None
    lowest = np.minimum(clip.body_pos_w[..., 2].min(axis=1), robot.lowest_sole_heights(clip.body_pos_w, clip.body_quat_w, feet).min(axis=1))
    return _off_ground_too_long(
        lowest > options.off_ground_height, clip.fps, options.max_all_off_ground_s,
        "airborne_too_long", "whole body", options.off_ground_height,
    )


def _feet_off_ground(clip, options, robot, root, feet) -> Rejection | None:
    if options.max_feet_off_ground_s is None:
        return None
    soles = robot.lowest_sole_heights(clip.body_pos_w, clip.body_quat_w, feet)
    return _off_ground_too_long(
        (soles > options.foot_off_ground_height).all(axis=1), clip.fps, options.max_feet_off_ground_s,
        "feet_off_ground_too_long", "both feet", options.foot_off_ground_height,
    )


def _peak_height(clip, options, robot, root, feet) -> Rejection | None:
    if options.min_peak_body_height is None:
        return None
    peak = float(clip.body_pos_w[..., 2].max())
    if peak < options.min_peak_body_height:
        return Rejection(
            "never_high_enough",
            f"highest body reaches {peak:.3f} m < {options.min_peak_body_height} m",
        )
    return None
