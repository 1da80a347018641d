"""One robot recording per HDF5 file, at configurable dataset paths."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import InputError
from ..geometry.rotations import xyzw_to_wxyz
from ..motion import RobotMotion
from ..robot import RobotModel
from ._common import Rate, float_array, make_motion, resolve_fps, unit_quats

if TYPE_CHECKING:
    import h5py

QUAT_ORDERS = ("wxyz", "xyzw")


def read_hdf5(
    path: Path,
    robot: RobotModel,
    *,
    root_pos_key: str = "root_pos",
    root_quat_key: str = "root_quat",
    joint_pos_key: str = "joint_pos",
    quat_order: Literal["wxyz", "xyzw"] = "wxyz",
    fps: Rate | None = None,
) -> RobotMotion:
    import h5py  # here: every command reads the source registry, few read HDF5

    path = Path(path)
    if quat_order not in QUAT_ORDERS:
        raise InputError(path, "quat_order", f"expected one of {QUAT_ORDERS}, found {quat_order!r}")
    try:
        with h5py.File(path, "r") as f:
            raw = {key: _dataset(path, f, key) for key in (root_pos_key, root_quat_key, joint_pos_key)}
            stored_fps = f.attrs.get("fps")
    except OSError as exc:
        raise InputError(path, None, f"not a readable HDF5 file: {exc}") from exc
    root_pos = float_array(path, root_pos_key, raw[root_pos_key], (3,))
    T = root_pos.shape[0]
    quat = unit_quats(path, root_quat_key, float_array(path, root_quat_key, raw[root_quat_key], (4,), T))
    joint_pos = float_array(path, joint_pos_key, raw[joint_pos_key], (robot.num_joints,), T)
    rate = resolve_fps(path, stored_fps, fps, field="fps attribute")
    return make_motion(path, robot, rate, root_pos, quat if quat_order == "wxyz" else xyzw_to_wxyz(quat), joint_pos)


def _dataset(path: Path, f: h5py.File, key: str) -> np.ndarray:
    import h5py

    obj = f.get(key)
    if not isinstance(obj, h5py.Dataset):
        found: list[str] = []
        f.visititems(lambda name, o: found.append(name) if isinstance(o, h5py.Dataset) else None)
        what = "missing" if obj is None else f"a {type(obj).__name__}, not a dataset"
        raise InputError(path, key, f"dataset is {what}; the file's datasets are {found}")
    return np.asarray(obj[()])
