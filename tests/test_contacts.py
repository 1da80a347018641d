"""Contact labels: a body touches the floor when its lowest point is within a few centimetres of it and still;
foot labels agree with the sole heights, on real walks and falls as on a robot standing still or held up."""

from __future__ import annotations

import numpy as np

from conftest import require_shared
from mimicdata.build.clip import read_robot_motion
from mimicdata.motion import RobotMotion
from mimicdata.spec import source_spec
from mimicdata.stages.contacts import CONTACT_HEIGHT, CONTACT_SPEED, body_contacts, lowest_body_points
from mimicdata.stages.fk import motion_to_clip
from mimicdata.stages.measures import standing_root_height
from mimicdata.stages.resample import resample


def _unitree(robot, name: str):
    path = require_shared("data", "g1_csv", "unitree_lafan1", name)
    motion = read_robot_motion(source_spec(name="u", type="csv", input=path.parent, fps=30), path, robot).motion
    return motion_to_clip(robot, resample(motion, 50))


def _standing(robot, height: float, T: int = 40):
    root = np.tile([0.0, 0.0, standing_root_height(robot) + height], (T, 1))
    quat = np.tile([1.0, 0.0, 0.0, 0.0], (T, 1))
    return motion_to_clip(robot, RobotMotion(50.0, root, quat, np.zeros((T, robot.num_joints)), robot.joint_names))


def test_standing_feet_are_in_contact_and_nothing_else_and_a_lifted_robot_touches_nothing(robot):
    feet = [robot.body_index(f) for f in robot.foot_bodies]
    on_floor = body_contacts(robot, _standing(robot, 0.0))
    assert on_floor[:, feet].all() and on_floor.sum() == on_floor[:, feet].sum()
    assert not body_contacts(robot, _standing(robot, CONTACT_HEIGHT + 0.01)).any()


def test_foot_contacts_agree_with_sole_heights_on_a_real_walk(robot):
    clip = _unitree(robot, "walk4_subject1.csv")
    contacts = body_contacts(robot, clip)
    feet = [robot.body_index(f) for f in robot.foot_bodies]
    soles = robot.lowest_sole_heights(clip.body_pos_w, clip.body_quat_w)  # (T, 2)
    assert (soles[contacts[:, feet]] < CONTACT_HEIGHT + 1e-9).all()  # in contact: a sole is down
    share = contacts[:, feet].mean(axis=0)
    assert ((share > 0.3) & (share < 0.9)).all(), share  # each foot stands for part of every stride
    assert contacts[:, feet].any(axis=1).mean() > 0.9  # a walk always has a foot down
    pelvis = robot.body_index(robot.root_body)
    assert not contacts[:, pelvis].any()
    # Where a sole is flat on the floor and the foot is still, the foot is in contact.
    planted = (soles < 0.005) & (np.linalg.norm(clip.body_lin_vel_w[:, feet], axis=-1) < 0.1)
    assert contacts[:, feet][planted].mean() > 0.95


def test_a_fall_puts_more_than_the_feet_on_the_floor(robot):
    clip = _unitree(robot, "fallAndGetUp1_subject1.csv")
    contacts = body_contacts(robot, clip)
    others = [b for b, name in enumerate(robot.body_names) if b not in [robot.body_index(f) for f in robot.foot_bodies]]
    touching = {robot.body_names[b] for b in others if contacts[:, b].any()}
    assert any("knee" in n or "hand" in n or "wrist" in n or n == robot.root_body for n in touching), touching
    lowest = lowest_body_points(robot, clip.body_pos_w, clip.body_quat_w)[..., 2]
    assert (lowest[contacts] < CONTACT_HEIGHT).all()


def test_a_body_sliding_on_the_floor_is_not_in_contact(robot):
    clip = _standing(robot, 0.0)
    sliding = clip.body_lin_vel_w.copy()
    sliding[:, :, 0] += 2 * CONTACT_SPEED  # the whole robot skating along x
    from dataclasses import replace

    assert not body_contacts(robot, replace(clip, body_lin_vel_w=sliding)).any()


def test_built_shards_carry_the_labels_the_clips_had(built_sample, robot):
    from mimicdata.dataset.manifest import read_manifest
    from mimicdata.dataset.shards import Shard

    (row,) = [r for r in read_manifest(built_sample / "manifest_resolved.csv") if r.clip_id == "mocap:human_walk"]
    shard = Shard(built_sample / row.shard)
    labels = np.asarray(shard["body_contacts"])
    assert labels.dtype == np.bool_ and labels.shape == (shard["joint_pos"].shape[0], len(robot.body_names))
    start = int(shard["clip_starts"][row.clip_index])
    walk = labels[start : start + row.num_frames]
    feet = [robot.body_index(f) for f in robot.foot_bodies]
    # The retargeted walk plants its feet (the synthetic robot clips beside it skate, and are labelled so).
    assert walk[:, feet].any(axis=1).mean() > 0.8 and (walk[:, feet].mean(axis=0) > 0.25).all()
