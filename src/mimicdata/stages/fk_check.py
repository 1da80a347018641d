"""FK consistency: stored body poses against MuJoCo's kinematics of the same robot.

MuJoCo is a different engine from the one that wrote the poses (mimicdata's
own batched FK, or whatever produced a foreign clip), so agreement means the
stored root, joint angles, joint order and body order all fit together.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import mujoco
import numpy as np

from ..dataset.stored import StoredClip
from ..errors import RobotModelError
from ..geometry.rotations import angular_velocity, quat_angle_between, quat_normalize
from ..robot import RobotModel
from ..robot.mujoco_model import compile_mujoco, qpos_addresses

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
        except KeyError as exc:
            raise RobotModelError(f"{path}: MuJoCo's model lacks {exc} of robot {robot.name!r}") from None
        self._qpos = qpos_addresses(self.model, robot.joint_names, path)
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
    problems: list[str] = field(default_factory=list)  # poses: what the check is about
    velocity_problems: list[str] = field(default_factory=list)  # stored velocities that disagree with the poses

    @property
    def passed(self) -> bool:
        """The stored poses are what the joints imply; velocities are reported, not judged (see passed_strict)."""
        return not self.problems

    @property
    def passed_strict(self) -> bool:
        return not self.problems and not self.velocity_problems

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed, "passed_strict": self.passed_strict}


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
    poses = {"joint_pos": joint_pos, "body_pos_w": body_pos, "body_quat_w": body_quat}
    velocities = {"body_lin_vel_w": body_lin_vel, "body_ang_vel_w": body_ang_vel}
    problems = [f"{k} holds NaN or Inf" for k, v in poses.items() if not np.isfinite(v).all()]
    velocity_problems = [
        f"{k} holds NaN or Inf" for k, v in velocities.items() if v is not None and not np.isfinite(v).all()
    ]
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
                        limits["lin_vel_p95"], velocity_problems)
    ang = _velocity_p95("body_ang_vel_w", body_ang_vel, lambda: angular_velocity(body_quat, dt), "rad/s",
                        limits["ang_vel_p95"], velocity_problems)
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
        velocity_problems=velocity_problems,
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
