"""render-motion, tried as a person would: a real LAFAN1 take to a video that decodes to the right number of
frames, is not blank and moves; a shard clip by id to a GIF; collisions tinted; clear errors for mistakes."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import require_rendering, require_shared
from mimicdata.build.clip import read_robot_motion
from mimicdata.cli import app
from mimicdata.errors import InputError
from mimicdata.render import MotionRenderer, RenderingUnavailable, robot_drawing
from mimicdata.render.scene import COLLIDING, PALETTE
from mimicdata.spec import source_spec

iio = pytest.importorskip("imageio.v2")


@pytest.fixture(autouse=True)
def _rendering(request):
    if request.node.name != "test_no_headless_gl_is_a_clear_error":  # that one needs no GL library
        require_rendering()


def _frames(path) -> list[np.ndarray]:
    return [np.asarray(f) for f in iio.mimread(path, memtest=False)] if str(path).endswith(".gif") else \
        [np.asarray(f) for f in iio.get_reader(path)]


def test_a_real_take_renders_to_a_video_that_decodes_is_not_blank_and_moves(tmp_path):
    take = require_shared("data", "bvh", "lafan1_cuts", "fallAndGetUp1_subject1_1600_1700.bvh")
    out = tmp_path / "take.mp4"
    result = CliRunner().invoke(app, ["render-motion", str(take), "--bvh-format", "lafan1", "-o", str(out),
                                      "--width", "320", "--height", "240"])
    assert result.exit_code == 0, result.output
    frames = _frames(out)
    assert len(frames) == 101 and frames[0].shape == (240, 320, 3)  # every frame of the 30 fps take
    assert f"{len(frames)} frames at 30 fps" in result.output
    assert all(f.std() > 10 for f in frames[::20])  # not blank: floor, sky, robot, performer
    motion = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(frames[:-10:10], frames[10::10])]
    assert min(motion) > 0.5  # the bodies move between frames a third of a second apart
    # The performer is drawn beside the robot, in its own colour (blue).
    blue = (frames[50][..., 2].astype(int) - frames[50][..., 0] > 80).sum()
    assert blue > 200


def test_a_shard_clip_picked_by_id_renders_to_a_gif(built_sample, tmp_path):
    out = tmp_path / "walk.gif"
    result = CliRunner().invoke(app, ["render-motion", str(built_sample), "--clip", "mocap:human_walk", "-o", str(out),
                                      "--fps", "10", "--width", "160", "--height", "120", "--camera", "fixed"])
    assert result.exit_code == 0, result.output
    frames = _frames(out)
    assert len(frames) == 40 and frames[0].shape[:2] == (120, 160)  # 4 s at 10 fps


def test_self_collision_is_tinted_red(robot):
    path = require_shared("data", "g1_csv", "unitree_lafan1", "walk4_subject1.csv")
    motion = read_robot_motion(source_spec(name="u", type="csv", input=path.parent, fps=30), path, robot).motion
    body_pos, body_quat = robot.forward_kinematics(motion.root_pos, motion.root_quat, motion.joint_pos)
    drawing = robot_drawing(robot, "walk4", motion.fps, body_pos, body_quat)
    marked = np.flatnonzero((drawing.color == COLLIDING).any(axis=1))
    assert len(marked) > 0.3 * drawing.num_frames  # Unitree's walk has its hands in its hips half the time
    t = int(marked[len(marked) // 2])
    with MotionRenderer(320, 240) as renderer:
        image = next(renderer.frames(drawing, np.array([t])))
    red = PALETTE[COLLIDING][:3] * 255
    near_red = (np.abs(image.astype(float) - red).max(axis=-1) < 60).sum()
    assert near_red > 20 and drawing.marks(t) == ["self-collision"]


def test_mistakes_get_clear_errors_and_nothing_is_overwritten(built_sample, tmp_path):
    runner = CliRunner()
    mine = tmp_path / "mine.mp4"
    mine.write_bytes(b"my video")
    taken = runner.invoke(app, ["render-motion", str(built_sample), "-o", str(mine)])
    assert taken.exit_code != 0 and "already exists; pass --force" in taken.output and mine.read_bytes() == b"my video"
    odd = runner.invoke(app, ["render-motion", str(built_sample), "-o", str(tmp_path / "a.mp4"), "--width", "321"])
    assert odd.exit_code != 0 and "width" in odd.output and "even" in odd.output
    kind = runner.invoke(app, ["render-motion", str(built_sample), "-o", str(tmp_path / "a.avi")])
    assert kind.exit_code != 0 and ".mp4 or .gif" in kind.output
    unknown = runner.invoke(app, ["render-motion", str(built_sample), "--clip", "nope:x", "-o", str(tmp_path / "b.mp4")])
    assert unknown.exit_code != 0 and "no clip 'nope:x'" in unknown.output and "gmr:walk_forward" in unknown.output
    take = require_shared("data", "bvh", "lafan1_cuts", "fallAndGetUp1_subject1_1600_1700.bvh")
    bvh = runner.invoke(app, ["render-motion", str(take), "-o", str(tmp_path / "c.mp4"), "--bvh-format", "cmu"])
    assert bvh.exit_code != 0 and "'cmu'" in bvh.output and "right format" in bvh.output
    assert not list(tmp_path.glob("*.mp4.tmp*")) and not list(tmp_path.glob(".*tmp*"))


def test_no_headless_gl_is_a_clear_error(monkeypatch):
    from mimicdata.render import gl

    monkeypatch.setenv("MUJOCO_GL", "glx-on-a-server")
    with pytest.raises(RenderingUnavailable, match="not a headless back end"):
        gl.backend()
    monkeypatch.delenv("MUJOCO_GL")
    monkeypatch.setattr(gl.ctypes.util, "find_library", lambda name: None)
    with pytest.raises(RenderingUnavailable, match="apt-get install libegl1"):
        gl.backend()
    assert issubclass(RenderingUnavailable, Exception) and not issubclass(RenderingUnavailable, InputError)


def test_a_robot_given_as_an_mjcf_with_meshes_is_drawn_with_them(built_sample, tmp_path, robot):
    from conftest import MJLAB_XML
    from mimicdata.render.scene import mesh_world
    from mimicdata.robot import load_robot

    require_shared("robots", "unitree_g1_mjlab", "g1.xml")
    meshed = load_robot(str(MJLAB_XML))
    world = mesh_world(meshed)
    assert world is not None and mesh_world(robot) is None  # the bundled G1 has capsules only
    out = tmp_path / "meshes.mp4"
    result = CliRunner().invoke(app, ["render-motion", str(built_sample), "--clip", "mocap:human_walk", "-o", str(out),
                                      "--robot", str(MJLAB_XML), "--fps", "5", "--width", "160", "--height", "120"])
    assert result.exit_code == 0, result.output
    frames = _frames(out)
    assert len(frames) == 20 and all(f.std() > 10 for f in frames)
    capsules = tmp_path / "capsules.mp4"
    CliRunner().invoke(app, ["render-motion", str(built_sample), "--clip", "mocap:human_walk", "-o", str(capsules),
                             "--fps", "5", "--width", "160", "--height", "120"])
    differ = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(frames, _frames(capsules))]
    assert min(differ) > 1.0  # meshes, not the capsules
