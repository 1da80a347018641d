"""Readers of robot motion files: real data from ../shared/data plus hand-made bad files."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mimicdata.errors import InputError
from mimicdata.geometry.rotations import quat_angle_between, wxyz_to_xyzw, xyzw_to_wxyz
from mimicdata.robot import load_robot
from mimicdata.sources import READERS, SUFFIXES, read_motion
from mimicdata.sources.safe_pickle import load_pickle

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="module")
def robot():
    return load_robot()


def data_files(folder: str, pattern: str) -> list[Path]:
    where = DATA / folder
    if not where.is_dir():
        pytest.skip(f"real test data {where} is absent (internal-only recordings, never shipped with the project)")
    files = sorted(where.glob(pattern))
    if not files:
        pytest.skip(f"no {pattern} files in {where}")
    return files


def raises_input_error(path: Path, *needles: str, match_field: str | None = None):
    """Context manager asserting an InputError whose message names the file and each needle."""

    class _Check:
        def __enter__(self):
            self._ctx = pytest.raises(InputError)
            self.info = self._ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            handled = self._ctx.__exit__(*exc)
            message = str(self.info.value)
            assert path.name in message, message
            for needle in needles:
                assert needle in message, f"{needle!r} not in {message!r}"
            if match_field is not None:
                assert self.info.value.field is not None and match_field in self.info.value.field, message
            return handled

    return _Check()


def assert_valid_motion(motion, robot) -> None:
    T = motion.num_frames
    assert T > 0
    assert motion.root_pos.shape == (T, 3)
    assert motion.root_quat.shape == (T, 4)
    assert motion.joint_pos.shape == (T, robot.num_joints)
    assert motion.joint_names == robot.joint_names
    for a in (motion.root_pos, motion.root_quat, motion.joint_pos):
        assert a.dtype == np.float64 and np.isfinite(a).all()
    np.testing.assert_allclose(np.linalg.norm(motion.root_quat, axis=-1), 1.0, atol=1e-9)


def assert_physically_plausible(motion, robot) -> None:
    """Unit or convention mistakes (cm, degrees, xyzw) throw these far off."""
    body_pos, _ = robot.forward_kinematics(motion.root_pos, motion.root_quat, motion.joint_pos)
    ankles = [robot.body_index(b) for b in ("left_ankle_roll_link", "right_ankle_roll_link")]
    lowest_ankle = body_pos[:, ankles, 2].min(axis=1)
    assert -0.05 < np.median(lowest_ankle) < 0.12, np.median(lowest_ankle)
    assert 0.5 < np.median(motion.root_pos[:, 2]) < 1.0
    w, x, y, z = motion.root_quat.T
    pelvis_up_z = 1 - 2 * (x * x + y * y)
    assert np.median(pelvis_up_z) > 0.8


def npz_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


# --------------------------------------------------------------------- registry


def test_registry_covers_every_type():
    assert set(READERS) == set(SUFFIXES) == {"bvh", "pkl", "npz", "seed_csv", "csv", "hdf5", "teleopit_hdf5"}
    assert SUFFIXES["hdf5"] == SUFFIXES["teleopit_hdf5"] == (".h5", ".hdf5")
    assert SUFFIXES["csv"] == SUFFIXES["seed_csv"] == (".csv",)


def test_read_motion_rejects_unknown_type_and_option(tmp_path, robot):
    path = tmp_path / "clip.bin"
    with raises_input_error(path, "unknown source type", "'bvhx'"):
        read_motion("bvhx", path, robot)
    with raises_input_error(path, "quat_order", "pkl", match_field="quat_order"):
        read_motion("pkl", path, robot, quat_order="xyzw")


def test_missing_file_is_an_input_error(tmp_path, robot):
    for kind in READERS:
        path = tmp_path / f"absent_{kind}{SUFFIXES[kind][0]}"
        with raises_input_error(path):
            read_motion(kind, path, robot, **({"fps": 30} if kind == "csv" else {}))


# ------------------------------------------------------------------ real: pkl


def test_gmr_g1_pickles(robot):
    for path in data_files("pkl", "gmr_g1/*.pkl"):
        motion = read_motion("pkl", path, robot)
        raw = load_pickle(path)
        assert motion.fps == 30.0
        assert motion.num_frames == raw["dof_pos"].shape[0]
        assert_valid_motion(motion, robot)
        assert_physically_plausible(motion, robot)
        np.testing.assert_allclose(motion.root_quat, xyzw_to_wxyz(raw["root_rot"]), atol=1e-9)
        np.testing.assert_array_equal(motion.joint_pos, raw["dof_pos"])


def test_gmr_g1_full_pickle_matches_its_own_body_poses(robot):
    """The file's body_pos_w/body_quat_w (wxyz) come from GMR's FK: ours must reproduce them.

    root_rot is xyzw and not unit-norm in this file (norms ~0.98), so a reader
    that forgets either the reordering or the normalisation fails here.
    """
    for path in data_files("pkl", "gmr_g1_full/*.pkl"):
        motion = read_motion("pkl", path, robot)
        raw = load_pickle(path)
        assert isinstance(raw["fps"], float) and 29.9 < raw["fps"] < 30.0
        assert motion.fps == pytest.approx(raw["fps"], abs=0.0)
        assert_valid_motion(motion, robot)
        assert_physically_plausible(motion, robot)
        assert np.abs(np.linalg.norm(raw["root_rot"], axis=-1) - 1).max() > 1e-3, "quirk gone: root_rot now unit"
        pos, quat = robot.forward_kinematics(motion.root_pos, motion.root_quat, motion.joint_pos)
        links = list(raw["link_body_list"])
        shared = [b for b in robot.body_names if b in links]
        assert len(shared) == len(robot.body_names)
        ours = [robot.body_index(b) for b in shared]
        theirs = [links.index(b) for b in shared]
        assert np.linalg.norm(pos[:, ours] - raw["body_pos_w"][:, theirs], axis=-1).max() < 1e-4
        assert quat_angle_between(quat[:, ours], raw["body_quat_w"][:, theirs].astype(float)).max() < 1e-3


def test_pickles_of_other_robots_are_rejected(robot):
    for path in data_files("pkl", "not_g1/*.pkl"):
        width = load_pickle(path)["dof_pos"].shape[1]
        assert width != robot.num_joints
        with raises_input_error(path, "another robot", f"{width} columns", "29 joints", match_field="dof_pos"):
            read_motion("pkl", path, robot)


# ------------------------------------------------------------------ real: npz


def _fk_matches_stored(path: Path, robot, motion) -> None:
    raw = npz_arrays(path)
    body_pos, body_quat = raw["body_pos_w"], raw["body_quat_w"]
    if body_pos.shape[1] == len(robot.body_names) + 1:
        body_pos, body_quat = body_pos[:, 1:], body_quat[:, 1:]
    assert body_pos.shape[1] == len(robot.body_names)
    pos, quat = robot.forward_kinematics(motion.root_pos, motion.root_quat, motion.joint_pos)
    assert np.linalg.norm(pos - body_pos, axis=-1).max() < 1e-3
    assert quat_angle_between(quat, body_quat.astype(float)).max() < 1e-3


def test_npz_g1moves_fk_matches_stored_bodies(robot):
    for path in data_files("npz", "g1moves/*.npz"):
        motion = read_motion("npz", path, robot)
        assert motion.fps == 60.0
        assert_valid_motion(motion, robot)
        assert_physically_plausible(motion, robot)
        _fk_matches_stored(path, robot, motion)


def test_npz_with_world_body_drops_it(robot):
    for path in data_files("npz", "with_world_body/*.npz"):
        raw = npz_arrays(path)
        assert raw["body_pos_w"].shape[1] == len(robot.body_names) + 1 and "body_names" not in raw
        assert raw["fps"].dtype == np.int32
        motion = read_motion("npz", path, robot)
        assert motion.fps == 50.0
        assert_valid_motion(motion, robot)
        assert_physically_plausible(motion, robot)
        np.testing.assert_allclose(motion.root_pos, raw["body_pos_w"][:, 1], atol=1e-7)
        _fk_matches_stored(path, robot, motion)


def test_npz_root_packed_in_joint_pos(robot):
    for path in data_files("npz", "root_in_joint_pos/*.npz"):
        raw = npz_arrays(path)
        J = robot.num_joints
        assert raw["joint_pos"].shape[1] == J + 7
        motion = read_motion("npz", path, robot)
        assert motion.fps == 50.0
        assert_valid_motion(motion, robot)
        assert_physically_plausible(motion, robot)
        np.testing.assert_allclose(motion.root_pos, raw["joint_pos"][:, :3], atol=1e-9)
        assert quat_angle_between(motion.root_quat, raw["joint_pos"][:, 3:7]).max() < 1e-6
        order = [list(raw["joint_names"]).index(j) for j in robot.joint_names]
        np.testing.assert_array_equal(motion.joint_pos, raw["joint_pos"][:, 7:][:, order])
        # This file comes from a 51-body G1 variant whose upper body sits ~1 cm
        # elsewhere; the pelvis and legs are the same chain, orientations agree everywhere.
        names = [str(n) for n in raw["body_names"]]
        pos, quat = robot.forward_kinematics(motion.root_pos, motion.root_quat, motion.joint_pos)
        shared = [b for b in robot.body_names if b in names]
        legs = [b for b in shared if b == "pelvis" or "hip" in b or "knee" in b or "ankle" in b]
        assert len(legs) == 13
        for body in shared:
            ours, theirs = robot.body_index(body), names.index(body)
            assert quat_angle_between(quat[:, ours], raw["body_quat_w"][:, theirs]).max() < 1e-3, body
            gap = np.linalg.norm(pos[:, ours] - raw["body_pos_w"][:, theirs], axis=-1).max()
            assert gap < (1e-3 if body in legs else 0.02), (body, gap)


def test_npz_g1moves_agree_with_their_csv_versions(robot):
    """Same motions, two formats: frame counts line up and the values agree."""
    npz_files = data_files("npz", "g1moves/*.npz")
    csv_dir = DATA / "g1_csv" / "g1moves_60fps"
    pairs = [(p, csv_dir / f"{p.stem}.csv") for p in npz_files if (csv_dir / f"{p.stem}.csv").is_file()]
    if not pairs:
        pytest.skip(f"no CSV counterparts of the g1moves clips in {csv_dir}")
    for npz_path, csv_path in pairs:
        a = read_motion("npz", npz_path, robot)
        b = read_motion("csv", csv_path, robot, fps=60)
        assert a.fps == b.fps
        # The CSV exports usually carry one extra trailing frame; the starts line up.
        assert 0 <= b.num_frames - a.num_frames <= 1, (npz_path.name, a.num_frames, b.num_frames)
        n = a.num_frames
        assert np.abs(a.root_pos - b.root_pos[:n]).max() < 1e-4
        # A few isolated frames differ slightly between the two exports (M_Move19:
        # 11 root orientations by up to 0.16°, B_BowKarate: joints by 3e-4 rad);
        # every other frame agrees to the CSV's 6 decimals.
        turn = quat_angle_between(a.root_quat, b.root_quat[:n])
        joints = np.abs(a.joint_pos - b.joint_pos[:n]).max(axis=1)
        assert turn.max() < 5e-3 and np.percentile(turn, 98) < 1e-4, npz_path.name
        assert joints.max() < 1e-3 and np.percentile(joints, 98) < 1e-4, npz_path.name


# ------------------------------------------------------------- real: csv types


def test_seed_csv_real_files(robot):
    for path in data_files("seed_csv", "*.csv"):
        motion = read_motion("seed_csv", path, robot)
        rows = sum(1 for line in path.read_bytes().splitlines() if line.strip()) - 1
        assert motion.num_frames == rows
        assert motion.fps == 120.0
        assert_valid_motion(motion, robot)
        assert_physically_plausible(motion, robot)
        # Root yaw wraps at ±180° in some files: the orientation must not jump.
        step = quat_angle_between(motion.root_quat[1:], motion.root_quat[:-1])
        assert step.max() < np.deg2rad(20), (path.name, np.rad2deg(step.max()))
    assert read_motion("seed_csv", path, robot, fps=60).fps == 60.0


def test_unitree_lafan1_csv(robot):
    for path in data_files("g1_csv", "unitree_lafan1/*.csv"):
        motion = read_motion("csv", path, robot, fps=30)
        assert motion.fps == 30.0
        assert motion.num_frames == len(path.read_bytes().splitlines())
        assert_valid_motion(motion, robot)
        assert_physically_plausible(motion, robot)


def test_g1moves_csv(robot):
    for path in data_files("g1_csv", "g1moves_60fps/*.csv"):
        motion = read_motion("csv", path, robot, fps=60)
        assert motion.fps == 60.0
        assert_valid_motion(motion, robot)
        assert_physically_plausible(motion, robot)


# ------------------------------------------------------- hand-made: G1 CSV


def g1_table(robot, T: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    quat = rng.normal(size=(T, 4))
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    return np.hstack([rng.normal(size=(T, 3)), quat, rng.uniform(-1, 1, size=(T, robot.num_joints))])


def write_rows(path: Path, rows, newline: str = "\n", header: list[str] | None = None) -> Path:
    lines = ([",".join(header)] if header else []) + [",".join(str(c) for c in r) for r in rows]
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


def test_csv_reads_values_and_crlf(tmp_path, robot):
    table = g1_table(robot)
    lf = read_motion("csv", write_rows(tmp_path / "lf.csv", table.tolist()), robot, fps=30)
    crlf = read_motion("csv", write_rows(tmp_path / "crlf.csv", table.tolist(), "\r\n"), robot, fps=30)
    np.testing.assert_array_equal(lf.joint_pos, crlf.joint_pos)
    np.testing.assert_array_equal(lf.root_pos, table[:, :3])
    np.testing.assert_allclose(lf.root_quat, xyzw_to_wxyz(table[:, 3:7]))
    np.testing.assert_array_equal(lf.joint_pos, table[:, 7:])


def test_csv_needs_fps(tmp_path, robot):
    path = write_rows(tmp_path / "nofps.csv", g1_table(robot).tolist())
    with raises_input_error(path, "fps option is required", match_field="fps"):
        read_motion("csv", path, robot)
    with raises_input_error(path, "frame rate", match_field="fps"):
        read_motion("csv", path, robot, fps=0)


def test_csv_wrong_column_count(tmp_path, robot):
    rows = g1_table(robot).tolist()
    rows[2] = rows[2][:-1]
    path = write_rows(tmp_path / "short.csv", rows)
    with raises_input_error(path, "line 3", "35 columns", "expected 36", match_field="columns"):
        read_motion("csv", path, robot, fps=30)


def test_csv_non_numeric_cell(tmp_path, robot):
    rows = g1_table(robot).tolist()
    rows[1][7 + 3] = "abc"
    path = write_rows(tmp_path / "text.csv", rows)
    with raises_input_error(path, "line 2", "column 11", "'abc'", match_field="left_knee_joint"):
        read_motion("csv", path, robot, fps=30)


def test_csv_with_a_header_row_is_refused_with_a_hint(tmp_path, robot):
    header = ["x", "y", "z", "qx", "qy", "qz", "qw", *robot.joint_names]
    path = write_rows(tmp_path / "header.csv", g1_table(robot).tolist(), header=header)
    with raises_input_error(path, "line 1", "no header row"):
        read_motion("csv", path, robot, fps=30)


def test_csv_nan_cell(tmp_path, robot):
    rows = g1_table(robot).tolist()
    rows[3][1] = "nan"
    path = write_rows(tmp_path / "nan.csv", rows)
    with raises_input_error(path, "line 4", "column 2", "finite", match_field="y"):
        read_motion("csv", path, robot, fps=30)


def test_csv_zero_quaternion(tmp_path, robot):
    table = g1_table(robot)
    table[1, 3:7] = 0.0
    path = write_rows(tmp_path / "zeroquat.csv", table.tolist())
    with raises_input_error(path, "unit quaternions", match_field="qw"):
        read_motion("csv", path, robot, fps=30)


def test_csv_empty_and_binary_files(tmp_path, robot):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\n\n")
    with raises_input_error(empty, "no data rows"):
        read_motion("csv", empty, robot, fps=30)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with raises_input_error(binary, "UTF-8"):
        read_motion("csv", binary, robot, fps=30)


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(
        st.lists(st.floats(-10, 10, allow_nan=False, width=64), min_size=36, max_size=36), min_size=1, max_size=5
    ),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_csv_round_trips_any_finite_table(tmp_path_factory, values, newline):
    robot = load_robot()
    table = np.array(values)
    table[:, 3:7] = [0.0, 0.0, 0.0, 1.0]
    path = write_rows(tmp_path_factory.mktemp("rt") / "rt.csv", [[repr(float(v)) for v in r] for r in table], newline)
    motion = read_motion("csv", path, robot, fps=30)
    np.testing.assert_array_equal(motion.root_pos, table[:, :3])
    np.testing.assert_array_equal(motion.joint_pos, table[:, 7:])


# ------------------------------------------------------ hand-made: SEED CSV


def seed_header(robot) -> list[str]:
    return ["Frame", "root_translateX", "root_translateY", "root_translateZ",
            "root_rotateX", "root_rotateY", "root_rotateZ", *(f"{j}_dof" for j in robot.joint_names)]


def seed_rows(robot, T: int = 3) -> list[list[float]]:
    rng = np.random.default_rng(1)
    return [[t, *rng.uniform(-100, 100, 3), *rng.uniform(-180, 180, 3), *rng.uniform(-90, 90, robot.num_joints)]
            for t in range(T)]


def test_seed_units_euler_convention_and_column_order(tmp_path, robot):
    header = seed_header(robot)
    rows = seed_rows(robot)
    rows[0][1:7] = [100.0, -50.0, 80.0, 90.0, 0.0, 90.0]
    # Shuffle the joint columns: they must be matched by name, not position.
    perm = [0, 1, 2, 3, 4, 5, 6, *np.random.default_rng(2).permutation(np.arange(7, len(header)))]
    path = write_rows(tmp_path / "seed.csv", [[r[i] for i in perm] for r in rows], "\r\n", [header[i] for i in perm])
    motion = read_motion("seed_csv", path, robot)
    assert motion.fps == 120.0
    np.testing.assert_allclose(motion.root_pos[0], [1.0, -0.5, 0.8])
    np.testing.assert_allclose(motion.joint_pos, np.deg2rad(np.array(rows)[:, 7:]))
    # Extrinsic x then z by 90°: R = Rz(90) Rx(90), i.e. q = qz * qx.
    s = np.sqrt(0.5)
    expected = np.array([s * s, s * s, s * s, s * s])
    assert quat_angle_between(motion.root_quat[0], expected) < 1e-9


def test_seed_missing_and_unknown_columns(tmp_path, robot):
    header = seed_header(robot)
    rows = seed_rows(robot)
    gone = write_rows(tmp_path / "gone.csv", [r[:-1] for r in rows], header=header[:-1])
    with raises_input_error(gone, "right_wrist_yaw_joint", "missing", match_field="header"):
        read_motion("seed_csv", gone, robot)
    header2 = header[:-1] + ["tail_dof"]
    odd = write_rows(tmp_path / "odd.csv", rows, header=header2)
    with raises_input_error(odd, "tail_dof", match_field="header"):
        read_motion("seed_csv", odd, robot)
    noroot = write_rows(tmp_path / "noroot.csv", rows, header=["Frame", "tx", *header[2:]])
    with raises_input_error(noroot, "root_translateX", match_field="header"):
        read_motion("seed_csv", noroot, robot)


def test_seed_bad_cells(tmp_path, robot):
    header = seed_header(robot)
    rows = seed_rows(robot)
    rows[1] = rows[1][:20]
    short = write_rows(tmp_path / "short.csv", rows, header=header)
    with raises_input_error(short, "line 3", "20 columns", match_field="columns"):
        read_motion("seed_csv", short, robot)
    rows = seed_rows(robot)
    rows[2][5] = "x"
    text = write_rows(tmp_path / "text.csv", rows, header=header)
    with raises_input_error(text, "line 4", "column 6", "'x'", match_field="root_rotateY"):
        read_motion("seed_csv", text, robot)
    rows = seed_rows(robot)
    rows[0][9] = "inf"
    inf = write_rows(tmp_path / "inf.csv", rows, header=header)
    with raises_input_error(inf, "line 2", "finite", match_field=header[9]):
        read_motion("seed_csv", inf, robot)


# ---------------------------------------------------------- hand-made: NPZ


def clip_arrays(robot, T: int = 5, world: bool = False) -> dict[str, np.ndarray]:
    """A consistent mjlab-order clip computed with our own FK."""
    rng = np.random.default_rng(3)
    root_pos = rng.normal(size=(T, 3)) + [0, 0, 0.8]
    root_quat = rng.normal(size=(T, 4))
    root_quat /= np.linalg.norm(root_quat, axis=1, keepdims=True)
    joint_pos = rng.uniform(-0.5, 0.5, size=(T, robot.num_joints))
    pos, quat = robot.forward_kinematics(root_pos, root_quat, joint_pos)
    if world:
        pos = np.concatenate([np.zeros((T, 1, 3)), pos], axis=1)
        quat = np.concatenate([np.tile([1.0, 0, 0, 0], (T, 1, 1)), quat], axis=1)
    return {"fps": np.array([50], dtype=np.int16), "joint_pos": joint_pos.astype(np.float32),
            "body_pos_w": pos.astype(np.float32), "body_quat_w": quat.astype(np.float32)}


def test_npz_layout_variants(tmp_path, robot):
    base = clip_arrays(robot)
    plain = tmp_path / "plain.npz"
    np.savez(plain, **base)
    ref = read_motion("npz", plain, robot)
    assert ref.fps == 50.0

    world = tmp_path / "world.npz"
    np.savez(world, **clip_arrays(robot, world=True))
    got = read_motion("npz", world, robot)
    np.testing.assert_allclose(got.root_pos, ref.root_pos)

    # mimicdata's own clips: names as unicode arrays, joints in any order.
    perm = np.random.default_rng(4).permutation(robot.num_joints)
    named = tmp_path / "named.npz"
    np.savez(named, **{**base, "joint_pos": base["joint_pos"][:, perm], "fps": np.float64(50.0),
                       "joint_names": np.array(robot.joint_names)[perm], "body_names": np.array(robot.body_names)})
    got = read_motion("npz", named, robot)
    np.testing.assert_array_equal(got.joint_pos, ref.joint_pos)

    packed = tmp_path / "packed.npz"
    root = np.hstack([base["body_pos_w"][:, 0], base["body_quat_w"][:, 0]])
    np.savez(packed, fps=np.array([50.0]), joint_pos=np.hstack([root, base["joint_pos"]]))
    got = read_motion("npz", packed, robot)
    np.testing.assert_allclose(got.root_pos, ref.root_pos, atol=1e-6)
    np.testing.assert_array_equal(got.joint_pos, ref.joint_pos)


def test_npz_object_array_is_refused(tmp_path, robot):
    path = tmp_path / "objects.npz"
    arrays = clip_arrays(robot)
    np.savez(path, **{**arrays, "joint_names": np.array(list(robot.joint_names), dtype=object)})
    with raises_input_error(path, "object array", "pickle", match_field="joint_names"):
        read_motion("npz", path, robot)


def test_npz_bad_contents(tmp_path, robot):
    arrays = clip_arrays(robot)
    cases = {
        "nan.npz": ({"body_pos_w": np.where(np.arange(3) == 2, np.nan, arrays["body_pos_w"])}, "body_pos_w", "finite"),
        "nofps.npz": ({"fps": None}, "fps", "no frame rate"),
        "badfps.npz": ({"fps": np.array([0.0])}, "fps", "frame rate"),
        "twofps.npz": ({"fps": np.array([30, 60])}, "fps", "one number"),
        "zeroquat.npz": ({"body_quat_w": np.zeros_like(arrays["body_quat_w"])}, "body_quat_w", "unit quaternions"),
        "xyzquat.npz": ({"body_quat_w": arrays["body_quat_w"] * 2}, "body_quat_w", "unit quaternions"),
        "frames.npz": ({"body_pos_w": arrays["body_pos_w"][:-1]}, "body_pos_w", "frames"),
        "bodies.npz": ({"body_pos_w": arrays["body_pos_w"][:, :12], "body_quat_w": arrays["body_quat_w"][:, :12]},
                       "body_pos_w", "12 bodies"),
        "width.npz": ({"joint_pos": arrays["joint_pos"][:, :23]}, "joint_pos", "(T, 29)"),
        "names.npz": ({"joint_names": np.array([f"j{i}" for i in range(29)])}, "joint_names", "left_hip_pitch_joint"),
        "noroot.npz": ({"body_pos_w": None, "body_quat_w": None}, "body_pos_w", "no root pose"),
    }
    for name, (change, field, needle) in cases.items():
        content = {k: v for k, v in {**arrays, **change}.items() if v is not None}
        path = tmp_path / name
        np.savez(path, **content)
        with raises_input_error(path, needle, match_field=field):
            read_motion("npz", path, robot)


def test_npz_fps_option_fills_in_but_never_contradicts(tmp_path, robot):
    arrays = clip_arrays(robot)
    path = tmp_path / "nofps.npz"
    np.savez(path, **{k: v for k, v in arrays.items() if k != "fps"})
    assert read_motion("npz", path, robot, fps=25).fps == 25.0
    both = tmp_path / "both.npz"
    np.savez(both, **arrays)
    assert read_motion("npz", both, robot, fps=50).fps == 50.0
    with raises_input_error(both, "50.0", "30.0", match_field="fps"):
        read_motion("npz", both, robot, fps=30)


def test_npz_garbage_and_truncated(tmp_path, robot):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip archive at all")
    with raises_input_error(garbage, "pickle is refused"):
        read_motion("npz", garbage, robot)
    good = tmp_path / "good.npz"
    np.savez(good, **clip_arrays(robot))
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with raises_input_error(cut):
        read_motion("npz", cut, robot)
    single = tmp_path / "single.npz"
    with open(single, "wb") as f:
        np.save(f, np.zeros(3))
    with raises_input_error(single, ".npy"):
        read_motion("npz", single, robot)


# ---------------------------------------------------------- hand-made: pickle


def gmr_dict(robot, T: int = 4) -> dict:
    table = g1_table(robot, T)
    return {"fps": 30, "root_pos": table[:, :3], "root_rot": table[:, 3:7], "dof_pos": table[:, 7:],
            "local_body_pos": None, "link_body_list": None}


def dump(path: Path, obj, protocol: int = 4) -> Path:
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


class _SystemCall:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _ExecCall:
    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


def test_malicious_pickles_are_blocked_before_running(tmp_path, robot):
    # Control: the payloads are live, the stock unpickler runs them.
    control = tmp_path / "control_marker"
    subprocess.run([sys.executable, "-c", "import pickle,sys; pickle.loads(sys.stdin.buffer.read())"],
                   input=pickle.dumps({"fps": _SystemCall(f"touch {control}")}), check=True)
    assert control.exists()

    marker = tmp_path / "marker"
    payloads = {
        "system.pkl": ({"fps": 30, "x": _SystemCall(f"touch {marker}")}, "system"),
        "exec.pkl": ([_ExecCall(f"open({str(marker)!r}, 'w').write('pwned')")], ".exec"),
    }
    for name, (obj, global_name) in payloads.items():
        for protocol in (0, 2, 4, 5):
            path = dump(tmp_path / name, obj, protocol)
            with raises_input_error(path, global_name, "refused"):
                load_pickle(path)
            with raises_input_error(path, global_name, "refused"):
                read_motion("pkl", path, robot)
            assert not marker.exists(), f"{name} protocol {protocol} ran its payload"


def test_safe_pickle_rebuilds_numpy_at_every_protocol(tmp_path):
    obj = {"a": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.arange(10)[::3], "s": np.float64(29.97),
           "i": np.int64(7), "l": [1, 2.5, "x", None, True], "t": (1,), "set": {1, 2}, "u": np.array(["ab", "c"])}
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        got = load_pickle(dump(tmp_path / f"p{protocol}.pkl", obj, protocol))
        np.testing.assert_array_equal(got["a"], obj["a"])
        np.testing.assert_array_equal(got["b"], obj["b"])
        assert got["s"] == obj["s"] and got["i"] == obj["i"] and got["set"] == {1, 2}
        assert got["l"] == obj["l"] and list(got["u"]) == ["ab", "c"]


def test_truncated_and_garbage_pickles(tmp_path, robot):
    whole = pickle.dumps(gmr_dict(robot), protocol=4)
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(whole[: len(whole) // 2])
    with raises_input_error(cut, "pickle"):
        read_motion("pkl", cut, robot)
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"\x00\x01 definitely not a pickle")
    with raises_input_error(garbage, "pickle"):
        read_motion("pkl", garbage, robot)
    empty = tmp_path / "empty.pkl"
    empty.write_bytes(b"")
    with raises_input_error(empty, "the file is empty"):
        read_motion("pkl", empty, robot)


def test_pickle_fps_forms(tmp_path, robot):
    for i, fps in enumerate([30, 29.97, np.float64(29.97), np.int32(30), np.array([30.0]), np.array(50, np.uint8)]):
        path = dump(tmp_path / f"fps{i}.pkl", {**gmr_dict(robot), "fps": fps})
        assert read_motion("pkl", path, robot).fps == pytest.approx(float(np.asarray(fps).reshape(())))


def test_pickle_bad_contents(tmp_path, robot):
    base = gmr_dict(robot)
    nan_dof = base["dof_pos"].copy()
    nan_dof[2, 5] = np.nan
    other_links = ["base_link", *(f"link{i}" for i in range(28))]
    cases = {
        "list.pkl": ([1, 2], None, "expected a dict"),
        "missing.pkl": ({"fps": 30, "root_pos": base["root_pos"]}, "root_rot", "missing keys ['root_rot', 'dof_pos']"),
        "nan.pkl": ({**base, "dof_pos": nan_dof}, "dof_pos", "finite"),
        "fps0.pkl": ({**base, "fps": 0}, "fps", "frame rate"),
        "fps_huge.pkl": ({**base, "fps": 5000.0}, "fps", "frame rate"),
        "fps_text.pkl": ({**base, "fps": "30"}, "fps", "one number"),
        "zero_rot.pkl": ({**base, "root_rot": np.zeros((4, 4))}, "root_rot", "unit quaternions"),
        "short.pkl": ({**base, "root_rot": base["root_rot"][:3]}, "root_rot", "3 frames"),
        "shape.pkl": ({**base, "root_pos": base["root_pos"][:, :2]}, "root_pos", "(T, 3)"),
        "links.pkl": ({**base, "link_body_list": other_links}, "link_body_list", "another robot"),
        "objects.pkl": ({**base, "dof_pos": base["dof_pos"].astype(object)}, "dof_pos", "dtype object"),
    }
    for name, (obj, field, needle) in cases.items():
        path = dump(tmp_path / name, obj)
        with raises_input_error(path, needle, match_field=field):
            read_motion("pkl", path, robot)


def test_pickle_values(tmp_path, robot):
    base = gmr_dict(robot)
    base["root_rot"] = base["root_rot"] * 0.98  # GMR's real files are this far from unit norm
    motion = read_motion("pkl", dump(tmp_path / "ok.pkl", base), robot)
    assert_valid_motion(motion, robot)
    np.testing.assert_allclose(wxyz_to_xyzw(motion.root_quat), base["root_rot"] / 0.98)
    np.testing.assert_array_equal(motion.joint_pos, base["dof_pos"])


# ------------------------------------------------------------ hand-made: HDF5


def write_h5(path: Path, datasets: dict[str, np.ndarray], fps=None) -> Path:
    with h5py.File(path, "w") as f:
        for key, value in datasets.items():
            f[key] = value
        if fps is not None:
            f.attrs["fps"] = fps
    return path


def test_hdf5_reads_defaults_custom_keys_and_xyzw(tmp_path, robot):
    table = g1_table(robot)
    default = write_h5(tmp_path / "a.h5", {"root_pos": table[:, :3], "root_quat": table[:, 3:7],
                                            "joint_pos": table[:, 7:]}, fps=np.float32(60))
    motion = read_motion("hdf5", default, robot)
    assert motion.fps == 60.0
    np.testing.assert_allclose(motion.root_quat, table[:, 3:7])
    custom = write_h5(tmp_path / "b.hdf5", {"robot/base_pos": table[:, :3], "robot/base_rot": table[:, 3:7],
                                             "robot/q": table[:, 7:]})
    motion = read_motion("hdf5", custom, robot, root_pos_key="robot/base_pos", root_quat_key="robot/base_rot",
                         joint_pos_key="robot/q", quat_order="xyzw", fps=30)
    assert motion.fps == 30.0
    np.testing.assert_allclose(motion.root_quat, xyzw_to_wxyz(table[:, 3:7]))
    np.testing.assert_array_equal(motion.joint_pos, table[:, 7:])


def test_hdf5_errors(tmp_path, robot):
    table = g1_table(robot)
    good = {"root_pos": table[:, :3], "root_quat": table[:, 3:7], "joint_pos": table[:, 7:]}
    nofps = write_h5(tmp_path / "nofps.h5", good)
    with raises_input_error(nofps, "no frame rate", match_field="fps"):
        read_motion("hdf5", nofps, robot)
    with raises_input_error(nofps, "quat_order", match_field="quat_order"):
        read_motion("hdf5", nofps, robot, fps=30, quat_order="zyxw")
    missing = write_h5(tmp_path / "missing.h5", {"root_pos": table[:, :3], "joint_pos": table[:, 7:]}, fps=30)
    with raises_input_error(missing, "missing", "joint_pos", match_field="root_quat"):
        read_motion("hdf5", missing, robot)
    bad = dict(good, joint_pos=np.where(np.arange(29) == 4, np.nan, table[:, 7:]))
    nan = write_h5(tmp_path / "nan.h5", bad, fps=30)
    with raises_input_error(nan, "finite", match_field="joint_pos"):
        read_motion("hdf5", nan, robot)
    conflict = write_h5(tmp_path / "conflict.h5", good, fps=30)
    with raises_input_error(conflict, "fps option", match_field="fps"):
        read_motion("hdf5", conflict, robot, fps=60)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5")
    with raises_input_error(garbage, "HDF5"):
        read_motion("hdf5", garbage, robot, fps=30)
