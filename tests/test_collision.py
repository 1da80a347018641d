"""Collision geometry: segment math against brute force, the bundled G1's capsules against MuJoCo on
mjlab's G1 (the geometry a simulator uses), and the quality measures built on them."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from conftest import MJLAB_XML, require_shared
from mimicdata.motion import RobotMotion
from mimicdata.robot.collision import capsule_distances, collision_measures, inertia_box
from mimicdata.robot.mujoco_model import compile_mujoco


def test_capsule_distances_match_a_dense_search():
    rng = np.random.default_rng(0)
    a0, a1, b0, b1 = (rng.normal(size=(200, 3)) for _ in range(4))
    b1[:20] = b0[:20]  # spheres
    a1[20:30] = a0[20:30] + 1e-3 * (b1[20:30] - b0[20:30])  # near-degenerate
    b1[30:40] = b0[30:40] + 2.0 * (a1[30:40] - a0[30:40])  # parallel
    radii = rng.uniform(0.0, 0.1, size=(2, 200))
    found = capsule_distances(a0, a1, radii[0], b0, b1, radii[1])
    p, q = found.closest_first, found.closest_second
    s = np.linspace(0, 1, 401)
    pa = a0[:, None] + s[None, :, None] * (a1 - a0)[:, None]
    pb = b0[:, None] + s[None, :, None] * (b1 - b0)[:, None]
    brute = np.linalg.norm(pa[:, :, None] - pb[:, None, :], axis=-1).min(axis=(1, 2))
    gap = np.linalg.norm(p - q, axis=-1)
    assert np.all(gap <= brute + 1e-9) and np.allclose(gap, brute, atol=5e-3)
    np.testing.assert_allclose(found.distance, gap - radii[0] - radii[1], atol=1e-12)
    np.testing.assert_allclose(found.normal * gap[:, None], p - q, atol=1e-12)
    # Axes that meet: a separating direction all the same (world up).
    crossing = capsule_distances(np.array([-1.0, 0, 0]), np.array([1.0, 0, 0]), 0.1,
                                 np.array([0, -1.0, 0]), np.array([0, 1.0, 0]), 0.2)
    assert np.isclose(crossing.distance, -0.3) and np.allclose(crossing.normal, [0, 0, 1])


def _random_poses(robot, n, seed):
    rng = np.random.default_rng(seed)
    q = rng.uniform(robot.joint_lower, robot.joint_upper, size=(n, robot.num_joints))
    root = rng.normal(size=(n, 3)) * [0.5, 0.5, 0.1] + [0, 0, 0.8]
    quat = rng.normal(size=(n, 4))
    return root, quat / np.linalg.norm(quat, axis=1, keepdims=True), q


def test_bundled_capsules_are_mjlabs_and_distances_agree_with_mujoco(robot):
    require_shared("robots", "unitree_g1_mjlab", "g1.xml")
    model = compile_mujoco(MJLAB_XML)
    data = mujoco.MjData(model)
    geometry = robot.collision
    theirs = {i: model.geom(f"{name}_collision").id for i, name in enumerate(geometry.names)
              if "foot" not in name}
    assert len(theirs) == geometry.num_geoms - 4  # every geom but the two simplified feet
    qpos = np.array([model.jnt_qposadr[model.joint(n).id] for n in robot.joint_names])
    root, quat, q = _random_poses(robot, 25, seed=1)
    body_pos, body_quat = robot.forward_kinematics(root, quat, q)
    start, end = geometry.world(body_pos, body_quat)
    distances = geometry.pair_distances(body_pos, body_quat).distance
    checked = 0
    for t in range(len(root)):
        data.qpos[:3], data.qpos[3:7], data.qpos[qpos] = root[t], quat[t], q[t]
        mujoco.mj_forward(model, data)
        for i, g in theirs.items():
            center, axis = data.geom_xpos[g], data.geom_xmat[g].reshape(3, 3)[:, 2]
            half = model.geom_size[g][1] if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE else 0.0
            ends = {tuple(np.round(center + half * axis, 6)), tuple(np.round(center - half * axis, 6))}
            assert ends == {tuple(np.round(start[t, i], 6)), tuple(np.round(end[t, i], 6))}, geometry.names[i]
            assert model.geom_size[g][0] == pytest.approx(geometry.radius[i])
        for p, (i, j) in enumerate(geometry.pairs):
            if i in theirs and j in theirs:
                fromto = np.zeros(6)
                expected = mujoco.mj_geomDistance(model, data, theirs[i], theirs[j], 10.0, fromto)
                assert distances[t, p] == pytest.approx(expected, abs=1e-6), (geometry.names[i], geometry.names[j])
                checked += 1
    assert checked > 1000


@pytest.mark.parametrize("within", [0.0, 0.05])
def test_near_pair_distances_are_exact_within_reach_and_a_lower_bound_beyond(robot, within):
    root, quat, q = _random_poses(robot, 40, seed=3)
    body_pos, body_quat = robot.forward_kinematics(root, quat, q)
    geometry = robot.collision
    exact = geometry.pair_distances(body_pos, body_quat).distance
    near = geometry.near_pair_distances(body_pos, body_quat, within)
    close = exact <= within
    assert close.any() and (~close).any()
    np.testing.assert_array_equal(near[close], exact[close])
    assert np.all(near[~close] > within) and np.all(near[~close] <= exact[~close] + 1e-12)


def test_pairs_leave_out_neighbours_and_what_touches_at_rest(robot):
    geometry = robot.collision
    names = {frozenset((geometry.names[i], geometry.names[j])) for i, j in geometry.pairs}
    assert frozenset(("left_hand", "right_hand")) in names
    assert frozenset(("left_hand", "torso")) in names and frozenset(("left_hand", "left_thigh")) in names
    assert frozenset(("left_thigh", "left_shin")) not in names  # one joint apart
    assert frozenset(("pelvis", "left_hip")) not in names  # excluded by the description
    neutral = robot.forward_kinematics(np.zeros((1, 3)), np.array([[1.0, 0, 0, 0]]), np.zeros((1, robot.num_joints)))
    assert geometry.pair_distances(*neutral).distance.min() > 0


def test_collision_measures_find_hands_through_each_other_and_a_knee_through_the_floor(robot):
    joints = robot.joint_names
    q = np.zeros((3, robot.num_joints))
    for side, sign in (("left", 1), ("right", -1)):
        q[1, joints.index(f"{side}_shoulder_pitch_joint")] = -1.4  # arms forward
        q[1, joints.index(f"{side}_shoulder_roll_joint")] = -sign * 0.35  # and inward, across each other
        q[1, joints.index(f"{side}_elbow_joint")] = 0.2
    root = np.array([[0, 0, 0.79], [0, 0, 0.79], [0, 0, 0.79]])
    q[2, joints.index("left_hip_pitch_joint")] = -1.2
    q[2, joints.index("left_knee_joint")] = 2.6  # kneeling on the left knee, but the root left standing
    root[2, 2] = 0.6
    motion = RobotMotion(30.0, root, np.tile([1.0, 0, 0, 0], (3, 1)), q, joints)
    body_pos, body_quat = robot.forward_kinematics(motion.root_pos, motion.root_quat, motion.joint_pos)
    standing = collision_measures(robot, body_pos[:1], body_quat[:1])
    assert standing.self_collision_frames == 0 and standing.floor_penetration_frames == 0
    crossed = collision_measures(robot, body_pos[1:2], body_quat[1:2])
    assert crossed.self_collision_frames == 1.0 and crossed.deepest_self_penetration > 0.01
    first, second = sorted(str(crossed.worst_pair).split("/"))
    assert first.startswith("left_") and second.startswith("right_")  # the forearms, through each other
    assert not {"hip", "thigh", "shin", "foot"} & set((first + second).split("_"))
    kneeling = collision_measures(robot, body_pos[2:], body_quat[2:])
    assert kneeling.floor_penetration_frames == 1.0 and kneeling.deepest_floor_penetration > 0.02


def test_an_mjcf_robot_brings_its_own_collision_geoms_and_exclusions(robot):
    from mimicdata.robot import load_robot

    xml = require_shared("robots", "unitree_g1_mjlab", "g1.xml")
    theirs = load_robot(str(xml))
    geometry = theirs.collision
    model = compile_mujoco(xml)
    data = mujoco.MjData(model)
    expected = {model.geom(g).name for g in range(model.ngeom)
                if model.geom_bodyid[g] and (model.geom_contype[g] or model.geom_conaffinity[g])}
    assert set(geometry.names) == expected
    names = {frozenset((theirs.body_names[geometry.body[i]], theirs.body_names[geometry.body[j]]))
             for i, j in geometry.pairs}
    assert frozenset(("pelvis", "left_hip_roll_link")) not in names  # the MJCF's <exclude>
    qpos = np.array([model.jnt_qposadr[model.joint(n).id] for n in theirs.joint_names])
    root, quat, q = _random_poses(theirs, 10, seed=2)
    distances = geometry.pair_distances(*theirs.forward_kinematics(root, quat, q)).distance
    for t in range(len(root)):
        data.qpos[:3], data.qpos[3:7], data.qpos[qpos] = root[t], quat[t], q[t]
        mujoco.mj_forward(model, data)
        for p, (i, j) in enumerate(geometry.pairs):
            a, b = model.geom(geometry.names[i]).id, model.geom(geometry.names[j]).id
            expected_distance = mujoco.mj_geomDistance(model, data, a, b, 10.0, np.zeros(6))
            assert distances[t, p] == pytest.approx(expected_distance, abs=1e-6)


def test_a_box_becomes_two_capsules_that_fill_its_footprint_and_sole(tmp_path):
    from mimicdata.robot import load_robot

    xml = tmp_path / "boxfoot.xml"
    xml.write_text("""<mujoco><worldbody><body name="base" pos="0 0 1"><freejoint/>
      <geom type="sphere" size="0.1"/>
      <body name="foot" pos="0 0 -0.5"><joint name="ankle" type="hinge" axis="0 1 0" range="-1 1"/>
        <geom name="sole" type="box" size="0.1 0.04 0.02" pos="0.03 0 -0.05"/>
      </body></body></worldbody></mujoco>""")
    robot = load_robot(str(xml))
    geometry = robot.collision
    assert sorted(geometry.names) == ["base_geom0", "sole_0", "sole_1"]
    pose = robot.forward_kinematics(np.zeros((1, 3)), np.array([[1.0, 0, 0, 0]]), np.zeros((1, 1)))
    start, end = geometry.world(*pose)
    box = [geometry.names.index(n) for n in ("sole_0", "sole_1")]
    points = np.concatenate([start[0, box], end[0, box]])
    radius = geometry.radius[box]
    np.testing.assert_allclose(radius, 0.02)
    assert points[:, 0].min() - 0.02 == pytest.approx(0.03 - 0.1) and points[:, 0].max() + 0.02 == pytest.approx(0.13)
    assert points[:, 1].min() - 0.02 == pytest.approx(-0.04) and points[:, 1].max() + 0.02 == pytest.approx(0.04)
    assert geometry.lowest_points(*pose)[0, box] == pytest.approx([-0.5 - 0.05 - 0.02] * 2)


def test_the_inertia_box_of_a_uniform_box_is_that_box():
    half, mass = np.array([0.02, 0.05, 0.2]), 3.0
    a, b, c = half
    moments = mass / 3.0 * np.array([b * b + c * c, a * a + c * c, a * a + b * b])
    np.testing.assert_allclose(inertia_box(mass, moments), half, rtol=1e-12)


def test_collision_meshes_are_stood_in_for_by_inertia_boxes_and_visual_ones_are_not():
    from mimicdata.robot import load_robot

    h1 = load_robot(str(require_shared("robots", "unitree_h1", "h1.xml")))
    geometry = h1.collision
    estimated = {h1.body_names[b] for b in geometry.body[geometry.estimated]}
    # Every body whose collision geom is a mesh; the hip yaw links keep their cylinders.
    assert {"pelvis", "torso_link", "left_knee_link", "right_elbow_link", "left_ankle_link"} <= estimated
    assert not estimated & {"left_hip_yaw_link", "right_hip_yaw_link"} and len(estimated) == 18
    cylinder = geometry.names.index("left_hip_yaw_link_geom4")
    assert not geometry.estimated[cylinder] and np.isclose(geometry.radius[cylinder], 0.06)
    # A stand-in is never checked against a body one body away along the tree (the hip's hinges).
    def up(body: int) -> int:
        return int(h1.body_parents[body]) if body >= 0 else -1

    for i, j in geometry.pairs:
        if geometry.estimated[i] or geometry.estimated[j]:
            a, b = geometry.body[i], geometry.body[j]
            assert a not in (up(b), up(up(b))) and b not in (up(a), up(up(a))) and up(a) != up(b)
    # A model whose meshes are all visual gets none.
    mjlab = load_robot(str(MJLAB_XML)).collision
    assert not mjlab.estimated.any()


def test_inertia_stand_ins_flag_about_as_many_colliding_frames_as_mjlabs_capsules(tmp_path):
    """INERTIA_THICKENING's calibration: mjlab's G1 with each collision geom made a mesh (so stood in for
    by its body's inertia box) against the real capsules, on Unitree's own G1 retargets of LAFAN1."""
    import re

    from mimicdata.robot import load_robot
    from mimicdata.robot.collision import SELF_COLLISION_DEPTH, collision_from_model
    from mimicdata.sources import read_motion

    require_shared("robots", "unitree_g1_mjlab", "g1.xml")
    takes = sorted(require_shared("data", "g1_csv", "unitree_lafan1").glob("*.csv"))
    meshed = tmp_path / "g1.xml"
    meshed.write_text(re.sub(r'<geom name="[^"]*_collision" class="collision"[^>]*/>',
                             '<geom class="collision" mesh="stand_in"/>', MJLAB_XML.read_text()))
    robot = load_robot(str(MJLAB_XML))
    real, estimate = robot.collision, collision_from_model(meshed, robot)
    assert estimate is not None and estimate.estimated.sum() >= 20
    flagged = {"real": [], "estimate": []}
    for take in takes:
        motion = read_motion("csv", take, robot, None, fps=30)
        pos, quat = robot.forward_kinematics(motion.root_pos, motion.root_quat, motion.joint_pos)
        for name, geometry in (("real", real), ("estimate", estimate)):
            flagged[name].append(geometry.posed(pos, quat).near_pair_distances(0.0).min(axis=1) < -SELF_COLLISION_DEPTH)
    total = {name: sum(f.mean() for f in frames) for name, frames in flagged.items()}
    assert 0.8 < total["estimate"] / total["real"] < 1.2
    walk = [n for n, take in enumerate(takes) if take.stem.startswith("walk4")][0]
    real_walk, estimate_walk = flagged["real"][walk], flagged["estimate"][walk]
    assert (real_walk & estimate_walk).sum() > 0.9 * real_walk.sum()  # the hands-into-hips frames, found
