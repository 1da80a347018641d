"""Fuzzing the readers of untrusted text and bytes: BVH, CSV, SEED CSV, pickle, NPZ and the YAML spec.

Whatever the input, a reader either returns or raises one of mimicdata's own
errors (which name the file and field). It never lets another exception out,
never runs for more than HANG_S seconds, and never imports or runs anything a
pickle names. Each test is bounded by example count; MIMICDATA_FUZZ_EXAMPLES
raises it for a longer session (e.g. 5000 overnight).
"""

from __future__ import annotations

import io
import os
import pickle
import signal
import string
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO
from mimicdata.build.discover import check_inputs
from mimicdata.errors import MimicdataError
from mimicdata.robot import load_robot
from mimicdata.sources import read_motion
from mimicdata.spec import load_spec

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")  # np.full(nan, int)
EXAMPLES = int(os.environ.get("MIMICDATA_FUZZ_EXAMPLES", "120"))
HANG_S = 10.0
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the alarm below bounds each example; hypothesis' deadline would flake on a busy CI box
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("MIMICDATA_FUZZ_RANDOM") is None,  # CI runs the same examples every time
)
ROBOT = load_robot()
SAMPLE = REPO / "data" / "sample"


class Hang(Exception):
    pass


@contextmanager
def bounded(seconds: float = HANG_S):
    def alarm(signum, frame):
        raise Hang(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def read_untrusted(suffix: str, data: bytes, source_type: str, **options) -> None:
    """Write `data` to a file and read it: only mimicdata's errors may come out, and soon."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzzed{suffix}"
        path.write_bytes(data)
        with bounded():
            try:
                read_motion(source_type, path, ROBOT, **options)
            except MimicdataError as exc:
                assert str(path) in str(exc), f"the message does not name the file: {exc}"


def mutated(base: bytes, vocabulary: list[bytes]) -> st.SearchStrategy[bytes]:
    """`base` with a few edits: whole lines or single fields replaced by tokens, spans deleted, duplicated or
    replaced by random bytes, or the file cut short."""

    @st.composite
    def build(draw) -> bytes:
        data = bytearray(base)
        for _ in range(draw(st.integers(1, 6))):
            if not data:
                break
            kind = draw(st.sampled_from(["line", "field", "field", "delete", "bytes", "duplicate", "cut"]))
            if kind in ("line", "field"):
                lines = bytes(data).split(b"\n")
                i = draw(st.integers(0, len(lines) - 1))
                if kind == "line":
                    lines[i] = draw(st.sampled_from(vocabulary))
                else:
                    fields = lines[i].split(b" ") if b" " in lines[i] else lines[i].split(b",")
                    sep = b" " if b" " in lines[i] else b","
                    fields[draw(st.integers(0, len(fields) - 1))] = draw(st.sampled_from(vocabulary))
                    lines[i] = sep.join(fields)
                data = bytearray(b"\n".join(lines))
                continue
            at = draw(st.integers(0, len(data) - 1))
            span = draw(st.integers(0, 40))
            if kind == "delete":
                del data[at : at + span]
            elif kind == "bytes":
                data[at:at] = draw(st.binary(max_size=16))
            elif kind == "duplicate":
                data[at:at] = data[at : at + span] * draw(st.integers(1, 50))
            else:
                del data[at:]
        return bytes(data)

    return build()


NUMBERS = [b"nan", b"inf", b"-inf", b"1e308", b"-1e400", b"0", b"-0", b"1e-320", b"12345678901234567890", b"", b"  "]

# --------------------------------------------------------------------------------------- BVH

BVH_BASE = (
    b"HIERARCHY\nROOT Hips\n{\n  OFFSET 0 90 0\n  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation "
    b"Xrotation\n  JOINT Spine\n  {\n    OFFSET 0 10 0\n    CHANNELS 3 Zrotation Xrotation Yrotation\n"
    b"    End Site\n    {\n      OFFSET 0 10 0\n    }\n  }\n}\nMOTION\nFrames: 3\nFrame Time: 0.0333333\n"
    b"0 90 0 0 0 0 0 0 0\n1 90 0 5 0 0 3 0 0\n2 90 0 10 0 0 6 0 0\n"
)
BVH_TOKENS = NUMBERS + [
    b"{", b"}", b"ROOT", b"JOINT", b"End Site", b"OFFSET", b"CHANNELS 99", b"CHANNELS -1", b"CHANNELS 3 Qrotation",
    b"MOTION", b"Frames: -5", b"Frames: 99999999999", b"Frame Time: 0", b"Frame Time: nan", b"HIERARCHY", b"\r\n",
    b"\x00", b"Hips", b"Spine", b"\n" * 3, b"\t",
]


@FUZZ
@given(data=mutated(BVH_BASE, BVH_TOKENS))
def test_bvh_reader_on_mutated_files(data):
    read_untrusted(".bvh", data, "bvh", bvh_format="lafan1")


NUMBER = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-(10**20), 10**20).map(str),
                   st.sampled_from([s.decode() for s in NUMBERS] + ["0.0333333", "-0.0333", "1e-9", "abc"]))
CHANNEL = st.sampled_from(["Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation", "Wrotation"])


@st.composite
def bvh_documents(draw) -> bytes:
    """Grammatical BVH with every number, count and name drawn: the header values a mutation rarely reaches."""
    lines, columns = ["HIERARCHY"], 0
    depth = draw(st.integers(1, 3))
    for level in range(depth):
        channels = draw(st.lists(CHANNEL, max_size=7))
        count = draw(st.one_of(st.just(str(len(channels))), NUMBER))
        columns += len(channels)
        keyword = "ROOT" if level == 0 else "JOINT"
        lines += [f"{keyword} J{level}", "{", f"OFFSET {draw(NUMBER)} {draw(NUMBER)} {draw(NUMBER)}",
                  f"CHANNELS {count} {' '.join(channels)}"]
    lines += ["End Site", "{", "OFFSET 0 1 0", "}"] + ["}"] * depth
    rows = draw(st.lists(st.lists(NUMBER, min_size=max(0, columns - 1), max_size=columns + 1), max_size=5))
    frames = draw(st.one_of(st.just(str(len(rows))), NUMBER))
    lines += ["MOTION", f"Frames: {frames}", f"Frame Time: {draw(NUMBER)}"] + [" ".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


@FUZZ
@given(data=bvh_documents())
def test_bvh_reader_on_generated_documents(data):
    read_untrusted(".bvh", data, "bvh", bvh_format="lafan1")


@FUZZ
@given(data=st.lists(st.sampled_from(BVH_TOKENS + [b"0.5", b"Xrotation"]), max_size=60).map(b" ".join))
def test_bvh_reader_on_token_soup(data):
    read_untrusted(".bvh", data, "bvh", bvh_format="cmu")


# --------------------------------------------------------------------------------------- CSV

CELL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", " ", "abc", "1,5", "0x10", "1_0", "1e", "--1", '"1"', "\t", "١", "NaN", "None"]),
)


@st.composite
def csv_tables(draw) -> bytes:
    width = draw(st.sampled_from([36, 36, 36, 35, 37, 1, 0]))
    rows = draw(st.lists(st.lists(CELL, min_size=max(0, width - 1), max_size=width + 1), max_size=8))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(",".join(r) for r in rows) + draw(st.sampled_from(["", newline]))
    prefix = draw(st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe"]))
    return prefix + text.encode("utf-8")


@FUZZ
@given(data=csv_tables())
def test_csv_reader_on_generated_tables(data):
    read_untrusted(".csv", data, "csv", fps=30)


@FUZZ
@given(data=mutated((SAMPLE / "csv" / "walk_turn_left.csv").read_bytes()[:4000], NUMBERS + [b",", b",,", b"\n"]))
def test_csv_reader_on_mutated_files(data):
    read_untrusted(".csv", data, "csv", fps=30)


@FUZZ
@given(data=mutated((SAMPLE / "seed_csv" / "wave_arms.csv").read_bytes()[:6000], NUMBERS + [b",", b"Frame", b"\n"]))
def test_seed_csv_reader_on_mutated_files(data):
    read_untrusted(".csv", data, "seed_csv")


# --------------------------------------------------------------------------------------- pickle

GMR = (SAMPLE / "pkl" / "side_step.pkl").read_bytes()
# Modules a malicious pickle would name; none of them may be imported or called by reading it.
DANGEROUS = ["os", "posix", "subprocess", "builtins", "shutil", "socket", "ctypes", "importlib", "runpy",
             "pickle", "sys", "numpy.testing", "numpy.f2py", "nt", "pty", "webbrowser", "code", "mimicdata.build"]


@st.composite
def pickles_naming_globals(draw) -> bytes:
    module = draw(st.sampled_from(DANGEROUS + ["numpy", "numpy.core.multiarray", "collections"]))
    name = draw(st.sampled_from(["system", "eval", "exec", "__import__", "rmtree", "_reconstruct", "OrderedDict",
                                 "getattr", "open", "Popen", "loads", "dtype", "ndarray"]))
    args = draw(st.sampled_from([b"N", b"(tR", b"(S'echo'\ntR", b")R", b"(I1\ntR"]))
    opcode = draw(st.sampled_from([b"c%s\n%s\n", b"\x8c%s\x8c%s\x93"]))
    if opcode.startswith(b"c"):
        ref = b"c" + module.encode() + b"\n" + name.encode() + b"\n"
    else:
        ref = (b"\x8c" + bytes([len(module)]) + module.encode() + b"\x8c" + bytes([len(name)]) + name.encode() + b"\x93")
    return b"\x80\x04" + ref + args + b"."


@FUZZ
@given(data=pickles_naming_globals())
def test_pickle_reader_never_imports_or_calls_what_a_pickle_names(data):
    before = set(sys.modules)
    read_untrusted(".pkl", data, "pkl")
    # numpy imports its numpy.core aliases lazily when an allowed global names them; nothing else may load.
    imported = set(sys.modules) - before
    assert all(m.startswith("numpy.") for m in imported) and not imported & set(DANGEROUS), imported


@FUZZ
@given(data=mutated(GMR, [b"N", b".", b"\x80\x05", b"cos\nsystem\n", b"\x93", b"R", b"(", b"t", b"\x8c\x02os"]))
def test_pickle_reader_on_mutated_files(data):
    read_untrusted(".pkl", data, "pkl")


VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 10**9), st.floats(), st.text(max_size=5),
              st.binary(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=10,
)
ARRAYS = st.builds(
    lambda shape, fill, dtype: np.full(shape, fill, dtype=dtype),
    st.lists(st.integers(0, 40), max_size=3).map(tuple),
    st.sampled_from([0.0, 1.0, np.nan, np.inf, -3.0]),
    st.sampled_from([np.float64, np.float32, np.int64, np.float16, np.bool_, np.complex64]),
)


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["fps", "root_pos", "root_rot", "dof_pos", "local_body_pos",
                                                "link_body_list", "extra"]), st.one_of(VALUES, ARRAYS), max_size=7))
def test_pickle_reader_on_dicts_of_anything(fields):
    read_untrusted(".pkl", pickle.dumps(fields, protocol=4), "pkl")


# --------------------------------------------------------------------------------------- NPZ

@FUZZ
@given(arrays=st.dictionaries(st.sampled_from(["fps", "joint_pos", "joint_vel", "body_pos_w", "body_quat_w",
                                               "joint_names", "body_names"]), ARRAYS, max_size=7))
def test_npz_reader_on_archives_of_anything(arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    read_untrusted(".npz", buf.getvalue(), "npz")


@FUZZ
@given(data=mutated((SAMPLE / "npz" / "march_in_place.npz").read_bytes()[:20000], [b"PK\x03\x04", b"\x00" * 8]))
def test_npz_reader_on_mutated_files(data):
    read_untrusted(".npz", data, "npz")


# --------------------------------------------------------------------------------------- spec

SPEC_KEYS = ["name", "target_fps", "val_percent", "hash_salt", "preprocess", "sources", "split", "robot", "nmae"]
SOURCE_KEYS = ["name", "type", "input", "weight", "fps", "bvh_format", "max_frames", "exclude_patterns",
               "metadata_csv", "typo"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10, 1000), st.floats(), st.text(string.printable,
                    max_size=8), st.sampled_from(["bvh", "pkl", "csv", "inputs", "..", "/", "lafan1", "1e3"]))
ANY = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                    st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                   max_leaves=8)


@st.composite
def spec_documents(draw) -> bytes:
    doc = draw(st.dictionaries(st.sampled_from(SPEC_KEYS), ANY, max_size=8))
    if draw(st.booleans()):
        doc["sources"] = draw(st.lists(st.dictionaries(st.sampled_from(SOURCE_KEYS), ANY, max_size=6), max_size=3))
    return yaml.safe_dump(doc).encode()


SPEC_BASE = (REPO / "specs" / "sample.yaml").read_bytes()


def load_untrusted_spec(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_bytes(data)
        with bounded():
            try:
                check_inputs(load_spec(path), path)
            except MimicdataError as exc:
                assert "spec.yaml" in str(exc), f"the message does not name the spec: {exc}"


@FUZZ
@given(data=spec_documents())
def test_spec_loader_on_generated_documents(data):
    load_untrusted_spec(data)


@FUZZ
@given(data=mutated(SPEC_BASE, [b":", b"- ", b"{", b"[", b"&a", b"*a", b"!!python/object/apply:os.system ['x']",
                                b"\t", b"'", b"\x00", b"val_percent: 500", b"name: ../x"]))
def test_spec_loader_on_mutated_files(data):
    load_untrusted_spec(data)


def test_a_yaml_tag_that_would_run_code_is_refused_without_running(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "spec.yaml"
    path.write_text(f"name: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(MimicdataError, match="spec.yaml"):
        load_spec(path)
    assert not marker.exists()
