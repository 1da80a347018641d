"""Crash safety: kill -9 a real build at several points, run again, get the uninterrupted output; one build at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, require_shared
from mimicdata.build.dataset import BuildOptions, build_dataset
from mimicdata.errors import BuildError
from mimicdata.infra.lock import dataset_lock


def _outputs(dataset: Path) -> dict[str, bytes]:
    files = sorted(dataset.glob("*/shard_*.npz")) + [dataset / "manifest_resolved.csv"]
    return {str(p.relative_to(dataset)): p.read_bytes() for p in files}


def _bvh_spec(tmp_path: Path) -> Path:
    """Retargeting BVH takes about a second a clip: slow enough to kill a build between clips."""
    spec = {
        "name": "takes",
        "target_fps": 30,
        "val_percent": 30,
        "hash_salt": "kill-test",
        "sources": [
            {
                "name": "lafan",
                "type": "bvh",
                "bvh_format": "lafan1",
                "input": str(require_shared("data", "bvh", "lafan1_cuts")),
            },
            {"name": "cmu", "type": "bvh", "bvh_format": "cmu", "input": str(require_shared("data", "bvh", "cmu"))},
            {
                "name": "hc",
                "type": "bvh",
                "bvh_format": "hc_mocap",
                "input": str(require_shared("data", "bvh", "hc_mocap")),
            },
        ],
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _clip_entries(cache: Path) -> int:
    return len(list((cache / "clip").glob("*/*.json"))) if (cache / "clip").is_dir() else 0


def _start_build(spec: Path, root: Path, *extra: str) -> subprocess.Popen:
    command = ["build-dataset", "--spec", str(spec), "--output-root", str(root), "--skip-fk-check", *extra]
    return subprocess.Popen([sys.executable, "-m", "mimicdata.cli", *command],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_when(proc: subprocess.Popen, condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, "the build finished before the kill point"
        assert time.monotonic() < deadline, "kill point never reached"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_killed_builds_resume_to_the_uninterrupted_output(tmp_path):
    spec = _bvh_spec(tmp_path)
    reference = build_dataset(spec, BuildOptions(output_root=tmp_path / "reference", fk_check=False, use_cache=False))
    total = reference.cache.computed
    expected = _outputs(tmp_path / "reference" / "takes")

    root = tmp_path / "out"
    cache = root / ".cache"
    # Killed while starting up, after one clip, and after three.
    for point in (
        lambda: (root / ".takes.lock").exists(),
        lambda: _clip_entries(cache) >= 1,
        lambda: _clip_entries(cache) >= 3,
    ):
        _kill_when(_start_build(spec, root), point)
        assert not (root / "takes").exists()  # never a partial dataset
    finished = _clip_entries(cache)
    assert finished >= 3

    report = build_dataset(spec, BuildOptions(output_root=root, fk_check=False))
    assert report.cache.clips_from_cache == finished  # finished clips were not recomputed
    assert report.cache.computed == total - finished
    assert _outputs(root / "takes") == expected
    leftovers = [p for p in root.rglob("*") if ".tmp-" in p.name or ".staging-" in p.name or ".old-" in p.name]
    assert leftovers == []


def test_a_rebuild_killed_midway_leaves_the_previous_dataset_whole(tmp_path):
    spec = _bvh_spec(tmp_path)
    root = tmp_path / "out"
    build_dataset(spec, BuildOptions(output_root=root, fk_check=False, use_cache=False))
    before = _outputs(root / "takes")
    proc = _start_build(spec, root, "--cache-dir", str(tmp_path / "cold-cache"))
    _kill_when(proc, lambda: _clip_entries(tmp_path / "cold-cache") >= 2)
    assert _outputs(root / "takes") == before


def test_a_second_build_of_the_same_dataset_refuses_or_waits(tmp_path):
    spec = REPO / "specs" / "sample.yaml"
    root = tmp_path / "out"
    with dataset_lock(root, "sample"):
        with pytest.raises(BuildError, match=r"is being built by pid \d+ since .*--wait"):
            build_dataset(spec, BuildOptions(output_root=root, fk_check=False))
    assert not (root / "sample").exists()

    released = threading.Event()

    def hold() -> None:
        with dataset_lock(root, "sample"):
            held.set()
            time.sleep(0.5)
            released.set()

    held = threading.Event()
    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    build_dataset(spec, BuildOptions(output_root=root, fk_check=False, wait_for_lock=True))
    assert released.is_set()  # the build ran only after the holder let go
    holder.join()
    assert (root / "sample" / "build_info.json").is_file()


def test_no_worker_outlives_a_killed_build(tmp_path):
    psutil = pytest.importorskip("psutil")
    spec = _bvh_spec(tmp_path)
    proc = _start_build(spec, tmp_path / "out", "--jobs", "2", "--no-cache")
    deadline = time.monotonic() + 120
    workers: list = []
    while len(workers) < 2:
        assert proc.poll() is None, "the build finished before its workers were seen"
        assert time.monotonic() < deadline, "no workers started"
        workers = [p for p in psutil.Process(proc.pid).children(recursive=True) if "python" in p.name().lower()]
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"workers still running after the build was killed: {[p.pid for p in alive]}"
