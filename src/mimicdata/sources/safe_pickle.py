"""Unpickling that can only rebuild numpy arrays, numpy scalars and plain containers.

A pickle names the callables it wants invoked; refusing every name outside
this list in find_class stops a hostile file before any of its code runs.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

from ..errors import InputError
from ._common import read_bytes

# numpy moved its internals from numpy.core to numpy._core in 2.0; pickles
# written by either major version name one or the other.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        # Protocol 5 rebuilds contiguous arrays from a buffer instead.
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        # Protocols 0-2 store bytes (an array's raw data) as _codecs.encode(str, "latin1").
        ("_codecs", "encode"),
        # Sets have no opcode before protocol 4; Python 2 era pickles call the module __builtin__.
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("__builtin__", "set"),
        ("__builtin__", "frozenset"),
    }
)


class RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, path: Path) -> None:
        super().__init__(file)
        self._path = path

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in ALLOWED_GLOBALS:
            raise InputError(
                self._path,
                f"{module}.{name}",
                f"the pickle asks for the global {module}.{name}, which is refused: "
                "only numpy arrays, numpy scalars and plain containers may be unpickled",
            )
        return super().find_class(module, name)

    def persistent_load(self, pid: object) -> object:
        raise InputError(self._path, "persistent_id", "the pickle uses persistent ids, which are refused")


def load_pickle(path: Path) -> object:
    """The object in a pickle file, rebuilt without running anything but numpy constructors."""
    path = Path(path)
    data = read_bytes(path)
    try:
        return RestrictedUnpickler(io.BytesIO(data), path).load()
    except InputError:
        raise
    # Truncated or garbage input can fail with almost any exception type
    # (EOFError, UnpicklingError, ValueError, struct errors, ...).
    except Exception as exc:
        problem = f"not a readable pickle (truncated or corrupt?): {type(exc).__name__}: {exc}"
        raise InputError(path, None, problem) from exc
