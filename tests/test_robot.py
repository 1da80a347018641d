import numpy as np
import pytest

from conftest import mujoco_fk, quat_angle, require_shared
from mimicdata.errors import RobotModelError
from mimicdata.robot import load_robot


def _random_configs(robot, T, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.uniform(robot.joint_lower, robot.joint_upper, (T, robot.num_joints))
    root = rng.normal(scale=2.0, size=(T, 3))
    quat = rng.normal(size=(T, 4))
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    return root, quat, q


def test_names_and_limits_match_mjlab(robot, mujoco_reference):
    m = mujoco_reference
    mj_joints = [m.joint(i).name for i in range(1, m.njnt)]
    mj_bodies = [m.body(i).name for i in range(1, m.nbody)]
    assert list(robot.joint_names) == mj_joints
    assert list(robot.body_names) == mj_bodies
    assert len(robot.joint_names) == 29 and len(robot.body_names) == 30
    np.testing.assert_allclose(robot.joint_lower, m.jnt_range[1:, 0], atol=1e-9)
    np.testing.assert_allclose(robot.joint_upper, m.jnt_range[1:, 1], atol=1e-9)


def test_fk_matches_mujoco_reference(robot, mujoco_reference):
    root, quat, q = _random_configs(robot, 300)
    pos, rot = robot.forward_kinematics(root, quat, q)
    ref_pos, ref_rot = mujoco_fk(mujoco_reference, root, quat, q)
    assert np.abs(pos - ref_pos).max() <= 1e-6
    assert quat_angle(rot, ref_rot).max() <= 1e-6


def test_fk_is_chunk_independent_and_continuous(robot):
    # More frames than one internal chunk, a root that flips quaternion sign each frame.
    T = 2500
    t = np.linspace(0, 10, T)
    root = np.stack([t, 0 * t, 0.8 + 0 * t], axis=1)
    quat = np.stack([np.cos(t / 2), 0 * t, 0 * t, np.sin(t / 2)], axis=1)
    quat[::2] *= -1
    q = np.tile(np.linspace(-0.1, 0.1, robot.num_joints), (T, 1))
    pos, rot = robot.forward_kinematics(root, quat, q)
    pos_1, rot_1 = robot.forward_kinematics(root[1000:1001], quat[1000:1001], q[1000:1001])
    np.testing.assert_allclose(pos[1000], pos_1[0], atol=1e-12)
    assert quat_angle(rot[1000], rot_1[0]).max() < 1e-9
    # consecutive body quaternions stay in one hemisphere
    assert (np.sum(rot[1:] * rot[:-1], axis=-1) > 0).all()


def test_fk_agrees_with_pinocchio(robot):
    pin = pytest.importorskip("pinocchio")
    root, quat, q = _random_configs(robot, 20, seed=3)
    pos, rot = robot.forward_kinematics(root, quat, q)
    model = pin.buildModelFromUrdf(str(robot.model_path), pin.JointModelFreeFlyer())
    data = model.createData()
    for t in range(len(q)):
        config = np.concatenate([root[t], quat[t, 1:], quat[t, :1], q[t]])  # pinocchio: xyzw
        pin.framesForwardKinematics(model, data, config)
        for b, name in enumerate(robot.body_names):
            placement = data.oMf[model.getFrameId(name)]
            np.testing.assert_allclose(pos[t, b], placement.translation, atol=1e-9)


def test_the_bundled_robots_stored_parse_is_pinocchios_and_a_stale_one_is_not_used(tmp_path, monkeypatch):
    """robot/parse.py: the G1 loads from the parse stored beside its URDF (no pinocchio import), equal to what
    pinocchio reads from it now (else: python tools/store_robot_tree.py); a copy of the model with one byte
    changed beside that same stored parse is read through pinocchio instead."""
    import dataclasses
    import shutil
    import subprocess
    import sys

    from mimicdata.robot.model import BUNDLED
    from mimicdata.robot.parse import parse_model, read_with_pinocchio, stored_path

    config = BUNDLED["unitree_g1"]
    model = config.parent / "g1_29dof.urdf"
    assert stored_path(model).is_file()
    stored, fresh = parse_model(model, None, config), read_with_pinocchio(model, None, config)
    for field in dataclasses.fields(fresh):
        a, b = getattr(stored, field.name), getattr(fresh, field.name)
        assert a == b if isinstance(a, (str, tuple)) else (np.array_equal(a, b) and a.dtype == b.dtype), field.name
    code = "import sys; from mimicdata.robot import load_robot; load_robot(); print('pinocchio' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"

    from mimicdata.robot import parse

    read = []
    monkeypatch.setattr(parse, "read_with_pinocchio", lambda *args: read.append(args) or fresh)
    assert parse_model(model, None, config) is not fresh and not read  # the stored one
    changed = tmp_path / model.name
    changed.write_text(model.read_text().replace("<robot name=", "<robot  name=", 1))
    shutil.copy(stored_path(model), stored_path(changed))
    assert parse_model(changed, None, changed) is fresh and len(read) == 1
    for junk in (b"", b"PK\x03\x04 not a zip", b"\x93NUMPY garbage"):  # a damaged stored parse is not trusted
        stored_path(changed).write_bytes(junk)
        assert parse_model(changed, None, changed) is fresh


def test_sole_points_lie_below_ankle(robot):
    root = np.array([[0.0, 0.0, 0.8]])
    quat = np.array([[1.0, 0.0, 0.0, 0.0]])
    q = np.zeros((1, robot.num_joints))
    pos, rot = robot.forward_kinematics(root, quat, q)
    for foot in robot.foot_bodies:
        soles = robot.sole_points_world(foot, pos, rot)
        ankle_z = pos[0, robot.body_index(foot), 2]
        np.testing.assert_allclose(soles[0, :, 2], ankle_z - 0.035, atol=1e-9)


def test_loads_a_foreign_mjcf_through_pinocchio():
    path = require_shared("robots", "unitree_g1_mjlab", "g1.xml")
    other = load_robot(str(path))
    assert other.joint_names == load_robot().joint_names
    assert other.body_names[:3] == ("pelvis", "left_hip_pitch_link", "left_hip_roll_link")


def test_bad_robot_paths_fail_clearly(tmp_path):
    with pytest.raises(RobotModelError, match="not found"):
        load_robot(str(tmp_path / "missing.urdf"))
    bad = tmp_path / "bad.urdf"
    bad.write_text("<robot name='x'><link name='a'/><joint")
    with pytest.raises(RobotModelError, match="bad.urdf"):
        load_robot(str(bad))


def test_limit_excess_and_build_flags(robot):
    from mimicdata.build.clip import limit_flags as _limit_flags

    q = np.zeros((4, robot.num_joints))
    knee = robot.joint_names.index("left_knee_joint")
    q[1, knee] = robot.joint_upper[knee] + 0.2
    q[2, knee] = robot.joint_lower[knee] - 0.0005  # within the flagging tolerance
    excess = robot.limit_excess(q)
    assert excess[1, knee] == pytest.approx(0.2) and excess[2, knee] == pytest.approx(0.0005)
    assert excess.sum() == pytest.approx(0.2005)
    assert _limit_flags(q, robot) == ["joint_limits: 1 frames outside joint limits (worst left_knee_joint by 0.200 rad)"]
    assert _limit_flags(np.zeros((3, robot.num_joints)), robot) == []
