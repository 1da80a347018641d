"""BVH -> G1 retargeting on the real takes of ../shared/data/bvh: invariants and quality."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from conftest import SHARED_DATA, require_shared
from mimicdata.build.dataset import BuildOptions, build_dataset
from mimicdata.dataset.report import read_build_report
from mimicdata.errors import BuildError, InputError
from mimicdata.geometry.rotations import xyzw_to_wxyz
from mimicdata.motion import RobotMotion
from mimicdata.retarget import load_format, load_retarget_config, retarget_skeleton
from mimicdata.retarget.formats import resolve_roles
from mimicdata.retarget.quality import evaluate
from mimicdata.robot.collision import collision_measures
from mimicdata.sources.bvh import read_bvh

TAKES = [
    ("lafan1", "lafan1/walk4_subject1.bvh"),
    ("lafan1", "lafan1_cuts/fallAndGetUp1_subject1_680_800.bvh"),
    ("cmu", "cmu/01_01.bvh"),
    ("cmu", "cmu/131_01.bvh"),
    ("hc_mocap", "hc_mocap/ref_with_toe.bvh"),
]


def _bvh(rel: str):
    return require_shared("data", "bvh", *rel.split("/"))


@pytest.fixture(scope="module")
def retargeted(robot):
    """Each take retargeted once: (format, skeleton, result)."""
    out = {}
    for fmt, rel in TAKES:
        path = _bvh(rel)
        skeleton = read_bvh(path, bvh_format=fmt)
        out[rel] = (fmt, skeleton, retarget_skeleton(skeleton, load_format(fmt), robot, path))
    return out


def _soles(robot, motion: RobotMotion) -> np.ndarray:
    pos, quat = robot.forward_kinematics(motion.root_pos, motion.root_quat, motion.joint_pos)
    return np.stack([robot.sole_points_world(f, pos, quat)[..., 2].min(axis=1) for f in robot.foot_bodies], axis=1)


@pytest.mark.parametrize("rel", [rel for _, rel in TAKES])
def test_every_format_retargets_within_limits_with_feet_on_the_ground(robot, retargeted, rel):
    _, skeleton, result = retargeted[rel]
    motion = result.motion
    assert motion.num_frames == skeleton.num_frames
    assert motion.joint_names == robot.joint_names
    assert np.isfinite(motion.joint_pos).all() and np.isfinite(motion.root_pos).all()
    assert robot.limit_excess(motion.joint_pos).max() == 0.0
    speeds = np.abs(np.diff(motion.joint_pos, axis=0)) * motion.fps
    assert (speeds <= robot.velocity_limit * (1 + 1e-9)).all()
    body_pos, body_quat = robot.forward_kinematics(motion.root_pos, motion.root_quat, motion.joint_pos)
    collisions = collision_measures(robot, body_pos, body_quat)
    assert collisions.self_collision_frames < 0.01, collisions.worst_pair
    assert collisions.floor_penetration_frames < 0.01
    soles = _soles(robot, motion)
    assert (soles.min(axis=1) < -0.02).mean() < 0.01
    # Feet sit on the floor, neither floating nor sunk, wherever the body above them does not
    # itself rest on the floor (lying, the robot's thicker trunk holds its feet up).
    geometry = robot.collision
    feet = np.isin(geometry.body, [robot.body_index(f) for f in robot.foot_bodies])
    resting = (geometry.lowest_points(body_pos, body_quat)[:, ~feet] < 0.02).any(axis=1)
    assert (~resting).mean() > 0.2
    assert abs(np.median(soles[~resting].min(axis=1))) < 0.01
    planted = soles[result.planted & ~resting[:, None]]
    assert planted.size > 0
    assert np.median(np.abs(planted)) < 0.01


@pytest.mark.parametrize("rel", ["cmu/01_01.bvh", "cmu/131_01.bvh", "hc_mocap/ref_with_toe.bvh", "lafan1/walk4_subject1.bvh"])
def test_performer_is_measured_from_the_skeleton(retargeted, rel):
    _, _, result = retargeted[rel]
    # Adult performers: legs 0.7-1.0 m, head joint 1.3-1.8 m above the floor;
    # a wrong unit (cm read as m, CMU units as cm) lands far outside.
    assert 0.7 < result.human.leg < 1.0
    assert 1.3 < result.height < 1.8
    assert result.robot.leg / result.human.leg == pytest.approx(result.robot.leg / result.human.leg)
    assert any("performer: leg" in n for n in result.notes)


def test_the_two_cmu_naming_styles_scale_alike(retargeted):
    a = retargeted["cmu/01_01.bvh"][2].human
    b = retargeted["cmu/131_01.bvh"][2].human
    assert abs(a.leg - b.leg) < 0.1


def test_retarget_is_deterministic(robot, retargeted):
    fmt, skeleton, first = retargeted["lafan1/walk4_subject1.bvh"]
    again = retarget_skeleton(skeleton, load_format(fmt), robot).motion
    for key in ("root_pos", "root_quat", "joint_pos"):
        assert np.array_equal(getattr(first.motion, key), getattr(again, key))


def test_no_first_frame_transient(retargeted):
    motion = retargeted["lafan1/walk4_subject1.bvh"][2].motion
    step = np.abs(np.diff(motion.joint_pos, axis=0)).max(axis=1)
    assert step[:5].max() <= np.percentile(step, 99)


def test_tpose_frame_maps_to_the_robot_tpose(robot):
    """fallAndGetUp1 opens in a T-pose: arms out sideways, legs straight."""
    path = _bvh("lafan1/fallAndGetUp1_subject1.bvh")
    skeleton = read_bvh(path, bvh_format="lafan1").head(60)
    q = retarget_skeleton(skeleton, load_format("lafan1"), robot).motion.joint_pos[0]
    j = {n: i for i, n in enumerate(robot.joint_names)}
    assert q[j["left_shoulder_roll_joint"]] == pytest.approx(np.pi / 2, abs=0.25)
    assert q[j["right_shoulder_roll_joint"]] == pytest.approx(-np.pi / 2, abs=0.25)
    for side in ("left", "right"):
        assert abs(q[j[f"{side}_knee_joint"]]) < 0.35
        assert abs(q[j[f"{side}_hip_roll_joint"]]) < 0.2


def test_cut_matches_its_take_frame_for_frame():
    """A third-party cut keeps the take's frame-0 ROOT OFFSET; only the channels count."""
    full = read_bvh(_bvh("lafan1/fallAndGetUp1_subject1.bvh"), bvh_format="lafan1")
    cut = read_bvh(_bvh("lafan1_cuts/fallAndGetUp1_subject1_680_800.bvh"), bvh_format="lafan1")
    np.testing.assert_allclose(cut.positions, full.positions[679 : 679 + cut.num_frames], atol=1e-9)


