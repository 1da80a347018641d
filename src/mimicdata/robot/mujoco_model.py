"""A robot description compiled by MuJoCo: the reference kinematics and collision geometry a simulator sees.

MuJoCo is imported only when this is used: reading robot motion never needs it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import RobotModelError

if TYPE_CHECKING:
    import mujoco


# The name a mesh geom's stand-in carries (compile_mujoco with mesh_stand_ins), numbered in file order.
MESH_STAND_IN = "mimicdata_mesh_stand_in_"


def compile_mujoco(path: Path, mesh_stand_ins: bool = False) -> mujoco.MjModel:
    """A floating-base MuJoCo model of a URDF (a free joint added) or of an MJCF, meshes stripped.

    With `mesh_stand_ins`, each mesh geom of an MJCF stays as a massless point named MESH_STAND_IN + n,
    with its class, contype and conaffinity: where a model has collision meshes, and on which bodies."""
    import mujoco

    if not path.is_file():
        raise RobotModelError(f"{path}: robot description not found")
    try:
        if path.suffix.lower() == ".urdf":
            spec = mujoco.MjSpec.from_file(str(path))
            spec.worldbody.bodies[0].add_freejoint()
            return spec.compile()
        xml = path.read_text()
        return mujoco.MjModel.from_xml_string(_with_mesh_stand_ins(xml) if mesh_stand_ins else _without_meshes(xml))
    except (ValueError, RuntimeError) as exc:
        raise RobotModelError(f"{path}: MuJoCo could not compile it: {exc}") from exc


def normalized_mjcf(path: Path) -> str:
    """The robot of an MJCF as MuJoCo writes it back: meshes and keyframes dropped, one worldbody, defaults
    resolved. Pinocchio's MJCF reader misreads some files MuJoCo reads (Unitree's H1 with its scene: every
    joint twice, a keyframe size error); it reads this form of any of them."""
    import mujoco

    xml = _without_meshes(path.read_text())
    try:
        spec = mujoco.MjSpec.from_string(xml)
        for key in list(spec.keys):
            spec.delete(key)
        spec.compile()
        return str(spec.to_xml())
    except (ValueError, RuntimeError) as exc:
        raise RobotModelError(f"{path}: MuJoCo could not compile it: {exc}") from exc


def _without_meshes(xml: str) -> str:
    """Kinematics need no meshes; dropping them lets a model load without its assets."""
    xml = re.sub(r"<mesh\b[^>]*/>", "", xml)
    return re.sub(r"<geom\b[^>]*\bmesh=\"[^\"]*\"[^>]*/>", "", xml)


def _with_mesh_stand_ins(xml: str) -> str:
    xml = re.sub(r"<mesh\b[^>]*/>", "", xml)
    count = iter(range(1 << 30))

    def stand_in(match: re.Match[str]) -> str:
        attributes = re.sub(r"\b(mesh|type|name|mass|density|size)=\"[^\"]*\"", "", match.group(1))
        return (f'<geom name="{MESH_STAND_IN}{next(count)}" type="sphere" size="0.001" mass="0"'
                f"{attributes}/>")

    return re.sub(r"<geom\b((?=[^>]*\bmesh=\"[^\"]*\")[^>]*?)/>", stand_in, xml)


def qpos_addresses(model: mujoco.MjModel, joint_names: Sequence[str], source: Path | str) -> np.ndarray:
    """Where each named hinge's angle sits in a MuJoCo model's qpos; a joint the model lacks is named."""
    try:
        return np.array([model.jnt_qposadr[model.joint(name).id] for name in joint_names], dtype=np.int64)
    except KeyError as exc:
        raise RobotModelError(f"{source}: MuJoCo's model lacks joint {exc}") from None
