"""BVH reader: hand-written files in tmp_path, checked against independent references.

Every test writes its own small BVH, so none needs the licensed data in ../shared.
The kinematic references use scipy's intrinsic (uppercase) Euler sequences, not
the reader's own rotation code.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mimicdata.errors import InputError
from mimicdata.geometry.rotations import wxyz_to_xyzw
from mimicdata.retarget.formats import ROLES, load_format, resolve_roles
from mimicdata.sources.bvh import parse_bvh, read_bvh

# BVH Y-up (x, y, z) -> Z-up (x, -z, y), written out independently of the reader's table.
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
TO_Z_UP = {"y": Y_UP_TO_Z_UP, "z": np.eye(3)}

ROOT_CHANNELS = "CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation"

# Root -> Upper -> Lower -> End Site: 6 + 3 + 3 = 12 columns.
CHAIN = """
HIERARCHY
ROOT Hips
{
  OFFSET 10 90 -20
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT Upper
  {
    OFFSET 0 15 5
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Lower
    {
      OFFSET 20 0 0
      CHANNELS 3 Xrotation Yrotation Zrotation
      End Site
      {
        OFFSET 0 -12 3
      }
    }
  }
}
"""
CHAIN_COLUMNS = 12


def write_bvh(
    path: Path,
    hierarchy: str,
    frames: np.ndarray | list[str],
    *,
    frame_time: str = "0.0333333",
    declared: int | None = None,
    newline: str = "\n",
) -> Path:
    """Write HIERARCHY text plus a MOTION block; `frames` is an array or ready-made lines.

    `declared` is the `Frames:` count (default: the number of frame lines).
    """
    if isinstance(frames, list):
        frame_lines = frames
    else:
        frame_lines = [" ".join(f"{v:.6f}" for v in row) for row in np.atleast_2d(frames)]
    lines = textwrap.dedent(hierarchy).strip().splitlines()
    lines += ["MOTION", f"Frames: {len(frame_lines) if declared is None else declared}", f"Frame Time: {frame_time}"]
    lines += frame_lines
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


def line_number(path: Path, text: str) -> int:
    """1-based line of the file whose content is exactly `text`, as an editor shows it."""
    lines = path.read_bytes().decode().splitlines()
    return lines.index(text) + 1


def quat_matrices(q_wxyz: np.ndarray) -> np.ndarray:
    return Rotation.from_quat(wxyz_to_xyzw(q_wxyz.reshape(-1, 4))).as_matrix().reshape(q_wxyz.shape[:-1] + (3, 3))


def chain_frames(num: int, seed: int = 0) -> np.ndarray:
    """Frames for CHAIN with large, generic angles so every rotation order gives a different pose."""
    rng = np.random.default_rng(seed)
    data = rng.uniform(-170.0, 170.0, size=(num, CHAIN_COLUMNS))
    data[:, :3] = rng.uniform(-50.0, 50.0, size=(num, 3)) + [10.0, 90.0, -20.0]
    return data.round(3)  # exactly what write_bvh's 6 decimals put in the file


# --- text-level robustness ----------------------------------------------------------------------------------


def test_crlf_and_lf_files_parse_identically(tmp_path):
    frames = chain_frames(4)
    lf = write_bvh(tmp_path / "lf.bvh", CHAIN, frames)
    crlf = write_bvh(tmp_path / "crlf.bvh", CHAIN, frames, newline="\r\n")
    assert crlf.read_bytes().count(b"\r\n") == lf.read_bytes().count(b"\n") > 0

    a = parse_bvh(lf, length_unit=0.01, up_axis="y")
    b = parse_bvh(crlf, length_unit=0.01, up_axis="y")
    assert a.positions.shape == (4, 4, 3)
    assert a.joint_names == b.joint_names == ("Hips", "Upper", "Lower", "Lower_End")
    assert a.parents == b.parents == (-1, 0, 1, 2)
    assert a.fps == b.fps
    assert a.notes == b.notes == ()
    for field in ("positions", "rotations", "rest_positions", "rest_rotations"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


@pytest.mark.parametrize("frame_time", [".0083333", "0.0083333", "8.3333e-03"])
def test_frame_time_spellings_give_120_fps(tmp_path, frame_time):
    path = write_bvh(tmp_path / "rate.bvh", CHAIN, chain_frames(2), frame_time=frame_time)
    motion = parse_bvh(path, length_unit=0.01, up_axis="y")
    assert motion.fps == 120.0  # exactly: a rate of 120.0005 would drop a frame when resampled to 120


@pytest.mark.parametrize("frame_time, fps", [("0.033333", 30.0), ("0.0166667", 60.0), ("0.0333667", 1 / 0.0333667)])
def test_frame_times_printed_short_are_whole_rates_and_ntsc_stays_ntsc(tmp_path, frame_time, fps):
    path = write_bvh(tmp_path / "rate.bvh", CHAIN, chain_frames(2), frame_time=frame_time)
    assert parse_bvh(path, length_unit=0.01, up_axis="y").fps == fps


def test_a_30_fps_take_keeps_every_frame_through_the_build_stages(robot):
    from mimicdata.sources.bvh import frame_rate
    from mimicdata.stages.resample import resampled_frame_count

    assert resampled_frame_count(4918, frame_rate(0.033333), 30) == 4918


@pytest.mark.parametrize("declared", [12, 3])
def test_declared_frame_count_that_disagrees_uses_the_lines_present(tmp_path, declared):
    frames = chain_frames(7)
    path = write_bvh(tmp_path / "count.bvh", CHAIN, frames, declared=declared)
    motion = parse_bvh(path, length_unit=1.0, up_axis="z")

    assert motion.num_frames == 7
    # Every line present is used, in order: the root follows its position channels.
    np.testing.assert_allclose(motion.positions[:, 0], frames[:, :3], atol=1e-6)
    notes = [n for n in motion.notes if "Frames:" in n]
    assert len(notes) == 1, motion.notes
    assert re.search(rf"\b{declared}\b", notes[0]) and re.search(r"\b7\b", notes[0]), notes[0]


def test_declared_frame_count_that_agrees_adds_no_note(tmp_path):
    path = write_bvh(tmp_path / "ok.bvh", CHAIN, chain_frames(5))
    assert parse_bvh(path, length_unit=1.0, up_axis="z").notes == ()


def test_truncated_last_frame_is_dropped_with_a_note(tmp_path):
    frames = chain_frames(4)
    lines = [" ".join(f"{v:.6f}" for v in row) for row in frames]
    lines[-1] = " ".join(lines[-1].split()[:5])  # an export interrupted mid-line
    path = write_bvh(tmp_path / "cut.bvh", CHAIN, lines, declared=4)
    motion = parse_bvh(path, length_unit=1.0, up_axis="z")

    assert motion.num_frames == 3
    np.testing.assert_allclose(motion.positions[:, 0], frames[:3, :3], atol=1e-6)
    truncated = [n for n in motion.notes if "truncated" in n]
    assert len(truncated) == 1, motion.notes
    assert f"5 of {CHAIN_COLUMNS}" in truncated[0]


@pytest.mark.parametrize("bad_values", [5, CHAIN_COLUMNS + 1])
def test_malformed_middle_line_names_its_line_number(tmp_path, bad_values):
    lines = [" ".join(f"{v:.6f}" for v in row) for row in chain_frames(5)]
    lines[2] = " ".join(["1.0"] * bad_values)
    path = write_bvh(tmp_path / "middle.bvh", CHAIN, lines)
    expected_line = line_number(path, lines[2])

    with pytest.raises(InputError) as info:
        parse_bvh(path, length_unit=1.0, up_axis="z")
    err = info.value
    assert err.field == f"MOTION line {expected_line}"
    assert "middle.bvh" in str(err) and f"line {expected_line}" in str(err)
    assert f"expected {CHAIN_COLUMNS} values" in err.problem and f"found {bad_values}" in err.problem


def test_non_numeric_frame_value_raises(tmp_path):
    lines = [" ".join(f"{v:.6f}" for v in row) for row in chain_frames(3)]
    lines[1] = lines[1].replace(lines[1].split()[4], "abc", 1)
    path = write_bvh(tmp_path / "text.bvh", CHAIN, lines)
    with pytest.raises(InputError, match="not a number") as info:
        parse_bvh(path, length_unit=1.0, up_axis="z")
    assert info.value.field == "MOTION" and "text.bvh" in str(info.value)


def test_non_finite_frame_value_raises_naming_the_frame(tmp_path):
    lines = [" ".join(f"{v:.6f}" for v in row) for row in chain_frames(3)]
    lines[1] = lines[1].replace(lines[1].split()[4], "nan", 1)
    path = write_bvh(tmp_path / "nan.bvh", CHAIN, lines)
    line = line_number(path, lines[1])
    with pytest.raises(InputError, match=rf"\[MOTION line {line}\]: frame 1, Hips Yrotation: expected a finite number"):
        parse_bvh(path, length_unit=1.0, up_axis="z")


# --- kinematics ---------------------------------------------------------------------------------------------


def test_root_offset_repeating_frame0_position_is_not_added_twice(tmp_path):
    # LAFAN1 style: the ROOT OFFSET (10 90 -20) repeats frame 0's position channels.
    frames = np.zeros((3, CHAIN_COLUMNS))
    frames[:, :3] = [[10.0, 90.0, -20.0], [12.0, 91.0, -25.0], [-30.0, 85.0, 40.0]]
    path = write_bvh(tmp_path / "root.bvh", CHAIN, frames)
    motion = parse_bvh(path, length_unit=0.01, up_axis="y")

    expected = frames[:, :3] @ Y_UP_TO_Z_UP.T * 0.01
    np.testing.assert_allclose(motion.positions[:, 0], expected, atol=1e-12)
    np.testing.assert_allclose(motion.positions[0, 0], [0.10, 0.20, 0.90], atol=1e-12)
    # With zero rotations the child sits at root + its own OFFSET (0 15 5), nothing more.
    np.testing.assert_allclose(
        motion.positions[:, 1], expected + np.array([0.0, 15.0, 5.0]) @ Y_UP_TO_Z_UP.T * 0.01, atol=1e-12
    )
    # The rest pose puts the root at the origin rather than at its OFFSET.
    np.testing.assert_allclose(motion.rest_positions[0], 0.0, atol=1e-12)


@pytest.mark.parametrize("up_axis,length_unit", [("z", 1.0), ("y", 0.01)])
def test_per_joint_rotation_orders_match_intrinsic_euler_reference(tmp_path, up_axis, length_unit):
    frames = chain_frames(6, seed=42)
    path = write_bvh(tmp_path / "orders.bvh", CHAIN, frames)
    motion = parse_bvh(path, length_unit=length_unit, up_axis=up_axis)
    assert motion.joint_names == ("Hips", "Upper", "Lower", "Lower_End")

    # Reference in file axes and units: each joint's declared order as an intrinsic sequence.
    r_root = Rotation.from_euler("ZYX", frames[:, 3:6], degrees=True)
    r_upper = r_root * Rotation.from_euler("ZXY", frames[:, 6:9], degrees=True)
    r_lower = r_upper * Rotation.from_euler("XYZ", frames[:, 9:12], degrees=True)
    p_root = frames[:, :3]
    p_upper = p_root + r_root.apply([0.0, 15.0, 5.0])
    p_lower = p_upper + r_upper.apply([20.0, 0.0, 0.0])
    p_end = p_lower + r_lower.apply([0.0, -12.0, 3.0])

    axes = TO_Z_UP[up_axis]
    want_pos = np.stack([p_root, p_upper, p_lower, p_end], axis=1) @ axes.T * length_unit
    want_rot = axes @ np.stack([r.as_matrix() for r in (r_root, r_upper, r_lower, r_lower)], axis=1)

    np.testing.assert_allclose(motion.positions, want_pos, atol=1e-9)
    np.testing.assert_allclose(quat_matrices(motion.rotations), want_rot, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(motion.rotations, axis=-1), 1.0, atol=1e-12)


def test_rotation_orders_are_not_interchangeable(tmp_path):
    """Guard on the reference itself: swapping the child's declared order moves the grandchild."""
    frames = chain_frames(3, seed=7)
    zxy = parse_bvh(write_bvh(tmp_path / "zxy.bvh", CHAIN, frames), length_unit=1.0, up_axis="z")
    xyz_text = CHAIN.replace("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 3 Xrotation Yrotation Zrotation")
    xyz = parse_bvh(write_bvh(tmp_path / "xyz.bvh", xyz_text, frames), length_unit=1.0, up_axis="z")
    assert np.abs(zxy.positions[:, 2] - xyz.positions[:, 2]).max() > 1.0


