"""One reader per source type: robot motion files give a RobotMotion, BVH a SkeletonMotion."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, get_type_hints

from ..errors import InputError
from ..motion import RobotMotion, SkeletonMotion
from ..robot import RobotModel
from .bvh import read_bvh
from .csv import read_csv
from .hdf5 import read_hdf5
from .npz import read_npz
from .pkl import read_pkl
from .seed_csv import read_seed_csv
from .teleopit_hdf5 import clip_names as teleopit_clip_names
from .teleopit_hdf5 import read_teleopit_hdf5

Reader = Callable[..., RobotMotion | SkeletonMotion]

READERS: dict[str, Reader] = {
    "bvh": read_bvh,
    "pkl": read_pkl,
    "npz": read_npz,
    "seed_csv": read_seed_csv,
    "csv": read_csv,
    "hdf5": read_hdf5,
    "teleopit_hdf5": read_teleopit_hdf5,
}
# Source types whose files hold many clips: the names of a file's clips, in order. Their readers take the
# clip's index as a third positional argument (not an option of the spec).
CLIP_NAMES: dict[str, Callable[[Path], list[str]]] = {"teleopit_hdf5": teleopit_clip_names}

SUFFIXES: dict[str, tuple[str, ...]] = {
    "bvh": (".bvh",),
    "pkl": (".pkl",),
    "npz": (".npz",),
    "seed_csv": (".csv",),
    "csv": (".csv",),
    "hdf5": (".h5", ".hdf5"),
    "teleopit_hdf5": (".h5", ".hdf5"),
}


@cache
def reader_parameters(source_type: str) -> dict[str, tuple[Any, Any]]:
    """The options a source type's reader declares: name -> (annotation, default; ... when required).

    The reader's keyword-only parameters are the one declaration of what a
    source type takes; the spec builds each source type's fields from them.
    """
    reader = READERS[source_type]
    hints = get_type_hints(reader, include_extras=True)
    params = inspect.signature(reader).parameters.values()
    return {
        p.name: (hints[p.name], ... if p.default is inspect.Parameter.empty else p.default)
        for p in params
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def reader_options(source_type: str) -> tuple[str, ...]:
    """The keyword options a source type accepts."""
    return tuple(reader_parameters(source_type))


def read_motion(
    source_type: str, path: Path, robot: RobotModel, part: int | None = None, **options: Any
) -> RobotMotion | SkeletonMotion:
    """Read one file of the given source type: robot motion in robot joint order, or a human skeleton;
    `part` is the clip's index in a file that holds many (CLIP_NAMES)."""
    path = Path(path)
    if source_type not in READERS:
        raise InputError(path, "type", f"unknown source type {source_type!r}; known types are {sorted(READERS)}")
    allowed = reader_options(source_type)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise InputError(
            path, ", ".join(unknown), f"not an option of source type {source_type!r}; it accepts {list(allowed)}"
        )
    required = [n for n, (_, default) in reader_parameters(source_type).items() if default is ... and n not in options]
    if required:
        raise InputError(path, ", ".join(required), f"the {', '.join(required)} option is required for {source_type} files")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(path, None, f"the file is empty; expected a {source_type} motion file")
    if source_type in CLIP_NAMES:
        return READERS[source_type](path, robot, part or 0, **options)
    return READERS[source_type](path, robot, **options)


__all__ = ["CLIP_NAMES", "READERS", "SUFFIXES", "read_motion", "reader_options", "reader_parameters"]
