"""One build at a time per dataset: an advisory lock file beside the dataset.

flock locks vanish with the process that held them, so a killed build never
leaves a dataset locked.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from .errors import BuildError


@contextmanager
def dataset_lock(output_root: Path, name: str, wait: bool = False) -> Iterator[Path]:
    """Hold the lock of `output_root/name` for the block; refuse (or wait, with `wait`) while another build holds it."""
    path = output_root / f".{name}.lock"
    try:
        output_root.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")
    except OSError as exc:
        raise BuildError(f"cannot write to output root {output_root}: {exc.strerror or exc}; nothing was built") from None
    with handle as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise BuildError(
                f"dataset {name!r} in {output_root} is being built by {holder}; "
                "wait for it to finish, or pass --wait to queue behind it"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {datetime.now(timezone.utc).isoformat(timespec='seconds')}")
        fh.flush()
        try:
            yield path
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