@pytest.mark.parametrize(
    "offset,expected",
    [((0, 100, 0), (0.0, 0.0, 1.0)), ((0, 0, 100), (0.0, -1.0, 0.0)), ((100, 0, 0), (1.0, 0.0, 0.0))],
)
def test_centimetres_y_up_become_metres_z_up(tmp_path, offset, expected):
    hierarchy = f"""
    HIERARCHY
    ROOT Hips
    {{
      OFFSET 0 0 0
      {ROOT_CHANNELS}
      JOINT Child
      {{
        OFFSET {offset[0]} {offset[1]} {offset[2]}
        CHANNELS 3 Zrotation Xrotation Yrotation
        End Site
        {{
          OFFSET 0 0 0
        }}
      }}
    }}
    """
    path = write_bvh(tmp_path / "units.bvh", hierarchy, np.zeros((2, 9)))
    motion = parse_bvh(path, length_unit=0.01, up_axis="y")
    child = motion.index("Child")
    np.testing.assert_allclose(motion.positions[:, child], [expected, expected], atol=1e-12)
    np.testing.assert_allclose(motion.rest_positions[child], expected, atol=1e-12)


def test_z_up_file_keeps_its_axes(tmp_path):
    hierarchy = CHAIN.replace("OFFSET 0 15 5", "OFFSET 0 0 100")
    path = write_bvh(tmp_path / "zup.bvh", hierarchy, np.zeros((1, CHAIN_COLUMNS)))
    motion = parse_bvh(path, length_unit=0.01, up_axis="z")
    np.testing.assert_allclose(motion.positions[0, 1] - motion.positions[0, 0], [0.0, 0.0, 1.0], atol=1e-12)


