"""SEED / BONES CSVs: a header row, root in cm and Euler degrees, joints in degrees, 120 fps."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..dataset.foreign import joint_columns
from ..errors import InputError
from ..geometry.rotations import euler_to_quat
from ..motion import RobotMotion
from ..robot import RobotModel
from ._common import Rate, fps_value, make_motion, parse_text_table, read_bytes, text_lines

SEED_FPS = 120.0
FRAME = "Frame"
TRANSLATE = ("root_translateX", "root_translateY", "root_translateZ")
ROTATE = ("root_rotateX", "root_rotateY", "root_rotateZ")
JOINT_SUFFIX = "_dof"


def read_seed_csv(path: Path, robot: RobotModel, *, fps: Rate | None = None) -> RobotMotion:
    path = Path(path)
    rate = SEED_FPS if fps is None else fps_value(path, "fps option", fps)
    lines = text_lines(path, read_bytes(path))
    if not lines:
        raise InputError(path, "header", "the file is empty; expected a header row")
    header = [h.strip() for h in lines[0].split(",")]
    missing = [c for c in (FRAME, *TRANSLATE, *ROTATE) if c not in header]
    if missing:
        raise InputError(path, "header", f"missing root columns {missing}; found {header[:8]}...")
    joint_cols = [i for i, h in enumerate(header) if h not in (FRAME, *TRANSLATE, *ROTATE)]
    unknown = [header[i] for i in joint_cols if not header[i].endswith(JOINT_SUFFIX)
               or header[i][: -len(JOINT_SUFFIX)] not in robot.joint_names]
    if unknown:
        raise InputError(path, "header", f"columns that are no joint of robot {robot.name}: {unknown}")
    names = [header[i][: -len(JOINT_SUFFIX)] for i in joint_cols]
    order = np.array(joint_cols)[joint_columns(path, "header", names, robot)]
    table = parse_text_table(path, lines[1:], header, first_line=2)
    col = header.index
    root_pos = table[:, [col(c) for c in TRANSLATE]] * 0.01
    # Lowercase 'xyz' is scipy's extrinsic convention, the one SEED writes.
    root_quat = euler_to_quat(table[:, [col(c) for c in ROTATE]], "xyz", degrees=True)
    return make_motion(path, robot, rate, root_pos, root_quat, np.deg2rad(table[:, order]))
