"""FK consistency: stored body poses against MuJoCo's kinematics of the same robot.

MuJoCo is a different engine from the one that wrote the poses (mimicdata's
own batched FK, or whatever produced a foreign clip), so agreement means the
stored root, joint angles, joint order and body order all fit together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import mujoco
import numpy as np

from .errors import InputError, RobotModelError
from .robot import RobotModel, load_robot
from .rotations import angular_velocity, quat_angle_between, quat_normalize
from .shards import Shard, is_shard
from .sources._common import fps_value, joint_columns, name_columns
from .sources.npz import is_world_body, load_arrays, stored_names

# Velocity limits sit far above differencing noise (mimicdata's own clips: 0;
# mjlab-style exports: 0.003-0.4 m/s and 0.01-1.5 rad/s at p95) and well below
# what zeroed, mislabelled-fps or misordered velocities give (about 1.5 and 8).
DEFAULT_THRESHOLDS = {"pos_max": 1e-3, "rot_mean": 0.05, "rot_p95": 0.10, "lin_vel_p95": 0.5, "ang_vel_p95": 2.0}


class MujocoReference:
    """A robot compiled by MuJoCo, with its bodies and joints matched to a RobotModel by name."""

    def __init__(self, robot: RobotModel, model_path: Path | None = None) -> None:
        path = Path(model_path or robot.model_path)
        self.model = compile_mujoco(path)
        try:
            self._bodies = np.array([self.model.body(n).id for n in robot.body_names])
            self._qpos = np.array([self.model.jnt_qposadr[self.model.joint(n).id] for n in robot.joint_names])
        except KeyError as exc:
            raise RobotModelError(f"{path}: MuJoCo's model lacks {exc} of robot {robot.name!r}") from None
        self._data = mujoco.MjData(self.model)

    def poses(self, root_pos: np.ndarray, root_quat: np.ndarray, joint_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T, B, 3) positions and (T, B, 4) wxyz orientations, one mj_kinematics per frame."""
        data = self._data
        T = root_pos.shape[0]
        pos = np.empty((T, len(self._bodies), 3))
        quat = np.empty((T, len(self._bodies), 4))
        for t in range(T):
            data.qpos[:3] = root_pos[t]
            data.qpos[3:7] = root_quat[t]
            data.qpos[self._qpos] = joint_pos[t]
            mujoco.mj_kinematics(self.model, data)
            pos[t] = data.xpos[self._bodies]
            quat[t] = data.xquat[self._bodies]
        return pos, quat


def compile_mujoco(path: Path) -> mujoco.MjModel:
    """A floating-base MuJoCo model of a URDF (a free joint added) or of an MJCF, meshes stripped."""
    if not path.is_file():
        raise RobotModelError(f"{path}: robot description not found")
    try:
        if path.suffix.lower() == ".urdf":
            spec = mujoco.MjSpec.from_file(str(path))
            spec.worldbody.bodies[0].add_freejoint()
            return spec.compile()
        # Kinematics need no meshes; dropping them lets a model load without its assets.
        xml = path.read_text()
        xml = re.sub(r"<mesh\b[^>]*/>", "", xml)
        xml = re.sub(r"<geom\b[^>]*\bmesh=\"[^\"]*\"[^>]*/>", "", xml)
        return mujoco.MjModel.from_xml_string(xml)
    except (ValueError, RuntimeError) as exc:
        raise RobotModelError(f"{path}: MuJoCo could not compile it: {exc}") from exc


