"""export-dataset on a dataset built from real clips: every format read back with its consumer's contract (keys,
shapes, dtypes, fps, order), the csv and isaaclab exports re-imported to the same motion, check-fk against
mjlab's own G1 on the mjlab export, and the dataset never written into."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from conftest import MJLAB_XML, require_shared
from mimicdata.build.dataset import BuildOptions, build_dataset
from mimicdata.cli import app
from mimicdata.commands.check_fk import check_fk
from mimicdata.dataset.manifest import read_manifest
from mimicdata.dataset.stored import stored_clips
from mimicdata.errors import InputError
from mimicdata.export import export_dataset
from mimicdata.export.teleopit_hdf5 import OVERLAP, WINDOW, validate, windows
from mimicdata.robot.order import order
from mimicdata.sources import read_motion
from mimicdata.stages.resample import resampled_frame_count

ISAACLAB_G1 = (
    "pelvis, left_hip_pitch_link, right_hip_pitch_link, waist_yaw_link, left_hip_roll_link, right_hip_roll_link, "
    "waist_roll_link, left_hip_yaw_link, right_hip_yaw_link, torso_link, left_knee_link, right_knee_link, "
    "left_shoulder_pitch_link, right_shoulder_pitch_link, left_ankle_pitch_link, right_ankle_pitch_link, "
    "left_shoulder_roll_link, right_shoulder_roll_link, left_ankle_roll_link, right_ankle_roll_link, "
    "left_shoulder_yaw_link, right_shoulder_yaw_link, left_elbow_link, right_elbow_link, left_wrist_roll_link, "
    "right_wrist_roll_link, left_wrist_pitch_link, right_wrist_pitch_link, left_wrist_yaw_link, right_wrist_yaw_link"
).split(", ")


def _digests(root) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Unitree's G1 retargets of five LAFAN1 takes, 600 frames each at 30 fps (a clip longer than a window)."""
    folder = require_shared("data", "g1_csv", "unitree_lafan1")
    root = tmp_path_factory.mktemp("export")
    spec = {"name": "unitree", "target_fps": 30, "val_percent": 40, "hash_salt": "e",
            "sources": [{"name": "u", "type": "csv", "fps": 30, "input": str(folder), "max_frames": 600}]}
    (root / "spec.yaml").write_text(yaml.safe_dump(spec))
    build_dataset(root / "spec.yaml", BuildOptions(output_root=root / "out", fk_check=False, use_cache=False))
    return root / "out" / "unitree"


