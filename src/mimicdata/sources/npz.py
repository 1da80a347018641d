"""mjlab / BeyondMimic NPZ clips (and mimicdata's own), read without pickle."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..motion import RobotMotion
from ..robot import RobotModel
from ._common import float_array, joint_columns, make_motion, resolve_fps, unit_quats

# Stored quaternions are written normalised; a larger error means a wrong
# layout (xyz + something) rather than rounding.
QUAT_TOLERANCE = 1e-2
# MuJoCo's qpos root is the pelvis pose itself; packed and body roots must agree.
ROOT_AGREEMENT_M = 1e-3


def read_npz(path: Path, robot: RobotModel, *, fps: float | None = None) -> RobotMotion:
    path = Path(path)
    arrays = load_arrays(path)
    J = robot.num_joints
    if "joint_pos" not in arrays:
        raise InputError(path, "joint_pos", f"missing; the file has {sorted(arrays)}")
    raw = arrays["joint_pos"]
    names = stored_names(path, arrays, "joint_names")
    width = raw.shape[1] if raw.ndim == 2 else -1
    n_named = len(names) if names is not None else J
    if width not in (n_named, n_named + 7):
        raise InputError(
            path,
            "joint_pos",
            f"expected shape (T, {n_named}) or (T, {n_named + 7}) with the root packed in front, found {raw.shape}",
        )
    joint_pos = float_array(path, "joint_pos", raw, (width,))
    T = joint_pos.shape[0]
    packed = width == n_named + 7
    joints = joint_pos[:, 7:] if packed else joint_pos
    if names is not None:
        joints = joints[:, joint_columns(path, "joint_names", names, robot)]

    root = _body_root(path, arrays, robot, T)
    if packed:
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


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz, pickle refused, each failure named by file and key."""
    try:
        npz = np.load(path, allow_pickle=False)
    except OSError as exc:
        raise InputError(path, None, f"cannot read the file: {exc}") from exc
    except (ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(path, None, f"not a readable .npz archive (pickle is refused): {exc}") from exc
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise InputError(path, None, "expected a .npz archive of named arrays, found a single .npy array")
    out: dict[str, np.ndarray] = {}
    with npz:
        for key in npz.files:
            try:
                out[key] = npz[key]
            except ValueError as exc:
                if "allow_pickle" in str(exc):
                    raise InputError(
                        path, key, "is an object array, which needs pickle to load; pickle is refused for .npz files"
                    ) from exc
                raise InputError(path, key, f"unreadable array: {exc}") from exc
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                raise InputError(path, key, f"unreadable array (truncated archive?): {exc}") from exc
    return out


def stored_names(path: Path, arrays: dict[str, np.ndarray], key: str) -> list[str] | None:
    """A 1-D string array as a list, None when absent."""
    if key not in arrays:
        return None
    value = arrays[key]
    if value.ndim != 1 or value.dtype.kind not in "US":
        raise InputError(path, key, f"expected a 1-D array of strings, found {value.dtype} {value.shape}")
    return [v.decode() if isinstance(v, bytes) else str(v) for v in value.tolist()]


def _body_root(
    path: Path, arrays: dict[str, np.ndarray], robot: RobotModel, T: int
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
    n = len(robot.body_names)
    if names is not None:
        if len(names) != B:
            raise InputError(path, "body_names", f"has {len(names)} names for {B} bodies in body_pos_w")
        if robot.root_body not in names:
            raise InputError(
                path, "body_names", f"root body {robot.root_body!r} of robot {robot.name} is not among {names}"
            )
        index = names.index(robot.root_body)
    elif B == n:
        index = robot.body_index(robot.root_body)
    elif B == n + 1 and is_world_body(body_pos[:, 0], body_quat[:, 0]):
        # MuJoCo exports can keep body 0, the static world frame, in front.
        index = robot.body_index(robot.root_body) + 1
    else:
        raise InputError(
            path,
            "body_pos_w",
            f"has {B} bodies and no body_names; expected {n} in robot {robot.name}'s order "
            f"or {n + 1} with an identity 'world' body first",
        )
    return body_pos[:, index], body_quat[:, index]


def is_world_body(pos: np.ndarray, quat: np.ndarray) -> bool:
    """Whether a body track is MuJoCo's static world frame: identity at the origin."""
    return bool(np.abs(pos).max() < 1e-9 and np.abs(np.abs(quat[:, 0]) - 1.0).max() < 1e-6)


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
