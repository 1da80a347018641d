"""Left-right mirroring: an involution on real motion, FK-consistent, the left foot retracing the right one with
y negated, the mirror image in its original's split, and a spec error for a robot without a mirror map."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from conftest import MJLAB_XML, require_shared
from mimicdata.build.clip import read_robot_motion
from mimicdata.build.dataset import BuildOptions, build_dataset
from mimicdata.commands.check_fk import check_fk
from mimicdata.dataset.manifest import read_manifest
from mimicdata.dataset.shards import Shard
from mimicdata.errors import SpecError
from mimicdata.robot import load_robot
from mimicdata.spec import source_spec
from mimicdata.stages.mirror import mirror_motion


def _walk(robot):
    path = require_shared("data", "g1_csv", "unitree_lafan1", "walk4_subject1.csv")
    return read_robot_motion(source_spec(name="x", type="csv", input=path.parent, fps=30), path, robot).motion


def test_mirroring_twice_gives_the_original_back_exactly(robot):
    motion = _walk(robot)
    twice = mirror_motion(mirror_motion(motion, robot), robot)
    for key in ("root_pos", "root_quat", "joint_pos"):
        assert np.array_equal(getattr(twice, key), getattr(motion, key))


def test_every_body_of_the_mirror_is_its_partner_reflected(robot):
    motion = _walk(robot)
    mirrored = mirror_motion(motion, robot)
    pos, quat = robot.forward_kinematics(motion.root_pos, motion.root_quat, motion.joint_pos)
    mpos, mquat = robot.forward_kinematics(mirrored.root_pos, mirrored.root_quat, mirrored.joint_pos)
    partner = robot.mirror.body_partner
    assert robot.body_names[partner[robot.body_index("left_ankle_roll_link")]] == "right_ankle_roll_link"
    np.testing.assert_allclose(mpos[:, partner] * [1, -1, 1], pos, atol=1e-4)  # the G1's halves agree to 0.1 mm
    # Orientations reflect too: R' = M R M, so R' M = M R.
    from mimicdata.geometry.rotations import quat_to_matrix

    flip = np.diag([1.0, -1.0, 1.0])
    np.testing.assert_allclose(quat_to_matrix(mquat[:, partner]) @ flip, flip @ quat_to_matrix(quat), atol=1e-4)


def test_a_build_adds_each_mirror_in_its_originals_split_fk_consistent(tmp_path):
    folder = require_shared("data", "g1_csv", "unitree_lafan1")
    spec = {
        "name": "mirrored", "target_fps": 30, "val_percent": 50, "hash_salt": "m",
        "sources": [{"name": "u", "type": "csv", "fps": 30, "input": str(folder), "mirror": True,
                     "exclude_patterns": ["fall*", "jumps*", "run*"]}],
    }
    path = tmp_path / "mirrored.yaml"
    path.write_text(yaml.safe_dump(spec))
    report = build_dataset(path, BuildOptions(output_root=tmp_path / "out"))
    dataset = tmp_path / "out" / "mirrored"
    rows = {r.clip_id: r for r in read_manifest(dataset / "manifest_resolved.csv")}
    assert sorted(rows) == ["u:dance1_subject1", "u:dance1_subject1:mirror", "u:walk4_subject1",
                            "u:walk4_subject1:mirror"]
    assert report.kept == 4 and report.sources["u"].scanned == 5  # files (2 read, 3 excluded), not clips made
    for original in ("u:dance1_subject1", "u:walk4_subject1"):
        assert rows[original + ":mirror"].resolved_split == rows[original].resolved_split
    checked = {cid: result for cid, result, _ in check_fk(dataset)}
    assert checked["u:walk4_subject1:mirror"].passed and checked["u:dance1_subject1:mirror"].passed
    clips = {}
    for shard_path in sorted(dataset.glob("*/shard_*.npz")):
        shard = Shard(shard_path)
        body_names = [str(n) for n in shard["body_names"]]
        for index, cid in enumerate(shard["clip_ids"]):
            clips[str(cid)] = shard.clip(index)["body_pos_w"]
    left, right = body_names.index("left_ankle_roll_link"), body_names.index("right_ankle_roll_link")
    np.testing.assert_allclose(clips["u:walk4_subject1:mirror"][:, left] * [1, -1, 1],
                               clips["u:walk4_subject1"][:, right], atol=1e-4)


LOPSIDED = """<mujoco model="lopsided"><worldbody><body name="base" pos="0 0 1"><freejoint/>
  <geom type="sphere" size="0.1"/>
  <body name="arm" pos="0 0.2 0"><joint name="shoulder" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0 0.3 0" size="0.03"/></body>
