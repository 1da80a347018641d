"""The quality score on real clips, and the failures partition: every clip scored, rejected clips kept apart
in the same self-contained format, never read unless asked, byte-reproducible, handled by every command."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import torch
import yaml

from conftest import SHARED_DATA, require_shared
from mimicdata.build.clip import read_robot_motion
from mimicdata.build.dataset import BuildOptions, build_dataset
from mimicdata.commands.check_fk import check_fk
from mimicdata.commands.inspect_dataset import inspect_dataset
from mimicdata.commands.split_shards import split_shards
from mimicdata.dataset.manifest import read_manifest
from mimicdata.dataset.shards import Shard
from mimicdata.robot import load_robot
from mimicdata.spec import source_spec
from mimicdata.stages.fk import motion_to_clip
from mimicdata.stages.measures import BODY_SPEED_REF, JERK_REF, ClipMeasures, measure_clip, quality_score
from mimicdata.stages.resample import resample
from mimicdata.training.loaders import MotionWindows


def _score(kind: str, path, **options) -> float:
    robot = load_robot()
    source = source_spec(name="x", type=kind, input=path.parent, **options)
    read = read_robot_motion(source, path, robot)
    clip = motion_to_clip(robot, resample(read.motion, 30))
    measures = measure_clip(clip, robot, robot.body_index(robot.root_body), 0.5)
    return quality_score(measures, (read.quality or {}).get("ik_residual_frames", 0.0))


def test_the_score_puts_a_clean_walk_above_the_same_walk_with_hands_planted_in_the_hips():
    ours = _score("bvh", require_shared("data", "bvh", "lafan1", "walk4_subject1.bvh"), bvh_format="lafan1")
    unitree = _score("csv", require_shared("data", "g1_csv", "unitree_lafan1", "walk4_subject1.csv"), fps=30)
    assert ours > 0.95  # a fraction of a percent of frames colliding, nothing else wrong
    assert unitree < 0.5 < ours  # half of Unitree's frames have a hand more than 1 cm inside a hip


def test_the_score_is_the_documented_product():
    clean = ClipMeasures(0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 300.0)
    assert quality_score(clean) == round(1 / (1 + (300 / JERK_REF) ** 2), 4)
    broken = ClipMeasures(0.1, 0.2, 0.3, 0.4, 2 * BODY_SPEED_REF, 0.9, JERK_REF)
    expected = 0.9 * 0.8 * 0.7 * 0.6 * 0.5 * 0.5 * 0.5  # ... times (1 - ik), the speed and the jerk factors
    assert quality_score(broken, ik_residual_frames=0.5) == pytest.approx(expected, abs=1e-4)
    assert quality_score(replace_fall(clean)) == quality_score(clean)  # a fall is content, not a defect


def replace_fall(m: ClipMeasures) -> ClipMeasures:
    from dataclasses import replace

    return replace(m, fall_frames=1.0)


def _digests(root) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "build_info.json"}


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    """Unitree's five LAFAN1 retargets through the gate: walk4 (hands in hips) and the fall (through the floor)
    are rejected and land in failures/; the scores weight the others."""
    folder = require_shared("data", "g1_csv", "unitree_lafan1")
    root = tmp_path_factory.mktemp("gated")
    spec = {
        "name": "gated", "target_fps": 30, "val_percent": 30, "hash_salt": "t",
        "preprocess": {"max_floor_penetration_frames": 0.01, "max_self_collision_frames": 0.3,
                       "weight_by_quality": True},
        "sources": [{"name": "unitree", "type": "csv", "fps": 30, "weight": 2.0, "input": str(folder)}],
    }
    path = root / "gated.yaml"
    path.write_text(yaml.safe_dump(spec))
    report = build_dataset(path, BuildOptions(output_root=root / "out", fk_check=False, use_cache=False))
    return root, path, report, root / "out" / "gated"


def test_failures_hold_exactly_the_rejected_clips_with_their_reasons(gated):
    _, _, report, dataset = gated
    rejected = {r.clip_id: r for r in report.rejected}
    assert set(rejected) == {"unitree:walk4_subject1", "unitree:fallAndGetUp1_subject1"}
    shard = Shard(dataset / "failures" / "shard_000.npz")
    assert [str(c) for c in shard["clip_ids"]] == sorted(rejected)
    assert [str(r) for r in shard["clip_reject_reasons"]] == [rejected[c].reason for c in sorted(rejected)]
    assert all("preprocess.max_" in str(d) for d in shard["clip_reject_details"])
    for index, cid in enumerate(sorted(rejected)):
        assert (rejected[cid].shard, rejected[cid].clip_index) == ("failures/shard_000.npz", index)
        assert shard["clip_quality"][index] == rejected[cid].quality_score
    # Self-contained like the splits: names, fps, schema, every frame array and the contact labels.
    data = np.load(dataset / "failures" / "shard_000.npz", allow_pickle=False)
    for key in ("joint_names", "body_names", "fps", "schema_version", "joint_pos", "body_pos_w", "body_contacts"):
        assert key in data.files
    assert report.failures is not None and report.failures.clips == 2
    assert "unitree:walk4_subject1" not in {r.clip_id for r in read_manifest(dataset / "manifest_resolved.csv")}


def test_loaders_read_the_failures_only_when_asked(gated):
    *_, dataset = gated
    kept = {str(c) for split in ("train", "val") for c in MotionWindows(dataset, split=split, window=1).clip_ids}
    failed = MotionWindows(dataset, split="failures", window=1, keys=["joint_pos", "body_contacts"])
    assert set(failed.clip_ids) == {"unitree:walk4_subject1", "unitree:fallAndGetUp1_subject1"}
    assert not kept & set(failed.clip_ids)
    assert failed[0]["body_contacts"].dtype == torch.bool  # the labels read like any key


def test_scores_are_in_manifest_and_shards_and_weight_the_clips(gated):
    *_, dataset = gated
    for row in read_manifest(dataset / "manifest_resolved.csv"):
        shard = Shard(dataset / row.shard)
        stored = float(shard["clip_quality"][row.clip_index])
        assert 0.0 < row.quality_score <= 1.0 and row.quality_score == stored
        assert float(shard["clip_weights"][row.clip_index]) == pytest.approx(2.0 * stored)  # weight_by_quality
        assert row.weight == pytest.approx(2.0 * stored)
    summary = inspect_dataset(dataset).summary()
    assert summary["failures"]["by_reason"] == {"self_collision": 1, "through_floor": 1}
    assert summary["clips"] == 3 and summary["quality_score"]["clips"] == 3


def test_failures_are_byte_reproducible_and_every_command_handles_them(gated, tmp_path):
    root, path, _, dataset = gated
    before = _digests(dataset)
    build_dataset(path, BuildOptions(output_root=root / "out", fk_check=False, use_cache=False, force=True))
    assert _digests(dataset) == before
    assert any(k.startswith("failures/") for k in before)
    resharded = split_shards(dataset, tmp_path / "small", max_shard_bytes=2_000_000)
    assert resharded.splits["failures"].clips == 2
    again = Shard(sorted((tmp_path / "small" / "failures").glob("*.npz"))[0])
    assert "clip_reject_reasons" in again and "body_contacts" in again
    checked = check_fk(dataset / "failures", frames=5)
    assert len(checked) == 2 and all(result.passed for _, result, _ in checked)


def test_a_clip_that_cannot_be_processed_is_listed_but_not_stored(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    good = (SHARED_DATA / "g1_csv" / "unitree_lafan1" / "dance1_subject1.csv")
    require_shared("data", "g1_csv", "unitree_lafan1", "dance1_subject1.csv")
    lines = good.read_text().splitlines()[:60]
    (src / "good.csv").write_text("\n".join(lines) + "\n")
    broken = [line.split(",") for line in lines]
    broken[10][8] = "nan"
    (src / "nan.csv").write_text("\n".join(",".join(r) for r in broken) + "\n")
    spec = {"name": "n", "target_fps": 30, "val_percent": 10, "hash_salt": "t",
            "sources": [{"name": "c", "type": "csv", "fps": 30, "input": str(src)}]}
    path = tmp_path / "n.yaml"
    path.write_text(yaml.safe_dump(spec))
    report = build_dataset(path, BuildOptions(output_root=tmp_path / "out", fk_check=False, use_cache=False))
    (entry,) = report.rejected
    assert entry.clip_id == "c:nan" and entry.shard is None and entry.quality_score is None
    assert report.failures is None and not (tmp_path / "out" / "n" / "failures").exists()
    assert not math.isnan(read_manifest(tmp_path / "out" / "n" / "manifest_resolved.csv")[0].quality_score)
