"""Validation shared by the readers, so every format fails with the same kind of message."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field

from .. import kernels
from ..errors import InputError
from ..geometry.rotations import quat_normalize
from ..motion import MAX_FPS, RobotMotion
from ..robot import RobotModel

# A frame rate option as readers declare it; the spec validates source options against these declarations.
Rate = Annotated[float, Field(gt=0, le=MAX_FPS, description=f"frames per second, at most {MAX_FPS:g}")]


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(path, None, f"cannot read the file: {exc.strerror or exc}") from exc


def float_array(path: Path, field: str, value: Any, tail: tuple[int, ...], frames: int | None = None) -> np.ndarray:
    """A finite float64 array shaped (T, *tail); the message says which frame breaks it."""
    if not isinstance(value, np.ndarray):
        raise InputError(path, field, f"expected a numeric array, found {type(value).__name__}")
    if value.dtype.kind not in "iuf":
        raise InputError(path, field, f"expected a numeric array, found dtype {value.dtype}")
    want = ("T",) + tail
    if value.ndim != len(want) or tuple(value.shape[1:]) != tail:
        raise InputError(path, field, f"expected shape ({', '.join(map(str, want))}), found {value.shape}")
    if frames is not None and value.shape[0] != frames:
        raise InputError(path, field, f"has {value.shape[0]} frames, expected {frames} like the other arrays")
    if value.shape[0] == 0:
        raise InputError(path, field, "has no frames")
    out = value.astype(np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        where = np.argwhere(bad)[0]
        raise InputError(
            path, field, f"expected finite numbers, found {out[tuple(where)]} at index {tuple(int(i) for i in where)}"
        )
    return out


def fps_value(path: Path, field: str, value: Any) -> float:
    """fps from a Python number, numpy scalar or 1-element array of any numeric dtype."""
    arr = np.asarray(value) if not isinstance(value, (str, bytes)) else np.asarray(None)
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        raise InputError(path, field, f"expected one number, found {value!r}")
    fps = float(arr.reshape(()))
    if not (np.isfinite(fps) and 0.0 < fps <= MAX_FPS):
        raise InputError(path, field, f"expected a frame rate in (0, {MAX_FPS:g}] Hz, found {fps}")
    return fps


def resolve_fps(path: Path, stored: Any | None, option: Any | None, field: str = "fps") -> float:
    """The file's fps, or the fps option when the file has none; a disagreement is an error."""
    if stored is None and option is None:
        raise InputError(path, field, "no frame rate in the file and no fps option given")
    if stored is None:
        return fps_value(path, "fps option", option)
    fps = fps_value(path, field, stored)
    if option is not None:
        wanted = fps_value(path, "fps option", option)
        # A silent choice between two different rates would mistime the whole clip.
        if not np.isclose(fps, wanted, rtol=1e-9, atol=0.0):
            raise InputError(path, field, f"the file says {fps} fps but the fps option says {wanted}")
    return fps


# Rounding in text files and float32 exports stays far below this (real GMR pickles reach 0.024);
# a norm off by more is not a rotation: wrong columns, units or layout.
QUAT_NORM_TOLERANCE = 0.1


def unit_quats(path: Path, field: str, q: np.ndarray, max_error: float = QUAT_NORM_TOLERANCE) -> np.ndarray:
    """Normalised quaternions; a zero norm or one off unit by more than max_error fails."""
    norms = np.linalg.norm(q, axis=-1)
    tiny = norms < 1e-6
    if tiny.any():
        where = tuple(int(i) for i in np.argwhere(tiny)[0])
        raise InputError(path, field, f"expected unit quaternions, found norm {norms[where]:.3g} at index {where}")
    off = np.abs(norms - 1.0)
    if off.size and off.max() > max_error:
        where = tuple(int(i) for i in np.unravel_index(off.argmax(), off.shape))
        raise InputError(
            path,
            field,
            f"expected unit quaternions (|norm - 1| <= {max_error}), found norm {norms[where]:.6g} at index {where}",
        )
    return quat_normalize(q)


def make_motion(
    path: Path, robot: RobotModel, fps: float, root_pos: np.ndarray, root_quat: np.ndarray, joint_pos: np.ndarray
) -> RobotMotion:
    if joint_pos.shape[1] != robot.num_joints:
        raise InputError(
            path,
            "joint_pos",
            f"has {joint_pos.shape[1]} joint columns but robot {robot.name} has {robot.num_joints} joints",
        )
    return RobotMotion(
        fps=float(fps),
        root_pos=np.ascontiguousarray(root_pos, dtype=np.float64),
        root_quat=np.ascontiguousarray(root_quat, dtype=np.float64),
        joint_pos=np.ascontiguousarray(joint_pos, dtype=np.float64),
        joint_names=tuple(robot.joint_names),
    )


def text_lines(path: Path, data: bytes) -> list[str]:
    """Lines of a UTF-8 text file; splitlines() makes CRLF and LF files read alike."""
    try:
        return data.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(path, None, f"expected UTF-8 text, found an undecodable byte at offset {exc.start}") from exc


def _parse_clean_table(lines: Sequence[str], width: int) -> np.ndarray | None:
    """A compiled parser (then numpy's), for the common case of a well-formed table; None if anything is off."""
    if not lines or not lines[0].strip():
        return None
    table = kernels.parse_table("\n".join(lines).encode(), width, ",", len(lines))
    if table is not None and len(table):
        return table
    try:
        table = np.loadtxt(lines, delimiter=",", dtype=np.float64, ndmin=2, comments=None)
    except ValueError:
        return None
    if table.shape[1] != width or not np.isfinite(table).all():
        return None
    return table


def parse_text_table(
    path: Path, lines: Sequence[str], columns: Sequence[str], first_line: int = 1, hint: str = ""
) -> np.ndarray:
    """Comma-separated numeric lines -> (rows, len(columns)) finite float64.

    `first_line` is the file line number of lines[0], so messages point at the
    line an editor shows. Blank lines (a trailing newline) are skipped.
    """
    table = _parse_clean_table(lines, len(columns))
    if table is not None:
        return table
    # Something is wrong: the careful pass below says what, and where.
    rows: list[list[str]] = []
    linenos: list[int] = []
    for offset, line in enumerate(lines):
        if not line.strip():
            continue
        cells = line.split(",")
        lineno = first_line + offset
        if len(cells) != len(columns):
            raise InputError(path, "columns", f"line {lineno} has {len(cells)} columns, expected {len(columns)}{hint}")
        rows.append(cells)
        linenos.append(lineno)
    if not rows:
        raise InputError(path, None, "holds no data rows")
    try:
        table = np.array(rows, dtype=np.float64)
    except ValueError:
        table = None
    if table is None:
        # Slow path, only to name the offending cell.
        for cells, lineno in zip(rows, linenos):
            for col, (cell, name) in enumerate(zip(cells, columns)):
                try:
                    float(cell)
                except ValueError:
                    raise InputError(
                        path, name, f"line {lineno}, column {col + 1}: expected a number, found {cell.strip()!r}{hint}"
                    ) from None
        raise InputError(path, None, "could not parse the table as numbers")
    # NaN and inf parse as floats, so they are caught here with their line and column.
    bad = ~np.isfinite(table)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        found = rows[row][col].strip()
        raise InputError(
            path, columns[col], f"line {linenos[row]}, column {col + 1}: expected a finite number, found {found!r}"
        )
    return table
