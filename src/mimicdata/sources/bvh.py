"""BVH motion capture -> SkeletonMotion (metres, Z-up, world-frame joint poses).

The hierarchy is read token by token here; the MOTION block by the compiled
table parser (kernels.parse_table), since building a Python object per joint
per frame would cost more than the whole retarget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import Field

from .. import kernels
from ..errors import InputError
from ..geometry.rotations import matrix_to_quat, quat_multiply, rotate_vector
from ..motion import MAX_FPS, SkeletonMotion
from ._common import read_bytes

# BVH world axes -> Z-up world axes, per declared up axis; both right-handed.
UP_AXIS_TO_Z_UP = {
    "y": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]),
    "z": np.eye(3),
}

_ROTATION_CHANNELS = {"Xrotation": 0, "Yrotation": 1, "Zrotation": 2}
_MOTION_LINE = re.compile(r"^[ \t]*MOTION[ \t\r]*$", re.MULTILINE)
_POSITION_CHANNELS = {"Xposition": 0, "Yposition": 1, "Zposition": 2}


@dataclass(frozen=True)
class _Joint:
    name: str
    parent: int
    offset: np.ndarray  # (3,) file units
    channels: tuple[str, ...]
    first_column: int


FORMAT_HELP = ("a skeleton format: auto (the one whose joint names, size and rest pose the file has), the name "
               "of a file in mimicdata/retarget/configs/formats, or a path to a .yaml one")


def read_bvh(
    path: Path, robot: object = None, *, bvh_format: Annotated[str, Field(min_length=1, description=FORMAT_HELP)] = "auto"
) -> SkeletonMotion:
    """Read a BVH file with the length unit and up axis of a skeleton format (retarget/detect.py for auto)."""
    from ..retarget.detect import AUTO, detect_format
    from ..retarget.formats import load_format

    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "file not found")
    fmt = detect_format(path) if bvh_format == AUTO else load_format(bvh_format)
    skeleton = parse_bvh(Path(path), length_unit=fmt.length_unit, up_axis=fmt.up_axis)
    name = fmt.name if bvh_format == AUTO else bvh_format
    notes = (*skeleton.notes, f"bvh_format auto: {fmt.name}") if bvh_format == AUTO else skeleton.notes
    return replace(skeleton, skeleton_format=name, notes=notes)


# Frame Time is printed with a few digits (0.033333, .0083333): a rate this close to a whole number is that number.
WHOLE_RATE_TOLERANCE = 2e-4


def frame_rate(frame_time: float) -> float:
    """Frames per second from a BVH Frame Time; 0.033333 s is 30 fps, not 30.0003, so no frame is lost to resampling."""
    fps = 1.0 / frame_time
    whole = round(fps)
    return float(whole) if whole > 0 and abs(fps - whole) <= WHOLE_RATE_TOLERANCE * fps else fps


def parse_bvh(path: Path, *, length_unit: float, up_axis: str) -> SkeletonMotion:
    """Joint world poses of every frame; `length_unit` is metres per file unit."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "file not found")
    raw = read_bytes(path)
    _check_layout(path, raw)
    joints, frame_time, declared = _read_hierarchy(path, raw)
    if not (np.isfinite(frame_time) and frame_time >= 1.0 / MAX_FPS):
        raise InputError(
            path, "Frame Time", f"expected seconds per frame giving a rate in (0, {MAX_FPS:g}] Hz, found {frame_time}"
        )
    fps = frame_rate(frame_time)
    data, notes = _read_frames(path, raw, joints, declared)
    to_z_up = UP_AXIS_TO_Z_UP[up_axis] * 1.0
    positions, quats = _forward(joints, data)
    rest_positions, _ = _forward(joints, None)
    positions = np.einsum("ij,tkj->tki", to_z_up, positions) * length_unit
    rest_positions = (rest_positions[0] @ to_z_up.T) * length_unit
    # Turning the world turns every orientation: q' = q_axes q, one sign per quaternion (w >= 0).
    axes = matrix_to_quat(to_z_up)
    world_quat = quat_multiply(np.broadcast_to(axes, quats.shape), quats)
    world_quat *= np.where(world_quat[..., :1] < 0, -1.0, 1.0)
    rest_quat = np.broadcast_to(axes, (len(joints), 4)).copy()
    return SkeletonMotion(
        fps=fps,
        joint_names=tuple(j.name for j in joints),
        parents=tuple(j.parent for j in joints),
        positions=positions,
        rotations=world_quat,
        rest_positions=rest_positions,
        rest_rotations=rest_quat,
        notes=tuple(notes),
    )