def test_declared_frame_count_mismatch_is_a_note():
    skeleton = read_bvh(_bvh("lafan1/fallAndGetUp1_subject1.bvh"), bvh_format="lafan1")
    assert skeleton.num_frames == 5046
    assert any("5047" in n and "5046" in n for n in skeleton.notes)


def test_quality_beats_unitree_on_walk4(robot, retargeted):
    """The issue's targets on the one reference take cheap enough for every test run."""
    fmt, skeleton, result = retargeted["lafan1/walk4_subject1.bvh"]
    reference = require_shared("data", "g1_csv", "unitree_lafan1", "walk4_subject1.csv")
    data = np.loadtxt(reference, delimiter=",")[: skeleton.num_frames]
    theirs_motion = RobotMotion(30.0, data[:, :3], xyzw_to_wxyz(data[:, 3:7]), data[:, 7:], robot.joint_names)
    config = load_retarget_config(robot.name)
    roles = resolve_roles(skeleton, load_format(fmt), "walk4")
    scale = result.robot.leg / result.human.leg
    ours = evaluate(robot, result.motion, config, skeleton, roles, scale)
    theirs = evaluate(robot, theirs_motion, config, skeleton, roles, scale)
    assert ours.limit_violation_frames == 0.0 and ours.speed_limit_frames == 0.0
    assert ours.self_collision_frames < 0.01 < theirs.self_collision_frames
    assert ours.floor_penetration_frames < 0.01
    assert ours.below_2cm_frames < 0.01
    assert abs(ours.median_lowest_sole) < 0.01
    assert ours.rms_joint_jerk <= theirs.rms_joint_jerk
    assert ours.stance_foot_speed <= min(0.05, 0.75 * theirs.stance_foot_speed)
    for name, err in ours.end_effector_error.items():
        assert err < 0.2, name


