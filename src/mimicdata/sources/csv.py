"""Unitree LAFAN1-retarget CSVs: no header, root xyz + quaternion xyzw + joint angles (rad)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from ..geometry.rotations import xyzw_to_wxyz
from ..motion import MAX_FPS, RobotMotion
from ..robot import RobotModel
from ._common import fps_value, make_motion, parse_text_table, read_bytes, text_lines, unit_quats

ROOT_COLUMNS = ("x", "y", "z", "qx", "qy", "qz", "qw")

FPS_REQUIRED = "Unitree-layout CSV files store no frame rate"


def read_csv(
    path: Path, robot: RobotModel, *, fps: Annotated[float, Field(gt=0, le=MAX_FPS, description=FPS_REQUIRED)]
) -> RobotMotion:
    path = Path(path)
    # The files store no rate and Unitree's sets differ (30 vs 60 fps), so guessing would mistime clips.
    rate = fps_value(path, "fps option", fps)
    columns = ROOT_COLUMNS + tuple(robot.joint_names)
    hint = f" (layout: {' '.join(ROOT_COLUMNS)} + {robot.num_joints} joint angles, no header row)"
    table = parse_text_table(path, text_lines(path, read_bytes(path)), columns, hint=hint)
    quat = unit_quats(path, "qx qy qz qw", table[:, 3:7])
    return make_motion(path, robot, rate, table[:, 0:3], xyzw_to_wxyz(quat), table[:, 7:])
