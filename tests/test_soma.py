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


@pytest.mark.parametrize("name", ["Neutral_walk_forward_002__A057", "body_stretch_1_004__A069"])
def test_the_retargeted_pelvis_is_rolled_as_the_performers_hip_line(name):
    """The pelvis offset carries the calibration frame's hip line: SOMA's T-pose performer stood 2.1 degrees
    off level, which once rolled every SOMA pelvis by as much."""
    import numpy as np

    from mimicdata.geometry.rotations import rotate_vector
    from mimicdata.retarget.pipeline import plan_retarget

    take = require_shared("data", "bvh", "soma", f"{name}.bvh")
    robot, fmt = load_robot(), load_format("soma")
    skeleton = read_bvh(take, bvh_format="soma")
    problem, scaled = plan_retarget(skeleton, fmt, robot, take, retarget_config(robot))
    left = rotate_vector(problem.targets.orientations[:, list(problem.config.tasks).index("pelvis")], np.array([0, 1.0, 0]))
    P, roles = scaled.skeleton.positions, scaled.roles
    hips = P[:, roles["left_hip"]] - P[:, roles["right_hip"]]
    hips /= np.linalg.norm(hips, axis=1, keepdims=True)
    roll = np.degrees(np.arcsin(left[:, 2]) - np.arcsin(hips[:, 2]))
    assert np.abs(roll).max() < 0.3


def test_a_robot_with_wider_hips_sets_its_feet_out_and_keeps_its_stance_hip_off_its_limit():
    """Booster's T1 has hips 21 cm apart and 0.3 rad of adduction; at the performer's track its right stance
    leg sat at that limit in 71% of SOMA walk's frames, its foot sliding (0.135 m/s)."""
    import numpy as np

    from mimicdata.retarget.pipeline import _hip_widening, robot_measures

    t1 = require_shared("robots", "booster_t1", "t1_mocap.xml")
    take = require_shared("data", "bvh", "soma", "Neutral_walk_forward_002__A057.bvh")
    robot, fmt = load_robot(str(t1)), load_format("soma")
    skeleton = read_bvh(take, bvh_format="soma")
    result = retarget_skeleton(skeleton, fmt, robot, take)
    roles = resolve_roles(skeleton, fmt, take)
    rest = skeleton.rest_positions
    assert _hip_widening(robot, retarget_config(robot), rest[roles["left_hip"]] - rest[roles["right_hip"]],
                         result.robot.leg / result.human.leg) > 0.04
    g1 = load_robot()
    g1_scale = robot_measures(g1, retarget_config(g1)).leg / result.human.leg
    assert _hip_widening(g1, retarget_config(g1), rest[roles["left_hip"]] - rest[roles["right_hip"]],
                         g1_scale) == 0.0  # narrower hips: never inward
    roll = robot.joint_names.index("Right_Hip_Roll")
    at_limit = np.isclose(result.motion.joint_pos[:, roll], robot.joint_upper[roll], atol=2e-3)
    planted = result.planted[:, 1].astype(bool)
    assert at_limit[planted].mean() < 0.3
    quality = measure_retarget(robot, result, skeleton, fmt, take)
    assert quality.stance_foot_speed < 0.11 and quality.self_collision_frames < 0.02
