"""Write the bundled sample data (data/sample/): small synthetic G1 motions in every robot-motion format.

The motions are procedural (gait-like joint oscillations on a moving root),
so the sample carries no third-party data. Run from the repo root:

    python tools/make_sample_data.py [--out data/sample]

The output is deterministic: running it again rewrites identical files.
"""

from __future__ import annotations

import argparse
import io
import pickle
import zipfile
from pathlib import Path

import h5py
import numpy as np

from mimicdata.geometry.rotations import euler_to_quat, wxyz_to_xyzw
from mimicdata.robot import load_robot

# (name, fps, seconds, speed m/s, turn rad/s, style)
MOTIONS = [
    ("walk_forward", 30, 6.0, 0.6, 0.0, "walk"),
    ("walk_turn_left", 30, 5.0, 0.5, 0.25, "walk"),
    ("march_in_place", 60, 4.0, 0.0, 0.0, "march"),
    ("wave_arms", 120, 3.0, 0.0, 0.0, "wave"),
    ("squat", 50, 4.0, 0.0, 0.0, "squat"),
    ("side_step", 29.97, 4.0, 0.3, 0.0, "side"),
    ("twitch", 30, 0.3, 0.0, 0.0, "march"),  # too short for the sample spec: shows a rejection
]


def synthesize(robot, fps: float, seconds: float, speed: float, turn: float, style: str):
    T = int(round(seconds * fps))
    t = np.arange(T) / fps
    J = {n: i for i, n in enumerate(robot.joint_names)}
    q = np.zeros((T, robot.num_joints))
    phase = 2 * np.pi * 0.9 * t
    ramp = np.clip(t / 0.5, 0, 1)  # start from a still pose
    if style in ("walk", "march", "side"):
        swing = (0.35 if style == "walk" else 0.55) * ramp
        for side, sign in (("left", 1), ("right", -1)):
            s = np.sin(phase) * sign
            q[:, J[f"{side}_hip_pitch_joint"]] = -0.15 - swing * s
            q[:, J[f"{side}_knee_joint"]] = 0.35 + swing * np.maximum(0, s) * 1.2
            q[:, J[f"{side}_ankle_pitch_joint"]] = -0.2 - 0.3 * swing * np.maximum(0, s)
            q[:, J[f"{side}_shoulder_pitch_joint"]] = 0.2 + 0.4 * swing * s
            q[:, J[f"{side}_elbow_joint"]] = 0.9
            q[:, J[f"{side}_shoulder_roll_joint"]] = 0.15 * sign
        if style == "side":
            q[:, J["left_hip_roll_joint"]] = 0.15 * (1 + np.sin(phase)) * ramp
            q[:, J["right_hip_roll_joint"]] = -0.15 * (1 + np.sin(phase)) * ramp
    elif style == "squat":
        depth = 0.5 * (1 - np.cos(2 * np.pi * 0.5 * t))
        for side in ("left", "right"):
            q[:, J[f"{side}_hip_pitch_joint"]] = -0.2 - 0.9 * depth
            q[:, J[f"{side}_knee_joint"]] = 0.4 + 1.6 * depth
            q[:, J[f"{side}_ankle_pitch_joint"]] = -0.2 - 0.6 * depth
            q[:, J[f"{side}_shoulder_pitch_joint"]] = -0.9 * depth
    elif style == "wave":
        for side in ("left", "right"):
            q[:, J[f"{side}_hip_pitch_joint"]] = -0.15
            q[:, J[f"{side}_knee_joint"]] = 0.35
            q[:, J[f"{side}_ankle_pitch_joint"]] = -0.2
        q[:, J["left_shoulder_roll_joint"]] = 1.2 + 0.3 * np.sin(phase * 2)
        q[:, J["left_elbow_joint"]] = 0.3 + 0.5 * (1 + np.sin(phase * 2))
        q[:, J["right_shoulder_pitch_joint"]] = -1.0 * ramp
        q[:, J["waist_yaw_joint"]] = 0.3 * np.sin(phase / 2)
    q = np.clip(q, robot.joint_lower + 1e-3, robot.joint_upper - 1e-3)

    yaw = turn * t
    heading = np.stack([np.cos(yaw), np.sin(yaw)], axis=1)
    lateral = np.stack([-np.sin(yaw), np.cos(yaw)], axis=1)
    dt = 1.0 / fps
    vel = speed * (lateral if style == "side" else heading) * ramp[:, None]
    root = np.zeros((T, 3))
    root[:, :2] = np.cumsum(vel, axis=0) * dt + [0.4, -0.2]
    root[:, 2] = 0.76 + 0.015 * np.cos(2 * phase) * ramp
    if style == "squat":
        root[:, 2] -= 0.25 * 0.5 * (1 - np.cos(2 * np.pi * 0.5 * t))
    euler = np.stack([0.02 * np.sin(phase), 0.05 + 0.02 * np.sin(2 * phase), yaw], axis=1)
    quat = euler_to_quat(euler, "xyz")
    # Lift the clip so the lowest sole point touches z = 0 at its lowest.
    body_pos, body_quat = robot.forward_kinematics(root, quat, q)
    soles = np.concatenate([robot.sole_points_world(f, body_pos, body_quat) for f in robot.foot_bodies], axis=1)
    root[:, 2] -= soles[..., 2].min()
    return root, quat, q, euler


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An NPZ with fixed zip timestamps, so regenerating gives identical bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for key, value in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/sample"))
    out = parser.parse_args().out
    robot = load_robot()
    for sub in ("pkl", "csv", "npz", "seed_csv", "hdf5"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for k, (name, fps, seconds, speed, turn, style) in enumerate(MOTIONS):
        root, quat, q, euler = synthesize(robot, fps, seconds, speed, turn, style)
        fmt = ("pkl", "csv", "npz", "seed_csv", "hdf5", "pkl", "csv")[k]
        if fmt == "pkl":
            # GMR's layout: root_rot xyzw, body fields left empty as GMR often does.
            record = {"fps": fps, "root_pos": root, "root_rot": wxyz_to_xyzw(quat), "dof_pos": q,
                      "local_body_pos": None, "link_body_list": None}
            (out / "pkl" / f"{name}.pkl").write_bytes(pickle.dumps(record, protocol=4))
        elif fmt == "csv":
            # Unitree's LAFAN1-retarget layout: no header, xyz, quat xyzw, joints.
            table = np.concatenate([root, wxyz_to_xyzw(quat), q], axis=1)
            text = "\n".join(",".join(f"{v:.6f}" for v in row) for row in table) + "\n"
            (out / "csv" / f"{name}.csv").write_text(text)
        elif fmt == "npz":
            # mjlab's layout: 30 unnamed bodies, fps as a 1-element array.
            body_pos, body_quat = robot.forward_kinematics(root, quat, q)
            dt = 1.0 / fps
            arrays = {
                "fps": np.array([fps], dtype=np.int64),
                "joint_pos": q.astype(np.float32),
                "joint_vel": np.gradient(q, dt, axis=0).astype(np.float32),
                "body_pos_w": body_pos.astype(np.float32),
                "body_quat_w": body_quat.astype(np.float32),
                "body_lin_vel_w": np.gradient(body_pos, dt, axis=0).astype(np.float32),
                "body_ang_vel_w": np.zeros_like(body_pos, dtype=np.float32),
            }
            (out / "npz" / f"{name}.npz").write_bytes(_npz_bytes(arrays))
        elif fmt == "seed_csv":
            # SEED layout: header, cm, extrinsic xyz Euler degrees, joint degrees, 120 fps.
            header = ["Frame", "root_translateX", "root_translateY", "root_translateZ",
                      "root_rotateX", "root_rotateY", "root_rotateZ"] + [f"{j}_dof" for j in robot.joint_names]
            rows = [",".join(header)]
            for i in range(len(root)):
                vals = [str(i)] + [f"{v:.4f}" for v in root[i] * 100] + [f"{v:.4f}" for v in np.degrees(euler[i])]
                vals += [f"{v:.4f}" for v in np.degrees(q[i])]
                rows.append(",".join(vals))
            (out / "seed_csv" / f"{name}.csv").write_bytes(("\r\n".join(rows) + "\r\n").encode())
        elif fmt == "hdf5":
            path = out / "hdf5" / f"{name}.h5"
            path.unlink(missing_ok=True)
            with h5py.File(path, "w", track_order=True) as f:
                f.attrs["fps"] = fps
                for key, value in (("root_pos", root), ("root_quat", quat), ("joint_pos", q)):
                    f.create_dataset(key, data=value, track_times=False)
        print(f"wrote {fmt}: {name} ({len(root)} frames at {fps} fps)")


if __name__ == "__main__":
    main()
