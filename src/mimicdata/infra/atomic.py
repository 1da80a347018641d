"""Every file mimicdata writes goes through here: temporary name, fsync, rename into place."""

from __future__ import annotations

import ctypes
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError


@contextmanager
def atomic_file(path: Path, tmp_dir: Path | None = None, durable: bool = True) -> Iterator[tuple[BinaryIO, Path]]:
    """Yield (binary file, its temporary path); on success the file replaces `path`, on error it vanishes.

    A reader therefore sees either the old file or the complete new one,
    never a half-written one, even if the process is killed. A kill -9 can
    leave the temporary behind: `tmp_dir` (same filesystem) gathers them
    where `sweep_temporaries` finds them. `durable=False` skips the fsync:
    for files that only matter while their build runs (staging clips) or
    that are checked when read back (cache entries), a killed process loses
    nothing, and only a power cut could.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if tmp_dir is not None:
        Path(tmp_dir).mkdir(parents=True, exist_ok=True)
    tmp = Path(tmp_dir or path.parent) / f".{path.name}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            yield fh, tmp
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_new_output(source: Path, output: Path, source_kind: str) -> None:
    """A command that reads `source` and writes the folder `output` never writes into what it reads, around it,
    or over anything: `output` must be outside `source`, not contain it, and be absent or empty."""
    src, dst = Path(source).resolve(), Path(output).resolve()
    if dst == src or src in dst.parents:
        raise InputError(output, "output", f"is inside the {source_kind} {source}; write it elsewhere")
    if dst in src.parents:
        raise InputError(output, "output", f"contains the {source_kind} {source}; write it elsewhere")
    if Path(output).exists() and (not Path(output).is_dir() or any(Path(output).iterdir())):
        raise InputError(output, "output", "already exists and is not empty; nothing is ever overwritten")


def flush_filesystem(path: Path) -> None:
    """Make everything written so far on `path`'s filesystem durable, with one call.

    Many small files written with `durable=False` and flushed together cost one
    journal commit instead of one each. Linux has syncfs(2); elsewhere sync(2).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(path, os.O_RDONLY)
        try:
            if libc.syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        pass
    os.sync()


def write_text_atomic(path: Path, text: str) -> None:
    with atomic_file(path) as (fh, _):
        fh.write(text.encode("utf-8"))


def process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # an earlier run of this very process, not a concurrent one
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_temporaries(directory: Path, pattern: str = ".*.tmp-*") -> int:
    """Delete what killed processes left in `directory` under names ending in `-<pid>`
    (temporary files, or staging directories with another `pattern`); returns how many."""
    removed = 0
    for leftover in Path(directory).glob(pattern):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not process_alive(int(pid)):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
            removed += 1
    return removed
