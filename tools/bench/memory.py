"""This process's memory as /proc/self/status reports it, in MiB (Linux)."""

from __future__ import annotations

from pathlib import Path


def status_mb(field: str) -> float:
    """VmRSS (now), VmHWM (peak; unlike ru_maxrss it does not carry a parent's peak across exec),
    RssAnon (private memory) or RssFile (mapped file pages, which the kernel can drop)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024.0
    raise KeyError(f"/proc/self/status has no {field}")
