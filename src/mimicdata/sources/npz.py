"""mjlab / BeyondMimic NPZ clips (and mimicdata's own), read without pickle."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..dataset.foreign import body_layout, is_world_body, joint_layout, load_arrays, stored_names
from ..errors import InputError
from ..motion import RobotMotion
from ..robot import RobotModel
from ..robot.order import BodyOrder
from ._common import Rate, float_array, make_motion, resolve_fps, unit_quats

# Stored quaternions are written normalised; a larger error means a wrong
# layout (xyz + something) rather than rounding.
QUAT_TOLERANCE = 1e-2
# MuJoCo's qpos root is the pelvis pose itself; packed and body roots must agree.
ROOT_AGREEMENT_M = 1e-3


def read_npz(path: Path, robot: RobotModel, *, fps: Rate | None = None, body_order: BodyOrder = "mujoco") -> RobotMotion:
    """A clip; stored joint and body names decide the order, else `body_order` (mujoco: depth-first, as mjlab
    writes; isaaclab: breadth-first, as IsaacLab-based trackers write)."""
    path = Path(path)
    arrays = load_arrays(path)
    if "joint_pos" not in arrays:
        raise InputError(path, "joint_pos", f"missing; the file has {sorted(arrays)}")
    raw = arrays["joint_pos"]
    if raw.ndim != 2:
        raise InputError(path, "joint_pos", f"expected a (T, joints) array, found shape {raw.shape}")
    layout = joint_layout(path, raw.shape[1], stored_names(path, arrays, "joint_names"), robot, body_order)
    joint_pos = float_array(path, "joint_pos", raw, (raw.shape[1],))
    T = joint_pos.shape[0]
    joints = (joint_pos[:, 7:] if layout.packed_root else joint_pos)[:, layout.columns]

    root = _body_root(path, arrays, robot, T, body_order)
    if layout.packed_root:
        packed_pos = joint_pos[:, :3]
        packed_quat = unit_quats(path, "joint_pos", joint_pos[:, 3:7], QUAT_TOLERANCE)
        if root is None:
            root = packed_pos, packed_quat
        else:
            _check_same_root(path, root, (packed_pos, packed_quat))
    if root is None:
        raise InputError(path, "body_pos_w", "no root pose: expected body_pos_w/body_quat_w or a (T, 7+J) joint_pos")
    rate = resolve_fps(path, arrays.get("fps"), fps)
    return make_motion(path, robot, rate, root[0], root[1], joints)


def _body_root(
    path: Path, arrays: dict[str, np.ndarray], robot: RobotModel, T: int, assumed: BodyOrder
) -> tuple[np.ndarray, np.ndarray] | None:
    """The root body's world pose from body_pos_w/body_quat_w, or None without body arrays."""
    have = [k for k in ("body_pos_w", "body_quat_w") if k in arrays]
    if not have:
        return None
    if len(have) == 1:
        absent = "body_quat_w" if have == ["body_pos_w"] else "body_pos_w"
        raise InputError(path, absent, f"missing while {have[0]} is present")
    pos = arrays["body_pos_w"]
    if pos.ndim != 3:
        raise InputError(path, "body_pos_w", f"expected shape (T, B, 3), found {pos.shape}")
    B = pos.shape[1]
    body_pos = float_array(path, "body_pos_w", pos, (B, 3), T)
    quat = float_array(path, "body_quat_w", arrays["body_quat_w"], (B, 4), T)
    body_quat = unit_quats(path, "body_quat_w", quat, QUAT_TOLERANCE)
    names = stored_names(path, arrays, "body_names")
    world = B > 0 and is_world_body(body_pos[:, 0], body_quat[:, 0])
    layout = body_layout(path, B, names, robot, world_first=world, assumed=assumed)
    index = layout.index(robot, robot.root_body)
    if index < 0:
        raise InputError(path, "body_names", f"root body {robot.root_body!r} of robot {robot.name} is not among {names}")
    return body_pos[:, index], body_quat[:, index]


def _check_same_root(path: Path, body: tuple[np.ndarray, np.ndarray], packed: tuple[np.ndarray, np.ndarray]) -> None:
    gap = np.linalg.norm(body[0] - packed[0], axis=-1).max()
    turn = 1.0 - np.abs(np.sum(body[1] * packed[1], axis=-1)).min()
    if gap > ROOT_AGREEMENT_M or turn > 1e-6:
        raise InputError(
            path,
            "joint_pos",
            f"the root packed in joint_pos[:, :7] (xyz + wxyz) differs from the root body in body_pos_w/body_quat_w "
            f"(by up to {gap:.3g} m, 1-|dot| {turn:.3g}); the file's layout is not the expected one",
        )