@dataclass
class FkCheck:
    """How far one clip's stored poses and velocities are from what its joints imply."""

    frames_checked: int
    pos_mean: float
    pos_p95: float
    pos_max: float
    rot_mean: float
    rot_p95: float
    rot_max: float
    lin_vel_p95: float | None  # m/s, stored body velocity minus finite differences of the stored positions
    ang_vel_p95: float | None  # rad/s, the same for angular velocity and the stored orientations
    quat_norm_max: float  # largest | |q| - 1 | of the stored body quaternions
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def check_poses(
    reference: MujocoReference,
    fps: float,
    joint_pos: np.ndarray,
    body_pos: np.ndarray,
    body_quat: np.ndarray,
    *,
    body_lin_vel: np.ndarray | None = None,
    body_ang_vel: np.ndarray | None = None,
    root_body: int = 0,
    frames: int | None = None,
    thresholds: dict[str, float] | None = None,
) -> FkCheck:
    """Compare stored body poses with MuJoCo's from the stored root and joint angles.

    `frames` checks that many evenly spaced frames instead of all of them;
    velocities, which need neighbours, are always checked on every frame.
    """
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    arrays = {"joint_pos": joint_pos, "body_pos_w": body_pos, "body_quat_w": body_quat,
              "body_lin_vel_w": body_lin_vel, "body_ang_vel_w": body_ang_vel}
    problems = [f"{k} holds NaN or Inf" for k, v in arrays.items() if v is not None and not np.isfinite(v).all()]
    norm_err = float(np.abs(np.linalg.norm(body_quat, axis=-1) - 1.0).max()) if body_quat.size else 0.0
    if norm_err > 1e-3:
        problems.append(f"body_quat_w is not unit length (off by up to {norm_err:.2e})")
    T = joint_pos.shape[0]
    idx = np.arange(T) if frames is None or frames >= T else np.unique(np.linspace(0, T - 1, frames).round().astype(int))
    root_quat = quat_normalize(body_quat[idx, root_body])
    pos, quat = reference.poses(body_pos[idx, root_body], root_quat, joint_pos[idx])
    pos_err = np.linalg.norm(pos - body_pos[idx], axis=-1).ravel()
    rot_err = quat_angle_between(quat, body_quat[idx]).ravel()
    dt = 1.0 / fps
    lin = _velocity_p95("body_lin_vel_w", body_lin_vel, lambda: np.gradient(body_pos, dt, axis=0), "m/s",
                        limits["lin_vel_p95"], problems)
    ang = _velocity_p95("body_ang_vel_w", body_ang_vel, lambda: angular_velocity(body_quat, dt), "rad/s",
                        limits["ang_vel_p95"], problems)
    result = FkCheck(
        frames_checked=len(idx),
        pos_mean=float(pos_err.mean()),
        pos_p95=float(np.percentile(pos_err, 95)),
        pos_max=float(pos_err.max()),
        rot_mean=float(rot_err.mean()),
        rot_p95=float(np.percentile(rot_err, 95)),
        rot_max=float(rot_err.max()),
        lin_vel_p95=lin,
        ang_vel_p95=ang,
        quat_norm_max=norm_err,
        problems=problems,
    )
    if result.pos_max >= limits["pos_max"]:
        problems.append(f"body positions differ from MuJoCo's by up to {result.pos_max:.4f} m (limit {limits['pos_max']})")
    if result.rot_mean >= limits["rot_mean"]:
        problems.append(f"body orientations differ by {result.rot_mean:.3f} rad on average (limit {limits['rot_mean']})")
    if result.rot_p95 >= limits["rot_p95"]:
        problems.append(f"body orientations differ by {result.rot_p95:.3f} rad at p95 (limit {limits['rot_p95']})")
    return result


def _velocity_p95(
    name: str, stored: np.ndarray | None, differenced, unit: str, limit: float, problems: list[str]
) -> float | None:
    """p95 of |stored - finite difference| over inner frames and bodies (end frames use one-sided stencils)."""
    if stored is None or stored.shape[0] < 3:
        return None
    expected = differenced()[1:-1]
    p95 = float(np.percentile(np.linalg.norm(stored[1:-1] - expected, axis=-1), 95))
    moving = float(np.percentile(np.linalg.norm(expected, axis=-1), 95))
    if moving > 0.05 and not np.abs(stored).max() > 0:
        problems.append(f"{name} is all zeros while the bodies move ({moving:.2f} {unit} at p95)")
    elif p95 >= limit:
        problems.append(f"{name} differs from finite differences of the stored poses by {p95:.3f} {unit} at p95 (limit {limit})")
    return p95


@dataclass
class StoredClip:
    """One clip's stored arrays, in the robot's joint and body order."""

    clip_id: str
    fps: float
    joint_pos: np.ndarray
    body_pos: np.ndarray
    body_quat: np.ndarray
    body_lin_vel: np.ndarray | None
    body_ang_vel: np.ndarray | None


def stored_clips(path: Path, robot: RobotModel, clip: int | None = None) -> Iterator[StoredClip]:
    """Every clip of a clip file, shard, foreign NPZ, or directory of them (a dataset, say)."""
    path = Path(path)
    if (path / "build_info.json").is_file():
        # A dataset: its shards hold every clip; clips/ would repeat them.
        files = [p for split in ("train", "val") for p in sorted((path / split).glob("shard_*.npz"))]
    elif path.is_dir():
        files = sorted(p for p in path.rglob("*.npz") if not p.name.startswith("."))
        if not files:
            raise InputError(path, None, "holds no .npz files")
    elif path.is_file():
        files = [path]
    else:
        raise InputError(path, None, "not found")
    for file in files:
        if is_shard(file):
            yield from _shard_clips(file, robot, clip)
        else:
            if clip not in (None, 0):
                raise InputError(file, "clip", f"a single-clip file has no clip {clip}")
            yield foreign_clip(file, robot)


