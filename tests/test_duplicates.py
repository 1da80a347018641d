"""The same motion reaching a spec twice (g1moves as mjlab NPZ and as 60 fps CSV; a folder read by two sources):
found by content, reported, kept in one split, and dropped to one when asked."""

from __future__ import annotations

import numpy as np
import yaml

from conftest import SHARED_DATA, require_shared
from mimicdata.build.dataset import BuildOptions, build_dataset
from mimicdata.build.duplicates import find_duplicates, same_motion
from mimicdata.dataset.manifest import read_manifest

TAKES = ["B_BowKarate", "J_Dance12_LushLife", "J_Dance18_TikTok", "M_Move1", "M_Move19"]


def _spec(tmp_path, **preprocess):
    require_shared("data", "npz", "g1moves")
    spec = {
        "name": "dup", "target_fps": 30, "val_percent": 50, "hash_salt": "d", "preprocess": preprocess,
        "sources": [
            {"name": "npz", "type": "npz", "input": str(SHARED_DATA / "npz" / "g1moves")},
            {"name": "csv", "type": "csv", "fps": 60, "input": str(SHARED_DATA / "g1_csv" / "g1moves_60fps")},
            {"name": "again", "type": "csv", "fps": 60, "input": str(SHARED_DATA / "g1_csv" / "g1moves_60fps"),
             "exclude_patterns": ["J_*", "M_*"]},
        ],
    }
    path = tmp_path / "dup.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_the_same_takes_in_two_formats_are_found_and_share_a_split(tmp_path):
    report = build_dataset(_spec(tmp_path), BuildOptions(output_root=tmp_path / "out", fk_check=False))
    groups = {tuple(d.clip_ids): d.how for d in report.duplicates}
    expected = {(f"csv:{t}", f"npz:{t}") for t in TAKES[1:]} | {("again:B_BowKarate", "csv:B_BowKarate", "npz:B_BowKarate")}
    assert set(groups) == expected
    assert set(groups.values()) == {"same motion"}
    assert all(d.kept_all for d in report.duplicates) and report.kept == 11
    split = {r.clip_id: r.resolved_split for r in read_manifest(tmp_path / "out" / "dup" / "manifest_resolved.csv")}
    for ids in groups:
        assert len({split[cid] for cid in ids}) == 1, ids


def test_drop_duplicates_keeps_the_first_of_each_and_says_which(tmp_path):
    report = build_dataset(_spec(tmp_path, drop_duplicates=True), BuildOptions(output_root=tmp_path / "out", fk_check=False))
    assert report.kept == 5
    dropped = {r.clip_id: r.detail for r in report.rejected if r.reason == "duplicate"}
    assert sorted(dropped) == sorted([f"npz:{t}" for t in TAKES] + ["csv:B_BowKarate"])
    assert "again:B_BowKarate, which is kept" in dropped["npz:B_BowKarate"]
    assert not any(d.kept_all for d in report.duplicates)


def test_bytes_mirrors_and_other_motions():
    t = np.linspace(0.0, 3.0, 90)[:, None]
    walk = 0.5 * np.sin(2 * np.pi * t / 1.1 + np.arange(29))  # a smooth gait-like motion
    other = walk + 0.05  # the same shape of motion, 0.05 rad apart: another motion
    arrays = {"a:walk": walk, "b:walk": walk.copy(), "a:walk:mirror": walk, "c:other": other,
              "d:walk_short": walk[1:] + 0.001}
    clips = {cid: (("sha-w" if cid.startswith(("a:walk", "b:")) else cid), len(q), list(q.mean(axis=0)))
             for cid, q in arrays.items()}
    groups = find_duplicates(clips, lambda a, b: same_motion(arrays[a], arrays[b]))
    assert [(g.clip_ids, g.how) for g in groups] == [(("a:walk", "b:walk", "d:walk_short"), "same motion")]
    only_bytes = find_duplicates({k: clips[k] for k in ("a:walk", "b:walk")}, lambda a, b: same_motion(arrays[a], arrays[b]))
    assert [(g.clip_ids, g.how) for g in only_bytes] == [(("a:walk", "b:walk"), "same input bytes")]


def test_inspect_dataset_lists_the_duplicates_a_build_found(tmp_path):
    from typer.testing import CliRunner

    from mimicdata.cli import app

    build_dataset(_spec(tmp_path), BuildOptions(output_root=tmp_path / "out", fk_check=False))
    result = CliRunner().invoke(app, ["inspect-dataset", str(tmp_path / "out" / "dup")])
    assert result.exit_code == 0, result.output
    assert "duplicates (same motion): csv:M_Move1, npz:M_Move1" in result.output


def test_close_pairs_are_exactly_the_pairs_within_the_radius_in_every_coordinate():
    from mimicdata.build.duplicates import close_pairs

    rng = np.random.default_rng(3)
    points = rng.normal(0.0, 0.02, (400, 6))
    points[:100] = points[100:200] + rng.normal(0.0, 0.004, (100, 6))  # near twins
    brute = [(i, j) for i in range(400) for j in range(i + 1, 400) if np.abs(points[i] - points[j]).max() <= 0.01]
    assert close_pairs(points, 0.01) == brute and len(brute) > 50
    assert close_pairs(points[:1], 0.01) == [] and close_pairs(np.zeros((3, 2)), 0.0) == [(0, 1), (0, 2), (1, 2)]


def test_a_rebuild_judges_pairs_compared_before_without_loading_them(tmp_path, monkeypatch):
    import mimicdata.build.dataset as build

    first = build_dataset(_spec(tmp_path), BuildOptions(output_root=tmp_path / "out", fk_check=False))

    def no_loading(a, b):
        raise AssertionError("a pair compared by the last build was loaded again")

    monkeypatch.setattr(build, "same_motion", no_loading)
    again = build_dataset(_spec(tmp_path), BuildOptions(output_root=tmp_path / "out", fk_check=False))
    assert again.duplicates == first.duplicates and len(first.duplicates) >= 4