# --- named formats ------------------------------------------------------------------------------------------


def nokov_hierarchy(ankle: str = "Foot", toe: str = "Toe", drop: tuple[str, ...] = ()) -> str:
    """A NOKOV-named skeleton in centimetres, Y-up; joints in `drop` are spliced out of their chain."""

    def side(prefix: str, sign: int) -> tuple[list, list]:
        arm = [
            (f"{prefix}Shoulder", (sign * 5, 10, 0)),
            (f"{prefix}Arm", (sign * 12, 0, 0)),
            (f"{prefix}ForeArm", (sign * 28, 0, 0)),
            (f"{prefix}Hand", (sign * 25, 0, 0)),
        ]
        leg = [
            (f"{prefix}UpLeg", (sign * 10, 0, 0)),
            (f"{prefix}Leg", (0, -45, 0)),
            (f"{prefix}{ankle}", (0, -42, 0)),
            (f"{prefix}{toe}", (0, -6, 12)),
        ]
        return arm, leg

    def chain(joints: list, indent: int, inner: str = "") -> str:
        joints = [j for j in joints if j[0] not in drop]
        pad = "  " * indent
        if not joints:
            return inner
        (name, (x, y, z)), rest = joints[0], joints[1:]
        body = chain(rest, indent + 1, inner) if rest or inner else f"{pad}  End Site\n{pad}  {{\n{pad}    OFFSET 0 5 0\n{pad}  }}\n"
        return f"{pad}JOINT {name}\n{pad}{{\n{pad}  OFFSET {x} {y} {z}\n{pad}  CHANNELS 3 Zrotation Xrotation Yrotation\n{body}{pad}}}\n"

    left_arm, left_leg = side("Left", 1)
    right_arm, right_leg = side("Right", -1)
    spine = [("Spine", (0, 10, 0)), ("Spine1", (0, 10, 0)), ("Spine2", (0, 10, 0))]
    neck = chain([("Neck", (0, 15, 0)), ("Head", (0, 10, 0))], 4)
    upper = neck + chain(left_arm, 4) + chain(right_arm, 4)
    text = "HIERARCHY\nROOT Hips\n{\n  OFFSET 0 95 0\n  " + ROOT_CHANNELS + "\n"
    text += chain(spine, 1, upper) + chain(left_leg, 1) + chain(right_leg, 1) + "}\n"
    return text


