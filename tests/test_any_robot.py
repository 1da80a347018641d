"""Any humanoid as an MJCF or URDF: limbs, feet, soles and mirror found from the tree and the geometry (link
names are only labels), a retarget config drafted from them, and human motion retargeted onto it."""

from __future__ import annotations

import re

import mujoco
import numpy as np
import pytest
import yaml

from conftest import MJLAB_XML, SHARED, require_shared
from mimicdata.build.dataset import BuildOptions, build_dataset
from mimicdata.dataset.report import read_build_report
from mimicdata.errors import InputError, RobotModelError, SpecError
from mimicdata.retarget import load_format, load_retarget_config, retarget_config, retarget_skeleton
from mimicdata.retarget.quality import measure_retarget
from mimicdata.robot import load_robot
from mimicdata.robot.mujoco_model import compile_mujoco, qpos_addresses
from mimicdata.robot.topology import find_limbs
from mimicdata.sources.bvh import read_bvh

T1 = SHARED / "robots" / "booster_t1" / "t1_mocap.xml"
H1 = SHARED / "robots" / "unitree_h1" / "h1.xml"
ARMS_ONLY = """<mujoco model="armsonly"><worldbody><body name="chest" pos="0 0 1"><freejoint/>
  <geom type="sphere" size="0.1"/>
  <body name="l1" pos="0 0.2 0"><joint name="a" axis="0 1 0"/><body name="l2" pos="0 0.1 0"><joint name="b" axis="1 0 0"/>
    <body name="l3" pos="0 0.2 0"><joint name="c" axis="0 0 1"/><geom type="capsule" fromto="0 0 0 0 0.2 0" size="0.03"/></body></body></body>
  <body name="r1" pos="0 -0.2 0"><joint name="d" axis="0 1 0"/><body name="r2" pos="0 -0.1 0"><joint name="e" axis="1 0 0"/>
    <body name="r3" pos="0 -0.2 0"><joint name="f" axis="0 0 1"/><geom type="capsule" fromto="0 0 0 0 -0.2 0" size="0.03"/></body></body></body>
</body></worldbody></mujoco>"""


def test_the_bundled_g1s_roles_are_found_from_its_tree():
    limbs, config = find_limbs(load_robot("unitree_g1")), load_retarget_config("unitree_g1")
    assert limbs.root == limbs.pelvis == "pelvis" and limbs.torso == "torso_link"
    for side in ("left", "right"):
        assert limbs.legs[side] == tuple(config.legs[side])
        assert limbs.arms[side][1:] == tuple(config.arms[side])[1:]  # elbow and wrist; the shoulder one link up


def test_booster_t1_is_understood_from_its_geometry_not_its_link_names(tmp_path):
    require_shared("robots", "booster_t1", "t1_mocap.xml")
    robot = load_robot(str(T1))
    limbs = find_limbs(robot)
    assert limbs.root == limbs.torso == "Trunk" and limbs.pelvis == "Waist"  # T1 floats its trunk
    assert limbs.legs["left"] == ("Hip_Pitch_Left", "Shank_Left", "left_foot_link")
    assert limbs.arms["right"] == ("AR1", "AR4", "right_hand_link")  # AR4's hinge is the elbow, whatever its name
    assert robot.foot_bodies == ("left_foot_link", "right_foot_link")
    sole = robot.sole_points["left_foot_link"]
    np.testing.assert_allclose(sole[:, 2], -0.03)  # the underside of the foot box (centre -0.015, half height 0.015)
    assert sole[:, 0].min() == pytest.approx(-0.0865) and sole[:, 0].max() == pytest.approx(0.1065)
    names = robot.joint_names
    assert robot.mirror is not None
    partner = {n: (names[robot.mirror.joint_partner[j]], robot.mirror.joint_sign[j]) for j, n in enumerate(names)}
    assert partner["Left_Hip_Pitch"] == ("Right_Hip_Pitch", 1.0) and partner["Left_Hip_Roll"] == ("Right_Hip_Roll", -1.0)
    assert partner["Waist"] == ("Waist", -1.0)
    config = retarget_config(robot)
    assert config.root == "torso" and config.tasks["pelvis"].body == "Waist" and config.nominal["Left_Knee_Pitch"] > 0
    assert config.tasks["left_wrist"].orientation == 0.0  # no wrist hinge to turn the hand with
    # Renamed past recognition, the same robot gives the same roles under its new names.
    text = T1.read_text()
    old = re.findall(r'<(?:body|joint) name="([^"]+)"', text)
    new = {name: f"x{k}" for k, name in enumerate(dict.fromkeys(old))}
    renamed = text
    for name, label in new.items():  # the names and every reference to them (actuators name their joints)
        renamed = renamed.replace(f'"{name}"', f'"{label}"')
    odd = tmp_path / "t1_renamed.xml"
    odd.write_text(renamed)
    other = find_limbs(load_robot(str(odd)))
    assert other.legs["left"] == tuple(new[n] for n in limbs.legs["left"])
    assert other.arms["right"] == tuple(new[n] for n in limbs.arms["right"])


