"""One reader per source type: robot motion files give a RobotMotion, BVH a SkeletonMotion."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable

from ..errors import InputError
from ..motion import RobotMotion, SkeletonMotion
from ..robot import RobotModel
from .bvh import read_bvh
from .csv import read_csv
from .hdf5 import read_hdf5
from .npz import read_npz
from .pkl import read_pkl
from .seed_csv import read_seed_csv

Reader = Callable[..., RobotMotion | SkeletonMotion]

READERS: dict[str, Reader] = {
    "bvh": read_bvh,
    "pkl": read_pkl,
    "npz": read_npz,
    "seed_csv": read_seed_csv,
    "csv": read_csv,
    "hdf5": read_hdf5,
}

SUFFIXES: dict[str, tuple[str, ...]] = {
    "bvh": (".bvh",),
    "pkl": (".pkl",),
    "npz": (".npz",),
    "seed_csv": (".csv",),
    "csv": (".csv",),
    "hdf5": (".h5", ".hdf5"),
}


def reader_options(source_type: str) -> tuple[str, ...]:
    """The keyword options a source type accepts."""
    params = inspect.signature(READERS[source_type]).parameters.values()
    return tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)


def read_motion(
    source_type: str, path: Path, robot: RobotModel, **options: Any
) -> RobotMotion | SkeletonMotion:
    """Read one file of the given source type: robot motion in robot joint order, or a human skeleton."""
    path = Path(path)
    if source_type not in READERS:
        raise InputError(path, "type", f"unknown source type {source_type!r}; known types are {sorted(READERS)}")
    allowed = reader_options(source_type)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise InputError(
            path, ", ".join(unknown), f"not an option of source type {source_type!r}; it accepts {list(allowed)}"
        )
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(path, None, f"the file is empty; expected a {source_type} motion file")
    return READERS[source_type](path, robot, **options)


__all__ = ["READERS", "SUFFIXES", "read_motion", "reader_options"]
