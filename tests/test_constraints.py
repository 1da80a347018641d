"""The retarget's physical constraints on the bundled G1 alone (no ../shared): collision and floor rows
against finite differences, the constrained solve pulling capsules apart and off the floor, the speed
projection, the planted-foot lock and the smooth envelopes that schedule them."""

from __future__ import annotations

import numpy as np
import pytest

from mimicdata import kernels
from mimicdata.geometry.rotations import rotate_vector
from mimicdata.retarget import load_retarget_config
from mimicdata.retarget.constraints import STRIDE, Places, compiled_settings
from mimicdata.retarget.ik import Task, chain_joints, make_chains
from mimicdata.retarget.physical import floor_geoms, smooth_envelope
from mimicdata.retarget.speed import limit_joint_speed
from mimicdata.retarget.stance import BALL, HEEL, FootParts, contact_runs, lock_planted_feet
from mimicdata.retarget.swing import lift_swing_feet, swing_clearance

IDENTITY = np.array([1.0, 0.0, 0.0, 0.0])


def _chains(robot):
    config = load_retarget_config(robot.name)
    order = list(config.tasks)
    tasks = [Task(robot.body_index(w.body), w.position, w.orientation) for w in config.tasks.values()]
    return make_chains(robot, tasks, [[order.index(r) for r in c.tasks] for c in config.chains.values()])


def _pose(robot, q):
    """Bodies, hinge origins and axes of joint angles q, the base 0.8 m up: (pose, root_pos, root_quat)."""
    T = len(q)
    root_pos, root_quat = np.tile([0.0, 0.0, 0.8], (T, 1)), np.tile(IDENTITY, (T, 1))
    return robot.joint_frames(root_pos, root_quat, q), root_pos, root_quat


def _rows(kind, places, pose, chains, robot, yielding):
    """Each chain's rows (frame, jac, err) or None, from the compiled rows (kernels.c's self_place, floor_place)."""
    settings = compiled_settings(robot, robot.collision, yielding, 1.0)
    _, rows = kernels.constraint_rows(kind, (places.frame, places.item, places.clearance), pose, chain_joints(chains),
                                      settings)
    return rows


def _arms_crossed(robot, frames=1):
    joints = robot.joint_names
    q = np.zeros((frames, robot.num_joints))
    for side, sign in (("left", 1), ("right", -1)):
        q[:, joints.index(f"{side}_shoulder_pitch_joint")] = -1.4
        q[:, joints.index(f"{side}_shoulder_roll_joint")] = -sign * 0.35
        q[:, joints.index(f"{side}_elbow_joint")] = 0.2
    return q


def test_collision_rows_are_the_finite_differences_of_the_pair_distance(robot):
    geometry = robot.collision
    q = _arms_crossed(robot)
    pose, root_pos, root_quat = _pose(robot, q)
    distance = geometry.pair_distances(pose[0], pose[1]).distance[0]
    names = [f"{geometry.names[i]}/{geometry.names[j]}" for i, j in geometry.pairs]
    pair = int(np.argmin(distance))
    assert distance[pair] < -0.01 and "left_" in names[pair] and "right_" in names[pair]
    chains = _chains(robot)
    config = load_retarget_config(robot.name)
    yielding = tuple(name in config.constraints.self_collision.yielding for name in config.chains)
    places = Places(np.array([0]), np.array([pair]), np.array([0.02]), 1)
    rows = _rows(kernels.SELF, places, pose, chains, robot, yielding)
    assert [r is not None for r in rows] == list(yielding)  # the arms move out of each other's way, not the waist
    checked = 0
    for chain, found in zip(chains, rows):
        if found is None:
            continue
        _, jac, err = found
        assert err[0] == pytest.approx(0.5 * STRIDE)  # half each, at most a stride per iteration
        for column, j in enumerate(chain.joints):
            bumped = q.copy()
            bumped[:, j] += 1e-6
            moved = geometry.pair_distances(*robot.forward_kinematics(root_pos, root_quat, bumped)).distance[0, pair]
            assert jac[0, column] == pytest.approx((moved - distance[pair]) / 1e-6, abs=1e-4)
            checked += 1
    assert checked >= 14  # both arms' hinges