</body></worldbody></mujoco>"""


def test_a_model_mirror_map_is_derived_from_its_geometry():
    """mjlab's G1 has no robot.yaml: its mirror comes from where its bodies sit, and agrees with the bundled one."""
    require_shared("robots", "unitree_g1_mjlab", "g1.xml")
    derived, bundled = load_robot(str(MJLAB_XML)), load_robot("unitree_g1")
    assert derived.mirror is not None and bundled.mirror is not None
    for j, name in enumerate(derived.joint_names):
        b = bundled.joint_names.index(name)
        assert derived.joint_names[derived.mirror.joint_partner[j]] == bundled.joint_names[bundled.mirror.joint_partner[b]]
        assert derived.mirror.joint_sign[j] == bundled.mirror.joint_sign[b], name


def test_a_robot_without_a_mirror_map_is_a_spec_error(tmp_path):
    model = tmp_path / "lopsided.xml"
    model.write_text(LOPSIDED)
    folder = require_shared("data", "g1_csv", "unitree_lafan1")
    spec = {"name": "nomirror", "target_fps": 30, "val_percent": 10, "hash_salt": "m", "robot": str(model),
            "sources": [{"name": "u", "type": "csv", "fps": 30, "input": str(folder), "mirror": True}]}
    path = tmp_path / "nomirror.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError) as err:
        build_dataset(path, BuildOptions(output_root=tmp_path / "out"))
    assert "sources[0].mirror" in str(err.value) and "mirror map" in str(err.value)


def test_a_file_named_like_a_mirror_keeps_its_own_clip(tmp_path):
    """`w.mirror.csv` and the mirror image of `w.csv` are two clips; neither may overwrite the other."""
    from conftest import REPO

    inputs = tmp_path / "in"
    inputs.mkdir()
    walk = np.loadtxt(REPO / "data" / "sample" / "csv" / "walk_turn_left.csv", delimiter=",")
    np.savetxt(inputs / "w.csv", walk, delimiter=",")
    other = walk.copy()
    other[:, 7:] *= 0.5  # another motion
    np.savetxt(inputs / "w.mirror.csv", other, delimiter=",")
    spec = {"name": "names", "target_fps": 30, "val_percent": 10, "hash_salt": "m",
            "sources": [{"name": "s", "type": "csv", "fps": 30, "input": str(inputs), "mirror": True}]}
    path = tmp_path / "names.yaml"
    path.write_text(yaml.safe_dump(spec))
    report = build_dataset(path, BuildOptions(output_root=tmp_path / "out", fk_check=False))
    assert report.kept == 4
    joints = {}
    for shard_path in sorted((tmp_path / "out" / "names").glob("*/shard_*.npz")):
        shard = Shard(shard_path)
        for index, cid in enumerate(shard["clip_ids"]):
            joints[str(cid)] = shard.clip(index)["joint_pos"]
    assert sorted(joints) == ["s:w", "s:w.mirror", "s:w.mirror:mirror", "s:w:mirror"]
    np.testing.assert_allclose(joints["s:w.mirror"], other[: len(joints["s:w.mirror"]), 7:], atol=1e-5)
    assert not np.allclose(joints["s:w.mirror"], joints["s:w:mirror"], atol=1e-3)


def test_a_mirror_images_retarget_quality_names_the_other_side(robot):
    from mimicdata.stages.mirror import mirror_quality

    quality = {"worst_pair": "left_hand/torso", "self_collision_frames": 0.01,
               "end_effector_error": {"left_hand": 0.1, "right_hand": 0.2, "head": 0.05}}
    mirrored = mirror_quality(quality, robot)
    assert mirrored["worst_pair"] == "right_hand/torso" and mirrored["self_collision_frames"] == 0.01
    assert mirrored["end_effector_error"] == {"right_hand": 0.1, "left_hand": 0.2, "head": 0.05}
    assert mirror_quality(mirrored, robot) == quality
