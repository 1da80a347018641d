"""One build at a time per dataset: an advisory lock file beside the dataset.

flock locks vanish with the process that held them, so a killed build never
leaves a dataset locked. The holder removes the file when it is done, so lock
files do not pile up; a waiter that then wakes on the removed file notices
(it is no longer the file at that path) and locks the new one instead.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from ..errors import BuildError


@contextmanager
def dataset_lock(output_root: Path, name: str, wait: bool = False) -> Iterator[Path]:
    """Hold the lock of `output_root/name` for the block; refuse (or wait, with `wait`) while another build holds it."""
    path = output_root / f".{name}.lock"
    while True:
        fh = _open(path, output_root)
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise BuildError(
                f"dataset {name!r} in {output_root} is being built by {holder}; "
                "wait for it to finish, or pass --wait to queue behind it"
            ) from None
        if _is_current(fh, path):
            break
        fh.close()  # the holder before us removed this file on its way out: lock the one at the path now
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {datetime.now(timezone.utc).isoformat(timespec='seconds')}")
        fh.flush()
        yield path
    finally:
        path.unlink(missing_ok=True)  # still holding the lock, so nobody else can own this file yet
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def _open(path: Path, output_root: Path):
    try:
        output_root.mkdir(parents=True, exist_ok=True)
        return open(path, "a+")
    except OSError as exc:
        raise BuildError(f"cannot write to output root {output_root}: {exc.strerror or exc}; nothing was built") from None


def _is_current(fh, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fh.fileno())
    return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)
