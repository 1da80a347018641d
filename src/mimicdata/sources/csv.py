"""Unitree LAFAN1-retarget CSVs: no header, root xyz + quaternion xyzw + joint angles (rad)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..motion import RobotMotion
from ..robot import RobotModel
from ..rotations import xyzw_to_wxyz
from ._common import fps_value, make_motion, parse_text_table, read_bytes, text_lines, unit_quats

ROOT_COLUMNS = ("x", "y", "z", "qx", "qy", "qz", "qw")


def read_csv(path: Path, robot: RobotModel, *, fps: float | None = None) -> RobotMotion:
    path = Path(path)
    # The files store no rate and Unitree's sets differ (30 vs 60 fps), so guessing would mistime clips.
    if fps is None:
        raise InputError(path, "fps", "this CSV layout stores no frame rate: the fps option is required")
    rate = fps_value(path, "fps option", fps)
    columns = ROOT_COLUMNS + tuple(robot.joint_names)
    hint = f" (layout: {' '.join(ROOT_COLUMNS)} + {robot.num_joints} joint angles, no header row)"
    table = parse_text_table(path, text_lines(path, read_bytes(path)), columns, hint=hint)
    quat = unit_quats(path, "qx qy qz qw", table[:, 3:7])
    return make_motion(path, robot, rate, table[:, 0:3], xyzw_to_wxyz(quat), table[:, 7:])