def nokov_frames(hierarchy: str, num: int = 2) -> np.ndarray:
    joints = hierarchy.count("JOINT ")
    frames = np.zeros((num, 6 + 3 * joints))
    frames[:, 1] = 95.0
    return frames


@pytest.mark.parametrize("ankle,toe", [("Foot", "Toe"), ("Ankle", "ToeBase")])
def test_nokov_names_resolve_every_role(tmp_path, ankle, toe):
    hierarchy = nokov_hierarchy(ankle, toe)
    path = write_bvh(tmp_path / "nokov.bvh", hierarchy, nokov_frames(hierarchy))
    motion = read_bvh(path, bvh_format="nokov")
    fmt = load_format("nokov")

    assert len([n for n in motion.joint_names if not n.endswith("_End")]) == 22
    roles = resolve_roles(motion, fmt, path)
    assert set(roles) == set(ROLES)
    assert roles["pelvis"] == motion.index("Hips")
    assert roles["torso"] == motion.index("Spine2")
    assert roles["left_ankle"] == motion.index(f"Left{ankle}")
    assert roles["right_toe"] == motion.index(f"Right{toe}")
    assert roles["left_wrist"] == motion.index("LeftHand")
    # read_bvh applied the format's centimetres and Y-up: the hips are 0.95 m up.
    np.testing.assert_allclose(motion.positions[:, roles["pelvis"]], [[0.0, 0.0, 0.95]] * 2, atol=1e-12)
    assert motion.positions[0, roles["head"], 2] > motion.positions[0, roles["pelvis"], 2]