def test_floor_rows_are_the_finite_differences_of_the_lowest_point(robot):
    geometry = robot.collision
    q = np.zeros((1, robot.num_joints))
    q[0, robot.joint_names.index("left_hip_pitch_joint")] = -1.2
    q[0, robot.joint_names.index("left_knee_joint")] = 2.0
    pose, root_pos, root_quat = _pose(robot, q)
    shin = geometry.names.index("left_shin")
    lowest = geometry.lowest_points(pose[0], pose[1])[0, shin]
    places = Places(np.array([0]), np.array([shin]), np.array([lowest + 0.05]), 1)
    rows = _rows(kernels.FLOOR, places, pose, _chains(robot), robot, [False] * len(_chains(robot)))
    (leg,) = [(c, r) for c, r in zip(_chains(robot), rows) if r is not None]
    chain, (_, jac, err) = leg
    assert err[0] == pytest.approx(STRIDE)  # at most one stride of the 5 cm asked for per iteration
    for column, j in enumerate(chain.joints):
        bumped = q.copy()
        bumped[:, j] += 1e-6
        moved = geometry.lowest_points(*robot.forward_kinematics(root_pos, root_quat, bumped))[0, shin]
        assert jac[0, column] == pytest.approx((moved - lowest) / 1e-6, abs=1e-4)


def test_limbs_lift_off_the_floor_what_they_move_beyond_their_first_hinges(robot):
    """The hip capsules (on the hip roll links, two leg hinges up) and the pelvis are the base's to hold up;
    thighs, shins and arms are their chains'; the feet are the ground stage's."""
    from types import SimpleNamespace

    config = load_retarget_config(robot.name)
    tasks = [Task(robot.body_index(t.body)) for t in config.tasks.values()]
    order = list(config.tasks)
    chains = make_chains(robot, tasks, [[order.index(r) for r in c.tasks] for c in config.chains.values()])
    problem = SimpleNamespace(config=config, chains=chains)
    geometry = robot.collision
    lifted = {geometry.names[g] for g in floor_geoms(robot, geometry, problem, config.constraints.floor.chains)}
    for side in ("left", "right"):
        assert {f"{side}_thigh", f"{side}_shin", f"{side}_shoulder_yaw", f"{side}_hand"} <= lifted
        assert not {f"{side}_hip", f"{side}_foot_inner", f"{side}_foot_outer"} & lifted
    assert "pelvis" not in lifted and "torso" not in lifted


def test_places_are_grouped_by_the_frames_they_are_taken_at():
    mask = np.zeros((6, 3), dtype=bool)
    mask[[1, 4, 4, 5], [0, 1, 2, 0]] = True
    places = Places.where(mask, np.arange(18.0).reshape(6, 3))
    start, item, clearance = places.grouped(np.array([2, 4, 5]))
    assert start.tolist() == [0, 0, 2, 3]  # frame 2 has none, frame 4 two, frame 5 one; frame 1 is not taken
    assert list(zip(item, clearance)) == [(1, 13.0), (2, 14.0), (0, 15.0)]


def test_smooth_envelope_covers_the_need_without_corners_and_ends():
    need = np.zeros(200)
    need[100] = 0.03
    lift = smooth_envelope(need, fps=30.0)
    assert (lift >= need).all() and lift[100] == pytest.approx(0.03)
    assert lift[:80].max() == 0.0 and lift[121:].max() == 0.0  # nothing far away
    assert np.abs(np.diff(lift, 2)).max() < 0.01  # no corners: bounded curvature
    assert (lift[98:103] > 0.025).all() and lift[94] > 0  # eases in before it is needed


def test_speed_projection_keeps_every_step_within_the_limit_and_far_frames_as_they_were():
    fps, limit = 30.0, np.array([3.0, np.inf])
    q = np.zeros((60, 2))
    q[30:, 0] = 1.0  # a 1 rad jump in one frame: 30 rad/s
    q[20, 1] = 0.5  # unlimited joint: left alone
    out = limit_joint_speed(q, limit, fps)
    assert (np.abs(np.diff(out[:, 0])) <= limit[0] / fps + 1e-12).all()
    np.testing.assert_array_equal(out[:, 1], q[:, 1])
    np.testing.assert_array_equal(out[:15, 0], 0.0)
    np.testing.assert_array_equal(out[45:, 0], 1.0)
    assert out[29, 0] + out[30, 0] == pytest.approx(1.0)  # symmetric about the jump: no lag