@pytest.mark.parametrize("take", ["dance1_subject1", "fallAndGetUp1_subject1"])
def test_quality_beats_unitree_on_the_other_paired_takes(robot, take):
    """A dance (the stance foot pivots, the swing foot skims) and a fall with a get-up: planted feet hold,
    swing feet clear the floor (a flat robot foot skimming it at 1 m/s counted as a sliding stance foot)."""
    path = _bvh(f"lafan1/{take}.bvh")
    skeleton = read_bvh(path, bvh_format="lafan1")
    result = retarget_skeleton(skeleton, load_format("lafan1"), robot, path)
    data = np.loadtxt(require_shared("data", "g1_csv", "unitree_lafan1", f"{take}.csv"), delimiter=",")
    data = data[: skeleton.num_frames]
    unitree = RobotMotion(30.0, data[:, :3], xyzw_to_wxyz(data[:, 3:7]), data[:, 7:], robot.joint_names)
    config = load_retarget_config(robot.name)
    roles = resolve_roles(skeleton, load_format("lafan1"), take)
    scale = result.robot.leg / result.human.leg
    ours = evaluate(robot, result.motion, config, skeleton, roles, scale)
    theirs = evaluate(robot, unitree, config, skeleton, roles, scale)
    assert ours.stance_foot_speed <= min(0.05, 0.75 * theirs.stance_foot_speed)
    assert ours.rms_joint_jerk <= theirs.rms_joint_jerk
    assert ours.self_collision_frames < 0.01 and ours.floor_penetration_frames < 0.01
    assert ours.limit_violation_frames == 0.0 and ours.speed_limit_frames == 0.0


def test_a_robot_seated_on_its_hip_keeps_its_planted_foot_still(robot):
    """LAFAN1 fallAndGetUp1, frames 1600-1700: the performer sits on the floor, one heel planted, then gets
    up. The hip capsule resting on the floor is the base's to hold up; asked of the leg, it slid the planted
    foot at 0.5 m/s."""
    path = _bvh("lafan1_cuts/fallAndGetUp1_subject1_1600_1700.bvh")
    skeleton = read_bvh(path, bvh_format="lafan1")
    result = retarget_skeleton(skeleton, load_format("lafan1"), robot, path)
    config = load_retarget_config(robot.name)
    roles = resolve_roles(skeleton, load_format("lafan1"), path)
    quality = evaluate(robot, result.motion, config, skeleton, roles, result.robot.leg / result.human.leg)
    assert quality.stance_foot_speed <= 0.05
    assert quality.self_collision_frames < 0.01 and quality.floor_penetration_frames < 0.01


def test_a_foot_landing_under_the_body_is_planted_where_the_leg_can_hold_it(robot, retargeted):
    """LAFAN1 fallAndGetUp1, frames 680-800: getting up, the performer sets a foot in under the body, where the
    G1's stance hip reaches its adduction limit; held to the performer's spot the foot slid at 0.079 m/s.
    Planted as far out as the leg can hold it (replant.py), it stays, and the motion is no less smooth."""
    fmt, skeleton, result = retargeted["lafan1_cuts/fallAndGetUp1_subject1_680_800.bvh"]
    path = _bvh("lafan1_cuts/fallAndGetUp1_subject1_680_800.bvh")
    roles = resolve_roles(skeleton, load_format(fmt), path)
    quality = evaluate(robot, result.motion, load_retarget_config(robot.name), skeleton, roles,
                       result.robot.leg / result.human.leg)
    assert quality.stance_foot_speed < 0.04 and quality.rms_joint_jerk < 500.0  # before: 0.079 and 510


