"""Hostile and broken inputs, one case per failure a user can hit.

Every data case drops one bad file, as a source of its own, next to the
bundled sample inputs and rebuilds a dataset that was already built. Each
case checks:
- the message names the file, the field and what was expected;
- the rest of the build goes on: the bad clip is rejected with its reason in
  build_info.json, and the shards and manifest are byte-identical to the
  build without it;
- with --strict the build fails with the same message and writes nothing, so
  the dataset built before is intact to the byte.

Spec and system cases check the same: a clear message, and nothing lost.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import REPO, require_shared
from mimicdata.build.dataset import BuildOptions, build_dataset
from mimicdata.dataset.report import Rejection
from mimicdata.errors import BuildError, SpecError, StrictBuildError
from mimicdata.sources.pkl import load_pickle

SAMPLE = REPO / "data" / "sample"


def _digests(dataset: Path) -> dict[str, str]:
    return {
        str(p.relative_to(dataset)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(dataset.rglob("*"))
        if p.is_file()
    }


def _published(dataset: Path) -> dict[str, str]:
    """What a rejected clip must not change: shards and manifest (build_info.json lists the rejection)."""
    return {k: v for k, v in _digests(dataset).items() if k != "build_info.json"}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """Sample inputs, their spec, and the dataset already built from them (built once, copied per test)."""
    root = tmp_path_factory.mktemp("hostile_template")
    shutil.copytree(SAMPLE, root / "inputs")
    spec = yaml.safe_load((REPO / "specs" / "sample.yaml").read_text())
    for source in spec["sources"]:
        source["input"] = f"inputs/{Path(source['input']).name}"  # relative, so each copy reads its own inputs
    (root / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    build_dataset(root / "spec.yaml", BuildOptions(output_root=root / "out", fk_check=False, use_cache=False))
    return root


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.spec_path = root / "spec.yaml"
        self.dataset = root / "out" / "sample"
        self.before = _digests(self.dataset)

    def spec(self) -> dict:
        return yaml.safe_load(self.spec_path.read_text())

    def add_source(self, files: dict[str, bytes], **source) -> Path:
        """A source named 'hostile' holding exactly `files`."""
        folder = self.root / "hostile"
        folder.mkdir(exist_ok=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
        spec = self.spec()
        spec["sources"].append({"name": "hostile", "input": "hostile", **source})
        self.spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
        return folder

    def build(self, **options) -> dict:
        options = {"use_cache": False, **options}
        return build_dataset(
            self.spec_path, BuildOptions(output_root=self.root / "out", fk_check=False, **options)
        )


@pytest.fixture
def ws(template, tmp_path) -> Workspace:
    shutil.copytree(template, tmp_path / "ws")
    return Workspace(tmp_path / "ws")


def assert_rejected_cleanly(ws: Workspace, reason: str, needles: list[str]) -> Rejection:
    """The bad clip is rejected with `reason` and a message holding every needle; nothing else changed;
    --strict fails with that message and leaves the earlier dataset byte for byte."""
    report = ws.build()
    mine = [r for r in report.rejected if r.source == "hostile"]
    assert len(mine) == 1, report.rejected
    (entry,) = mine
    assert entry.reason == reason, entry
    for needle in needles:
        assert needle in entry.detail, (needle, entry.detail)
    assert report.sources["hostile"].rejected_by_reason == {reason: 1}
    assert _published(ws.dataset) == {k: v for k, v in ws.before.items() if k != "build_info.json"}

    rebuilt = _digests(ws.dataset)
    with pytest.raises(StrictBuildError) as err:
        ws.build(strict=True)
    assert entry.clip_id in str(err.value) and entry.detail in str(err.value)
    unplaced = [r.model_copy(update={"shard": None, "clip_index": None}) for r in report.rejected]
    assert err.value.report.rejected == unplaced  # --strict publishes nothing, so no failures shard holds them
    assert _digests(ws.dataset) == rebuilt
    assert _leftovers(ws) == [], "a strict failure left staging behind"
    return entry


def _leftovers(ws: Workspace) -> list[Path]:
    """Staging or swapped-out copies next to the dataset (the lock file is meant to stay)."""
    return [*ws.dataset.parent.glob(".sample.staging-*"), *ws.dataset.parent.glob(".sample.old-*")]


# ----------------------------------------------------------------------------- base files to break


def _csv_text() -> str:
    return (SAMPLE / "csv" / "walk_turn_left.csv").read_text()


def _gmr() -> dict:
    return load_pickle(SAMPLE / "pkl" / "walk_forward.pkl")


def _pickled(obj) -> bytes:
    return pickle.dumps(obj, protocol=4)


def _npz_arrays() -> dict[str, np.ndarray]:
    with np.load(SAMPLE / "npz" / "march_in_place.npz") as data:
        return {k: data[k] for k in data.files}


def _npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _csv_with(cell_row: int, cell_col: int, value: str, newline: str = "\n") -> bytes:
    rows = [line.split(",") for line in _csv_text().splitlines()]
    rows[cell_row][cell_col] = value
    return newline.join(",".join(r) for r in rows).encode() + newline.encode()


# ----------------------------------------------------------------------------- CSV


def test_csv_with_a_missing_column(ws):
    lines = _csv_text().splitlines()
    lines[4] = ",".join(lines[4].split(",")[:-1])
    ws.add_source({"short_row.csv": ("\n".join(lines) + "\n").encode()}, type="csv", fps=30)
    assert_rejected_cleanly(ws, "unreadable", ["short_row.csv", "line 5", "35 columns, expected 36"])


def test_csv_with_a_non_numeric_cell(ws):
    ws.add_source({"word.csv": _csv_with(2, 9, "abc")}, type="csv", fps=30)
    assert_rejected_cleanly(ws, "unreadable", ["word.csv", "line 3, column 10", "expected a number", "'abc'"])


def test_csv_with_crlf_line_ends_is_read_like_lf(ws):
    ws.add_source({"windows.csv": _csv_text().replace("\n", "\r\n").encode()}, type="csv", fps=30)
    report = ws.build()
    assert report.sources["hostile"].kept == 1
    manifest = (ws.dataset / "manifest_resolved.csv").read_text()
    twin = next(line for line in manifest.splitlines() if "walk_turn_left" in line).split(",")
    mine = next(line for line in manifest.splitlines() if "hostile:windows" in line).split(",")
    assert mine[3] == twin[3]  # the same number of frames


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_csv_with_a_non_finite_cell(ws, value):
    ws.add_source({"nonfinite.csv": _csv_with(7, 12, value)}, type="csv", fps=30)
    assert_rejected_cleanly(ws, "unreadable", ["nonfinite.csv", "line 8, column 13", "expected a finite number"])


def test_csv_with_a_zero_quaternion(ws):
    rows = [line.split(",") for line in _csv_text().splitlines()]
    rows[3][3:7] = ["0", "0", "0", "0"]
    ws.add_source({"zero_quat.csv": ("\n".join(",".join(r) for r in rows) + "\n").encode()}, type="csv", fps=30)
    assert_rejected_cleanly(ws, "unreadable", ["zero_quat.csv", "qx qy qz qw", "expected unit quaternions", "3"])


def test_csv_with_an_unnormalised_quaternion(ws):
    rows = [line.split(",") for line in _csv_text().splitlines()]
    rows[5][3:7] = [str(2 * float(v)) for v in rows[5][3:7]]
    ws.add_source({"double_quat.csv": ("\n".join(",".join(r) for r in rows) + "\n").encode()}, type="csv", fps=30)
    assert_rejected_cleanly(ws, "unreadable", ["double_quat.csv", "qx qy qz qw", "|norm - 1| <= 0.1", "norm 2"])


def test_csv_with_slightly_off_quaternions_is_normalised_and_kept(ws):
    rows = [line.split(",") for line in _csv_text().splitlines()]
    for row in rows:
        row[3:7] = [repr(1.02 * float(v)) for v in row[3:7]]  # float32-and-rounding sized, not a layout error
    ws.add_source({"off.csv": ("\n".join(",".join(r) for r in rows) + "\n").encode()}, type="csv", fps=30)
    assert ws.build().sources["hostile"].kept == 1


def test_csv_that_is_empty(ws):
    ws.add_source({"empty.csv": b""}, type="csv", fps=30)
    assert_rejected_cleanly(ws, "unreadable", ["empty.csv", "the file is empty; expected a csv motion file"])


# ----------------------------------------------------------------------------- pickle


def test_pickle_that_references_anything_outside_numpy_is_blocked_before_it_runs(ws):
    marker = ws.root / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    ws.add_source({"exploit.pkl": _pickled({"fps": 30, "root_pos": Exploit()})}, type="pkl")
    entry = assert_rejected_cleanly(ws, "unreadable", ["exploit.pkl", "os", "system", "only numpy arrays"])
    assert not marker.exists(), "the pickle ran code"
    assert "refused" in entry.detail


def test_pickle_of_another_robot(ws):
    other = _gmr()
    other["dof_pos"] = other["dof_pos"][:, :23]  # a 23-DoF robot
    ws.add_source({"h1.pkl": _pickled(other)}, type="pkl")
    assert_rejected_cleanly(ws, "unreadable", ["h1.pkl", "dof_pos", "23", "29"])


def test_pickle_with_none_fields_that_are_optional_is_kept(ws):
    ws.add_source({"gmr_nones.pkl": _pickled(_gmr())}, type="pkl")  # local_body_pos and link_body_list are None
    assert ws.build().sources["hostile"].kept == 1


def test_pickle_with_a_none_where_motion_is_required(ws):
    data = _gmr()
    data["root_pos"] = None
    ws.add_source({"no_root.pkl": _pickled(data)}, type="pkl")
    assert_rejected_cleanly(ws, "unreadable", ["no_root.pkl", "root_pos"])


@pytest.mark.parametrize("field, row", [("root_pos", 3), ("root_rot", 10), ("dof_pos", 40)])
def test_pickle_with_nan_anywhere(ws, field, row):
    data = _gmr()
    data[field] = np.array(data[field], dtype=float)
    data[field][row, 1] = np.nan
    ws.add_source({"nan.pkl": _pickled(data)}, type="pkl")
    assert_rejected_cleanly(ws, "unreadable", ["nan.pkl", field, "finite"])


@pytest.mark.parametrize("fps", [0, -30, 1e7, float("nan"), "thirty"])
def test_pickle_with_an_impossible_frame_rate(ws, fps):
    data = _gmr()
    data["fps"] = fps
    ws.add_source({"bad_fps.pkl": _pickled(data)}, type="pkl")
    assert_rejected_cleanly(ws, "unreadable", ["bad_fps.pkl", "[fps]", "expected"])


def test_pickle_with_zero_frames(ws):
    data = _gmr()
    for key in ("root_pos", "root_rot", "dof_pos"):
        data[key] = np.asarray(data[key])[:0]
    ws.add_source({"no_frames.pkl": _pickled(data)}, type="pkl")
    assert_rejected_cleanly(ws, "unreadable", ["no_frames.pkl", "frames"])


@pytest.mark.parametrize(
    "data, needle", [(b"", "the file is empty"), (b"\x80\x04\x95", "truncated"), (b"not a pickle", "not a readable")]
)
def test_pickle_truncated_or_garbage(ws, data, needle):
    ws.add_source({"broken.pkl": data}, type="pkl")
    assert_rejected_cleanly(ws, "unreadable", ["broken.pkl", "pickle" if data else "pkl", needle])


# ----------------------------------------------------------------------------- NPZ


def test_npz_that_needs_allow_pickle_is_refused(ws):
    arrays = _npz_arrays()
    arrays["joint_names"] = np.array(["a", 1, None], dtype=object)
    ws.add_source({"objects.npz": _npz_bytes(arrays)}, type="npz")
    assert_rejected_cleanly(ws, "unreadable", ["objects.npz", "pickle"])


@pytest.mark.parametrize("key", ["joint_pos", "body_pos_w", "body_quat_w"])
def test_npz_with_inf_anywhere(ws, key):
    arrays = _npz_arrays()
    arrays[key] = arrays[key].copy()
    arrays[key][17].flat[0] = np.inf
    ws.add_source({"inf.npz": _npz_bytes(arrays)}, type="npz")
    assert_rejected_cleanly(ws, "unreadable", ["inf.npz", key, "finite"])


@pytest.mark.parametrize("fps", [0, -50, 5e6])
def test_npz_with_an_impossible_frame_rate(ws, fps):
    arrays = _npz_arrays()
    arrays["fps"] = np.array([fps])
    ws.add_source({"fps.npz": _npz_bytes(arrays)}, type="npz")
    assert_rejected_cleanly(ws, "unreadable", ["fps.npz", "[fps]", "expected a frame rate"])


def test_npz_with_zero_frames(ws):
    arrays = {k: (v[:0] if v.ndim > 1 else v) for k, v in _npz_arrays().items()}
    ws.add_source({"empty_clip.npz": _npz_bytes(arrays)}, type="npz")
    assert_rejected_cleanly(ws, "unreadable", ["empty_clip.npz", "frames"])


def test_npz_with_zero_quaternions(ws):
    arrays = _npz_arrays()
    arrays["body_quat_w"] = arrays["body_quat_w"].copy()
    arrays["body_quat_w"][30, 0] = 0.0
    ws.add_source({"zero_quat.npz": _npz_bytes(arrays)}, type="npz")
    assert_rejected_cleanly(ws, "unreadable", ["zero_quat.npz", "body_quat_w", "expected unit quaternions"])


@pytest.mark.parametrize(
    "data, needle", [(b"", "the file is empty"), (b"PK\x03\x04 cut short", "not a zip"), (b"\x00" * 100, "pickle")]
)
def test_npz_truncated_or_garbage(ws, data, needle):
    ws.add_source({"broken.npz": data}, type="npz")
    assert_rejected_cleanly(ws, "unreadable", ["broken.npz", "npz", needle])


# ----------------------------------------------------------------------------- SEED CSV


def test_seed_csv_with_a_missing_joint_column(ws):
    lines = (SAMPLE / "seed_csv" / "wave_arms.csv").read_text().splitlines()
    header = lines[0].split(",")
    drop = header.index("left_knee_joint_dof")
    cut = [",".join(c for i, c in enumerate(line.split(",")) if i != drop) for line in lines]
    ws.add_source({"no_knee.csv": ("\n".join(cut) + "\n").encode()}, type="seed_csv")
    assert_rejected_cleanly(ws, "unreadable", ["no_knee.csv", "left_knee_joint"])


def test_seed_csv_with_a_non_finite_cell(ws):
    lines = (SAMPLE / "seed_csv" / "wave_arms.csv").read_text().splitlines()
    cells = lines[6].split(",")
    cells[9] = "inf"
    lines[6] = ",".join(cells)
    ws.add_source({"inf.csv": ("\n".join(lines) + "\n").encode()}, type="seed_csv")
    column = lines[0].split(",")[9]
    assert_rejected_cleanly(ws, "unreadable", ["inf.csv", column, "line 7", "finite"])


def test_seed_csv_with_a_header_and_no_frames(ws):
    header = (SAMPLE / "seed_csv" / "wave_arms.csv").read_text().splitlines()[0]
    ws.add_source({"header_only.csv": (header + "\n").encode()}, type="seed_csv")
    assert_rejected_cleanly(ws, "unreadable", ["header_only.csv", "no data rows"])


@pytest.mark.parametrize("fps", [0, -30, 1e6])
def test_spec_csv_fps_option_that_is_no_frame_rate(ws, fps):
    message = _spec_error(ws, lambda s: s["sources"][1].update(fps=fps))
    assert "spec.yaml" in message and "sources[1].fps" in message and str(fps) in message


# ----------------------------------------------------------------------------- BVH


def _bvh_source(**extra) -> dict:
    return {"type": "bvh", "bvh_format": "lafan1", **extra}


@pytest.mark.parametrize(
    "data, needles",
    [
        (b"", ["empty.bvh", "the file is empty; expected a bvh motion file"]),
        (b"HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0 0\n  CHANNELS 6 Xposition", ["empty.bvh", "[MOTION]", "ends inside"]),
        (bytes(range(256)) * 4, ["empty.bvh", "[HIERARCHY]", "the first line must be `HIERARCHY`"]),
    ],
    ids=["empty", "cut_in_the_hierarchy", "binary_garbage"],
)
def test_bvh_empty_truncated_or_garbage(ws, data, needles):
    ws.add_source({"empty.bvh": data}, **_bvh_source())
    assert_rejected_cleanly(ws, "unreadable", needles)


CHAIN = """HIERARCHY
ROOT Hips
{
  OFFSET 0 90 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 10 0
    }
  }
}
MOTION
"""


def _chain_bvh(frames: list[str], declared: int | None = None) -> bytes:
    count = len(frames) if declared is None else declared
    return (CHAIN + f"Frames: {count}\nFrame Time: 0.0333333\n" + "\n".join(frames) + "\n").encode()


def test_bvh_skeleton_lacking_what_its_format_needs_lists_the_missing_joints(ws):
    ws.add_source({"two_joints.bvh": _chain_bvh(["0 90 0 0 0 0 0 0 0"] * 5)}, **_bvh_source())
    entry = assert_rejected_cleanly(ws, "unreadable", ["two_joints.bvh", "lafan1"])
    for joint in ("LeftUpLeg", "RightHand", "Head"):
        assert joint in entry.detail


def test_bvh_with_nan_in_a_frame(ws):
    frames = ["0 90 0 0 0 0 0 0 0"] * 5
    frames[2] = "0 90 0 0 nan 0 0 0 0"
    ws.add_source({"nan.bvh": _chain_bvh(frames)}, **_bvh_source())
    assert_rejected_cleanly(ws, "unreadable", ["nan.bvh", "[MOTION line 21]", "Hips Yrotation", "expected a finite"])


def test_bvh_with_zero_frames(ws):
    ws.add_source({"no_frames.bvh": _chain_bvh([])}, **_bvh_source())
    assert_rejected_cleanly(ws, "unreadable", ["no_frames.bvh", "frames"])


@pytest.mark.parametrize("frame_time", ["0", "-0.0333", "1e-9"])
def test_bvh_with_an_impossible_frame_time(ws, frame_time):
    data = _chain_bvh(["0 90 0 0 0 0 0 0 0"] * 3).replace(b"Frame Time: 0.0333333", f"Frame Time: {frame_time}".encode())
    ws.add_source({"rate.bvh": data}, **_bvh_source())
    assert_rejected_cleanly(ws, "unreadable", ["rate.bvh", "Frame Time"])


@pytest.fixture
def lafan_take() -> bytes:
    """The first 40 frames of a real LAFAN1 take, as the file states them."""
    path = require_shared("data", "bvh", "lafan1") / "walk4_subject1.bvh"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    lines = path.read_bytes().decode().splitlines()
    motion = lines.index("MOTION")
    head = lines[: motion + 1] + ["Frames: 40", lines[motion + 2]]
    return ("\n".join(head + lines[motion + 3 : motion + 43]) + "\n").encode()


def test_bvh_declared_frame_count_differs_from_the_frames_present(ws, lafan_take):
    ws.add_source({"walk.bvh": lafan_take.replace(b"Frames: 40", b"Frames: 55")}, **_bvh_source())
    report = ws.build()
    assert report.sources["hostile"].kept == 1
    (notes,) = [n.notes for n in report.notes if n.clip_id == "hostile:walk"]
    assert any("55" in note and "40" in note and "Frames" in note for note in notes), notes


# ----------------------------------------------------------------------------- across sources


def test_joint_angles_beyond_the_limits_are_kept_and_flagged(ws):
    data = _gmr()
    data["dof_pos"] = np.array(data["dof_pos"], dtype=float)
    knee = 3  # left_knee_joint in robot order
    data["dof_pos"][10:20, knee] = -1.0  # the knee bends forwards only
    ws.add_source({"hyperextended.pkl": _pickled(data)}, type="pkl")
    report = ws.build()
    assert report.sources["hostile"].kept == 1
    (flags,) = [f.flags for f in report.flagged if f.clip_id == "hostile:hyperextended"]
    assert any("10 frames outside joint limits" in f and "left_knee_joint" in f for f in flags), flags
    with pytest.raises(StrictBuildError) as err:  # the sample's too-short twitch is its only rejection
        ws.build(strict=True)
    assert [r.clip_id for r in err.value.report.rejected] == ["unitree_csv:twitch"]


def test_duplicate_clip_ids(ws):
    ws.add_source({"a.csv": _csv_text().encode(), "a.CSV": _csv_text().encode()}, type="csv", fps=30)
    report = ws.build()
    (entry,) = [r for r in report.rejected if r.source == "hostile"]
    assert entry.reason == "duplicate_clip_id" and entry.clip_id == "hostile:a"
    assert "a.CSV" in entry.detail and "a.csv" in entry.detail and "same clip id" in entry.detail
    assert report.sources["hostile"].kept == 1  # the first of the two, in path order
    with pytest.raises(StrictBuildError) as err:
        ws.build(strict=True)
    assert "duplicate_clip_id: 1" in str(err.value)


# ----------------------------------------------------------------------------- spec


def _spec_error(ws: Workspace, edit) -> str:
    spec = ws.spec()
    edit(spec)
    ws.spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    with pytest.raises(SpecError) as err:
        ws.build()
    assert _digests(ws.dataset) == ws.before
    return str(err.value)


def test_spec_yaml_syntax_error(ws):
    ws.spec_path.write_text(ws.spec_path.read_text().replace("val_percent: 20", "val_percent: 20: 3"))
    with pytest.raises(SpecError) as err:
        ws.build()
    message = str(err.value)
    assert "spec.yaml" in message and "line" in message and "column" in message
    assert _digests(ws.dataset) == ws.before


def test_spec_unknown_key_suggests_the_right_one(ws):
    message = _spec_error(ws, lambda s: s.update(val_percnt=s.pop("val_percent")))
    assert "spec.yaml" in message and "val_percnt" in message and "did you mean 'val_percent'" in message


def test_spec_unknown_source_key_suggests_the_right_one(ws):
    message = _spec_error(ws, lambda s: s["sources"][0].update(wieght=1.0))
    assert "sources[0].wieght" in message and "did you mean 'weight'" in message


def test_spec_wrong_type(ws):
    message = _spec_error(ws, lambda s: s.update(target_fps="thirty"))
    assert "spec.yaml" in message and "target_fps" in message and "integer" in message


def test_spec_duplicate_source_names(ws):
    message = _spec_error(ws, lambda s: s["sources"][1].update(name=s["sources"][0]["name"]))
    assert "sources" in message and "unique" in message and "'gmr'" in message


@pytest.mark.parametrize("value", [-1, 100, 250])
def test_spec_val_percent_out_of_range(ws, value):
    message = _spec_error(ws, lambda s: s.update(val_percent=value))
    assert "val_percent" in message and str(value) in message


def test_spec_missing_input_path(ws):
    message = _spec_error(ws, lambda s: s["sources"][2].update(input=str(ws.root / "nowhere")))
    assert "sources[2] (mjlab).input" in message and "nowhere" in message


def test_spec_input_of_the_wrong_kind(ws):
    a_csv = str(ws.root / "inputs" / "csv" / "twitch.csv")
    message = _spec_error(ws, lambda s: s["sources"][0].update(input=a_csv))  # a CSV file for the pkl source
    assert "sources[0] (gmr).input" in message and "twitch.csv" in message and ".pkl" in message


def test_spec_preprocess_body_that_the_robot_lacks_is_named_before_any_clip_runs(ws):
    def edit(spec):
        spec["preprocess"]["root_body_name"] = "pelvs"
        spec["preprocess"]["foot_body_names"] = ["left_ankle_roll_link", "right_foot"]

    message = _spec_error(ws, edit)
    assert "spec.yaml" in message and "preprocess.root_body_name: 'pelvs'" in message and "'pelvis'" in message
    assert "preprocess.foot_body_names[1]: 'right_foot'" in message and "unitree_g1" in message


def test_spec_unknown_robot(ws):
    message = _spec_error(ws, lambda s: s.update(robot="unitree_h2"))
    assert "spec.yaml: robot: robot 'unitree_h2' is neither a bundled robot (unitree_g1" in message
    assert "URDF" in message and "MJCF" in message


def test_spec_output_root_inside_an_input(ws):
    with pytest.raises(BuildError) as err:
        build_dataset(ws.spec_path, BuildOptions(output_root=ws.root / "inputs" / "csv" / "out", force=True))
    assert "inside the input of source 'unitree_csv'" in str(err.value)
    assert not (ws.root / "inputs" / "csv" / "out").exists()


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "a\\b", ".hidden", ""])
def test_spec_dataset_name_that_is_not_a_plain_folder_name(ws, name):
    message = _spec_error(ws, lambda s: s.update(name=name))
    assert "spec.yaml" in message and "name" in message
    assert not (ws.root / "escape").exists()


# ----------------------------------------------------------------------------- system


def _fill_disk_on(monkeypatch, when) -> None:
    """The third .npy member written where `when(file written to)` holds fails as a full disk would."""
    from mimicdata.dataset.zip_layout import AlignedZipWriter

    real = AlignedZipWriter.add
    written = []

    def fill_up(archive, name, chunks, lead=b""):
        if when(archive.fh):
            written.append(name)
            if len(written) == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(archive, name, chunks, lead)

    monkeypatch.setattr(AlignedZipWriter, "add", fill_up)


def test_disk_full_while_writing_a_shard(ws, monkeypatch):
    _fill_disk_on(monkeypatch, lambda fh: "shard_" in str(getattr(fh, "name", "")))
    with pytest.raises(BuildError) as err:
        ws.build(force=True)  # without it the unchanged shards are kept, not written
    message = str(err.value)
    assert "No space left on device" in message and str(ws.dataset) in message and "published nothing" in message
    assert _digests(ws.dataset) == ws.before
    assert _leftovers(ws) == []
    assert not [p for p in ws.dataset.parent.rglob("*.tmp-*")]


def test_disk_full_while_writing_a_clip_stops_the_build_instead_of_blaming_the_clip(ws, monkeypatch):
    _fill_disk_on(monkeypatch, lambda fh: not hasattr(fh, "name"))  # clip files are assembled in memory
    with pytest.raises(BuildError) as err:
        ws.build()
    assert "No space left on device" in str(err.value) and ".npz" in str(err.value)
    assert _digests(ws.dataset) == ws.before
    assert _leftovers(ws) == []


def test_read_only_output_directory(ws, monkeypatch):
    root = ws.root / "out"
    if os.geteuid() != 0:
        root.chmod(0o555)
        try:
            with pytest.raises(BuildError) as err:
                ws.build()
        finally:
            root.chmod(0o755)
    else:
        # root writes through any mode bits; refuse the staging directory the way a read-only mount would.
        real_mkdir = Path.mkdir

        def read_only(self, *args, **kwargs):
            if self.parent == root:
                raise PermissionError(errno.EROFS, "Read-only file system", str(self))
            return real_mkdir(self, *args, **kwargs)

        monkeypatch.setattr(Path, "mkdir", read_only)
        with pytest.raises(BuildError) as err:
            ws.build()
    assert str(root) in str(err.value) and "cannot write" in str(err.value)
    assert _digests(ws.dataset) == ws.before


def test_two_builds_of_one_dataset_at_once(ws):
    from mimicdata.infra.lock import dataset_lock

    with dataset_lock(ws.root / "out", "sample", wait=False):
        with pytest.raises(BuildError) as err:
            ws.build()
    assert "sample" in str(err.value) and str(os.getpid()) in str(err.value) and "--wait" in str(err.value)
    assert _digests(ws.dataset) == ws.before


def test_an_input_that_changes_while_the_build_reads_it(ws, monkeypatch):
    import mimicdata.build.clip as clip_stage

    csv = ws.root / "inputs" / "csv" / "twitch.csv"
    real = clip_stage.read_robot_motion

    def read_then_edit(source, path, *args, **kwargs):
        motion = real(source, path, *args, **kwargs)
        if Path(path) == csv:
            with open(csv, "a") as fh:
                fh.write(csv.read_text().splitlines()[-1] + "\n")
        return motion

    monkeypatch.setattr(clip_stage, "read_robot_motion", read_then_edit)
    report = ws.build(use_cache=True)
    (entry,) = [r for r in report.rejected if r.reason == "input_changed"]
    assert "twitch.csv" in entry.detail and "changed while the build was reading it" in entry.detail
    # The train and val shards and the manifest are untouched; twitch.csv (too short, so in the failures
    # partition before) is now an input that could not be read, which no shard holds.
    kept_files = {k: v for k, v in ws.before.items() if k != "build_info.json" and not k.startswith("failures/")}
    assert _published(ws.dataset) == kept_files
    monkeypatch.undo()
    again = ws.build(use_cache=True)
    assert again.cache.computed == 1  # nothing was cached under the stale hash
    assert not [r for r in again.rejected if r.reason == "input_changed"]


def test_strict_on_the_command_line_exits_1_and_lists_the_rejection(ws):
    ws.add_source({"word.csv": _csv_with(2, 9, "abc")}, type="csv", fps=30)
    done = subprocess.run(
        [sys.executable, "-m", "mimicdata.cli", "build-dataset", "--spec", str(ws.spec_path), "--output-root",
         str(ws.root / "out"), "--force", "--skip-fk-check", "--no-cache", "--strict"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 1, done.stderr
    # The sample's own too-short twitch is the other rejection.
    assert "--strict: 2 clip(s) rejected (too_short: 1, unreadable: 1)" in done.stderr and "word.csv" in done.stderr
    assert _digests(ws.dataset) == ws.before
