"""check_poses against MuJoCo on clips the project builds, and on a planted order mismatch."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import MJLAB_XML, require_shared
from mimicdata.motion import RobotMotion
from mimicdata.stages.fk import motion_to_clip
from mimicdata.stages.fk_check import MujocoReference, check_poses


@pytest.fixture(scope="module")
def clip(robot):
    rng = np.random.default_rng(3)
    T = 90
    t = np.arange(T) / 30.0
    joints = 0.4 * np.sin(2.0 * t[:, None] + rng.uniform(0, 6, robot.num_joints))
    joints = np.clip(joints, robot.joint_lower, robot.joint_upper)
    root = np.stack([0.5 * t, 0.1 * np.sin(t), 0.75 + 0.02 * np.cos(3 * t)], axis=1)
    yaw = 0.3 * t
    quat = np.stack([np.cos(yaw / 2), 0 * yaw, 0 * yaw, np.sin(yaw / 2)], axis=1)
    return motion_to_clip(robot, RobotMotion(30.0, root, quat, joints, robot.joint_names))


def _check(reference, clip, **kw):
    return check_poses(
        reference, clip.fps, clip.joint_pos, clip.body_pos_w, clip.body_quat_w,
        body_lin_vel=clip.body_lin_vel_w, body_ang_vel=clip.body_ang_vel_w, **kw
    )


def test_own_clip_passes_against_mujoco_of_the_bundled_urdf(robot, clip):
    result = _check(MujocoReference(robot), clip)
    assert result.passed, result.problems
    assert result.pos_max < 1e-9 and result.rot_max < 1e-7
    assert result.lin_vel_p95 < 1e-9 and result.ang_vel_p95 < 1e-9


def test_own_clip_passes_against_mjlab_mjcf(robot, clip):
    require_shared("robots", "unitree_g1_mjlab", "g1.xml")
    result = _check(MujocoReference(robot, MJLAB_XML), clip, frames=10)
    assert result.frames_checked == 10
    assert result.passed, result.problems


def test_swapped_joint_columns_fail(robot, clip):
    joints = clip.joint_pos.copy()
    a, b = robot.joint_names.index("left_knee_joint"), robot.joint_names.index("right_knee_joint")
    joints[:, [a, b]] = joints[:, [b, a]]
    result = check_poses(MujocoReference(robot), clip.fps, joints, clip.body_pos_w, clip.body_quat_w)
    assert not result.passed
    assert result.pos_max > 0.01


def test_swapped_body_order_fails(robot, clip):
    order = np.arange(len(robot.body_names))
    order[[4, 10]] = order[[10, 4]]
    result = check_poses(MujocoReference(robot), clip.fps, clip.joint_pos, clip.body_pos_w[:, order], clip.body_quat_w[:, order])
    assert not result.passed


def test_non_unit_quaternions_and_nan_are_problems(robot, clip):
    quat = clip.body_quat_w * 1.1
    joints = clip.joint_pos.copy()
    joints[5, 3] = np.nan
    result = check_poses(MujocoReference(robot), clip.fps, joints, clip.body_pos_w, quat, frames=4)
    text = " ".join(result.problems)
    assert "not unit length" in text and "NaN" in text


def test_velocities_that_do_not_match_the_poses_fail(robot, clip):
    reference = MujocoReference(robot)
    assert _check(reference, clip, frames=4).passed
    for lin, ang in ((2.0 * clip.body_lin_vel_w, 2.0 * clip.body_ang_vel_w), (clip.body_lin_vel_w, -clip.body_ang_vel_w)):
        result = check_poses(reference, clip.fps, clip.joint_pos, clip.body_pos_w, clip.body_quat_w,
                             body_lin_vel=lin, body_ang_vel=ang, frames=4)
        assert result.passed and not result.passed_strict  # the poses are right; the velocities are not
        assert "finite differences" in " ".join(result.velocity_problems)


def test_zeroed_velocities_of_a_foreign_clip_are_named_and_fail_only_with_strict(robot):
    source = require_shared("data", "npz", "with_world_body", "gangnam_style.npz")
    result = _run("--npz", str(source), "--frames", "5")
    assert result.exit_code == 0, result.output  # the poses are right: check-fk is about poses
    assert "poses ok; velocities:" in result.output
    assert "body_lin_vel_w is all zeros while the bodies move" in result.output
    strict = _run("--npz", str(source), "--frames", "5", "--strict")
    assert strict.exit_code == 1 and "FAIL (--strict)" in strict.output
    import json

    (row,) = json.loads(_run("--npz", str(source), "--frames", "5", "--json").output)
    assert row["passed"] and not row["passed_strict"] and row["velocity_problems"]


def _run(*args):
    from typer.testing import CliRunner

    from mimicdata.cli import app

    return CliRunner().invoke(app, ["check-fk", *args])


def test_cli_passes_a_built_dataset_once_per_clip(tmp_path):
    from conftest import REPO
    from mimicdata.build.dataset import BuildOptions, build_dataset

    report = build_dataset(REPO / "specs" / "sample.yaml", BuildOptions(output_root=tmp_path))
    # Every clip stored: the train and val splits, and the failures partition (which check-fk checks too).
    kept = sum(info.clips for info in report.splits.values()) + (report.failures.clips if report.failures else 0)
    assert report.failures is not None and report.failures.clips == 1
    result = _run("--npz", str(tmp_path / "sample"), "--frames", "10", "--json")
    assert result.exit_code == 0, result.output
    import json

    rows = json.loads(result.output)
    assert len(rows) == kept and all(r["passed"] for r in rows)


def test_cli_on_foreign_clips_and_a_planted_order_mismatch(tmp_path, robot):
    source = require_shared("data", "npz", "with_world_body", "dance1_subject2_part.npz")
    assert _run("--npz", str(source), "--frames", "20").exit_code == 0
    with np.load(source) as data:
        arrays = {k: data[k] for k in data.files}
    names = np.array(robot.joint_names)
    swapped = arrays["joint_pos"].copy()
    swapped[:, [3, 9]] = swapped[:, [9, 3]]  # knees exchanged, names left as they were
    planted = tmp_path / "planted.npz"
    np.savez(planted, **{**arrays, "joint_pos": swapped, "joint_names": names})
    result = _run("--npz", str(planted), "--frames", "20")
    assert result.exit_code == 1
    assert "FAIL" in result.output and "planted" in result.output


def test_cli_unreadable_input_exits_2(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    result = _run("--npz", str(bad))
    assert result.exit_code == 2 and "bad.npz" in result.output


def test_build_records_a_sampled_fk_check_unless_skipped(tmp_path):
    from conftest import REPO
    from mimicdata.build.dataset import FK_CHECK_CLIPS_PER_SOURCE, BuildOptions, build_dataset

    report = build_dataset(REPO / "specs" / "sample.yaml", BuildOptions(output_root=tmp_path / "a"))
    fk = report.fk_check
    sources = [s for s, info in report.sources.items() if info.kept]
    assert len(sources) <= fk.clips <= FK_CHECK_CLIPS_PER_SOURCE * len(sources)
    assert fk.passed == fk.clips and fk.failed == [] and fk.worst_pos_max < 1e-6
    skipped = build_dataset(REPO / "specs" / "sample.yaml", BuildOptions(output_root=tmp_path / "b", fk_check=False))
    assert "fk_check" not in skipped
