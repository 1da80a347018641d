import numpy as np
import pytest

from mimicdata.motion import RobotMotion
from mimicdata.spec import PreprocessSpec
from mimicdata.stages.fk import motion_to_clip
from mimicdata.stages.preprocess import Rejection, preprocess


def _clip(robot, T=90, fps=30, lift=None, speed=0.0, start=(1.0, 2.0)):
    t = np.arange(T) / fps
    root = np.stack([start[0] + speed * t, start[1] + 0 * t, 0.9 + 0 * t], axis=1)
    if lift is not None:
        root[:, 2] += lift(t)
    quat = np.tile([1.0, 0, 0, 0], (T, 1))
    q = np.zeros((T, robot.num_joints))
    return motion_to_clip(robot, RobotMotion(float(fps), root, quat, q, robot.joint_names))


FEET = ("left_ankle_roll_link", "right_ankle_roll_link")


def test_normalize_root_xy_and_ground_align_on_the_sole(robot):
    out = preprocess(_clip(robot), PreprocessSpec(normalize_root_xy=True, ground_align="clip_min_foot"), robot).clip
    np.testing.assert_allclose(out.body_pos_w[0, 0, :2], 0.0, atol=1e-12)
    soles = robot.lowest_sole_heights(out.body_pos_w, out.body_quat_w, FEET)
    assert abs(soles.min()) < 1e-9
    ankle = out.body_pos_w[:, robot.body_index(FEET[0]), 2]
    assert ankle.min() > 0.03  # the ankle origin sits above the sole, not on the ground


def test_first_frame_foot_uses_frame_zero(robot):
    clip = _clip(robot, lift=lambda t: -0.1 * t)  # sinks over time
    out = preprocess(clip, PreprocessSpec(ground_align="first_frame_foot"), robot).clip
    soles = robot.lowest_sole_heights(out.body_pos_w, out.body_quat_w, FEET)
    assert abs(soles[0].min()) < 1e-9 and soles[-1].min() < -0.2


@pytest.mark.parametrize(
    "options, make, reason, words",
    [
        (dict(min_frames=100), dict(T=90), "too_short", "90 < 100 frames"),
        (dict(max_root_lin_vel=2.0), dict(speed=3.0), "root_too_fast", "3.00 m/s > 2.0 m/s"),
        (dict(min_peak_body_height=3.0, ground_align="clip_min_foot"), {}, "never_high_enough", "< 3.0 m"),
        (dict(ground_align="clip_min_foot", max_all_off_ground_s=0.5, off_ground_height=0.2),
         dict(lift=lambda t: np.where((t > 1) & (t < 2), 0.5, 0.0)), "airborne_too_long", "> 0.5 s"),
        (dict(ground_align="clip_min_foot", max_feet_off_ground_s=0.5, foot_off_ground_height=0.08),
         dict(lift=lambda t: np.where((t > 1) & (t < 2), 0.1, 0.0)), "feet_off_ground_too_long", "> 0.5 s"),
    ],
)
def test_filters_reject_with_reasons(robot, options, make, reason, words):
    done = preprocess(_clip(robot, **make), PreprocessSpec(**options), robot)
    out = done.rejection
    assert isinstance(out, Rejection) and out.reason == reason and words in out.detail, out
    assert done.clip is not None and done.quality_score is not None  # kept for the failures partition


def test_filters_pass_clips_inside_limits(robot):
    options = PreprocessSpec(ground_align="clip_min_foot", min_frames=90, max_root_lin_vel=3.5,
                             min_peak_body_height=1.0, max_all_off_ground_s=1.2, max_feet_off_ground_s=1.2)
    hop = lambda t: 0.5 * np.clip(np.sin(np.pi * (t - 1)), 0, None) * (t < 2)  # noqa: E731
    out = preprocess(_clip(robot, speed=3.0, lift=hop), options, robot)
    assert out.rejection is None and out.clip is not None


def test_non_finite_values_are_rejected(robot):
    clip = _clip(robot)
    clip.joint_vel[5, 3] = np.nan
    done = preprocess(clip, PreprocessSpec(), robot)
    out = done.rejection
    assert isinstance(out, Rejection) and out.reason == "non_finite" and "frame 5" in out.detail
    assert done.clip is None  # nothing that could be stored, not even among the failures