def test_contact_runs_close_short_gaps_and_drop_flicker():
    flags = np.zeros(40, dtype=bool)
    flags[5:15] = True
    flags[16:25] = True  # a one-frame gap: one run
    flags[30:31] = True  # flicker
    assert contact_runs(flags, min_run=3) == [(5, 25)]


def test_locked_foot_holds_its_planted_part_still_and_fades_back_to_the_performer():
    fps, T = 30.0, 90
    t = np.arange(T) / fps
    positions = np.zeros((T, 1, 3))
    positions[:, 0, 0] = 0.05 * t  # the performer's ankle creeps forward at 5 cm/s
    positions[:, 0, 2] = 0.07
    pitch = np.where(t > 1.5, 0.4 * (t - 1.5), 0.0)  # the foot rolls onto its ball after 1.5 s
    orientations = np.stack([np.cos(pitch / 2), 0 * pitch, np.sin(pitch / 2), 0 * pitch], axis=1)[:, None]
    planted = np.zeros((T, 1, 2), dtype=bool)
    planted[20:60, 0, HEEL] = True
    planted[20:70, 0, BALL] = True
    foot = FootParts(0, heel=np.array([-0.05, 0, -0.035]), ball=np.array([0.11, 0, -0.035]))
    out = lock_planted_feet(positions, orientations, [foot], planted, fps, blend=0.2)
    ankle = out[:, 0]
    flat = ankle[20:45, :2]
    np.testing.assert_allclose(flat, np.broadcast_to(flat[0], flat.shape), atol=1e-12)  # flat: the ankle stays put
    ball = (ankle + rotate_vector(orientations[:, 0], foot.ball))[60:70, :2]
    np.testing.assert_allclose(ball, np.broadcast_to(ball[0], ball.shape), atol=1e-12)  # on the ball: it stays put
    assert np.abs(np.diff(ankle[:, :2], axis=0)).max() < 0.015  # no jump anywhere (the plain path moves 2 mm a frame)
    np.testing.assert_array_equal(ankle[:10], positions[:10, 0])  # far before: the performer's
    np.testing.assert_array_equal(ankle[80:], positions[80:, 0])  # and far after
    np.testing.assert_array_equal(ankle[:, 2], positions[:, 0, 2])  # heights are left alone


def test_swing_clearance_rises_from_each_contact_and_falls_to_the_next_without_corners():
    fps, T = 30.0, 120
    planted = np.zeros((T, 2), dtype=bool)
    planted[:30, 0] = planted[60:90, 0] = True  # left: two stances with a one-second swing between
    c = swing_clearance(planted, fps, height=0.06, rise=0.2)
    np.testing.assert_array_equal(c[planted[:, 0], 0], 0.0)  # never while the foot is down
    assert c[36:54, 0].min() == pytest.approx(0.06)  # full height 0.2 s from either contact
    np.testing.assert_array_equal(c[90:, 0], 0.0)  # after the last contact: the performer's own, not a swing
    np.testing.assert_array_equal(c[:, 1], 0.0)  # a foot never planted is not lifted from anything
    accel = np.diff(c[:, 0], 2) * fps**2
    assert np.abs(accel).max() < 12.0  # 6 cm in 0.2 s: about 6 m/s^2 at most, no kink (it would be ~1000)