def test_a_120_fps_take_is_solved_slower_and_splined_back_to_its_own_rate(robot, retargeted):
    """CMU records at 120 fps: solved at the config's solve_fps, the motion comes back with every frame of
    the take and a fraction of the jerk that solving each frame gave (the IK's frame-to-frame noise)."""
    fmt, skeleton, result = retargeted["cmu/01_01.bvh"]
    config = load_retarget_config(robot.name)
    assert config.solve_fps is not None and skeleton.fps > config.solve_fps
    path = _bvh("cmu/01_01.bvh")
    every_frame = retarget_skeleton(skeleton, load_format(fmt), robot, path, config.model_copy(update={"solve_fps": None}))
    assert result.motion.num_frames == every_frame.motion.num_frames == skeleton.num_frames
    assert result.motion.fps == skeleton.fps and result.planted.shape == every_frame.planted.shape
    assert any("interpolated back" in n for n in result.notes)
    roles = resolve_roles(skeleton, load_format(fmt), path)
    scale = result.robot.leg / result.human.leg
    ours, full = (evaluate(robot, r.motion, config, skeleton, roles, scale) for r in (result, every_frame))
    assert ours.rms_joint_jerk < 0.75 * full.rms_joint_jerk  # measured 999 against 1,553
    assert ours.limit_violation_frames == 0.0 and ours.speed_limit_frames == 0.0
    assert ours.self_collision_frames < 0.01 and ours.floor_penetration_frames < 0.01
    for name, err in ours.end_effector_error.items():
        assert err < 1.1 * full.end_effector_error[name] + 0.005, name


def test_skeleton_lacking_joints_is_rejected_with_the_list(tmp_path, robot):
    text = _bvh("lafan1_cuts/fallAndGetUp1_subject1_680_800.bvh").read_bytes()
    broken = tmp_path / "renamed.bvh"
    broken.write_bytes(text.replace(b"JOINT LeftHand", b"JOINT LeftPaw").replace(b"JOINT RightLeg", b"JOINT RightShin"))
    skeleton = read_bvh(broken, bvh_format="lafan1")
    with pytest.raises(InputError) as err:
        retarget_skeleton(skeleton, load_format("lafan1"), robot, broken)
    assert "LeftHand" in str(err.value) and "RightLeg" in str(err.value) and "renamed.bvh" in str(err.value)


def test_build_with_bvh_sources_keeps_clips_and_reports_bad_files(tmp_path):
    require_shared("data", "bvh")
    bad = tmp_path / "bvh_in" / "broken.bvh"
    bad.parent.mkdir()
    bad.write_text("HIERARCHY\nROOT Hips\n{\n")
    spec = {
        "name": "bvh_mix",
        "target_fps": 30,
        "val_percent": 30,
        "hash_salt": "t",
        "sources": [
            {"name": "cuts", "type": "bvh", "bvh_format": "lafan1", "input": str(SHARED_DATA / "bvh" / "lafan1_cuts")},
            {"name": "hc", "type": "bvh", "bvh_format": "hc_mocap", "input": str(SHARED_DATA / "bvh" / "hc_mocap")},
            {"name": "junk", "type": "bvh", "bvh_format": "nokov", "input": str(bad.parent)},
        ],
    }
    path = tmp_path / "bvh_mix.yaml"
    path.write_text(yaml.safe_dump(spec))
    report = build_dataset(path, BuildOptions(output_root=tmp_path / "out"))
    out = tmp_path / "out" / "bvh_mix"
    clips = sorted(p.relative_to(out / "clips").as_posix() for p in (out / "clips").rglob("*.npz"))
    assert clips == [
        "cuts/fallAndGetUp1_subject1_1600_1700.npz",
        "cuts/fallAndGetUp1_subject1_680_800.npz",
        "hc/ref_with_toe.npz",
    ]
    (rejected,) = report.rejected
    assert rejected.clip_id == "junk:broken" and "broken.bvh" in rejected.detail


