"""render-motion: a clip as a video, drawn headless by MuJoCo's renderer.

The input is a clip file, a shard or a dataset (one clip picked by index or id), a foreign NPZ clip,
or a BVH take, which is retargeted on the fly and drawn with the performer beside the robot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..dataset.stored import StoredClip, stored_clips
from ..errors import InputError
from ..render import Drawing, MotionRenderer, check_output, robot_drawing, with_performer, write_video
from ..render.scene import Camera, mesh_world
from ..robot import RobotModel, load_robot

MAX_SIDE = 4096  # pixels


@dataclass(frozen=True)
class Rendered:
    output: str
    clip_id: str
    frames: int
    fps: float
    seconds: float
    marked_frames: int  # frames showing a self-collision or a body through the floor


def render_motion(
    path: Path,
    output: Path,
    *,
    clip: str | None = None,
    fps: float | None = None,
    width: int = 640,
    height: int = 480,
    camera: Camera = "follow",
    robot: str = "unitree_g1",
    bvh_format: str | None = None,
    force: bool = False,
) -> Rendered:
    """Render one clip of `path` to `output` (.mp4 or .gif); `clip` is an index in the file or a clip id."""
    path, output = Path(path), Path(output)
    check_output(output, force)
    for name, value in (("width", width), ("height", height)):
        if not 16 <= value <= MAX_SIDE or value % 2:
            raise InputError(output, name, f"expected an even number of pixels in [16, {MAX_SIDE}], got {value}")
    if fps is not None and not 0 < fps <= 120:
        raise InputError(output, "fps", f"expected a rate in (0, 120] frames per second, got {fps}")
    model = load_robot(robot)
    drawing = motion_drawing(path, model, clip, bvh_format)
    rate = float(fps or min(drawing.fps, 60.0))
    picks = np.unique(np.round(np.arange(0.0, drawing.num_frames, drawing.fps / rate)).astype(np.int64))
    picks = picks[picks < drawing.num_frames]
    with MotionRenderer(width, height, mesh_world(model)) as renderer:
        written = write_video(output, renderer.frames(drawing, picks, camera), rate)
    marked = sum(bool(drawing.marks(int(t))) for t in picks)
    return Rendered(str(output), drawing.clip_id, written, rate, written / rate, marked)


def motion_drawing(path: Path, robot: RobotModel, clip: str | None, bvh_format: str | None) -> Drawing:
    """What to draw for one clip of `path`: the robot, and for a BVH take the performer beside it."""
    if path.suffix.lower() == ".bvh":
        return _bvh_drawing(path, robot, clip, bvh_format)
    if bvh_format is not None:
        raise InputError(path, "bvh_format", "applies to a .bvh take only")
    found = pick_clip(path, robot, clip)
    return robot_drawing(robot, found.clip_id, found.fps, found.body_pos, found.body_quat, found.joint_pos)


def pick_clip(path: Path, robot: RobotModel, clip: str | None) -> StoredClip:
    """The clip `clip` names under `path`: its index in a single file, or its id; the first one when None."""
    if clip is not None and clip.isdigit():
        return next(stored_clips(path, robot, int(clip)))
    seen: list[str] = []
    for found in stored_clips(path, robot):
        if clip is None or found.clip_id == clip:
            return found
        seen.append(found.clip_id)
    shown = ", ".join(seen[:8]) + (f", ... ({len(seen)} in all)" if len(seen) > 8 else "")
    raise InputError(path, "clip", f"no clip {clip!r}; clips here: {shown}")


def _bvh_drawing(path: Path, robot: RobotModel, clip: str | None, bvh_format: str | None) -> Drawing:
    from ..retarget import load_format, retarget_skeleton
    from ..sources.bvh import read_bvh

    if clip not in (None, "0"):
        raise InputError(path, "clip", "a BVH file holds one take")
    skeleton = read_bvh(path, bvh_format=bvh_format or "auto")
    result = retarget_skeleton(skeleton, load_format(skeleton.skeleton_format), robot, path)
    motion = result.motion
    body_pos, body_quat = robot.forward_kinematics(motion.root_pos, motion.root_quat, motion.joint_pos)
    drawing = robot_drawing(robot, path.stem, motion.fps, body_pos, body_quat, motion.joint_pos)
    return with_performer(drawing, result.performer, skeleton.parents)
