"""Per-frame contact labels: which bodies touch the floor.

A body is in contact at a frame when its lowest point is within CONTACT_HEIGHT of the floor
(z = 0) and that point is nearly still: the velocity of the body's material point p there,

    v_p = v_b + w_b x (p - x_b),

from the body's linear velocity v_b, angular velocity w_b and origin x_b, is slower than
CONTACT_SPEED. Using the point, not the body origin, keeps a foot rolling over its heel or
ball in contact: the ankle moves, the touching point does not.

The lowest point of a body is the lowest of its collision geoms' surfaces (robot.collision)
and, for a foot, of its sole points, so foot contacts agree with the sole heights the ground
stage and the quality measures use. A body with neither is represented by its origin.
"""

from __future__ import annotations

import numpy as np

from ..geometry.rotations import cross
from ..motion import MotionClip
from ..robot import RobotModel
from ..robot.collision import PosedGeometry

CONTACT_HEIGHT = 0.03  # m above the floor
CONTACT_SPEED = 0.3  # m/s of the touching point


def lowest_body_points(
    robot: RobotModel, body_pos: np.ndarray, body_quat: np.ndarray, posed: PosedGeometry | None = None
) -> np.ndarray:
    """(T, B, 3) the lowest surface point of every body (its origin when it has no geometry); `posed`, the
    collision geometry already placed by these poses, saves placing it again."""
    lowest = np.array(body_pos, dtype=np.float64, copy=True)
    have = np.zeros(body_pos.shape[1], dtype=bool)
    geometry = robot.collision
    if geometry is not None and geometry.num_geoms:
        point = (posed or geometry.posed(body_pos, body_quat)).lowest_surface_points()
        for g in range(geometry.num_geoms):
            _take_lower(lowest, have, geometry.body[g], point[:, g])
    for foot in robot.foot_bodies:
        soles = robot.sole_points_world(foot, body_pos, body_quat)  # (T, P, 3)
        pick = soles[..., 2].argmin(axis=1)
        _take_lower(lowest, have, robot.body_index(foot), soles[np.arange(len(soles)), pick])
    return lowest


def _take_lower(lowest: np.ndarray, have: np.ndarray, body: int, point: np.ndarray) -> None:
    """Make `point` (T, 3) body's lowest point at the frames where it is lower than what it has."""
    if not have[body]:
        lowest[:, body], have[body] = point, True
        return
    lower = point[:, 2] < lowest[:, body, 2]
    lowest[lower, body] = point[lower]


def body_contacts(robot: RobotModel, clip: MotionClip, posed: PosedGeometry | None = None) -> np.ndarray:
    """(T, B) booleans: body b touches the floor at frame t (see the module docstring)."""
    body_pos = clip.body_pos_w.astype(np.float64)
    point = lowest_body_points(robot, body_pos, clip.body_quat_w.astype(np.float64), posed)
    velocity = clip.body_lin_vel_w + cross(clip.body_ang_vel_w.astype(np.float64), point - body_pos)
    still = np.einsum("tbi,tbi->tb", velocity, velocity) < CONTACT_SPEED**2
    return np.asarray((point[..., 2] < CONTACT_HEIGHT) & still)