@pytest.mark.parametrize("ankle,toe", [("Foot", "Toe"), ("Ankle", "ToeBase")])
def test_nokov_skeleton_missing_joints_lists_all_of_them(tmp_path, ankle, toe):
    hierarchy = nokov_hierarchy(ankle, toe, drop=("LeftHand", "RightLeg"))
    assert "LeftHand" not in hierarchy and "RightLeg " not in hierarchy and "RightLeg\n" not in hierarchy
    path = write_bvh(tmp_path / "nokov_short.bvh", hierarchy, nokov_frames(hierarchy))
    motion = read_bvh(path, bvh_format="nokov")

    with pytest.raises(InputError) as info:
        resolve_roles(motion, load_format("nokov"), path)
    message = str(info.value)
    assert "nokov_short.bvh" in message and info.value.field == "HIERARCHY"
    assert "'LeftHand'" in message and "'RightLeg'" in message
    # Only those two: joints that are present are not reported.
    listed = re.findall(r"'([^']+)'", info.value.problem)
    assert sorted(n for n in listed if n != "nokov") == ["LeftHand", "RightLeg"]


# --- files that are not valid BVH ---------------------------------------------------------------------------


def test_duplicate_joint_names_raise(tmp_path):
    hierarchy = CHAIN.replace("JOINT Lower", "JOINT Upper")
    path = write_bvh(tmp_path / "dupes.bvh", hierarchy, chain_frames(2))
    with pytest.raises(InputError, match="unique") as info:
        parse_bvh(path, length_unit=1.0, up_axis="z")
    assert "'Upper'" in info.value.problem and "dupes.bvh" in str(info.value)


def test_unknown_channel_name_raises(tmp_path):
    hierarchy = CHAIN.replace("CHANNELS 3 Xrotation Yrotation Zrotation", "CHANNELS 3 Xrotation Yrotation Wrotation")
    path = write_bvh(tmp_path / "channel.bvh", hierarchy, chain_frames(2))
    with pytest.raises(InputError, match="Wrotation") as info:
        parse_bvh(path, length_unit=1.0, up_axis="z")
    assert info.value.field == "CHANNELS of Lower"


@pytest.mark.parametrize(
    "content",
    [
        b"time,x,y,z\n0.0,1.0,2.0,3.0\n",
        b'{\n  "frames": []\n}\n',
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
        b"HIERARCHY\nJOINT Hips\n{\n}\n",
    ],
    ids=["csv", "json-multiline", "binary", "no-root"],
)
def test_file_that_is_not_bvh_raises_input_error(tmp_path, content):
    path = tmp_path / "not_a.bvh"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:  # not a SyntaxError nor a UnicodeDecodeError
        parse_bvh(path, length_unit=1.0, up_axis="y")
    assert info.value.field in ("HIERARCHY", "MOTION") and "not_a.bvh" in str(info.value)


