"""--backend dask: a build on a LocalCluster over loopback writes the bytes a local build writes."""

from __future__ import annotations

import pytest

from conftest import REPO
from mimicdata.build.dataset import BuildOptions, build_dataset
from mimicdata.errors import BuildError

distributed = pytest.importorskip("distributed", reason="the dask backend needs dask.distributed (the test extra)")


def _outputs(dataset):
    files = sorted(dataset.glob("*/shard_*.npz")) + [dataset / "manifest_resolved.csv"]
    return {str(p.relative_to(dataset)): p.read_bytes() for p in files}


def test_dask_cluster_build_is_byte_identical_to_a_local_one(tmp_path):
    spec = REPO / "specs" / "sample.yaml"
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        report = build_dataset(
            spec,
            BuildOptions(
                output_root=tmp_path / "dask", fk_check=False, backend="dask", scheduler=cluster.scheduler_address
            ),
        )
    local = build_dataset(spec, BuildOptions(output_root=tmp_path / "local", fk_check=False, use_cache=False))
    assert report.cache.computed == local.cache.computed > 0  # the workers did the clips
    assert _outputs(tmp_path / "dask" / "sample") == _outputs(tmp_path / "local" / "sample")


def test_dask_backend_errors_are_clear(tmp_path):
    spec = REPO / "specs" / "sample.yaml"
    with pytest.raises(BuildError, match="needs --scheduler"):
        build_dataset(spec, BuildOptions(output_root=tmp_path, backend="dask"))
    with pytest.raises(BuildError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        build_dataset(
            spec,
            BuildOptions(output_root=tmp_path, backend="dask", scheduler="tcp://127.0.0.1:9", scheduler_timeout_s=1.0),
        )
    with pytest.raises(BuildError, match="unknown backend 'ray'"):
        build_dataset(spec, BuildOptions(output_root=tmp_path, backend="ray"))
    assert not (tmp_path / "sample").exists()


def test_a_worker_killed_mid_build_costs_only_its_clips_which_are_done_again(tmp_path):
    """kill -9 of one of two workers while both hold a take: the scheduler gives its take to the other, the
    build completes, and the dataset is the bytes a local build writes."""
    import os
    import signal
    import threading
    import time

    import yaml

    from conftest import require_shared

    takes = require_shared("data", "bvh", "lafan1")  # five long takes: seconds of retarget each
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump({"name": "kill", "target_fps": 30, "val_percent": 20, "hash_salt": "k",
                                         "sources": [{"name": "mocap", "type": "bvh", "input": str(takes)}]}))
    done: dict = {}
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:

        def build() -> None:
            done["report"] = build_dataset(spec_path, BuildOptions(
                output_root=tmp_path / "dask", fk_check=False, backend="dask", scheduler=cluster.scheduler_address))

        runner = threading.Thread(target=build)
        runner.start()
        # The kill lands on a worker that holds a take, in the middle of the build, not after it.
        deadline = time.monotonic() + 120
        busy: list = []
        while not busy and time.monotonic() < deadline and runner.is_alive():
            busy = [w.address for w in cluster.scheduler.workers.values() if w.processing]
            time.sleep(0.005)
        assert busy, "no worker ever held a take"
        victim = next(n for n in cluster.workers.values() if n.worker_address == busy[0])
        os.kill(victim.process.process.pid, signal.SIGKILL)
        assert runner.is_alive()  # its take is lost with it: the build cannot have ended
        runner.join(600)
    report = done["report"]
    local = build_dataset(spec_path, BuildOptions(output_root=tmp_path / "local", fk_check=False, use_cache=False))
    assert report.cache.computed == local.cache.computed == 5 and not report.rejected
    assert _outputs(tmp_path / "dask" / "kill") == _outputs(tmp_path / "local" / "kill")
