"""Rendering speed: 300 frames at 640 x 480 to an MP4, against MuJoCo's own Renderer on mjlab's G1.

    python tools/bench/render.py [--frames 300] [--width 640 --height 480]

Measured in this process on the same frames of a real robot motion (Unitree's G1 retarget of LAFAN1
walk4, ../shared/data): mimicdata's render-motion path (capsule drawing, collision and floor tints,
text overlay, H.264 encoding) and the baseline a user would write with MuJoCo alone (mjlab's G1 model
with its meshes, mj_forward per frame, mujoco.Renderer, the same encoder). Prints both times, their
ratio, and the ratio to the 30 s budget of issue 16.
"""

from __future__ import annotations

import os

# mujoco.Renderer (the baseline) picks its GL back end when mujoco is first imported: headless, as ours.
os.environ.setdefault("MUJOCO_GL", "egl")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from mimicdata.build.clip import read_robot_motion  # noqa: E402
from mimicdata.render import MotionRenderer, robot_drawing, write_video  # noqa: E402
from mimicdata.robot import load_robot  # noqa: E402
from mimicdata.spec import source_spec  # noqa: E402

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
BUDGET_S = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    args = parser.parse_args()

    robot = load_robot()
    path = SHARED / "data" / "g1_csv" / "unitree_lafan1" / "walk4_subject1.csv"
    motion = read_robot_motion(source_spec(name="u", type="csv", input=path.parent, fps=30), path, robot).motion
    motion = motion.head(args.frames)
    body_pos, body_quat = robot.forward_kinematics(motion.root_pos, motion.root_quat, motion.joint_pos)
    picks = np.arange(motion.num_frames)

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        drawing = robot_drawing(robot, "walk4_subject1", motion.fps, body_pos, body_quat)
        with MotionRenderer(args.width, args.height) as renderer:
            write_video(Path(tmp) / "ours.mp4", renderer.frames(drawing, picks), motion.fps)
        ours = time.perf_counter() - start

        # The baseline: mujoco.Renderer on mjlab's meshed G1 (its GL back end is the one mimicdata chose).
        import mujoco

        model = mujoco.MjModel.from_xml_path(str(SHARED / "robots" / "unitree_g1_mjlab" / "g1.xml"))
        model.vis.global_.offwidth, model.vis.global_.offheight = args.width, args.height
        data = mujoco.MjData(model)
        qpos = np.concatenate([motion.root_pos, motion.root_quat, motion.joint_pos], axis=1)
        start = time.perf_counter()
        renderer = mujoco.Renderer(model, args.height, args.width)
        camera = mujoco.MjvCamera()
        camera.distance, camera.azimuth, camera.elevation = 3.5, 90.0, -18.0

        def baseline_frames():
            for q in qpos:
                data.qpos[:] = q
                mujoco.mj_forward(model, data)
                camera.lookat[:] = [q[0], q[1], 0.7]
                renderer.update_scene(data, camera)
                yield renderer.render()

        write_video(Path(tmp) / "baseline.mp4", baseline_frames(), motion.fps)
        baseline = time.perf_counter() - start
        renderer.close()

    n = motion.num_frames
    print(f"{n} frames at {args.width} x {args.height}, GL back end {os.environ.get('PYOPENGL_PLATFORM')}")
    print(f"mimicdata render-motion path : {ours:6.2f} s  ({n / ours:5.1f} frames/s, {ours / BUDGET_S:.2f}x the 30 s budget)")
    print(f"mujoco.Renderer, meshed G1   : {baseline:6.2f} s  ({n / baseline:5.1f} frames/s)")
    print(f"ratio (baseline / mimicdata) : {baseline / ours:.2f}x")


if __name__ == "__main__":
    main()