def _shard_clips(path: Path, robot: RobotModel, clip: int | None) -> Iterator[StoredClip]:
    shard = Shard(path)
    joints = joint_columns(path, "joint_names", shard["joint_names"], robot)
    bodies = name_columns(path, "body_names", shard["body_names"], robot.body_names, "body", robot.name)
    ids = [str(i) for i in shard["clip_ids"]]
    indices = range(shard.num_clips) if clip is None else [clip]
    for i in indices:
        if not 0 <= i < shard.num_clips:
            raise InputError(path, "clip", f"has clips 0..{shard.num_clips - 1}, not {i}")
        arrays = shard.clip(i)
        yield StoredClip(
            clip_id=ids[i],
            fps=float(shard["clip_fps"][i]),
            joint_pos=np.asarray(arrays["joint_pos"], dtype=float)[:, joints],
            body_pos=np.asarray(arrays["body_pos_w"], dtype=float)[:, bodies],
            body_quat=np.asarray(arrays["body_quat_w"], dtype=float)[:, bodies],
            body_lin_vel=np.asarray(arrays["body_lin_vel_w"], dtype=float)[:, bodies],
            body_ang_vel=np.asarray(arrays["body_ang_vel_w"], dtype=float)[:, bodies],
        )


def foreign_clip(path: Path, robot: RobotModel) -> StoredClip:
    arrays = load_arrays(path)
    for key in ("fps", "joint_pos", "body_pos_w", "body_quat_w"):
        if key not in arrays:
            raise InputError(path, key, f"missing; the file has {sorted(arrays)}")
    fps = fps_value(path, "fps", arrays["fps"])
    joint_pos = np.asarray(arrays["joint_pos"], dtype=float)
    J = robot.num_joints
    if joint_pos.ndim == 2 and joint_pos.shape[1] == J + 7:
        joint_pos = joint_pos[:, 7:]  # root position and wxyz quaternion packed in front
    joint_names = stored_names(path, arrays, "joint_names")
    if joint_names is not None:
        joint_pos = joint_pos[:, joint_columns(path, "joint_names", joint_names, robot)]
    elif joint_pos.ndim != 2 or joint_pos.shape[1] != J:
        raise InputError(path, "joint_pos", f"expected (T, {J}) or (T, {J + 7}), found {joint_pos.shape}")
    body_pos = np.asarray(arrays["body_pos_w"], dtype=float)
    body_quat = np.asarray(arrays["body_quat_w"], dtype=float)
    lin_vel, ang_vel = (
        np.asarray(arrays[k], dtype=float) if k in arrays else None for k in ("body_lin_vel_w", "body_ang_vel_w")
    )
    B = len(robot.body_names)
    body_names = stored_names(path, arrays, "body_names")
    if body_names is not None:
        bodies = name_columns(path, "body_names", body_names, robot.body_names, "body", robot.name)
    elif body_pos.shape[1] == B:
        bodies = np.arange(B)
    elif body_pos.shape[1] == B + 1 and is_world_body(body_pos[:, 0], body_quat[:, 0]):
        bodies = np.arange(1, B + 1)  # MuJoCo's world body in front
    else:
        raise InputError(
            path, "body_pos_w",
            f"has {body_pos.shape[1]} bodies and no body_names; expected {B}, or {B + 1} with an identity world body first",
        )
    return StoredClip(
        clip_id=path.stem,
        fps=fps,
        joint_pos=joint_pos,
        body_pos=body_pos[:, bodies],
        body_quat=body_quat[:, bodies],
        body_lin_vel=None if lin_vel is None else lin_vel[:, bodies],
        body_ang_vel=None if ang_vel is None else ang_vel[:, bodies],
    )


def check_fk(
    path: Path,
    robot_spec: str = "unitree_g1",
    *,
    mjcf: Path | None = None,
    clip: int | None = None,
    frames: int | None = None,
    thresholds: dict[str, float] | None = None,
) -> list[tuple[str, FkCheck]]:
    """Check every clip under `path`; (clip id, result) in file order."""
    robot = load_robot(robot_spec)
    reference = MujocoReference(robot, mjcf)
    root = robot.body_index(robot.root_body)
    return [(c.clip_id, check_stored(reference, c, root, frames, thresholds)) for c in stored_clips(path, robot, clip)]


def check_stored(
    reference: MujocoReference,
    clip: StoredClip,
    root_body: int,
    frames: int | None = None,
    thresholds: dict[str, float] | None = None,
) -> FkCheck:
    return check_poses(
        reference, clip.fps, clip.joint_pos, clip.body_pos, clip.body_quat,
        body_lin_vel=clip.body_lin_vel, body_ang_vel=clip.body_ang_vel,
        root_body=root_body, frames=frames, thresholds=thresholds,
    )