def test_swing_feet_are_lifted_to_their_clearance_above_where_the_stance_foot_stands():
    fps, T = 30.0, 60
    sole = np.array([[-0.05, 0.0, -0.04], [0.12, 0.0, -0.04]])  # heel and toe, 4 cm below the ankle
    positions = np.zeros((T, 2, 3))
    positions[:, :, 2] = 0.04  # both soles flat on the floor
    positions[20:40, 0, 2] = 0.045  # the left foot skims 5 mm above it in its swing
    positions[28:32, 0, 2] = 0.30  # and is well clear for a moment
    orientations = np.zeros((T, 2, 4))
    orientations[..., 0] = 1.0
    down = np.ones((T, 2), dtype=bool)
    down[20:40, 0] = False
    standing = down.copy()
    c = swing_clearance(down, fps, height=0.06, rise=0.2)
    out = lift_swing_feet(positions, orientations, [(0, sole), (1, sole)], c, standing, fps)
    np.testing.assert_array_equal(out[down[:, 0], 0], positions[down[:, 0], 0])  # stance frames: untouched
    np.testing.assert_array_equal(out[:, 1], positions[:, 1])  # the stance foot: untouched
    lowest = out[20:40, 0, 2] - 0.04
    assert (lowest >= c[20:40, 0] - 1e-9).all()  # the sole clears the floor by at least c
    assert (out[28:32, 0, 2] - 0.30 < 0.002).all()  # a foot already high stays (nearly) where it was
    # Both feet's targets 2 cm up (the stance foot's on its ball, say): the ground stage will lower the robot
    # by that, so the swing foot clears that floor, not z = 0.
    raised = positions.copy()
    raised[:, :, 2] += 0.02
    lifted = lift_swing_feet(raised, orientations, [(0, sole), (1, sole)], c, standing, fps)
    np.testing.assert_allclose(lifted, out + [0.0, 0.0, 0.02], atol=1e-9)


def test_constrained_retarget_of_crossed_arms_pulls_the_hands_apart(robot):
    """The plain solution of a pose the performer can reach but the robot's thick hands cannot."""
    from mimicdata.retarget.ik import IkResult
    from mimicdata.retarget.physical import enforce
    from mimicdata.retarget.problem import IkProblem, Targets

    config = load_retarget_config(robot.name)
    chains = _chains(robot)
    tasks = [Task(robot.body_index(w.body), w.position, w.orientation) for w in config.tasks.values()]
    T = 40
    q = _arms_crossed(robot, T)
    # Into each other, 3.5 to 5 cm deep, after half a second in the neutral pose.
    q[:, robot.joint_names.index("left_shoulder_roll_joint")] += np.r_[np.zeros(15), np.linspace(0.45, 0.2, 25)]
    q[:15] = 0.0
    root_pos, root_quat = np.tile([0.0, 0.0, 0.79], (T, 1)), np.tile(IDENTITY, (T, 1))
    body_pos, body_quat = robot.forward_kinematics(root_pos, root_quat, q)
    targets = Targets(body_pos[:, [t.body for t in tasks]], body_quat[:, [t.body for t in tasks]], [])
    problem = IkProblem(tasks, chains, targets, root_pos, root_quat, np.zeros(robot.num_joints), config)
    before = robot.collision.pair_distances(body_pos, body_quat).distance.min(axis=1)
    assert before[15:].max() < -0.03 and before[:15].min() > 0.0
    start = IkResult(q, body_pos, body_quat, np.zeros((T, len(tasks))), np.zeros((T, len(tasks))))
    solved, _ = enforce(problem, robot, start, config.constraints, fps=30.0)
    after = robot.collision.pair_distances(*robot.forward_kinematics(root_pos, root_quat, solved)).distance
    assert after.min() > -0.005
    assert robot.limit_excess(solved).max() == 0.0
    np.testing.assert_array_equal(solved[:6], q[:6])  # far from the contact nothing moves
    assert np.abs(solved[6:15] - q[6:15]).max() > 1e-3  # near it, the arms ease out of the way beforehand


def test_the_base_moves_by_what_a_leg_lacks_along_it_and_only_that():
    """reach.base_displacement: a leg too short moves the base toward its target by the lack (less the dead
    zone); a foot beside its target with its leg long enough moves nothing; two legs lacking the same way
    take the larger, opposite ways their sum; a foot in mid-swing (weight 0) counts for nothing."""
    from mimicdata.retarget.reach import DEAD_ZONE, base_displacement

    hips = np.array([[[0.0, 0.1, 0.8], [0.0, -0.1, 0.8]]])
    straight_down = hips + [0.0, 0.0, -0.7]
    low = straight_down + [0.0, 0.0, -0.03]  # both targets 3 cm below what the legs reach
    both = base_displacement(hips, straight_down, low, np.ones((1, 2)))
    np.testing.assert_allclose(both[0], [0.0, 0.0, -(0.03 - DEAD_ZONE)], atol=1e-12)
    one_lower = low + [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.02]]]  # the right one lacks only 1 cm
    np.testing.assert_allclose(base_displacement(hips, straight_down, one_lower, np.ones((1, 2))), both)
    beside = straight_down + [0.04, 0.0, 0.01]  # nearer the hip than the foot got: the IK's trade, not reach
    assert not base_displacement(hips, straight_down, beside, np.ones((1, 2))).any()
    apart = straight_down + [[[0.0, 0.1, 0.0], [0.0, -0.1, 0.0]]]  # each foot wants its own side
    sideways = base_displacement(hips, straight_down, apart, np.ones((1, 2)))
    assert abs(sideways[0, 1]) < 1e-12 and sideways[0, 2] < 0.0  # lateral pulls cancel, both pull down a little
    assert not base_displacement(hips, straight_down, low, np.zeros((1, 2))).any()


