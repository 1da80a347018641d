"""This process's memory as /proc/self/status reports it, in MiB (Linux)."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from pathlib import Path
from typing import Any


def status_mb(field: str) -> float:
    """VmRSS (now), VmHWM (peak; unlike ru_maxrss it does not carry a parent's peak across exec),
    RssAnon (private memory) or RssFile (mapped file pages, which the kernel can drop)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024.0
    raise KeyError(f"/proc/self/status has no {field}")


def run_in_child(target: Callable[..., None], *args: Any) -> Any:
    """Run target(*args, queue) in a fresh spawned process and return what it puts on the queue,
    so each measured peak belongs to that run alone."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result
