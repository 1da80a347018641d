"""inspect-dataset: numbers checked against the shards and build record, foreign layouts, the HTML report."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import require_rendering, require_shared
from mimicdata.cli import app
from mimicdata.commands.inspect_dataset import inspect_dataset
from mimicdata.commands.report_html import write_report
from mimicdata.commands.split_shards import split_shards
from mimicdata.dataset.manifest import read_manifest
from mimicdata.dataset.shards import SCHEMA_VERSION, Shard, ShardClip, write_shard
from mimicdata.errors import InputError


def test_summary_of_a_built_dataset_matches_its_shards_and_record(built_sample, robot):
    summary = inspect_dataset(built_sample).summary()
    info = json.loads((built_sample / "build_info.json").read_text())
    assert summary["kind"] == "dataset" and summary["schema_version"] == SCHEMA_VERSION and summary["fps"] == [30.0]
    assert summary["joint_names"] == list(robot.joint_names) and summary["body_names"] == list(robot.body_names)
    for split in ("train", "val"):
        assert summary["splits"][split]["clips"] == info["splits"][split]["clips"]
        assert summary["splits"][split]["frames"] == info["splits"][split]["frames"]
        for shard in summary["splits"][split]["shards"]:
            assert shard["bytes"] == (built_sample / shard["path"]).stat().st_size
    per_source: dict[str, int] = {}
    for row in read_manifest(built_sample / "manifest_resolved.csv"):
        per_source[row.source] = per_source.get(row.source, 0) + row.num_frames
    assert {s: sum(v["frames"] for v in splits.values()) for s, splits in summary["sources"].items()} == per_source
    assert summary["rejected"]["clips"] == len(info["rejected"])
    assert summary["rejected"]["by_reason"] == {"too_short": 1}


def test_joint_ranges_and_root_heights_are_those_stored(built_sample, robot):
    found = inspect_dataset(built_sample)
    stored = sorted(p for split in ("train", "val") for p in built_sample.glob(f"{split}/shard_*.npz"))  # not failures
    joints = np.concatenate([Shard(p)["joint_pos"] for p in stored])
    np.testing.assert_array_equal(found.joint_min, joints.min(axis=0))
    np.testing.assert_array_equal(found.joint_max, joints.max(axis=0))
    pelvis = robot.body_index(robot.root_body)
    heights = np.concatenate([Shard(p)["body_pos_w"][:, pelvis, 2] for p in stored])
    np.testing.assert_array_equal(np.sort(found.root_height), np.sort(heights))
    assert not any(j["beyond_limits"] for j in found.summary()["joints"])


def test_a_joint_beyond_its_limit_is_flagged(tmp_path, robot, built_sample):
    clip = Shard(built_sample / "train" / "shard_000.npz").clip(0)
    arrays = {k: np.array(v) for k, v in clip.items()}
    knee = robot.joint_names.index("left_knee_joint")
    arrays["joint_pos"][5, knee] = robot.joint_upper[knee] + 0.3
    n = len(arrays["joint_pos"])
    write_shard(tmp_path / "shard_000.npz", [ShardClip("x:over", n, 1.0, lambda: arrays)], 30,
                robot.joint_names, robot.body_names)
    joints = {j["name"]: j for j in inspect_dataset(tmp_path).summary()["joints"]}
    assert joints["left_knee_joint"]["beyond_limits"]
    assert sum(j["beyond_limits"] for j in joints.values()) == 1


def test_foreign_clip_files(robot):
    source = require_shared("data", "npz")
    found = inspect_dataset(source)
    summary = found.summary()
    files = sorted(source.rglob("*.npz"))
    frames = sum(len(np.load(f)["joint_pos"]) for f in files)
    assert summary["kind"] == "clip files" and summary["clips"] == len(files) and summary["frames"] == frames
    assert summary["fps"] == [50.0, 60.0]
    assert {s: v["unsplit"]["clips"] for s, v in summary["sources"].items()} == {
        "g1moves": 5, "root_in_joint_pos": 1, "with_world_body": 2}
    # The world body at index 0 sits at the origin; a pelvis is well above the floor.
    assert found.root_height.min() > 0.3
    assert summary["schema_version"] is None and summary["rejected"]["clips"] == 0


def test_resharded_dataset_reads_the_same(built_sample, tmp_path):
    split_shards(built_sample, tmp_path / "small", 1)
    a, b = inspect_dataset(built_sample).summary(), inspect_dataset(tmp_path / "small").summary()
    for key in ("clips", "frames", "sources", "joints", "root_height_m", "root_speed_mps", "rejected"):
        assert a[key] == b[key], key
    assert len(b["splits"]["train"]["shards"]) == b["splits"]["train"]["clips"]
    assert b["built_from"]["resharded"]["max_shard_bytes"] == 1


def test_old_tool_shards_without_names_or_ids(tmp_path, built_sample):
    data = dict(np.load(built_sample / "train" / "shard_000.npz"))
    old = {k: v for k, v in data.items() if k not in ("joint_names", "body_names", "clip_ids", "schema_version")}
    (tmp_path / "old").mkdir()
    np.savez_compressed(tmp_path / "old" / "shard_000.npz", **old)
    summary = inspect_dataset(tmp_path / "old").summary()
    assert summary["clips"] == len(data["clip_lengths"]) and summary["schema_version"] is None
    assert any("assumed" in n for n in summary["notes"])
    assert summary["joints"][0]["lower"] is not None


def test_html_report_is_self_contained_and_reproducible(built_sample, tmp_path):
    require_rendering()  # the report's moving previews
    found = inspect_dataset(built_sample)
    path = write_report(found, tmp_path / "r")
    page = path.read_text()
    assert page.count("data:image/png;base64,") == 6  # lengths, hours, rejections, joints, height, speed
    assert "http://" not in page and "https://" not in page and "<script src" not in page  # nothing from a network
    assert "unitree_csv:twitch" in page and "too_short" in page
    assert "quality score" in page and "failures/shard_000.npz#0" in page  # the score, and where the failure is kept
    shown = re.findall(r"src='(previews/[^']+\.gif)'", page)
    assert len(shown) >= 6 and all((tmp_path / "r" / f).is_file() for f in shown)  # the previews sit beside it
    gifs = {f: (tmp_path / "r" / f).read_bytes() for f in shown}
    assert write_report(found, tmp_path / "r").read_text() == page  # its own report is replaced, identically
    assert {f: (tmp_path / "r" / f).read_bytes() for f in shown} == gifs  # and so are its previews


def test_report_never_replaces_a_file_it_did_not_write(built_sample, tmp_path):
    (tmp_path / "report.html").write_text("<html>my notes</html>")
    with pytest.raises(InputError, match="not written by inspect-dataset"):
        write_report(inspect_dataset(built_sample), tmp_path)
    assert (tmp_path / "report.html").read_text() == "<html>my notes</html>"


def test_cli_text_json_and_errors(built_sample, tmp_path):
    runner = CliRunner()
    text = runner.invoke(app, ["inspect-dataset", str(built_sample)])
    assert text.exit_code == 0, text.output
    assert f"schema {SCHEMA_VERSION}" in text.output and "rejected: 1 (too_short: 1)" in text.output
    assert "failures/: 1 rejected clips" in text.output and "quality score min/p10/p50" in text.output
    assert "train/shard_000.npz" in text.output
    as_json = runner.invoke(app, ["inspect-dataset", str(built_sample), "--json", "--report", str(tmp_path / "r"),
                                  "--no-previews"])
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout)["clips"] > 0 and (tmp_path / "r" / "report.html").is_file()
    assert not (tmp_path / "r" / "previews").exists()  # --no-previews
    missing = runner.invoke(app, ["inspect-dataset", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "not found" in missing.output


def test_unnamed_shards_with_a_world_body_use_the_pelvis_as_root(tmp_path):
    files = sorted(require_shared("data", "npz", "with_world_body").glob("*.npz"))
    clips = [dict(np.load(f)) for f in files]
    keys = ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w")
    lengths = np.array([len(c["joint_pos"]) for c in clips])
    np.savez(tmp_path / "shard_000.npz", **{k: np.concatenate([c[k] for c in clips]) for k in keys},
             fps=np.int64(50), clip_lengths=lengths, clip_starts=np.concatenate([[0], np.cumsum(lengths)[:-1]]))
    found = inspect_dataset(tmp_path)
    assert found.summary()["clips"] == len(files)
    assert found.root_height.min() > 0.3  # body 0 (the world frame, at z = 0) was not taken as the root


def test_a_broken_build_record_is_named_with_its_field(built_sample, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(built_sample, copy)
    info = json.loads((copy / "build_info.json").read_text())
    info["splits"]["train"]["shards"][0]["frames"] = "many"
    (copy / "build_info.json").write_text(json.dumps(info))
    result = CliRunner().invoke(app, ["inspect-dataset", str(copy)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{copy / 'build_info.json'} [splits.train.shards.0.frames]" in result.output, result.output
    (copy / "build_info.json").write_text("{not json")
    result = CliRunner().invoke(app, ["inspect-dataset", str(copy)])
    assert result.exit_code == 2 and "is not valid JSON" in result.output
