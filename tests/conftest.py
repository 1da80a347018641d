"""Shared fixtures: the bundled robot, the MuJoCo reference model, and the real data in ../shared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"
MJLAB_XML = SHARED / "robots" / "unitree_g1_mjlab" / "g1.xml"


def require_shared(*parts: str) -> Path:
    """A path under ../shared, or skip: the licensed test data is not on every machine."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not available: {path} is missing (tests read ../shared beside the repo)")
    return path


def require_rendering() -> None:
    """Skip unless a headless OpenGL library is installed: the system package .ci/run installs (libegl1)."""
    from mimicdata.render import RenderingUnavailable
    from mimicdata.render.gl import backend

    try:
        backend()
    except RenderingUnavailable as exc:
        pytest.skip(f"cannot render here: {exc}")


@pytest.fixture(scope="session")
def robot():
    from mimicdata.robot import load_robot

    return load_robot()


@pytest.fixture(scope="session")
def mujoco_reference():
    """mjlab's G1 compiled by MuJoCo, meshes stripped (kinematics do not need them)."""
    from mimicdata.robot.mujoco_model import compile_mujoco

    return compile_mujoco(require_shared("robots", "unitree_g1_mjlab", "g1.xml"))


def mujoco_fk(model, root_pos: np.ndarray, root_quat: np.ndarray, joint_pos: np.ndarray):
    """Per-frame MuJoCo kinematics: (T, B, 3) xpos and (T, B, 4) xquat without the world body."""
    import mujoco

    data = mujoco.MjData(model)
    pos, quat = [], []
    for t in range(len(root_pos)):
        data.qpos[:3] = root_pos[t]
        data.qpos[3:7] = root_quat[t]
        data.qpos[7:] = joint_pos[t]
        mujoco.mj_kinematics(model, data)
        pos.append(data.xpos[1:].copy())
        quat.append(data.xquat[1:].copy())
    return np.array(pos), np.array(quat)


def quat_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sign-invariant rotation angle between wxyz quaternions, accurate near zero."""
    from mimicdata.geometry.rotations import quat_angle_between

    return quat_angle_between(a, b)


@pytest.fixture(scope="session")
def built_sample(tmp_path_factory) -> Path:
    """The bundled sample spec built once per session; tests only read it."""
    from mimicdata.build.dataset import BuildOptions, build_dataset

    root = tmp_path_factory.mktemp("built")
    build_dataset(REPO / "specs" / "sample.yaml", BuildOptions(output_root=root, fk_check=False))
    return root / "sample"