@pytest.fixture(scope="module")
def t1_walk():
    robot = load_robot(str(require_shared("robots", "booster_t1", "t1_mocap.xml")))
    take = require_shared("data", "bvh", "lafan1", "walk4_subject1.bvh")
    skeleton = read_bvh(take).head(900)
    fmt = load_format(skeleton.skeleton_format)
    result = retarget_skeleton(skeleton, fmt, robot, take)
    return robot, skeleton, fmt, result, measure_retarget(robot, result, skeleton, fmt, take)


def test_a_lafan1_walk_retargets_onto_t1_with_its_feet_on_the_floor(t1_walk):
    robot, skeleton, fmt, result, quality = t1_walk
    assert result.motion.joint_names == robot.joint_names and result.motion.num_frames == skeleton.num_frames
    assert quality.limit_violation_frames == 0.0
    assert quality.floor_penetration_frames == 0.0 and quality.below_2cm_frames == 0.0
    assert abs(quality.median_lowest_sole) < 0.01
    assert quality.stance_foot_speed < 0.05
    assert quality.end_effector_error["left_foot"] < 0.2 and quality.end_effector_error["right_foot"] < 0.2
    # Its hands hang 10 cm inside its hips unless spread (retarget/arms.py): 79% of the frames collided.
    assert quality.self_collision_frames < 0.01


def test_t1_motion_matches_mujocos_own_kinematics(t1_walk):
    robot, _, _, result, _ = t1_walk
    model = compile_mujoco(T1)
    data = mujoco.MjData(model)
    address = qpos_addresses(model, robot.joint_names, T1)
    m = result.motion
    body_pos, _ = robot.forward_kinematics(m.root_pos, m.root_quat, m.joint_pos)
    for t in range(0, m.num_frames, 150):
        data.qpos[:3], data.qpos[3:7] = m.root_pos[t], m.root_quat[t]
        data.qpos[address] = m.joint_pos[t]
        mujoco.mj_kinematics(model, data)
        for b, name in enumerate(robot.body_names):
            np.testing.assert_allclose(body_pos[t, b], data.xpos[model.body(name).id], atol=1e-6)


def test_a_robot_with_two_limbs_is_a_spec_error_naming_what_was_looked_at(tmp_path):
    model = tmp_path / "armsonly.xml"
    model.write_text(ARMS_ONLY)
    with pytest.raises(RobotModelError, match="cannot find the arms"):  # its two limbs are taken for legs
        find_limbs(load_robot(str(model)))
    take = require_shared("data", "bvh", "lafan1_cuts", "fallAndGetUp1_subject1_1600_1700.bvh")
    spec = {"name": "noleg", "target_fps": 30, "val_percent": 10, "robot": str(model),
            "sources": [{"name": "m", "type": "bvh", "input": str(take)}]}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError) as info:
        build_dataset(path, BuildOptions(output_root=tmp_path / "out"))
    message = str(info.value)
    assert "robot: cannot retarget human motion onto it" in message and "cannot find the arms" in message
    assert "l3 at" in message and "r3 at" in message  # the limb ends it considered, with where they are
    assert not (tmp_path / "out" / "noleg").exists()


def test_h1_without_sole_geometry_asks_for_a_robot_yaml(tmp_path):
    require_shared("robots", "unitree_h1", "h1.xml")
    with pytest.raises(RobotModelError, match="left_ankle_link' has no collision geometry .* sole_points in a robot.yaml"):
        retarget_config(load_robot(str(H1)))


def test_mjlabs_g1_model_as_the_robot_retargets_bvh_instead_of_rejecting_every_clip(tmp_path):
    require_shared("robots", "unitree_g1_mjlab", "g1.xml")
    take = require_shared("data", "bvh", "lafan1_cuts", "fallAndGetUp1_subject1_680_800.bvh")
    spec = {"name": "mjlab", "target_fps": 30, "val_percent": 10, "robot": str(MJLAB_XML),
            "sources": [{"name": "m", "type": "bvh", "input": str(take)}]}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    report = build_dataset(path, BuildOptions(output_root=tmp_path / "out"))
    assert report.kept == 1 and not report.rejected
    stored = read_build_report(tmp_path / "out" / "mjlab")
    (measured,) = stored.retarget_quality
    assert measured.limit_violation_frames == 0.0 and measured.floor_penetration_frames == 0.0


