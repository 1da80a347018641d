"""A dataset folder as the old tool's NPZ era left it on disk: inspect-dataset and check-fk read it,
the loaders refuse it (no joint order) saying what to do.

The folder is put together here from real G1 clips in ../shared/data/npz/g1moves, in the layout
../shared/docs/formats.md gives: train/ and val/ shards without joint_names, clip_ids or a schema
version, and a manifest with the old tool's columns (absolute shard paths), no build_info.json.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import require_shared
from mimicdata.cli import app
from mimicdata.commands.inspect_dataset import inspect_dataset
from mimicdata.errors import ShardError
from mimicdata.training.loaders import MotionWindows

KEYS = ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w")
OLD_COLUMNS = ["clip_id", "source", "file_rel", "num_frames", "fps", "resolved_split", "resolved_npz_path",
               "weight", "clip_index"]


@pytest.fixture(scope="module")
def old_dataset(tmp_path_factory, robot) -> tuple[Path, dict[str, list[tuple[str, int]]]]:
    files = sorted(require_shared("data", "npz", "g1moves").glob("*.npz"))
    root = tmp_path_factory.mktemp("old_tool") / "g1moves_v0"
    splits = {"train": files[:-1], "val": files[-1:]}
    rows, layout = [], {}
    for split, chosen in splits.items():
        (root / split).mkdir(parents=True)
        clips = [dict(np.load(f)) for f in chosen]
        lengths = np.array([len(c["joint_pos"]) for c in clips])
        shard = root / split / "shard_000.npz"
        np.savez(
            shard,
            **{k: np.concatenate([c[k] for c in clips]) for k in KEYS},
            fps=np.int64(30), body_names=np.array(robot.body_names),
            clip_starts=np.concatenate([[0], np.cumsum(lengths)[:-1]]), clip_lengths=lengths,
            clip_fps=np.full(len(clips), 30.0), clip_weights=np.ones(len(clips)),
        )
        layout[split] = [(f"g1moves:{f.stem}", int(n)) for f, n in zip(chosen, lengths)]
        rows += [[f"g1moves:{f.stem}", "g1moves", f.name, int(n), 30, split, str(shard.resolve()), 1.0, i]
                 for i, (f, n) in enumerate(zip(chosen, lengths))]
    with open(root / "manifest_resolved.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(OLD_COLUMNS)
        writer.writerows(rows)
    return root, layout


def test_inspect_dataset_reads_the_old_folder_with_its_manifest(old_dataset, robot):
    root, layout = old_dataset
    summary = inspect_dataset(root).summary()
    assert summary["kind"] == "dataset" and summary["schema_version"] is None
    assert summary["body_names"] == list(robot.body_names)
    assert summary["joint_names"] == list(robot.joint_names)  # assumed from the robot, and said so
    assert any("assumed" in n for n in summary["notes"])
    for split, clips in layout.items():
        assert summary["splits"][split]["clips"] == len(clips)
        assert summary["splits"][split]["frames"] == sum(n for _, n in clips)
    assert set(summary["sources"]) == {"g1moves"}  # clip ids and sources come from the old manifest
    result = CliRunner().invoke(app, ["inspect-dataset", str(root)])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output


def test_check_fk_passes_every_clip_of_the_old_folder_against_mujoco(old_dataset):
    root, layout = old_dataset
    result = CliRunner().invoke(app, ["check-fk", "--npz", str(root), "--frames", "10", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == sum(len(c) for c in layout.values()) and all(r["passed"] for r in rows)


def test_loaders_refuse_the_old_shards_saying_why_and_what_to_do(old_dataset):
    root, _ = old_dataset
    with pytest.raises(ShardError) as err:
        MotionWindows(root, split="train", window=[0, 1])
    message = str(err.value)
    assert "shard_000.npz" in message and "'joint_names'" in message and "never guesses" in message
    assert "build-dataset" in message
