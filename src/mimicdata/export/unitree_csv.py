"""Unitree's CSV layout, one file per clip: the input of mjlab's, holosoma's and ProtoMotions' own converters.

No header; each row is the root position x y z (m), the root quaternion qx qy qz qw (xyzw: Unitree's
order, not mimicdata's wxyz), then the joint angles (rad) in the export's joint order. The rate is not
stored: it is the export's (--fps), which the reading side must be told. Values are printed with nine
significant digits, enough to give every stored float32 back exactly.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..geometry.rotations import wxyz_to_xyzw
from ..infra.atomic import atomic_file
from .clips import ExportClip


class UnitreeCsvWriter:
    def __init__(self, out: Path) -> None:
        self.out = out

    def add(self, clip: ExportClip) -> Path:
        rows = np.concatenate([clip.root_pos, wxyz_to_xyzw(clip.root_quat), clip.joint_pos], axis=1)
        text = io.StringIO()
        np.savetxt(text, rows.astype(np.float32), fmt="%.9g", delimiter=",")
        path = self.out / clip.split / f"{clip.file_stem()}.csv"
        with atomic_file(path, durable=False) as (fh, _):
            fh.write(text.getvalue().encode())
        return path

    def finish(self) -> None:
        """Every file is complete when written."""
