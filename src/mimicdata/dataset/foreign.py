"""The layouts of motion NPZ files other tools write, read in one place.

mjlab, BeyondMimic, holosoma and the old tool all store joint and body
arrays, but not in one layout: bodies may be unnamed (then in the robot's
order), MuJoCo's static `world` body may come first, the root pose may be
packed in front of `joint_pos` (MuJoCo's qpos), names may be missing. The
NPZ reader, check-fk and inspect-dataset all resolve a file through here, so
they agree on what every file means. Nothing here loads pickles.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..robot import RobotModel
from ..robot.order import BodyOrder, order

ROOT_WIDTH = 7  # xyz + wxyz, MuJoCo's free-joint qpos


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
    return names_of(path, key, arrays[key])


def names_of(path: Path, key: str, value: np.ndarray) -> list[str]:
    value = np.asarray(value)
    if value.ndim != 1 or value.dtype.kind not in "US":
        raise InputError(path, key, f"expected a 1-D array of strings, found {value.dtype} {value.shape}")
    return [v.decode() if isinstance(v, bytes) else str(v) for v in value.tolist()]


def is_world_body(pos: np.ndarray, quat: np.ndarray) -> bool:
    """Whether a body track is MuJoCo's static world frame: identity at the origin."""
    return bool(np.abs(pos).max() < 1e-9 and np.abs(np.abs(quat[:, 0]) - 1.0).max() < 1e-6)


def name_columns(
    path: Path, field: str, names: Sequence[str], wanted: Sequence[str], kind: str, robot_name: str
) -> np.ndarray:
    """Indices into the stored `names` giving `wanted` in its order: an order is never guessed."""
    names = [str(n) for n in names]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise InputError(path, field, f"duplicate {kind} names {dupes}")
    missing = [j for j in wanted if j not in names]
    if missing:
        plural = "bodies" if kind == "body" else f"{kind}s"
        raise InputError(path, field, f"{plural} of robot {robot_name} missing from the file: {missing}")
    return np.array([names.index(j) for j in wanted], dtype=np.int64)


def joint_columns(path: Path, field: str, names: Sequence[str], robot: RobotModel) -> np.ndarray:
    """Indices into `names` giving the robot's joints in robot order."""
    return name_columns(path, field, names, robot.joint_names, "joint", robot.name)


@dataclass(frozen=True)
class JointLayout:
    """How a stored joint_pos maps onto the robot's joints."""

    columns: np.ndarray  # indices into the stored joint axis (after the packed root) in robot order
    packed_root: bool  # the first 7 columns are the root's xyz + wxyz
    note: str | None = None  # set when an order had to be assumed


def joint_layout(
    path: Path, width: int, names: Sequence[str] | None, robot: RobotModel, assumed: BodyOrder = "mujoco"
) -> JointLayout:
    """Where the robot's joints are in a (T, width) joint_pos: by stored joint names, else in the `assumed`
    order (MuJoCo's depth-first, or IsaacLab's breadth-first: robot.order)."""
    J = robot.num_joints
    n_named = len(names) if names is not None else J
    if width not in (n_named, n_named + ROOT_WIDTH):
        raise InputError(
            path,
            "joint_pos",
            f"expected shape (T, {n_named}) or (T, {n_named + ROOT_WIDTH}) with the root packed in front, "
            f"found {width} columns",
        )
    packed = width == n_named + ROOT_WIDTH
    if names is not None:
        return JointLayout(joint_columns(path, "joint_names", names, robot), packed)
    note = f"{Path(path).name} has no joint_names: assumed {robot.name}'s joint order ({assumed})"
    return JointLayout(np.argsort(order(robot, assumed).joints), packed, note)


@dataclass(frozen=True)
class BodyLayout:
    """How a stored body axis maps onto the robot's bodies."""

    columns: np.ndarray  # stored index of each robot body, -1 where the file lacks it
    note: str | None = None

    def index(self, robot: RobotModel, body: str) -> int:
        return int(self.columns[robot.body_index(body)])

    def complete(self) -> bool:
        return bool((self.columns >= 0).all())


def body_layout(
    path: Path, num_bodies: int, names: Sequence[str] | None, robot: RobotModel,
    world_first: bool | None = None, assumed: BodyOrder = "mujoco",
) -> BodyLayout:
    """Where the robot's bodies are among `num_bodies` stored ones.

    With names, by name (bodies the file lacks are -1). Without, the robot's
    bodies in the `assumed` order (robot.order), after MuJoCo's world body when
    there is one more body than the robot has and `world_first` (the caller
    tests body 0 with is_world_body).
    """
    B = len(robot.body_names)
    if names is not None:
        names = [str(n) for n in names]
        if len(names) != num_bodies:
            raise InputError(path, "body_names", f"has {len(names)} names for {num_bodies} stored bodies")
        if len(set(names)) != len(names):
            raise InputError(path, "body_names", f"duplicate body names {sorted({n for n in names if names.count(n) > 1})}")
        return BodyLayout(np.array([names.index(b) if b in names else -1 for b in robot.body_names], dtype=np.int64))
    columns = np.argsort(order(robot, assumed).bodies)
    if num_bodies == B:
        return BodyLayout(columns)
    if num_bodies == B + 1 and world_first:
        return BodyLayout(columns + 1)  # MuJoCo's world body in front
    raise InputError(
        path,
        "body_pos_w",
        f"has {num_bodies} bodies and no body_names; expected {B} in robot {robot.name}'s order "
        f"or {B + 1} with an identity 'world' body first",
    )


def require_bodies(path: Path, layout: BodyLayout, robot: RobotModel, wanted: Sequence[str] | None = None) -> None:
    """Fail naming the robot bodies (all, or `wanted`) the file does not store."""
    wanted = list(robot.body_names if wanted is None else wanted)
    missing = [b for b in wanted if layout.columns[robot.body_index(b)] < 0]
    if missing:
        raise InputError(path, "body_names", f"bodies of robot {robot.name} missing from the file: {missing}")