@pytest.fixture(scope="module")
def exports(dataset, tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    before = _digests(dataset)
    done = {}
    for to in ("mjlab", "holosoma", "csv", "teleopit-hdf5", "lerobot"):
        done[to] = export_dataset(dataset, to, root / to, split="all")
    done["isaaclab"] = export_dataset(dataset, "mjlab", root / "isaaclab", split="all", body_order="isaaclab")
    assert _digests(dataset) == before  # the dataset is only read
    return root, done


def _rows(dataset):
    return sorted(read_manifest(dataset / "manifest_resolved.csv"), key=lambda r: r.clip_id)


def test_mjlab_files_are_single_50_fps_clips_in_mjlabs_layout_and_pass_check_fk_on_mjlabs_model(dataset, exports, robot):
    root, done = exports
    files = sorted((root / "mjlab").rglob("*.npz"))
    assert len(files) == len(_rows(dataset)) == done["mjlab"].clips == 5
    for row in _rows(dataset):
        path = root / "mjlab" / row.resolved_split / f"u/{row.clip_id.split(':')[1]}.npz"
        data = np.load(path, allow_pickle=False)
        T = resampled_frame_count(row.num_frames, 30, 50)
        assert data["fps"].tolist() == [50]
        assert data["joint_pos"].shape == data["joint_vel"].shape == (T, 29) and data["joint_pos"].dtype == np.float32
        for key, width in (("body_pos_w", 3), ("body_quat_w", 4), ("body_lin_vel_w", 3), ("body_ang_vel_w", 3)):
            assert data[key].shape == (T, 30, width) and data[key].dtype == np.float32
        assert list(data["body_names"]) == list(robot.body_names) and str(data["body_order"]) == "mujoco"
    checked = check_fk(root / "mjlab", mjcf=MJLAB_XML, frames=25)
    assert len(checked) == 5 and all(result.passed for _, result, _ in checked)


def test_holosoma_packs_the_root_and_puts_the_world_body_first(exports):
    root, _ = exports
    for mj in sorted((root / "mjlab").rglob("*.npz")):
        holo = np.load(root / "holosoma" / mj.relative_to(root / "mjlab"), allow_pickle=False)
        plain = np.load(mj, allow_pickle=False)
        T = plain["joint_pos"].shape[0]
        assert holo["joint_pos"].shape == (T, 36) and holo["joint_vel"].shape == (T, 35)
        np.testing.assert_array_equal(holo["joint_pos"][:, 7:], plain["joint_pos"])
        np.testing.assert_array_equal(holo["joint_pos"][:, :3], plain["body_pos_w"][:, 0])
        np.testing.assert_array_equal(holo["joint_pos"][:, 3:7], plain["body_quat_w"][:, 0])
        assert holo["body_pos_w"].shape == (T, 31, 3) and str(holo["body_names"][0]) == "world"
        assert (holo["body_pos_w"][:, 0] == 0).all() and (holo["body_quat_w"][:, 0] == [1, 0, 0, 0]).all()
        # MuJoCo's qvel: the root's angular velocity in its own frame, its speed (a norm) the world one's.
        np.testing.assert_allclose(np.linalg.norm(holo["joint_vel"][:, 3:6], axis=1),
                                   np.linalg.norm(plain["body_ang_vel_w"][:, 0], axis=1), atol=1e-4)


def test_the_csv_export_reimports_to_the_same_motion(dataset, exports, robot):
    root, _ = exports
    split_of = {r.clip_id: r.resolved_split for r in _rows(dataset)}
    for stored in stored_clips(dataset, robot):
        rel = stored.clip_id.split(":")[1]
        motion = read_motion("csv", root / "csv" / split_of[stored.clip_id] / f"u/{rel}.csv", robot, fps=30)
        pelvis = robot.body_index(robot.root_body)
        np.testing.assert_allclose(motion.joint_pos, stored.joint_pos, atol=1e-5)
        np.testing.assert_allclose(motion.root_pos, stored.body_pos[:, pelvis], atol=1e-5)
        same_sign = np.sign((motion.root_quat * stored.body_quat[:, pelvis]).sum(axis=1))[:, None]
        np.testing.assert_allclose(motion.root_quat * same_sign, stored.body_quat[:, pelvis], atol=1e-5)


def test_isaaclab_order_is_breadth_first_says_so_and_reimports_to_the_same_motion(exports, robot):
    root, _ = exports
    assert order(robot, "isaaclab").body_names(robot) == ISAACLAB_G1
    for mj in sorted((root / "mjlab").rglob("*.npz")):
        isaac = np.load(root / "isaaclab" / mj.relative_to(root / "mjlab"), allow_pickle=False)
        assert list(isaac["body_names"]) == ISAACLAB_G1 and str(isaac["body_order"]) == "isaaclab"
        assert list(isaac["joint_names"][:3]) == ["left_hip_pitch_joint", "right_hip_pitch_joint", "waist_yaw_joint"]
        back = read_motion("npz", root / "isaaclab" / mj.relative_to(root / "mjlab"), robot)
        plain = read_motion("npz", mj, robot)
        np.testing.assert_allclose(back.joint_pos, plain.joint_pos, atol=1e-5)
        np.testing.assert_allclose(back.root_pos, plain.root_pos, atol=1e-5)
    checked = check_fk(root / "isaaclab", frames=10)  # by name, so check-fk reads the order right
    assert all(result.passed for _, result, _ in checked)


def test_teleopit_hdf5_shards_pass_the_old_tools_validator_with_windows_of_512(dataset, exports):
    import h5py

    root, _ = exports
    assert windows(600) == [0, 600 - WINDOW] and windows(1200) == [0, WINDOW - OVERLAP, 1200 - WINDOW]
    for split in ("train", "val"):
        path = root / "teleopit-hdf5" / split / "shard_000.h5"
        validate(path)
        with h5py.File(path) as h5:
            assert h5.attrs["format"] == "teleopit_precomputed_motion_hdf5" and int(h5.attrs["version"]) == 2
            assert int(h5.attrs["fps"]) == 30 and int(h5.attrs["max_window_frames"]) == 512
            lengths, sources = h5["clip_lengths"][:], h5["source_clip_lengths"][:]
            assert (sources == 600).all() and len(lengths) == 2 * len(sources)  # 600 frames: two windows each
            assert (lengths == 512).all() and h5["body_pos_w"].shape == (int(lengths.sum()), 30, 3)
            start = int(h5["clip_starts"][1])
            offset = int(h5["source_start_frames"][1])
            np.testing.assert_array_equal(h5["joint_pos"][start], h5["joint_pos"][offset])  # the second window
    broken = root / "broken.h5"
    with h5py.File(broken, "w") as h5:
        h5.attrs.update({"format": "teleopit_precomputed_motion_hdf5", "version": 2})
        h5.create_dataset("joint_pos", data=np.zeros((4, 29), np.float32))
    with pytest.raises(InputError, match="missing datasets"):
        validate(broken)


def test_lerobot_v3_layout(dataset, exports, robot):
    import pyarrow.parquet as pq

    root, done = exports
    info = json.loads((root / "lerobot" / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["fps"] == 30 and info["total_episodes"] == 5
    assert info["total_frames"] == 5 * 600 == done["lerobot"].frames
    state = info["features"]["observation.state"]
    assert state["shape"] == [36] and state["names"][7:] == list(robot.joint_names)
    assert all("/" not in n for n in state["names"])
    data = pq.read_table(root / "lerobot" / info["data_path"].format(chunk_index=0, file_index=0))
    assert data.num_rows == info["total_frames"]
    assert str(data.schema.field("timestamp").type) == "float" and str(data.schema.field("index").type) == "int64"
    episodes = pq.read_table(root / "lerobot" / "meta" / "episodes" / "chunk-000" / "file-000.parquet").to_pylist()
    assert [e["dataset_from_index"] for e in episodes] == [600 * k for k in range(5)]
    first, last = info["splits"]["train"].split(":")
    assert int(first) == 0 and info["splits"]["val"] == f"{last}:5"
    assert set(json.loads((root / "lerobot" / "meta" / "stats.json").read_text())) == {"observation.state", "action"}


def test_an_export_never_writes_into_a_dataset_or_over_anything(dataset, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "mine.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        export_dataset(dataset, "mjlab", taken)
    with pytest.raises(InputError, match="inside the dataset"):
        export_dataset(dataset, "mjlab", dataset / "export")
    result = CliRunner().invoke(app, ["export-dataset", str(dataset), "--to", "unity", "-o", str(tmp_path / "x")])
    assert result.exit_code != 0 and "unknown format 'unity'" in result.output
    assert (taken / "mine.txt").read_text() == "mine" and not (tmp_path / "x").exists()
    assert not list(tmp_path.glob(".*partial*"))



def _unnamed_isaaclab_clip(exports, folder):
    """An IsaacLab-ordered clip as IsaacLab-based trackers write it: no names stored."""
    root, _ = exports
    source = sorted((root / "isaaclab").rglob("*.npz"))[0]
    data = dict(np.load(source, allow_pickle=False))
    for key in ("joint_names", "body_names", "body_order"):
        del data[key]
    folder.mkdir(parents=True)
    np.savez(folder / "isaac_clip.npz", **data)
    return folder / "isaac_clip.npz", source


def test_an_unnamed_isaaclab_clip_is_read_in_the_order_it_is_told(exports, tmp_path, robot):
    clip, named = _unnamed_isaaclab_clip(exports, tmp_path / "in")
    (wrong,) = check_fk(clip, frames=10)
    assert not wrong[1].passed  # read as MuJoCo's order, the limbs are shuffled: check-fk says so
    (right,) = check_fk(clip, frames=10, body_order="isaaclab")
    assert right[1].passed and "isaaclab" in " ".join(right[2])
    cli = CliRunner().invoke(app, ["check-fk", "--npz", str(clip), "--body-order", "isaaclab", "--frames", "5"])
    assert cli.exit_code == 0, cli.output
    back = read_motion("npz", clip, robot, body_order="isaaclab")
    np.testing.assert_allclose(back.joint_pos, read_motion("npz", named, robot).joint_pos, atol=1e-6)


def test_a_dataset_built_from_an_isaaclab_clip_passes_check_fk(exports, tmp_path):
    clip, _ = _unnamed_isaaclab_clip(exports, tmp_path / "in")
    spec = {"name": "isaac", "target_fps": 50, "val_percent": 10, "hash_salt": "i",
            "sources": [{"name": "isaac", "type": "npz", "input": str(clip.parent), "body_order": "isaaclab"}]}
    (tmp_path / "isaac.yaml").write_text(yaml.safe_dump(spec))
    report = build_dataset(tmp_path / "isaac.yaml", BuildOptions(output_root=tmp_path / "out", use_cache=False))
    assert report.kept == 1 and report.fk_check is not None and report.fk_check.passed == 1
    checked = check_fk(tmp_path / "out" / "isaac", frames=10)
    assert len(checked) == 1 and checked[0][1].passed


def test_a_holosoma_file_reads_back_as_the_same_motion(exports, robot):
    root, _ = exports
    for mj in sorted((root / "mjlab").rglob("*.npz"))[:2]:
        holo = read_motion("npz", root / "holosoma" / mj.relative_to(root / "mjlab"), robot)
        plain = read_motion("npz", mj, robot)
        np.testing.assert_allclose(holo.joint_pos, plain.joint_pos, atol=1e-6)
        np.testing.assert_allclose(holo.root_pos, plain.root_pos, atol=1e-6)


def test_the_old_tools_hdf5_shards_are_a_source_and_give_the_clips_back(dataset, exports, tmp_path, robot):
    """The teleopit-hdf5 export, read back by the teleopit_hdf5 source: windows joined into the original clips."""
    import h5py

    root, _ = exports
    inputs = tmp_path / "h5"
    shutil.copytree(root / "teleopit-hdf5", inputs)
    # The minimal layout too (root_pos/root_quat_w, no body arrays, no names), and a file that is no shard.
    stored = next(stored_clips(dataset, robot))
    with h5py.File(inputs / "minimal.h5", "w") as h5:
        h5.attrs.update({"format": "teleopit_motion_hdf5", "version": 1, "fps": 30})
        pelvis = robot.body_index(robot.root_body)
        h5["root_pos"], h5["root_quat_w"] = stored.body_pos[:512, pelvis], stored.body_quat[:512, pelvis]
        h5["joint_pos"] = stored.joint_pos[:512].astype(np.float32)
        for key, value in (("clip_starts", [0]), ("clip_lengths", [512]), ("clip_fps", [30]), ("source_clip_ids", [0]),
                           ("source_start_frames", [0]), ("source_clip_starts", [0]), ("source_clip_lengths", [512]),
                           ("source_clip_fps", [30])):
            h5[key] = np.array(value, dtype=np.int64)
    (inputs / "junk.h5").write_bytes(b"not hdf5")
    spec = {"name": "back", "target_fps": 30, "val_percent": 20, "hash_salt": "b",
            "sources": [{"name": "old", "type": "teleopit_hdf5", "input": str(inputs)}]}
    (tmp_path / "back.yaml").write_text(yaml.safe_dump(spec))
    report = build_dataset(tmp_path / "back.yaml", BuildOptions(output_root=tmp_path / "out", use_cache=False))
    assert report.kept == 6 and report.fk_check is not None and report.fk_check.passed == report.fk_check.clips
    assert [r.reason for r in report.rejected] == ["unreadable"] and "junk.h5" in report.rejected[0].file
    assert not report.duplicates  # clips of one file are not one motion
    original = {c.clip_id.split(":")[1]: c for c in stored_clips(dataset, robot)}
    back = {c.clip_id: c for c in stored_clips(tmp_path / "out" / "back", robot)}
    for split in ("train", "val"):
        for name, clip in original.items():
            key = f"old:{split}/shard_000/u_{name}"
            if key in back:
                np.testing.assert_allclose(back[key].joint_pos, clip.joint_pos, atol=1e-5)
                assert back[key].joint_pos.shape[0] == 600  # two windows joined into the clip again
    assert sum(k.startswith("old:train/") or k.startswith("old:val/") for k in back) == 5
    np.testing.assert_allclose(back["old:minimal/clip_00000"].joint_pos, stored.joint_pos[:512], atol=1e-5)


def test_a_folder_that_is_no_dataset_is_named_as_such(tmp_path):
    (tmp_path / "loose.npz").write_bytes(b"")
    with pytest.raises(InputError, match="not a dataset directory"):
        export_dataset(tmp_path, "mjlab", tmp_path / "out")