def test_a_skeleton_read_in_the_wrong_unit_is_rejected_with_its_height_and_format(tmp_path, robot):
    path = _bvh("lafan1_cuts/fallAndGetUp1_subject1_680_800.bvh")
    skeleton = read_bvh(path, bvh_format="cmu")  # LAFAN1 is in cm; CMU units are 5.6 cm
    with pytest.raises(InputError) as err:
        retarget_skeleton(skeleton, load_format("cmu"), robot, path)
    message = str(err.value)
    assert "9." in message and "'cmu'" in message and path.name in message and "format" in message
    spec = {"name": "wrong_unit", "target_fps": 30, "val_percent": 10, "hash_salt": "t",
            "sources": [{"name": "cuts", "type": "bvh", "bvh_format": "cmu", "input": str(path.parent)}]}
    spec_path = tmp_path / "wrong_unit.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    with pytest.raises(BuildError) as failed:  # no clip survives: the build says so, naming the reason
        build_dataset(spec_path, BuildOptions(output_root=tmp_path / "out"))
    assert "unreadable" in str(failed.value)


def test_build_reports_the_quality_of_every_retargeted_clip_also_from_the_cache(tmp_path):
    cuts = require_shared("data", "bvh", "lafan1_cuts")
    spec = {"name": "measured", "target_fps": 30, "val_percent": 10, "hash_salt": "t",
            "sources": [{"name": "cuts", "type": "bvh", "bvh_format": "lafan1", "input": str(cuts)}]}
    spec_path = tmp_path / "measured.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    first = build_dataset(spec_path, BuildOptions(output_root=tmp_path / "out"))
    measured = {q.clip_id: q for q in first.retarget_quality}
    assert sorted(measured) == ["cuts:fallAndGetUp1_subject1_1600_1700", "cuts:fallAndGetUp1_subject1_680_800"]
    for q in measured.values():
        assert q.frames > 90 and q.self_collision_frames < 0.01 and q.floor_penetration_frames < 0.01
        assert set(q.end_effector_error) == {"left_hand", "right_hand", "left_foot", "right_foot", "head"}
    spec["preprocess"] = {"min_frames": 5}  # the clips are re-made from the cached motions
    spec_path.write_text(yaml.safe_dump(spec))
    again = build_dataset(spec_path, BuildOptions(output_root=tmp_path / "out"))
    assert again.cache.motions_from_cache == 2
    assert again.retarget_quality == first.retarget_quality
    stored = read_build_report(tmp_path / "out" / "measured")
    assert stored.retarget_quality == first.retarget_quality


def test_planted_feet_are_flat_not_on_tiptoe(robot, retargeted):
    """LAFAN1's calibration T-pose has its toes 7 cm up: without levelling, every planted robot foot stood
    25 degrees toe-down on its ball. Unitree's own retarget keeps them within a few degrees."""
    fmt, skeleton, result = retargeted["lafan1/walk4_subject1.bvh"]
    config = load_retarget_config(robot.name)
    roles = resolve_roles(skeleton, load_format(fmt), "walk4")
    scale = result.robot.leg / result.human.leg
    ours = evaluate(robot, result.motion, config, skeleton, roles, scale, result.planted)
    data = np.loadtxt(require_shared("data", "g1_csv", "unitree_lafan1", "walk4_subject1.csv"), delimiter=",")
    data = data[: skeleton.num_frames]
    unitree = RobotMotion(30.0, data[:, :3], xyzw_to_wxyz(data[:, 3:7]), data[:, 7:], robot.joint_names)
    theirs = evaluate(robot, unitree, config, skeleton, roles, scale, result.planted)
    assert ours.planted_foot_tilt < 3.0 and ours.planted_foot_tilt <= theirs.planted_foot_tilt