def test_missing_file_raises_input_error(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        parse_bvh(tmp_path / "absent.bvh", length_unit=1.0, up_axis="y")


# A BVH library's line reader (bvhio 1.5.4, which read the hierarchy before sources/bvh.py did) spun
# forever at end of file on inputs like these; each runs in a child process under a timeout so a
# regression fails instead of hanging.
HANGING_INPUTS = {
    "empty": b"",
    "two-words": b"hello world\n",
    "json-one-line": b'{"frames": []}\n',
    "cut-hierarchy": b"HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0 0\n",
    "cut-after-motion": b"HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0 0\n  CHANNELS 3 Xposition Yposition Zposition\n}\nMOTION\n",
}


def test_empty_or_cut_file_raises_instead_of_hanging(tmp_path):
    script = (
        "import sys\n"
        "from mimicdata.errors import InputError\n"
        "from mimicdata.sources.bvh import parse_bvh\n"
        "try:\n"
        "    parse_bvh(sys.argv[1], length_unit=1.0, up_axis='y')\n"
        "except InputError:\n"
        "    sys.exit(0)\n"
        "sys.exit(3)\n"
    )
    procs = {}
    for name, content in HANGING_INPUTS.items():
        path = tmp_path / f"{name}.bvh"
        path.write_bytes(content)
        procs[name] = subprocess.Popen([sys.executable, "-c", script, str(path)])
    deadline = time.monotonic() + 8.0
    outcomes = {}
    for name, proc in procs.items():
        try:
            outcomes[name] = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            outcomes[name] = "hung"
    assert outcomes == {name: 0 for name in HANGING_INPUTS}


def test_the_hierarchy_is_read_exactly_and_a_malformed_one_is_named(tmp_path):
    """sources/bvh.py reads the HIERARCHY itself: offsets as written (not rounded to float32), a leaf's end site
    after it (zero when the file gives none), channel columns in file order; a malformed hierarchy is an
    InputError naming it, never a hang or a traceback."""
    from mimicdata.sources.bvh import read_rest_pose

    good = (
        "HIERARCHY\nROOT Hips\n{\n  OFFSET 0 95 0\n  CHANNELS 6 Xposition Yposition Zposition "
        "Zrotation Yrotation Xrotation\n  JOINT Spine\n  {\n    OFFSET 0 10 0\n    CHANNELS 3 Zrotation Xrotation "
        "Yrotation\n    End Site\n    {\n      OFFSET 0 7 0\n    }\n  }\n  JOINT Leg\n  {\n    OFFSET 0.123456789 -40 0\n"
        "    CHANNELS 3 Zrotation Xrotation Yrotation\n  }\n}\nMOTION\nFrames: 1\nFrame Time: 0.0333333\n"
        + " ".join(["0"] * 12) + "\n"
    )
    path = tmp_path / "good.bvh"
    path.write_text(good.replace("\n", "\r\n"))
    names, rest = read_rest_pose(path)
    assert names == ("Hips", "Spine", "Spine_End", "Leg", "Leg_End")
    assert rest[3, 0] == 0.123456789  # exactly as written (float32 would give 0.12345679)
    np.testing.assert_allclose(rest[2], [0, 17, 0])  # the end site 7 above the spine, the root at the origin
    np.testing.assert_allclose(rest[4], rest[3])  # no End Site: the leaf ends where it starts
    skeleton = parse_bvh(path, length_unit=0.01, up_axis="y")
    assert skeleton.num_frames == 1 and skeleton.fps == 30.0
    path.write_text(good.replace("\nMOTION\n", "\n  MOTION \n"))  # an indented MOTION line is still one
    assert parse_bvh(path, length_unit=0.01, up_axis="y").num_frames == 1
    broken = {
        "JOINT without a name": good.replace("JOINT Spine", "JOINT"),
        "unexpected 'Bogus'": good.replace("  JOINT Leg", "  Bogus\n  JOINT Leg"),
        "OFFSET: expected 3 numbers": good.replace("OFFSET 0 10 0", "OFFSET 0 ten 0"),
        "unknown channel names": good.replace("CHANNELS 3 Zrotation Xrotation Yrotation\n    End", "CHANNELS 3 Zrot X Y\n    End"),
        "no OFFSET for ['Leg']": good.replace("    OFFSET 0.123456789 -40 0\n", ""),
        "after its child joints": good.replace("  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation\n", "")
                                      .replace("  JOINT Leg", "  CHANNELS 3 Xposition Yposition Zposition\n  JOINT Leg"),
        "a second ROOT, Leg": good.replace("  JOINT Leg", "}\nROOT Leg", 1).replace("  }\n}\nMOTION", "  }\nMOTION"),
        "JOINT Spine outside the braces of a ROOT": (
            "HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0 0\n  CHANNELS 3 Xposition Yposition Zposition\n}\n"
            "JOINT Spine\n{\n  OFFSET 0 1 0\n}\nMOTION\nFrames: 1\nFrame Time: 0.03\n0 0 0\n"),
    }
    for message, text in broken.items():
        path = tmp_path / "broken.bvh"
        path.write_text(text)
        with pytest.raises(InputError) as info:
            parse_bvh(path, length_unit=0.01, up_axis="y")
        assert "broken.bvh" in str(info.value) and message in str(info.value), (message, str(info.value))
