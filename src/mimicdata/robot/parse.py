"""A robot description read into plain arrays: its kinematic tree, joint limits and body frames.

Pinocchio reads the URDF or MJCF. Its import alone costs 60 ms of every process that loads a robot
(a seventh of ingest-motion's start-up), so a parse can be stored beside its model as
MODEL.tree.npz (tools/store_robot_tree.py writes the bundled G1's) with the SHA-256 of what it was
read from: the model's bytes, the bodies a description adds and PARSE_SCHEMA. It is used only while
those match; any other model, or a changed one, is read through pinocchio.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RobotModelError
from ..geometry.rotations import matrix_to_quat

PARSE_SCHEMA = 1
_AXES = {"RX": (1.0, 0.0, 0.0), "RY": (0.0, 1.0, 0.0), "RZ": (0.0, 0.0, 1.0)}


@dataclass(frozen=True)
class ParsedModel:
    """A floating-base tree of hinges. Link i is placed at link_pos/link_quat in its parent link's frame
    (link_parent, -1 for the floating root, link 0), then turned about link_axis by joint link_joint (-1 for
    the root). Bodies are frames fixed to a link (body_link) at body_pos/body_quat; body_parent is the
    nearest body up the tree (-1 for none)."""

    name: str
    link_parent: np.ndarray
    link_joint: np.ndarray
    link_pos: np.ndarray
    link_quat: np.ndarray
    link_axis: np.ndarray
    joint_names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    velocity: np.ndarray  # rad/s, 0 where the model gives none
    body_names: tuple[str, ...]
    body_link: np.ndarray
    body_pos: np.ndarray
    body_quat: np.ndarray
    body_parent: np.ndarray


def parse_model(model_path: Path, extra_bodies: object, source: Path) -> ParsedModel:
    """The model's parse: the stored one beside it when it was read from these very bytes, else pinocchio's."""
    if not model_path.is_file():
        raise RobotModelError(f"{model_path}: robot description not found")
    stored = stored_path(model_path)
    if stored.is_file():
        parsed = load_stored(stored, parse_digest(model_path, extra_bodies))
        if parsed is not None:
            return parsed
    return read_with_pinocchio(model_path, extra_bodies, source)


def stored_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + ".tree.npz")


def parse_digest(model_path: Path, extra_bodies: object) -> str:
    digest = hashlib.sha256(f"parse {PARSE_SCHEMA}\n".encode())
    digest.update(model_path.read_bytes())
    digest.update(json.dumps(extra_bodies, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def store(parsed: ParsedModel, path: Path, digest: str) -> None:
    """Write a parse for parse_model to find (strings as unicode arrays: it loads without pickle)."""
    arrays: dict[str, Any] = {"digest": np.array(digest)}
    for field in fields(ParsedModel):
        value = getattr(parsed, field.name)
        arrays[field.name] = np.array(value, dtype=str) if isinstance(value, (str, tuple)) else value
    with path.open("wb") as fh:
        np.savez(fh, **arrays)


def load_stored(path: Path, digest: str) -> ParsedModel | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["digest"]) != digest:
                return None
            values = {field.name: data[field.name] for field in fields(ParsedModel)}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # unreadable: pinocchio reads the model
        return None
    values["name"] = str(values["name"])
    values["joint_names"] = tuple(str(n) for n in values["joint_names"])
    values["body_names"] = tuple(str(n) for n in values["body_names"])
    return ParsedModel(**values)


def read_with_pinocchio(model_path: Path, extra_bodies: object, source: Path) -> ParsedModel:
    """The parse of a URDF or MJCF through pinocchio, with the bodies a description adds."""
    import pinocchio as pin

    m = _load_pinocchio(model_path)
    _add_bodies(m, extra_bodies, source)
    if m.njoints < 2 or m.joints[1].shortname() != "JointModelFreeFlyer":
        raise RobotModelError(f"{model_path}: the first joint must be a floating base")
    parent, joint, pos, quat, axis = [-1], [-1], [np.zeros(3)], [np.array([1.0, 0.0, 0.0, 0.0])], [np.zeros(3)]
    names: list[str] = []
    lower: list[float] = []
    upper: list[float] = []
    velocity: list[float] = []
    for j in range(2, m.njoints):
        jm = m.joints[j]
        kind = jm.shortname().removeprefix("JointModel")
        if kind in _AXES:
            direction = np.array(_AXES[kind])
        elif kind == "RevoluteUnaligned":
            direction = np.asarray(jm.axis, dtype=float)
        else:
            raise RobotModelError(
                f"{model_path}: joint {m.names[j]!r} is of type {kind}; "
                "mimicdata supports a floating base with revolute joints"
            )
        placement = m.jointPlacements[j]
        parent.append(m.parents[j] - 1)
        joint.append(len(names))
        pos.append(np.array(placement.translation, dtype=float))
        quat.append(matrix_to_quat(placement.rotation))
        axis.append(direction / np.linalg.norm(direction))
        names.append(m.names[j])
        lower.append(float(m.lowerPositionLimit[jm.idx_q]))
        upper.append(float(m.upperPositionLimit[jm.idx_q]))
        velocity.append(float(m.velocityLimit[jm.idx_v]))
    bodies = [i for i, f in enumerate(m.frames) if f.type == pin.FrameType.BODY]
    index = {frame: b for b, frame in enumerate(bodies)}
    body_parent = []
    for frame in bodies:
        up = m.frames[frame].parentFrame
        while up > 0 and up not in index:
            up = m.frames[up].parentFrame
        body_parent.append(index[up] if up > 0 else -1)
    placements = [m.frames[i].placement for i in bodies]
    return ParsedModel(
        name=str(m.name),
        link_parent=np.array(parent, dtype=np.int64),
        link_joint=np.array(joint, dtype=np.int64),
        link_pos=np.array(pos),
        link_quat=np.array(quat),
        link_axis=np.array(axis),
        joint_names=tuple(names),
        lower=np.array(lower),
        upper=np.array(upper),
        velocity=np.array(velocity),
        body_names=tuple(m.frames[i].name for i in bodies),
        body_link=np.array([m.frames[i].parentJoint - 1 for i in bodies], dtype=np.int64),
        body_pos=np.array([p.translation for p in placements], dtype=float).reshape(-1, 3),
        body_quat=np.array([matrix_to_quat(p.rotation) for p in placements]).reshape(-1, 4),
        body_parent=np.array(body_parent, dtype=np.int64),
    )


def _load_pinocchio(path: Path) -> Any:
    import pinocchio as pin

    suffix = path.suffix.lower()
    try:
        if suffix == ".urdf":
            return pin.buildModelFromUrdf(str(path), pin.JointModelFreeFlyer())
        if suffix in (".xml", ".mjcf"):
            try:
                model = _mjcf_model(str(path))
            except (RuntimeError, ValueError):
                model = None
            if model is None or len(set(model.names)) < len(model.names):
                model = _normalized_mjcf_model(path)
            return model
    except Exception as exc:  # pinocchio raises bare RuntimeError/ValueError
        raise RobotModelError(f"{path}: pinocchio could not load it: {exc}") from exc
    raise RobotModelError(f"{path}: expected a .urdf or MJCF .xml robot description")


def _add_bodies(model: Any, extra: object, source: Path) -> None:
    """Bodies a description adds, fixed to a body of the model at an offset in its frame:
    `extra_bodies: {name: {parent: body, pos: [x, y, z]}}` (a hand at the end of a forearm link that has none)."""
    import pinocchio as pin

    if not extra:
        return
    if not isinstance(extra, dict):
        raise RobotModelError(f"{source}: extra_bodies: expected {{name: {{parent: body, pos: [x, y, z]}}}}")
    for name, spec in extra.items():
        parent = spec.get("parent") if isinstance(spec, dict) else None
        pos = spec.get("pos") if isinstance(spec, dict) else None
        if not model.existBodyName(str(parent)) or not (isinstance(pos, list) and len(pos) == 3):
            raise RobotModelError(f"{source}: extra_bodies[{name!r}]: expected parent: a body of the model and "
                                  f"pos: [x, y, z] (m), got {spec!r}")
        frame_id = model.getFrameId(str(parent), pin.FrameType.BODY)
        frame = model.frames[frame_id]
        placement = frame.placement * pin.SE3(np.eye(3), np.asarray(pos, dtype=float))
        model.addFrame(pin.Frame(str(name), frame.parentJoint, frame_id, placement, pin.FrameType.BODY))


def _mjcf_model(path: str) -> Any:
    import pinocchio as pin

    model = pin.buildModelFromMJCF(path)
    if model.njoints < 2 or model.joints[1].shortname() != "JointModelFreeFlyer":
        model = pin.buildModelFromMJCF(path, pin.JointModelFreeFlyer())
    return model


def _normalized_mjcf_model(path: Path) -> Any:
    """Pinocchio's model of the MJCF MuJoCo writes back (mujoco_model.normalized_mjcf)."""
    import tempfile

    from .mujoco_model import normalized_mjcf

    with tempfile.TemporaryDirectory() as folder:
        clean = Path(folder) / path.name
        clean.write_text(normalized_mjcf(path))
        return _mjcf_model(str(clean))