def test_legs_too_short_for_their_planted_feet_lower_the_base_until_the_feet_reach(robot):
    """reach.give_way on the bundled G1: feet planted 4 cm below where the legs, straight, can reach; the base
    comes down by about that, smoothly, never more than `most`, and the feet then reach their targets."""
    from mimicdata.retarget.ik import IkResult
    from mimicdata.retarget.problem import IkProblem, Targets
    from mimicdata.retarget.reach import give_way

    config = load_retarget_config(robot.name)
    order = list(config.tasks)
    chains = _chains(robot)
    tasks = [Task(robot.body_index(w.body), w.position, w.orientation) for w in config.tasks.values()]
    T = 60
    q = np.zeros((T, robot.num_joints))  # straight legs
    root_pos, root_quat = np.tile([0.0, 0.0, 0.8], (T, 1)), np.tile(IDENTITY, (T, 1))
    body_pos, body_quat = robot.forward_kinematics(root_pos, root_quat, q)
    positions = body_pos[:, [t.body for t in tasks]].copy()
    feet = [order.index(f"{side}_ankle") for side in ("left", "right")]
    dip = 0.04 * np.sin(np.linspace(0.0, np.pi, T)) ** 2  # the planted feet's targets sink and come back
    positions[:, feet, 2] -= dip[:, None]
    targets = Targets(positions, body_quat[:, [t.body for t in tasks]], [])
    problem = IkProblem(tasks, chains, targets, root_pos, root_quat, np.zeros(robot.num_joints), config)
    solved = problem.solve_in_order(robot)
    short = np.linalg.norm(positions[:, feet] - solved.body_pos[:, [tasks[k].body for k in feet]], axis=-1).max()
    assert short > 0.03
    hips = [robot.body_index(config.legs[side][0]) for side in ("left", "right")]
    settings = config.constraints.base_reach
    moved, after = give_way(problem, robot, solved, feet, hips, np.ones((T, 2), dtype=bool), settings, fps=30.0)
    lowered = root_pos[:, 2] - moved.root_pos[:, 2]
    assert lowered.max() > 0.03 and lowered.max() <= settings.most + 1e-12
    assert np.abs(moved.root_pos[:, :2] - root_pos[:, :2]).max() < 1e-5  # straight down, nowhere else
    assert np.abs(np.diff(lowered, 2)).max() < 0.01  # no corners
    missed = np.linalg.norm(positions[:, feet] - after.body_pos[:, [tasks[k].body for k in feet]], axis=-1)
    assert missed.max() < 0.01
    assert isinstance(after, IkResult) and robot.limit_excess(after.joint_pos).max() == 0.0


def test_the_replant_shift_holds_through_each_run_and_changes_between_runs_without_corners():
    from mimicdata.retarget.replant import run_displacement

    runs = [(10, 30), (45, 70), (80, 100)]
    shifts = [np.array([0.0, 0.04, 0.0]), np.zeros(3), np.array([0.0, 0.02, 0.01])]
    out = run_displacement(runs, shifts, T=120, fade=6)
    for (s, e), shift in zip(runs, shifts):
        np.testing.assert_array_equal(out[s:e], np.broadcast_to(shift, (e - s, 3)))  # a planted foot stays put
    assert not out[:4].any() and not out[106:].any()  # faded in and out over 6 frames
    assert out[4:10, 1].min() > 0 and np.all(np.diff(out[3:11, 1]) > 0)
    steps = np.diff(out, axis=0)
    assert np.abs(np.diff(steps, axis=0)).max() < 0.006  # no kinks: the quintic's ends are flat
    assert np.all(np.diff(out[29:46, 1]) <= 1e-15)  # from one run's shift to the next's, one way


