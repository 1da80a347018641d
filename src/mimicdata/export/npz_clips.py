"""One NPZ per clip, as mjlab's and holosoma's tracking loaders read them.

mjlab: `fps` (a 1-element array), `joint_pos`, `joint_vel` (T, J), `body_pos_w`, `body_lin_vel_w`,
`body_ang_vel_w` (T, B, 3), `body_quat_w` (T, B, 4) wxyz, float32, every body of the robot without
MuJoCo's world body. mjlab plays one frame per 0.02 s control step whatever the file says, hence the
export's default of 50 fps.

holosoma: the same keys, but `joint_pos` is MuJoCo's qpos (T, 7 + J: root xyz, root quat wxyz, joints)
and `joint_vel` its qvel (T, 6 + J: the root's linear velocity in the world frame and its angular
velocity in the root's own frame, then the joints), and the body arrays start with the static world
body (at the origin, identity, still).

Both carry `joint_names`, `body_names` and `body_order` ("mujoco" or "isaaclab"), so no reader guesses.
Files are written like mimicdata's own shards: fixed timestamps, the same bytes for the same clip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..dataset.shards import Member, write_members
from ..geometry.rotations import quat_conjugate, rotate_vector
from .clips import ExportClip

FLOAT = np.float32


class MjlabWriter:
    suffix = ".npz"

    def __init__(self, out: Path) -> None:
        self.out = out

    def add(self, clip: ExportClip) -> Path:
        arrays = self.arrays(clip)
        path = self.out / clip.split / f"{clip.file_stem()}{self.suffix}"
        _write(path, arrays)
        return path

    def arrays(self, clip: ExportClip) -> dict[str, np.ndarray]:
        return {
            "fps": np.array([clip.fps], dtype=np.int64),
            "joint_pos": clip.joint_pos.astype(FLOAT),
            "joint_vel": clip.joint_vel.astype(FLOAT),
            "body_pos_w": clip.body_pos.astype(FLOAT),
            "body_quat_w": clip.body_quat.astype(FLOAT),
            "body_lin_vel_w": clip.body_lin_vel.astype(FLOAT),
            "body_ang_vel_w": clip.body_ang_vel.astype(FLOAT),
            "joint_names": np.array(clip.joint_names, dtype=str),
            "body_names": np.array(clip.body_names, dtype=str),
            "body_order": np.array(clip.body_order),
        }

    def finish(self) -> None:
        """Every file is complete when written."""


class HolosomaWriter(MjlabWriter):
    def arrays(self, clip: ExportClip) -> dict[str, np.ndarray]:
        arrays = super().arrays(clip)
        T = clip.num_frames
        root_ang_local = rotate_vector(quat_conjugate(clip.root_quat), clip.root_ang_vel)
        arrays["joint_pos"] = np.concatenate([clip.root_pos, clip.root_quat, clip.joint_pos], axis=1).astype(FLOAT)
        arrays["joint_vel"] = np.concatenate([clip.root_lin_vel, root_ang_local, clip.joint_vel], axis=1).astype(FLOAT)
        world = {"body_pos_w": np.zeros((T, 1, 3)), "body_quat_w": np.tile([1.0, 0.0, 0.0, 0.0], (T, 1, 1)),
                 "body_lin_vel_w": np.zeros((T, 1, 3)), "body_ang_vel_w": np.zeros((T, 1, 3))}
        for key, first in world.items():
            arrays[key] = np.concatenate([first.astype(FLOAT), arrays[key]], axis=1)
        arrays["body_names"] = np.array(["world", *clip.body_names], dtype=str)
        return arrays


def _write(path: Path, arrays: dict[str, np.ndarray]) -> None:
    members: list[Member] = [
        (key, value.shape, value.dtype, iter([np.ascontiguousarray(value).tobytes()])) for key, value in arrays.items()
    ]
    write_members(path, members, durable=False, in_memory=True)
