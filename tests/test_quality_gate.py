"""The quality gate on real clips: each preprocess filter rejects a clip that breaks it, with its reason and the
key that set it, and keeps one that does not; a build reports the rejections."""

from __future__ import annotations

from functools import cache

import pytest
import yaml

from conftest import SHARED_DATA, require_shared
from mimicdata.build.clip import read_robot_motion
from mimicdata.build.dataset import BuildOptions, build_dataset
from mimicdata.motion import MotionClip
from mimicdata.robot import load_robot
from mimicdata.spec import PreprocessSpec, source_spec
from mimicdata.stages.fk import motion_to_clip
from mimicdata.stages.measures import measure_clip
from mimicdata.stages.preprocess import Rejection, preprocess
from mimicdata.stages.resample import resample


@cache
def _clip(kind: str, *parts: str) -> MotionClip:
    path = require_shared("data", *parts)
    robot = load_robot()
    source = source_spec(name="x", type=kind, input=path.parent, **({"fps": 30} if kind == "csv" else {}))
    return motion_to_clip(robot, resample(read_robot_motion(source, path, robot).motion, 30))


UNITREE = ("csv", "g1_csv", "unitree_lafan1")
WALK = (*UNITREE, "walk4_subject1.csv")  # Unitree's walk: half its frames with hands in the hips
FALL = (*UNITREE, "fallAndGetUp1_subject1.csv")  # a quarter of it through the floor, a third on it
RUN = (*UNITREE, "run1_subject2.csv")
TIKTOK = ("npz", "npz", "g1moves", "J_Dance18_TikTok.npz")  # no self-collision, but jerky
KARATE = ("npz", "npz", "g1moves", "B_BowKarate.npz")  # a few steps over a joint speed limit


@pytest.mark.parametrize(
    ("key", "limit", "reason", "broken", "clean"),
    [
        ("max_self_collision_frames", 0.1, "self_collision", WALK, TIKTOK),
        ("max_floor_penetration_frames", 0.01, "through_floor", FALL, WALK),
        ("max_fall_frames", 0.1, "fall", FALL, WALK),
        ("max_rms_joint_jerk", 1000.0, "too_jerky", TIKTOK, WALK),
        ("max_body_speed", 7.0, "body_speed_spike", RUN, WALK),
        ("max_joint_speed_limit_frames", 0.0, "joint_too_fast", KARATE, WALK),
    ],
)
def test_each_filter_rejects_a_clip_that_breaks_it_and_keeps_one_that_does_not(key, limit, reason, broken, clean):
    robot = load_robot()
    options = PreprocessSpec(**{key: limit})
    rejected = preprocess(_clip(*broken), options, robot).rejection
    assert isinstance(rejected, Rejection) and rejected.reason == reason
    assert f"preprocess.{key}" in rejected.detail
    assert preprocess(_clip(*clean), options, robot).rejection is None
    assert preprocess(_clip(*broken), PreprocessSpec(), robot).rejection is None  # off by default


def test_joint_limit_excess_counts_only_what_goes_well_past_a_range():
    from dataclasses import replace

    robot = load_robot()
    clip = _clip(*WALK)
    knee = robot.joint_names.index("left_knee_joint")
    span = robot.joint_upper[knee] - robot.joint_lower[knee]
    q = clip.joint_pos.copy()
    q[:100, knee] = robot.joint_upper[knee] + 0.03 * span  # just past: within the 5% slack
    q[100:130, knee] = robot.joint_upper[knee] + 0.1 * span  # well past, in 30 frames
    measured = measure_clip(replace(clip, joint_pos=q), robot, robot.body_index(robot.root_body), 0.5)
    assert measured.limit_excess_frames == pytest.approx(30 / clip.num_frames)
    options = PreprocessSpec(max_joint_limit_excess_frames=0.001)
    rejected = preprocess(replace(clip, joint_pos=q), options, robot).rejection
    assert isinstance(rejected, Rejection) and rejected.reason == "joint_limits_exceeded"
    assert preprocess(clip, options, robot).rejection is None


def test_a_build_rejects_by_the_gate_and_reports_why(tmp_path):
    require_shared("data", "g1_csv", "unitree_lafan1")
    spec = {
        "name": "gated", "target_fps": 30, "val_percent": 10, "hash_salt": "t",
        "preprocess": {"max_floor_penetration_frames": 0.01, "max_self_collision_frames": 0.3},
        "sources": [{"name": "unitree", "type": "csv", "fps": 30, "input": str(SHARED_DATA / "g1_csv" / "unitree_lafan1")}],
    }
    path = tmp_path / "gated.yaml"
    path.write_text(yaml.safe_dump(spec))
    report = build_dataset(path, BuildOptions(output_root=tmp_path / "out", fk_check=False))
    reasons = {r.clip_id: r.reason for r in report.rejected}
    assert reasons == {"unitree:walk4_subject1": "self_collision", "unitree:fallAndGetUp1_subject1": "through_floor"}
    assert report.sources["unitree"].rejected_by_reason == {"self_collision": 1, "through_floor": 1}
    assert report.kept == 3


def test_ik_residual_filter_rejects_retargets_that_miss_their_targets_and_leaves_other_sources_alone(tmp_path):
    from conftest import REPO

    require_shared("data", "bvh")
    spec = {
        "name": "residual", "target_fps": 30, "val_percent": 10, "hash_salt": "t",
        "preprocess": {"max_ik_residual_frames": 0.1},
        "sources": [
            # Falling and rolling on the floor: hands held off the floor, away from where the performer put them.
            {"name": "cuts", "type": "bvh", "bvh_format": "lafan1", "input": str(SHARED_DATA / "bvh" / "lafan1_cuts")},
            {"name": "hc", "type": "bvh", "bvh_format": "hc_mocap", "input": str(SHARED_DATA / "bvh" / "hc_mocap")},
            {"name": "g1", "type": "csv", "fps": 30, "input": str(REPO / "data" / "sample" / "csv")},
        ],
    }
    path = tmp_path / "residual.yaml"
    path.write_text(yaml.safe_dump(spec))
    report = build_dataset(path, BuildOptions(output_root=tmp_path / "out", fk_check=False))
    missed = {r.clip_id: r for r in report.rejected if r.reason == "ik_missed"}
    assert set(missed) == {"cuts:fallAndGetUp1_subject1_1600_1700", "cuts:fallAndGetUp1_subject1_680_800"}
    assert all("preprocess.max_ik_residual_frames" in r.detail for r in missed.values())
    measured = {q.clip_id: q.ik_residual_frames for q in report.retarget_quality}
    assert measured["hc:ref_with_toe"] < 0.1 < min(measured[c] for c in missed)
    assert report.sources["hc"].kept == 1 and report.sources["g1"].kept >= 1  # robot motion has no IK to miss
