"""split-shards: round trips at several bounds, foreign shard layouts, refusals and atomicity."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import require_shared
from mimicdata.cli import app
from mimicdata.commands.split_shards import split_shards
from mimicdata.dataset.manifest import read_manifest
from mimicdata.dataset.shards import Shard
from mimicdata.errors import InputError


def _clips(directory: Path) -> list[dict[str, np.ndarray]]:
    """Every clip of every shard under a directory, in order, with its per-clip values."""
    out = []
    for path in sorted(directory.rglob("*.npz")):
        shard = Shard(path, mmap=False)
        starts, lengths = shard["clip_starts"], shard["clip_lengths"]
        frame_keys = [k for k in shard.keys() if not k.startswith("clip_") and shard[k].ndim and
                      shard[k].shape[0] == lengths.sum() and k not in ("body_names", "joint_names", "window_steps")]
        for i in range(shard.num_clips):
            clip = {k: shard[k][starts[i]:starts[i] + lengths[i]] for k in frame_keys}
            clip.update({k: shard[k][i] for k in shard.keys() if k.startswith("clip_") and k != "clip_starts"})
            clip.update({k: shard[k] for k in ("fps", "body_names", "joint_names", "window_steps") if k in shard})
            out.append(clip)
    return out


def _assert_same_clips(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            np.testing.assert_array_equal(x[k], y[k], err_msg=k)
            assert np.asarray(x[k]).dtype == np.asarray(y[k]).dtype, k


def _digests(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("bound", [10**9, 500_000, 250_000, 1])
def test_round_trip_of_a_built_dataset_at_several_bounds(built_sample, tmp_path, bound):
    before = _digests(built_sample)
    out = tmp_path / "out"
    report = split_shards(built_sample, out, bound)
    assert _digests(built_sample) == before  # the input is untouched
    for split in ("train", "val"):
        _assert_same_clips(_clips(built_sample / split), _clips(out / split))
        shards = report.splits[split].shards
        assert [s.path for s in shards] == [f"{split}/{p.name}" for p in sorted((out / split).glob("*.npz"))]
        for s in shards:
            assert s.bytes == (out / s.path).stat().st_size
            assert s.bytes <= bound or s.clips == 1  # only a lone clip may exceed the bound
    if bound == 1:
        assert all(s.clips == 1 for info in report.splits.values() for s in info.shards)
    if bound == 10**9:  # nothing to re-pack: the same bytes come out
        for split in ("train", "val"):
            assert (out / split / "shard_000.npz").read_bytes() == (built_sample / split / "shard_000.npz").read_bytes()
    info = json.loads((out / "build_info.json").read_text())
    assert info["resharded"]["max_shard_bytes"] == bound
    assert [s["path"] for s in info["splits"]["train"]["shards"]] == [s.path for s in report.splits["train"].shards]
    for row in read_manifest(out / "manifest_resolved.csv"):
        shard = Shard(out / row.shard)
        assert str(shard["clip_ids"][row.clip_index]) == row.clip_id
        assert int(shard["clip_lengths"][row.clip_index]) == row.num_frames
    assert not list(tmp_path.glob(".out.partial-*"))


def _old_tool_shards(directory: Path, files: list[Path], per_shard: int, compressed: bool = False) -> None:
    """Shards in the layout the old train_mimic tool writes (np.savez, no ids, extra window keys)."""
    directory.mkdir()
    keys = ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w")
    save = np.savez_compressed if compressed else np.savez
    for n in range(0, len(files), per_shard):
        clips = [dict(np.load(f)) for f in files[n:n + per_shard]]
        lengths = np.array([len(c["joint_pos"]) for c in clips])
        save(
            directory / f"shard_{n // per_shard:03d}.npz",
            **{k: np.concatenate([c[k] for c in clips]) for k in keys},
            fps=np.int64(60), body_names=np.array([f"b{i}" for i in range(clips[0]["body_pos_w"].shape[1])]),
            clip_starts=np.concatenate([[0], np.cumsum(lengths)[:-1]]), clip_lengths=lengths,
            clip_fps=np.full(len(clips), 60.0), clip_weights=np.linspace(0.5, 2.0, len(clips)),
            clip_sample_starts=np.zeros(len(clips), dtype=np.int64), clip_sample_ends=lengths - 3,
            window_steps=np.array([0, 1, 2, -1, -2]),
        )


@pytest.mark.parametrize("compressed", [False, True])
def test_foreign_shards_keep_every_key(tmp_path, compressed):
    files = sorted(require_shared("data", "npz", "g1moves").glob("*.npz"))
    source = tmp_path / "old"
    _old_tool_shards(source, files, per_shard=2, compressed=compressed)
    one_clip = min(len(np.load(f)["joint_pos"]) for f in files) * 30 * 13 * 8  # about the smallest clip, float64
    for bound in (10**9, one_clip, 1):
        out = tmp_path / f"out{bound}"
        report = split_shards(source, out, bound)
        assert report.clips == len(files)
        _assert_same_clips(_clips(source), _clips(out))
        with np.load(next(out.glob("*.npz")), allow_pickle=False) as data:
            assert {"window_steps", "clip_sample_starts", "clip_sample_ends", "clip_weights"} <= set(data.files)
    assert len(report.splits["."].shards) == len(files)


def test_shards_that_disagree_are_refused_before_anything_is_written(tmp_path):
    files = sorted(require_shared("data", "npz", "g1moves").glob("*.npz"))[:2]
    source = tmp_path / "old"
    _old_tool_shards(source, files, per_shard=1)
    data = dict(np.load(source / "shard_001.npz"))
    np.savez(source / "shard_001.npz", **{**data, "fps": np.int64(50)})
    with pytest.raises(InputError) as err:
        split_shards(source, tmp_path / "out", 10**9)
    assert "shard_001.npz" in str(err.value) and "fps" in str(err.value)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_members_holding_python_objects_are_refused_unread(tmp_path, save):
    from mimicdata.errors import ShardError

    source = tmp_path / "in"
    source.mkdir()
    save(source / "shard_000.npz", joint_pos=np.zeros((4, 29), np.float32), clip_lengths=np.array([4]),
         clip_names=np.array([{"payload": 1}], dtype=object))
    with pytest.raises(ShardError, match="holds Python objects; refused"):
        split_shards(source, tmp_path / "out", 10**9)
    assert not (tmp_path / "out").exists()


def test_refuses_to_write_into_its_input_or_over_anything(built_sample, tmp_path):
    for target in (built_sample, built_sample / "train", built_sample / "new", built_sample.parent):
        with pytest.raises(InputError, match="output"):
            split_shards(built_sample, target, 10**9)
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        split_shards(built_sample / "train", occupied, 10**9)
    assert (occupied / "keep.txt").read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    split_shards(built_sample / "train", empty, 10**9)
    assert (empty / "shard_000.npz").is_file()


def test_a_failure_mid_way_leaves_no_output(built_sample, tmp_path, monkeypatch):
    import mimicdata.commands.split_shards as reshard

    real = reshard.write_members
    calls = []

    def failing(path, members):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(path, members)

    monkeypatch.setattr(reshard, "write_members", failing)
    with pytest.raises(OSError):
        split_shards(built_sample, tmp_path / "out", 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_killed_run_leaves_nothing_in_the_output_and_its_leftovers_are_cleared(built_sample, tmp_path):
    import subprocess
    import sys

    code = ("import os, sys\n"
            "import mimicdata.commands.split_shards as r\n"
            "real = r.write_members\n"
            "def dying(path, members):\n"
            "    real(path, members)\n"
            "    os._exit(9)  # killed after the first shard\n"
            "r.write_members = dying\n"
            "r.split_shards(r.Path(sys.argv[1]), r.Path(sys.argv[2]), 1)\n")
    run = subprocess.run([sys.executable, "-c", code, str(built_sample), str(tmp_path / "out")])
    assert run.returncode == 9
    assert not (tmp_path / "out").exists()
    assert len(list(tmp_path.glob(".out.partial-*"))) == 1
    split_shards(built_sample, tmp_path / "out", 1)
    assert (tmp_path / "out" / "manifest_resolved.csv").is_file()
    assert not list(tmp_path.glob(".out.partial-*"))


def test_cli_summary_and_exit_codes(built_sample, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["split-shards", "--input", str(built_sample / "train"), "--output",
                             str(tmp_path / "o"), "--max-size-mb", "0.5"])
    assert ok.exit_code == 0, ok.output
    train = json.loads((built_sample / "build_info.json").read_text())["splits"]["train"]
    assert f"{train['clips']} clips and {train['frames']} frames, verified" in ok.output
    again = runner.invoke(app, ["split-shards", "--input", str(built_sample / "train"), "--output", str(tmp_path / "o")])
    assert again.exit_code == 1 and "not empty" in again.output
    both = runner.invoke(app, ["split-shards", "--input", str(built_sample), "--output", str(tmp_path / "p"),
                               "--max-size-mb", "1", "--max-size-gb", "1"])
    assert both.exit_code == 2