def read_rest_pose(path: Path) -> tuple[tuple[str, ...], np.ndarray]:
    """Joint names and rest-pose joint positions (J, 3), in the file's own units and axes, without reading
    the motion."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "file not found")
    raw = read_bytes(path)
    _check_layout(path, raw)
    joints, _, _ = _read_hierarchy(path, raw)
    rest, _ = _forward(joints, None)
    return tuple(j.name for j in joints), rest[0]


def _read_hierarchy(path: Path, raw: bytes) -> tuple[list[_Joint], float, int]:
    """The joints in file order (a leaf's end site after it, as NAME_End), the frame time and the declared
    frame count. The grammar is small enough to read here, which spares a library import (bvhio and its pyglm:
    a tenth of ingest-motion's start-up) and its reader, which spins forever on some cut files."""
    text = raw.decode("latin-1")
    parts = _MOTION_LINE.split(text, maxsplit=1)  # _check_layout made sure there is one
    hierarchy, motion = parts[0], parts[1] if len(parts) > 1 else ""
    tokens = hierarchy.split()
    joints: list[dict[str, Any]] = []
    stack: list[int] = []  # open blocks: a joint's index, or -1 for an end site
    pending: str | None = None  # what the next `{` opens: a joint's name, or "" for an end site
    end_sites: dict[int, np.ndarray] = {}
    column, i = 0, 1 if tokens[:1] == ["HIERARCHY"] else 0

    def fail(message: str) -> InputError:
        return InputError(path, "HIERARCHY", f"not a readable BVH hierarchy: {message}")

    def numbers(start: int, count: int, what: str) -> list[float]:
        try:
            values = [float(t) for t in tokens[start : start + count]]
        except ValueError:
            values = []
        if len(values) != count or not all(np.isfinite(values)):
            raise fail(f"{what}: expected {count} numbers, found {' '.join(tokens[start:start + count])!r}")
        return values

    while i < len(tokens):
        token = tokens[i]
        owner = stack[-1] if stack else None
        if token in ("ROOT", "JOINT"):
            if i + 1 >= len(tokens) or tokens[i + 1] in ("{", "}"):
                raise fail(f"{token} without a name")
            if token == "ROOT" and joints:
                raise fail(f"a second ROOT, {tokens[i + 1]}: one skeleton a file")
            if token == "JOINT" and not stack:
                raise fail(f"JOINT {tokens[i + 1]} outside the braces of a ROOT")
            pending, i = tokens[i + 1], i + 2
        elif token == "End" and tokens[i + 1 : i + 2] == ["Site"]:
            pending, i = "", i + 2
        elif token == "{":
            if pending is None:
                raise fail("a `{` that opens nothing")
            if pending:
                parent = stack[-1] if stack else -1
                if parent >= 0:
                    joints[parent]["children"] += 1
                joints.append({"name": pending, "parent": parent, "offset": None, "channels": (), "column": column,
                               "children": 0})
                stack.append(len(joints) - 1)
            else:
                stack.append(-1)
            pending, i = None, i + 1
        elif token == "}":
            if not stack:
                raise fail("a `}` that closes nothing")
            stack.pop()
            i += 1
        elif token == "OFFSET" and owner is not None:
            offset = np.array(numbers(i + 1, 3, "OFFSET"))
            if owner == -1:
                end_sites[stack[-2] if len(stack) > 1 else -1] = offset
            else:
                joints[owner]["offset"] = offset
            i += 4
        elif token == "CHANNELS" and owner is not None and owner >= 0:
            count = numbers(i + 1, 1, f"CHANNELS of {joints[owner]['name']}")[0]
            if count != int(count) or count < 0:
                raise fail(f"CHANNELS of {joints[owner]['name']}: a channel count, found {tokens[i + 1]!r}")
            names = tuple(tokens[i + 2 : i + 2 + int(count)])
            unknown = [c for c in names if c not in _ROTATION_CHANNELS and c not in _POSITION_CHANNELS]
            if unknown or len(names) != count:
                found = f"unknown channel names {unknown}" if unknown else f"{int(count)} declared, {len(names)} given"
                raise InputError(path, f"CHANNELS of {joints[owner]['name']}", found)
            if joints[owner]["children"]:
                raise fail(f"CHANNELS of {joints[owner]['name']} after its child joints")
            joints[owner]["channels"], joints[owner]["column"] = names, column
            column += len(names)
            i += 2 + int(count)
        else:
            raise fail(f"unexpected {token!r}")
    if stack or not joints:
        raise fail("the hierarchy is cut short" if stack else "no ROOT joint")
    missing = [j["name"] for j in joints if j["offset"] is None]
    if missing:
        raise fail(f"no OFFSET for {missing}")
    out: list[_Joint] = []
    index: dict[int, int] = {}
    for k, joint in enumerate(joints):
        index[k] = len(out)
        out.append(_Joint(joint["name"], index[joint["parent"]] if joint["parent"] >= 0 else -1, joint["offset"],
                          joint["channels"], joint["column"]))
        if not joint["children"]:  # a leaf's end site: where the bone ends
            out.append(_Joint(f"{joint['name']}_End", index[k], end_sites.get(k, np.zeros(3)), (),
                              joint["column"] + len(joint["channels"])))
    joint_names = [j.name for j in out]
    repeated = sorted({n for n in joint_names if joint_names.count(n) > 1})
    if repeated:
        raise InputError(path, "HIERARCHY", f"joint names must be unique, repeated: {repeated}")
    header = [line.strip() for line in motion.splitlines() if line.strip()][:2]
    try:
        declared = int(header[0].partition(":")[2])
        frame_time = float(header[1].partition(":")[2])
    except (IndexError, ValueError):
        raise InputError(path, "MOTION", "expected `Frames: N` and `Frame Time: SECONDS` after `MOTION`") from None
    return out, frame_time, declared


def _check_layout(path: Path, raw: bytes) -> None:
    """The outline every BVH has, checked before anything is read."""
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    if not lines or lines[0] != b"HIERARCHY":
        raise InputError(path, "HIERARCHY", "not a BVH file: the first line must be `HIERARCHY`")
    try:
        motion = lines.index(b"MOTION")
    except ValueError:
        raise InputError(path, "MOTION", "no `MOTION` section: the file ends inside the hierarchy") from None
    hierarchy = b"\n".join(lines[:motion])
    if hierarchy.count(b"{") != hierarchy.count(b"}"):
        raise InputError(path, "HIERARCHY", "unbalanced braces: the hierarchy is cut short or malformed")
    header = lines[motion + 1 : motion + 3]
    if len(header) < 2 or not header[0].startswith(b"Frames:") or not header[1].startswith(b"Frame Time:"):
        raise InputError(path, "MOTION", "expected `Frames:` and `Frame Time:` lines after `MOTION`")


def _read_frames(path: Path, raw: bytes, joints: list[_Joint], declared: int) -> tuple[np.ndarray, list[str]]:
    start = raw.find(b"Frame Time:")
    start = raw.find(b"\n", start) + 1 if start >= 0 else 0
    if start <= 0:
        raise InputError(path, "MOTION", "no frame data after the `Frame Time:` line")
    columns = sum(len(j.channels) for j in joints)
    lines = raw[start:].split(b"\n")
    while lines and not lines[-1].strip():
        lines.pop()
    notes: list[str] = []
    if lines and len(lines[-1].split()) < columns:
        # A truncated last line is what an interrupted export leaves behind.
        notes.append(f"the last frame line is truncated ({len(lines[-1].split())} of {columns} values); dropped")
        lines.pop()
    body = b"\n".join(lines)
    table = kernels.parse_table(body, columns, " ", len(lines))
    if table is not None and len(table) == len(lines):
        values = table.ravel()
    else:  # numpy's reader, and the messages below, for anything but a plain table
        try:
            values = np.array(body.split(), dtype=np.float64)
        except ValueError as exc:
            raise InputError(path, "MOTION", f"frame data holds a value that is not a number: {exc}") from exc
    if len(lines) == 0 or values.size != len(lines) * columns:
        for number, line in enumerate(lines):
            if len(line.split()) != columns:
                line_no = raw[:start].count(b"\n") + number + 1
                raise InputError(
                    path, f"MOTION line {line_no}", f"expected {columns} values (one per channel), found {len(line.split())}"
                )
        raise InputError(path, "MOTION", "holds no frames")
    if not np.isfinite(values).all():
        frame, column = divmod(int(np.flatnonzero(~np.isfinite(values))[0]), columns)
        joint = next(j for j in joints if j.first_column <= column < j.first_column + len(j.channels))
        channel = joint.channels[column - joint.first_column]
        line_no = raw[:start].count(b"\n") + frame + 1
        raise InputError(
            path,
            f"MOTION line {line_no}",
            f"frame {frame}, {joint.name} {channel}: expected a finite number, found {values[frame * columns + column]}",
        )
    if len(lines) != declared:
        notes.append(f"`Frames:` declares {declared} frames but the file holds {len(lines)}; using {len(lines)}")
    return values.reshape(len(lines), columns), notes


def _axis_quats(angles_deg: np.ndarray, axis: int) -> np.ndarray:
    """(T, 4) wxyz rotations about one coordinate axis."""
    half = np.deg2rad(angles_deg) * 0.5
    out = np.zeros(half.shape + (4,))
    out[:, 0] = np.cos(half)
    out[:, 1 + axis] = np.sin(half)
    return out


def _forward(joints: list[_Joint], data: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """World positions (T, J, 3) and wxyz orientations (T, J, 4) in file axes and units.

    With no data, the rest pose: every rotation zero, the root at the origin.
    """
    T = 1 if data is None else data.shape[0]
    positions = np.zeros((T, len(joints), 3))
    quats = np.zeros((T, len(joints), 4))
    for k, joint in enumerate(joints):
        local_quat = np.broadcast_to([1.0, 0.0, 0.0, 0.0], (T, 4))
        has_position = data is not None and any(c in _POSITION_CHANNELS for c in joint.channels)
        # Position channels replace the OFFSET, which for a root usually repeats
        # frame 0's position and must not be added on top; the rest pose puts
        # the root at the origin.
        at_origin = has_position or (data is None and joint.parent < 0)
        local_pos = np.zeros((T, 3)) if at_origin else np.broadcast_to(joint.offset, (T, 3)).copy()
        for c, channel in enumerate(joint.channels):
            if data is None:
                break
            values = data[:, joint.first_column + c]
            if channel in _ROTATION_CHANNELS:
                # Channels compose left to right: R = R_first R_second R_third.
                local_quat = quat_multiply(local_quat, _axis_quats(values, _ROTATION_CHANNELS[channel]))
            else:
                local_pos[:, _POSITION_CHANNELS[channel]] = values
        if joint.parent < 0:
            positions[:, k] = local_pos
            quats[:, k] = local_quat
        else:
            parent_quat = quats[:, joint.parent]
            positions[:, k] = positions[:, joint.parent] + rotate_vector(parent_quat, local_pos)
            quats[:, k] = quat_multiply(parent_quat, local_quat)
    return positions, quats