H1_DESCRIPTION = """name: unitree_h1
model: {model}
# H1's collision geometry is meshes (stood in for by inertia boxes, which cannot say where a sole is): its soles
# and hands come from published figures (the home keyframe stands the ankle 0.07 m over the floor; the forearm's
# centre of mass is 0.165 m out along the elbow link's x).
sole_points:
  left_ankle_link: &sole [[-0.06, 0.03, -0.07], [-0.06, -0.03, -0.07], [0.2, 0.03, -0.07], [0.2, -0.03, -0.07]]
  right_ankle_link: *sole
extra_bodies:
  left_hand: {{parent: left_elbow_link, pos: [0.3, 0.0, -0.02]}}
  right_hand: {{parent: right_elbow_link, pos: [0.3, 0.0, -0.02]}}
"""


def test_h1_with_a_robot_yaml_for_what_its_model_lacks_retargets_a_walk(tmp_path):
    model = require_shared("robots", "unitree_h1", "h1.xml")
    description = tmp_path / "robot.yaml"
    description.write_text(H1_DESCRIPTION.format(model=model))
    robot = load_robot(str(description))
    assert robot.body_names[-2:] == ("left_hand", "right_hand") and not robot.description_problems
    limbs = find_limbs(robot)
    assert limbs.arms["left"] == ("left_shoulder_pitch_link", "left_elbow_link", "left_hand")
    assert limbs.legs["right"] == ("right_hip_yaw_link", "right_knee_link", "right_ankle_link")
    take = require_shared("data", "bvh", "lafan1", "walk4_subject1.bvh")
    skeleton = read_bvh(take).head(900)
    fmt = load_format(skeleton.skeleton_format)
    result = retarget_skeleton(skeleton, fmt, robot, take)
    quality = measure_retarget(robot, result, skeleton, fmt, take)
    assert quality.limit_violation_frames == 0.0 and quality.below_2cm_frames == 0.0
    assert abs(quality.median_lowest_sole) < 0.01 and quality.stance_foot_speed < 0.05
    # Its mesh-only links, stood in for by their inertia boxes, are kept apart (unconstrained: 88% of frames).
    assert robot.collision is not None and robot.collision.estimated.sum() > 30
    assert quality.self_collision_frames < 0.01 and quality.ik_residual_frames < 0.01


def test_a_frame_whose_solve_crossed_a_straight_knee_is_solved_again_from_the_nominal_posture(tmp_path):
    """H1's knee straightens on CMU 131_01 (the performer's leg is the longer); stepping from one frame's answer
    to the next, the solver once crossed that fold and swung the planted leg back to its hip pitch limit, the
    foot 1.46 m from its target for 27 frames. The in-order solver now solves such a frame again from the
    nominal posture and keeps the better answer."""
    model = require_shared("robots", "unitree_h1", "h1.xml")
    description = tmp_path / "robot.yaml"
    description.write_text(H1_DESCRIPTION.format(model=model))
    robot = load_robot(str(description))
    take = require_shared("data", "bvh", "cmu", "131_01.bvh")
    skeleton = read_bvh(take).head(400)
    result = retarget_skeleton(skeleton, load_format(skeleton.skeleton_format), robot, take)
    hip = robot.joint_names.index("left_hip_pitch_joint")
    assert not (result.motion.joint_pos[:, hip] > robot.joint_upper[hip] - 0.1).any()
    assert result.ik_residual.max() < 0.5


def test_init_robot_writes_a_reviewable_description_that_loads_as_the_same_robot(tmp_path):
    from mimicdata.commands.init_robot import init_robot

    require_shared("robots", "booster_t1", "t1_mocap.xml")
    done = init_robot(T1, tmp_path / "t1")
    text = done.path.read_text()
    assert not done.problems and text.count("# guess:") >= 4 and "root_body: Trunk" in text
    written = load_robot(str(done.path))
    derived = load_robot(str(T1))
    assert written.foot_bodies == derived.foot_bodies and written.mirror is not None and derived.mirror is not None
    np.testing.assert_array_equal(written.mirror.joint_partner, derived.mirror.joint_partner)
    np.testing.assert_array_equal(written.mirror.joint_sign, derived.mirror.joint_sign)
    assert retarget_config(written).model_dump(exclude={"robot"}) == retarget_config(derived).model_dump(exclude={"robot"})
    with pytest.raises(InputError, match="already exists"):
        init_robot(T1, tmp_path / "t1")
    # H1's feet carry no geometry: the draft says so at the top, and the robot refuses to retarget until it is given.
    h1 = init_robot(require_shared("robots", "unitree_h1", "h1.xml"), tmp_path / "h1")
    assert h1.problems and "# COULD NOT DERIVE:" in h1.path.read_text() and "sole_points" in h1.path.read_text()
    with pytest.raises(RobotModelError, match="sole"):
        retarget_config(load_robot(str(h1.path)))
