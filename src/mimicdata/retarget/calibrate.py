"""Rotation offsets between human joint frames and robot body frames.

Both sides are put in the same T-pose: the robot by the joint angles its
retarget config lists, the human by a T-pose frame (or a T-pose rest pose).
A role's offset then maps the human joint's world orientation to the robot
body's, with the robot turned to face where the human faces.
"""

from __future__ import annotations

import numpy as np

from ..geometry.rotations import matrix_to_quat, quat_conjugate, quat_multiply, quat_normalize, rotate_vector, turning
from ..motion import SkeletonMotion
from ..robot import RobotModel
from .formats import ORIENTED_ROLES, RetargetConfig

CALIBRATED_ON = "unitree_g1"  # the robot whose body frames stored offsets map to (tools/calibrate_bvh_format.py)


def robot_tpose(robot: RobotModel, config: RetargetConfig) -> tuple[np.ndarray, np.ndarray]:
    """Body positions (B, 3) and orientations (B, 4) of the robot in its T-pose, pelvis at the origin."""
    q = np.zeros(robot.num_joints)
    for name, value in config.tpose.items():
        q[robot.joint_names.index(name)] = value
    return robot.posed(q)


def heading(left_hip: np.ndarray, right_hip: np.ndarray) -> np.ndarray:
    """(..., 4) yaw-only orientation facing forward of a hip line (x forward, y left, z up)."""
    left = np.array(left_hip - right_hip, dtype=float)
    left[..., 2] = 0.0
    left /= np.linalg.norm(left, axis=-1, keepdims=True)
    up = np.zeros_like(left)
    up[..., 2] = 1.0
    forward = np.cross(left, up)
    return matrix_to_quat(np.stack([forward, left, up], axis=-1))


def measure_offsets(
    joint_quat: dict[str, np.ndarray],
    left_hip: np.ndarray,
    right_hip: np.ndarray,
    robot_quat: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Per oriented role, q_offset with q_robot = q_human * q_offset in the T-pose.

    The robot stands level, facing where the hip line says. Its pelvis is also rolled as the performer's
    hip line is: the hip joints hang from the pelvis joint, so that line is fixed in its frame, and a
    performer standing on one leg a little in the calibration frame (SOMA's: 2.1 degrees) would otherwise
    leave every retargeted pelvis rolled by as much, one leg reaching across to its hip roll limit."""
    face = heading(left_hip, right_hip)
    level_left = rotate_vector(face, np.array([0.0, 1.0, 0.0]))
    hip_line = np.asarray(left_hip - right_hip, dtype=float)
    faces = {role: face for role in ORIENTED_ROLES}
    faces["pelvis"] = quat_multiply(turning(level_left, hip_line / np.linalg.norm(hip_line)), face)
    return {
        role: quat_normalize(quat_multiply(quat_conjugate(joint_quat[role]), quat_multiply(faces[role], robot_quat[role])))
        for role in ORIENTED_ROLES
    }


def stored_offsets(stored: dict[str, np.ndarray], robot: RobotModel, config: RetargetConfig) -> dict[str, np.ndarray]:
    """A format's stored offsets, measured against the bundled G1's body frames in its T-pose, for this robot's:
    q_robot = q_G1 * conj(q_G1_T) * q_robot_T per role, both in their T-pose (the identity for the G1)."""
    from ..robot import load_robot
    from .formats import load_retarget_config

    if robot.name == CALIBRATED_ON:
        return stored
    g1 = load_robot(CALIBRATED_ON)
    g1_config = load_retarget_config(CALIBRATED_ON)
    _, g1_quat = robot_tpose(g1, g1_config)
    _, my_quat = robot_tpose(robot, config)
    return {
        role: quat_normalize(quat_multiply(offset, quat_multiply(
            quat_conjugate(g1_quat[g1.body_index(g1_config.tasks[role].body)]),
            my_quat[robot.body_index(config.tasks[role].body)])))
        for role, offset in stored.items()
    }


def offsets_at(
    skeleton: SkeletonMotion,
    roles: dict[str, int],
    robot: RobotModel,
    config: RetargetConfig,
    frame: int | None,
) -> dict[str, np.ndarray]:
    """Offsets from a T-pose frame of the skeleton, or from its rest pose when frame is None."""
    _, tpose_quat = robot_tpose(robot, config)
    robot_quat = {r: tpose_quat[robot.body_index(config.tasks[r].body)] for r in ORIENTED_ROLES}
    if frame is None:
        positions, rotations = skeleton.rest_positions, skeleton.rest_rotations
    else:
        positions, rotations = skeleton.positions[frame], skeleton.rotations[frame]
    joint_quat = {r: rotations[roles[r]] for r in ORIENTED_ROLES}
    return measure_offsets(joint_quat, positions[roles["left_hip"]], positions[roles["right_hip"]], robot_quat)