def test_a_planted_foot_its_leg_cannot_hold_is_planted_farther_out_and_held(robot):
    """replant.replant on the bundled G1, knees bent: the left foot's target set 35 cm in under the body, past
    where its hip's adduction limit lets the leg reach, while the pelvis sways; the foot ends outward of it
    by an amount that changes with the sway (a slide). Re-planted, the run's target moves out by the largest
    lack and the foot holds one spot on the floor."""
    from mimicdata.retarget.problem import IkProblem, Targets
    from mimicdata.retarget.replant import replant

    config = load_retarget_config(robot.name)
    order = list(config.tasks)
    chains = _chains(robot)
    tasks = [Task(robot.body_index(w.body), w.position, w.orientation) for w in config.tasks.values()]
    T = 60
    q = np.zeros((T, robot.num_joints))
    for side in ("left", "right"):
        for joint, angle in (("hip_pitch", -0.3), ("knee", 0.6), ("ankle_pitch", -0.3)):
            q[:, robot.joint_names.index(f"{side}_{joint}_joint")] = angle
    still, root_quat = np.tile([0.0, 0.0, 0.72], (T, 1)), np.tile(IDENTITY, (T, 1))
    body_pos, body_quat = robot.forward_kinematics(still, root_quat, q)
    positions = body_pos[:, [t.body for t in tasks]].copy()
    legs = [[order.index(f"{side}_knee"), order.index(f"{side}_ankle")] for side in ("left", "right")]
    positions[:, legs[0], 1] -= 0.35  # in under the body, past the right foot's line
    root_pos = still.copy()
    root_pos[:, 1] = 0.03 * np.sin(np.linspace(0.0, 2 * np.pi, T))  # the pelvis sways side to side
    targets = Targets(positions, body_quat[:, [t.body for t in tasks]], [])
    problem = IkProblem(tasks, chains, targets, root_pos, root_quat, np.zeros(robot.num_joints), config)
    solved = problem.solve_in_order(robot)
    ankle = tasks[legs[0][1]].body
    slide = np.ptp(solved.body_pos[:, ankle, 1])
    assert slide > 0.03  # held to a spot it cannot reach, the foot slides with the sway
    hips = [robot.body_index(config.legs[side][0]) for side in ("left", "right")]
    down = np.zeros((T, 2), dtype=bool)
    down[:, 0] = True
    ankles = [leg[1] for leg in legs]
    moved, after = replant(problem, robot, solved, ankles, hips, down, rounds=2, fade=0.2, fps=30.0)
    shift = moved.targets.positions[:, ankles[0], 1] - positions[:, ankles[0], 1]
    assert shift.min() > 0.03 and np.ptp(shift) < 1e-12  # out, by one amount for the run
    assert np.ptp(after.body_pos[:, ankle, :2], axis=0).max() < 0.2 * slide
    unmoved = [k for k in range(len(tasks)) if k != ankles[0]]  # the knee's and the other foot's
    np.testing.assert_array_equal(moved.targets.positions[:, unmoved], positions[:, unmoved])


