"""GMR retarget pickles: a dict of fps, root_pos, root_rot (xyzw) and dof_pos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..geometry.rotations import xyzw_to_wxyz
from ..motion import RobotMotion
from ..robot import RobotModel
from ._common import Rate, float_array, make_motion, resolve_fps, unit_quats
from .safe_pickle import load_pickle

REQUIRED = ("root_pos", "root_rot", "dof_pos")


def read_pkl(path: Path, robot: RobotModel, *, fps: Rate | None = None) -> RobotMotion:
    path = Path(path)
    data = load_pickle(path)
    if not isinstance(data, dict):
        raise InputError(path, None, f"expected a dict of arrays (GMR layout), found {type(data).__name__}")
    missing = [k for k in (*REQUIRED, *(() if fps is not None else ("fps",))) if k not in data]
    if missing:
        raise InputError(path, ", ".join(missing), f"missing keys {missing}; the file has {sorted(map(str, data))}")
    _check_robot(path, data, robot)
    root_pos = float_array(path, "root_pos", data["root_pos"], (3,))
    T = root_pos.shape[0]
    # GMR stores non-unit root quaternions (norms around 0.98 in real files), so
    # only degenerate ones are refused.
    root_rot = unit_quats(path, "root_rot", float_array(path, "root_rot", data["root_rot"], (4,), T))
    dof_pos = float_array(path, "dof_pos", data["dof_pos"], (robot.num_joints,), T)
    rate = resolve_fps(path, data.get("fps"), fps)
    return make_motion(path, robot, rate, root_pos, xyzw_to_wxyz(root_rot), dof_pos)


def _check_robot(path: Path, data: dict[str, Any], robot: RobotModel) -> None:
    """Refuse pickles retargeted to another robot instead of misreading their columns."""
    dof = data["dof_pos"]
    if isinstance(dof, np.ndarray) and dof.ndim == 2 and dof.shape[1] != robot.num_joints:
        raise InputError(
            path,
            "dof_pos",
            f"dof_pos has {dof.shape[1]} columns but robot {robot.name} has {robot.num_joints} joints: "
            "this pickle is for another robot",
        )
    links = data.get("link_body_list")
    if links is None:
        return
    if not isinstance(links, (list, tuple)) or not all(isinstance(n, str) for n in links):
        raise InputError(path, "link_body_list", f"expected a list of body names, found {type(links).__name__}")
    # Variants of one robot add or rename a few links (GMR's G1 has 38 bodies);
    # another robot shares almost none of its names.
    known = [b for b in robot.body_names if b in links]
    if robot.root_body not in links or len(known) < len(robot.body_names) / 2:
        raise InputError(
            path,
            "link_body_list",
            f"only {len(known)} of robot {robot.name}'s {len(robot.body_names)} bodies appear in "
            f"link_body_list {list(links)[:8]}...: this pickle is for another robot",
        )
