"""bvh_format auto: every file's own skeleton format from its joint names, size and rest pose, or a
spec-level error naming the candidates and what decided."""

from __future__ import annotations

import shutil

import pytest
import yaml

from conftest import SHARED_DATA, require_shared
from mimicdata.build.dataset import BuildOptions, build_dataset
from mimicdata.dataset.report import read_build_report
from mimicdata.errors import SpecError
from mimicdata.retarget import detect
from mimicdata.retarget.detect import detect_format
from mimicdata.retarget.formats import FORMATS
from test_bvh import nokov_frames, nokov_hierarchy, write_bvh

FOLDER_FORMATS = {"lafan1": "lafan1", "lafan1_cuts": "lafan1", "cmu": "cmu", "hc_mocap": "hc_mocap", "soma": "soma"}
TAKES = sorted((SHARED_DATA / "bvh").glob("*/*.bvh")) if (SHARED_DATA / "bvh").is_dir() else []


@pytest.mark.parametrize("take", TAKES or [None], ids=[f"{t.parent.name}/{t.stem}" for t in TAKES] or ["absent"])
def test_every_shared_take_is_detected_as_its_folders_format(take):
    require_shared("data", "bvh")
    assert detect_format(take).name == FOLDER_FORMATS[take.parent.name]


def test_a_nokov_export_is_told_from_lafan1_by_its_rest_pose_and_from_cmu_by_its_size(tmp_path):
    hierarchy = nokov_hierarchy()
    path = write_bvh(tmp_path / "nokov.bvh", hierarchy, nokov_frames(hierarchy))
    assert detect_format(path).name == "nokov"
    verdicts = {v.name: v for v in detect._verdicts(*_key(path))}
    assert "rest pose" in verdicts["lafan1"].reason and not verdicts["lafan1"].fits  # same names, upright rest
    assert "m performer" in verdicts["cmu"].reason and not verdicts["cmu"].fits  # same names, other unit
    assert "lacks" in verdicts["soma"].reason


def _key(path):
    from mimicdata.sources.bvh import read_rest_pose

    names, rest = read_rest_pose(path)
    formats = tuple(detect.format_names())
    return f"test-{path}-{formats}", names, rest, formats


def test_two_formats_that_fit_alike_are_refused_with_both_named(tmp_path, monkeypatch):
    twin = tmp_path / "nokov_twin.yaml"
    shutil.copy(FORMATS / "nokov.yaml", twin)
    monkeypatch.setattr(detect, "format_names", lambda: ["cmu", "lafan1", "nokov", str(twin)])
    hierarchy = nokov_hierarchy()
    path = write_bvh(tmp_path / "take.bvh", hierarchy, nokov_frames(hierarchy))
    with pytest.raises(SpecError) as info:
        detect_format(path)
    message = str(info.value)
    assert "take.bvh" in message and "2 skeleton formats fit" in message and "set bvh_format" in message
    assert message.count("fits (Hips, Spine2, LeftLeg, LeftToe, LeftArm") == 2  # the joints that decided
    assert "lafan1: its rest pose" in message and "cmu: a 8.02 m performer" in message  # and why the others do not fit


def test_a_skeleton_no_format_knows_is_refused_with_what_each_lacks(tmp_path):
    hierarchy = nokov_hierarchy().replace("Hips", "Pelvis").replace("LeftUpLeg", "L_Thigh")
    path = write_bvh(tmp_path / "odd.bvh", hierarchy, nokov_frames(hierarchy))
    with pytest.raises(SpecError, match="no skeleton format fits") as info:
        detect_format(path)
    assert "lafan1: lacks Hips" in str(info.value) and "soma: lacks" in str(info.value)


def test_a_build_without_bvh_format_detects_each_file_and_refuses_an_undecidable_one(tmp_path):
    take = require_shared("data", "bvh", "lafan1_cuts", "fallAndGetUp1_subject1_1600_1700.bvh")
    takes = tmp_path / "takes"
    takes.mkdir()
    shutil.copy(take, takes / "cut.bvh")
    spec = {"name": "auto", "target_fps": 30, "val_percent": 10,
            "sources": [{"name": "mocap", "type": "bvh", "input": str(takes)}]}
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    report = build_dataset(spec_path, BuildOptions(output_root=tmp_path / "out"))
    assert report.kept == 1
    stored = read_build_report(tmp_path / "out" / "auto")
    assert any("bvh_format auto: lafan1" in n for entry in stored.notes for n in entry.notes)

    hierarchy = nokov_hierarchy().replace("Hips", "Pelvis")
    write_bvh(takes / "odd.bvh", hierarchy, nokov_frames(hierarchy))
    before = sorted(p.name for p in (tmp_path / "out" / "auto").rglob("*"))
    with pytest.raises(SpecError) as info:
        build_dataset(spec_path, BuildOptions(output_root=tmp_path / "out"))
    message = str(info.value)
    assert "source 'mocap'" in message and "odd.bvh" in message and "no skeleton format fits" in message
    assert sorted(p.name for p in (tmp_path / "out" / "auto").rglob("*")) == before  # the dataset untouched