def test_a_hanging_arm_is_spread_as_far_as_the_robots_geometry_needs_and_no_further(robot):
    """arms.hanging_angle on the bundled G1: straight down, its hands overlap its hips; 12.5 degrees out they
    clear them by the 1 cm margin. arms.spread raises a hanging wrist to that angle, turns the elbow with it
    (the arm keeps its shape), leaves a hand already spread wider nearly where it is and one held out in
    front where it is."""
    from mimicdata.retarget.arms import hanging_angle, spread

    config = load_retarget_config(robot.name)
    angle = hanging_angle(robot, config, "left", 0.01)
    assert np.degrees(angle) == pytest.approx(12.5)
    assert hanging_angle(robot, config, "left", 0.0) < angle  # touching is allowed sooner than 1 cm clear
    reach = 0.45
    level = np.tile(IDENTITY, (4, 1))
    wide = np.radians(40.0)
    wrist = np.array([[0.0, 0.0, -reach],  # hanging straight down
                      [0.0, -0.1, -0.43],  # across the body, toward the other side
                      [0.0, reach * np.sin(wide), -reach * np.cos(wide)],  # already wider than needed
                      [0.44, 0.0, -0.09]])  # held out in front
    elbow = 0.5 * wrist
    new_elbow, new_wrist = spread([elbow, wrist], level, "left", angle, reach)
    hang = np.arctan2(new_wrist[:, 1], -new_wrist[:, 2])
    assert hang[0] >= angle and hang[1] >= angle
    assert abs(hang[2] - wide) < 0.01
    np.testing.assert_allclose(new_wrist[3], wrist[3])
    np.testing.assert_allclose(new_elbow, 0.5 * new_wrist, atol=1e-12)  # one turn for the whole arm
    np.testing.assert_allclose(np.linalg.norm(new_wrist, axis=1), np.linalg.norm(wrist, axis=1))
    np.testing.assert_allclose(new_wrist[:, 0], wrist[:, 0], atol=1e-12)  # the swing forward and back: the performer's
    right_elbow, right_wrist = spread([elbow * [1, -1, 1], wrist * [1, -1, 1]], level, "right", angle, reach)
    np.testing.assert_allclose(right_wrist, new_wrist * [1, -1, 1], atol=1e-12)  # the mirror image


def test_a_leg_on_a_planted_foot_is_held_and_the_other_leg_steps_around_it(robot):
    """physical.enforce with the left leg held: legs crossed into each other part by the right leg alone, the
    left (its foot planted) does not move; unheld, the two share the way out and the left leg moves."""
    from mimicdata.retarget.ik import IkResult
    from mimicdata.retarget.physical import enforce
    from mimicdata.retarget.problem import IkProblem, Targets

    config = load_retarget_config(robot.name)
    chains = _chains(robot)
    tasks = [Task(robot.body_index(w.body), w.position, w.orientation) for w in config.tasks.values()]
    T = 40
    joints = robot.joint_names
    q = np.zeros((T, robot.num_joints))
    inward = np.r_[np.zeros(10), np.linspace(0.0, 0.2, 10), np.full(20, 0.2)]  # the thighs swing into each other
    q[:, joints.index("left_hip_roll_joint")] = -inward
    q[:, joints.index("right_hip_roll_joint")] = inward
    root_pos, root_quat = np.tile([0.0, 0.0, 0.79], (T, 1)), np.tile(IDENTITY, (T, 1))
    body_pos, body_quat = robot.forward_kinematics(root_pos, root_quat, q)
    before = robot.collision.pair_distances(body_pos, body_quat).distance.min(axis=1)
    assert before[-1] < -0.02
    targets = Targets(body_pos[:, [t.body for t in tasks]], body_quat[:, [t.body for t in tasks]], [])
    problem = IkProblem(tasks, chains, targets, root_pos, root_quat, np.zeros(robot.num_joints), config)
    start = IkResult(q, body_pos, body_quat, np.zeros((T, len(tasks))), np.zeros((T, len(tasks))))
    names = list(config.chains)
    held = np.zeros((T, len(chains)), dtype=bool)
    held[:, names.index("left_leg")] = True
    left, right = chains[names.index("left_leg")].joints, chains[names.index("right_leg")].joints
    solved, _ = enforce(problem, robot, start, config.constraints, fps=30.0, held=held)
    np.testing.assert_array_equal(solved[:, left], q[:, left])
    assert np.abs(solved[:, right] - q[:, right]).max() > 0.05
    after = robot.collision.pair_distances(*robot.forward_kinematics(root_pos, root_quat, solved)).distance.min()
    shared, _ = enforce(problem, robot, start, config.constraints, fps=30.0)
    apart = robot.collision.pair_distances(*robot.forward_kinematics(root_pos, root_quat, shared)).distance.min()
    # The feet stay on their targets, crossed too, so neither way clears it all: as much is cleared either way.
    assert after > 0.5 * before.min() and after > apart - 0.005
    assert np.abs(shared[:, left] - q[:, left]).max() > 0.02
