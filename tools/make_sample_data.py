"""Write the bundled sample data (data/sample/): small synthetic G1 motions in every robot-motion format,
and a synthetic motion-capture take (BVH) of a walking human for the retarget.

The motions are procedural (gait-like joint oscillations on a moving root; the
human walks with planted feet), so the sample carries no third-party data. Run
from the repo root:

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


# The human of the BVH take: LAFAN1-style bone names, centimetres, Y up, facing +Z (left is +X),
# defined in a T-pose rest, which is what the `nokov` format calibrates from.
# (name, parent, offset from the parent in cm); a name ending in "/" is an end site.
SKELETON = [
    ("Hips", None, (0.0, 95.0, 0.0)),
    ("LeftUpLeg", "Hips", (9.0, -5.0, 0.0)), ("LeftLeg", "LeftUpLeg", (0.0, -42.0, 0.0)),
    ("LeftFoot", "LeftLeg", (0.0, -42.0, 0.0)), ("LeftToe", "LeftFoot", (0.0, -6.0, 13.0)), ("LeftToe/", "LeftToe", (0.0, 0.0, 5.0)),
    ("RightUpLeg", "Hips", (-9.0, -5.0, 0.0)), ("RightLeg", "RightUpLeg", (0.0, -42.0, 0.0)),
    ("RightFoot", "RightLeg", (0.0, -42.0, 0.0)), ("RightToe", "RightFoot", (0.0, -6.0, 13.0)),
    ("RightToe/", "RightToe", (0.0, 0.0, 5.0)),
    ("Spine", "Hips", (0.0, 10.0, 0.0)), ("Spine1", "Spine", (0.0, 12.0, 0.0)), ("Spine2", "Spine1", (0.0, 12.0, 0.0)),
    ("Neck", "Spine2", (0.0, 14.0, 0.0)), ("Head", "Neck", (0.0, 10.0, 0.0)), ("Head/", "Head", (0.0, 15.0, 0.0)),
    ("LeftShoulder", "Spine2", (3.0, 10.0, 0.0)), ("LeftArm", "LeftShoulder", (14.0, 0.0, 0.0)),
    ("LeftForeArm", "LeftArm", (28.0, 0.0, 0.0)), ("LeftHand", "LeftForeArm", (25.0, 0.0, 0.0)),
    ("LeftHand/", "LeftHand", (8.0, 0.0, 0.0)),
    ("RightShoulder", "Spine2", (-3.0, 10.0, 0.0)), ("RightArm", "RightShoulder", (-14.0, 0.0, 0.0)),
    ("RightForeArm", "RightArm", (-28.0, 0.0, 0.0)), ("RightHand", "RightForeArm", (-25.0, 0.0, 0.0)),
    ("RightHand/", "RightHand", (-8.0, 0.0, 0.0)),
]
THIGH, SHIN, HIP_DROP, ANKLE_TO_SOLE = 42.0, 42.0, 5.0, 6.0


def human_walk(fps: float, seconds: float) -> tuple[list[str], np.ndarray]:
    """Joint names and (T, 6 + 3 * joints) BVH channels (cm, degrees) of a walk whose stance foot stays put.

    Channels are Xposition Yposition Zposition for the root, then Xrotation Yrotation Zrotation for
    every joint (R = Rx Ry Rz). Hip and knee flex about X; the ankle cancels both so the foot stays
    flat; the hips are as high as the longer leg allows, so the stance sole is on the floor, and move
    forward by what the stance foot moves back, so it does not slide.
    """
    t = np.arange(int(round(seconds * fps))) / fps
    phase = 2 * np.pi * t / 1.1  # one stride in 1.1 s
    joints = [name for name, _, _ in SKELETON if not name.endswith("/")]
    angles = {name: np.zeros((len(t), 3)) for name in joints}
    legs = {}
    for side, shift in (("Left", 0.0), ("Right", np.pi)):
        hip = -22.0 * np.sin(phase + shift)  # negative: thigh forward
        knee = 50.0 * np.sqrt(np.clip(np.cos(phase + shift), 0.0, None))  # bent in the swing, from its start
        angles[f"{side}UpLeg"][:, 0] = hip
        angles[f"{side}Leg"][:, 0] = knee
        angles[f"{side}Foot"][:, 0] = -(hip + knee)
        a, b = np.radians(hip), np.radians(hip + knee)
        drop = THIGH * np.cos(a) + SHIN * np.cos(b)  # hip to ankle, vertically
        ahead = -(THIGH * np.sin(a) + SHIN * np.sin(b))  # ankle ahead of the hip
        legs[side] = (drop, ahead)
        sign = 1.0 if side == "Left" else -1.0
        angles[f"{side}Arm"][:, 2] = -sign * 72.0  # from the T-pose down to the sides
        angles[f"{side}Arm"][:, 0] = -0.6 * hip  # forward while its leg is back
        angles[f"{side}ForeArm"][:, 1] = -sign * 25.0
    stance_left = legs["Left"][0] >= legs["Right"][0]
    drop = np.where(stance_left, legs["Left"][0], legs["Right"][0])
    moved = np.where(stance_left[:-1], np.diff(legs["Left"][1]), np.diff(legs["Right"][1]))
    forward = np.concatenate([[0.0], -np.cumsum(moved)])  # what the stance foot moves back, the hips move on
    angles["Spine1"][:, 1] = 4.0 * np.sin(phase)  # a little counter-rotation of the chest
    root = np.stack([np.zeros_like(t), drop + HIP_DROP + ANKLE_TO_SOLE, forward], axis=1)
    channels = np.concatenate([root] + [angles[name] for name in joints], axis=1)
    return joints, channels


def bvh_text(joints: list[str], channels: np.ndarray, fps: float) -> str:
    children: dict[str | None, list[tuple[str, tuple[float, float, float]]]] = {}
    for name, parent, offset in SKELETON:
        children.setdefault(parent, []).append((name, offset))
    lines = ["HIERARCHY"]

    def emit(name: str, offset: tuple[float, float, float], depth: int) -> None:
        pad = "  " * depth
        if name.endswith("/"):
            lines.extend([f"{pad}End Site", f"{pad}{{", f"{pad}  OFFSET {offset[0]:.2f} {offset[1]:.2f} {offset[2]:.2f}", f"{pad}}}"])
            return
        lines.append(f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {name}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {offset[0]:.2f} {offset[1]:.2f} {offset[2]:.2f}")
        position = "Xposition Yposition Zposition " if depth == 0 else ""
        count = 6 if depth == 0 else 3
        lines.append(f"{pad}  CHANNELS {count} {position}Xrotation Yrotation Zrotation")
        for child, child_offset in children.get(name, []):
            emit(child, child_offset, depth + 1)
        lines.append(f"{pad}}}")

    (root, offset), = children[None]
    emit(root, offset, 0)
    lines += ["MOTION", f"Frames: {len(channels)}", f"Frame Time: {1.0 / fps:.6f}"]
    lines += [" ".join(f"{v:.4f}" for v in row) for row in channels]
    assert len(joints) * 3 + 3 == channels.shape[1]
    return "\n".join(lines) + "\n"


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
    for sub in ("pkl", "csv", "npz", "seed_csv", "hdf5", "bvh"):
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
    joints, channels = human_walk(30, 4.0)
    (out / "bvh" / "human_walk.bvh").write_text(bvh_text(joints, channels, 30))
    print(f"wrote bvh: human_walk ({len(channels)} frames at 30 fps)")


if __name__ == "__main__":
    main()
