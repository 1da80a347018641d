"""FK throughput: mimicdata's batched FK against a per-frame mujoco.mj_forward loop on the same frames.

    python tools/bench/fk.py [--frames 20000] [--repeats 5]

The baseline is the old tool's way: set qpos, call mj_forward, copy xpos and
xquat, once per frame, on mjlab's G1 model (../shared/robots, meshes
included as the old tool loads it). Both run in this process on identical
configurations; the ratio is what to read.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import mujoco
import numpy as np

from mimicdata.robot import load_robot

MJLAB_XML = Path(__file__).resolve().parents[2].parent / "shared" / "robots" / "unitree_g1_mjlab" / "g1.xml"


def best_of(repeats: int, fn) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--xml", type=Path, default=MJLAB_XML)
    args = parser.parse_args()

    robot = load_robot()
    rng = np.random.default_rng(0)
    T = args.frames
    q = rng.uniform(robot.joint_lower, robot.joint_upper, (T, robot.num_joints))
    root = rng.normal(size=(T, 3))
    quat = rng.normal(size=(T, 4))
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)

    model = mujoco.MjModel.from_xml_path(str(args.xml))
    data = mujoco.MjData(model)
    body_ids = [model.body(n).id for n in robot.body_names]
    mj_pos = np.empty((T, len(body_ids), 3))
    mj_quat = np.empty((T, len(body_ids), 4))

    def per_frame() -> None:
        for t in range(T):
            data.qpos[:3] = root[t]
            data.qpos[3:7] = quat[t]
            data.qpos[7:] = q[t]
            mujoco.mj_forward(model, data)
            mj_pos[t] = data.xpos[body_ids]
            mj_quat[t] = data.xquat[body_ids]

    base_fps = T / best_of(max(1, args.repeats // 2), per_frame)
    our_fps = T / best_of(args.repeats, lambda: robot.forward_kinematics(root, quat, q))
    pos, _ = robot.forward_kinematics(root, quat, q)
    err = np.abs(pos - mj_pos).max()
    print(f"frames: {T}, bodies: {len(body_ids)}, model for baseline: {args.xml.name}")
    print(f"per-frame mj_forward loop : {base_fps:12,.0f} frames/s")
    print(f"mimicdata batched FK      : {our_fps:12,.0f} frames/s")
    print(f"speed-up                  : {our_fps / base_fps:12.1f}x")
    print(f"max |position difference|: {err:.2e} m")


if __name__ == "__main__":
    main()
