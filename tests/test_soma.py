"""BONES-SEED takes on the SOMA skeleton (77 joints, Root above Hips, cm, Y-up, 120 fps) retarget onto the G1
with the soma format: every take ingests, with the physical invariants of the other formats, and where NVIDIA
published its own G1 retarget of a take, ours is smoother and collides less."""

from __future__ import annotations

import pytest

from conftest import SHARED_DATA, require_shared
from mimicdata.retarget import load_format, retarget_config, retarget_skeleton
from mimicdata.retarget.formats import resolve_roles
from mimicdata.retarget.quality import evaluate, measure_retarget
from mimicdata.robot import load_robot
from mimicdata.sources import read_motion
from mimicdata.sources.bvh import read_bvh

TAKES = sorted((SHARED_DATA / "bvh" / "soma").glob("*.bvh")) if (SHARED_DATA / "bvh" / "soma").is_dir() else []


@pytest.mark.parametrize("take", TAKES or [None], ids=[t.stem for t in TAKES] or ["absent"])
def test_every_soma_take_retargets_onto_the_g1(take):
    require_shared("data", "bvh", "soma")
    robot, fmt = load_robot(), load_format("soma")
    skeleton = read_bvh(take, bvh_format="soma")
    assert skeleton.fps == 120.0 and len(skeleton.joint_names) > 77  # 77 joints plus their end sites
    result = retarget_skeleton(skeleton, fmt, robot, take)
    assert 1.4 < result.height < 2.0  # a person, read in the right unit
    quality = measure_retarget(robot, result, skeleton, fmt, take)
    nvidia = SHARED_DATA / "seed_csv" / f"{take.stem}.csv"
    if nvidia.is_file():  # NVIDIA's own G1 retarget of the take, measured the same way
        motion = read_motion("seed_csv", nvidia, robot).head(skeleton.num_frames)
        roles = resolve_roles(skeleton, fmt, take)
        theirs = evaluate(robot, motion, retarget_config(robot), skeleton, roles, result.robot.leg / result.human.leg)
        # Smoother than theirs: the refinement's per-frame corrections once jittered (walk: 5,808 against 5,522).
        assert quality.rms_joint_jerk < theirs.rms_joint_jerk
        assert quality.self_collision_frames < theirs.self_collision_frames
    assert quality.limit_violation_frames == 0.0 and quality.speed_limit_frames == 0.0
    assert quality.floor_penetration_frames == 0.0 and quality.below_2cm_frames == 0.0
    assert quality.self_collision_frames < 0.05  # NVIDIA's own retarget of the walk: 25%
    assert abs(quality.median_lowest_sole) < 0.01
    assert max(quality.end_effector_error.values()) < 0.2  # hc_mocap's hands: 0.16 (proportions, joint limits)
