"""Where the per-clip work runs: local worker processes, or a Dask cluster's workers.

Local workers watch the process that started them and exit as soon as it is
gone, so a build killed with `kill -9` leaves no worker behind (joblib's
idle workers would otherwise linger for minutes, holding their memory).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from joblib import parallel_config

from ..errors import BuildError

PARENT_POLL_S = 0.2
IDLE_WORKER_TIMEOUT_S = 30


def _exit_with_parent(parent_pid: int) -> None:
    """Runs in each new worker: a daemon thread ends the worker once its parent has died."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)  # the build is gone: nothing this worker could still write is wanted
            time.sleep(PARENT_POLL_S)

    threading.Thread(target=watch, name="mimicdata-parent-watch", daemon=True).start()


@contextmanager
def workers(backend: str, jobs: int, scheduler: str | None = None, timeout_s: float = 30.0) -> Iterator[int]:
    """The n_jobs for joblib, inside the backend asked for ("local" processes or "dask")."""
    if backend == "local":
        jobs = max(1, int(jobs))
        if jobs == 1:
            yield 1
            return
        with parallel_config(
            backend="loky",
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
            idle_worker_timeout=IDLE_WORKER_TIMEOUT_S,
        ):
            yield jobs
        return
    if backend != "dask":
        raise BuildError(f"unknown backend {backend!r}; use 'local' or 'dask'")
    if not scheduler:
        raise BuildError("--backend dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    try:
        from distributed import Client
    except ImportError:
        raise BuildError("--backend dask needs dask.distributed: pip install 'mimicdata[dask]'") from None
    try:
        client = Client(scheduler, timeout=timeout_s)
    except (OSError, TimeoutError) as exc:
        raise BuildError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        with parallel_config(backend="dask"):
            yield -1  # every worker the cluster has
    finally:
        client.close()
