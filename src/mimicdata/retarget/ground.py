"""Feet on the ground: contact from the human, height correction on the robot.

The human says when a foot is planted; the robot's own sole geometry says how
far that foot is from the floor. A smooth vertical shift of the whole robot
puts planted soles at z = 0 and keeps flight phases (jumps) in the air.
"""

from __future__ import annotations

import numpy as np

from ..timeseries import gaussian_smooth

# A human foot is planted when its lowest marker is within this height of
# where that marker rests on the floor and moves slower than this speed.
CONTACT_HEIGHT = 0.04  # m
CONTACT_SPEED = 0.5  # m/s
SMOOTHING_SIGMA = 0.05  # s


def marker_contacts(foot_points: np.ndarray, rest_heights: np.ndarray, fps: float) -> np.ndarray:
    """(T, F, K) planted flags of each of the (T, F, K, 3) human foot markers (ankle, toe) resting at
    (F, K) heights: down and still."""
    height, speed = _heights_and_speeds(foot_points, rest_heights, fps)
    return (height < CONTACT_HEIGHT) & (speed < CONTACT_SPEED)


def foot_contacts(foot_points: np.ndarray, rest_heights: np.ndarray, fps: float) -> np.ndarray:
    """(T, F) planted flags: a foot is planted while its lowest marker is within CONTACT_HEIGHT of where it
    rests and its stillest marker moves slower than CONTACT_SPEED."""
    height, speed = _heights_and_speeds(foot_points, rest_heights, fps)
    return (height.min(axis=-1) < CONTACT_HEIGHT) & (speed.min(axis=-1) < CONTACT_SPEED)


def _heights_and_speeds(foot_points: np.ndarray, rest_heights: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(T, F, K) each marker's height above where it rests and its horizontal speed (m/s)."""
    height = foot_points[..., 2] - rest_heights[None]
    if foot_points.shape[0] < 2:
        velocity = np.zeros_like(foot_points)
    else:
        velocity = np.gradient(foot_points, axis=0) * fps
    return height, np.linalg.norm(velocity[..., :2], axis=-1)


def ground_shift(
    sole_height: np.ndarray, planted: np.ndarray, fps: float, lowest: np.ndarray | None = None
) -> np.ndarray:
    """(T,) vertical shift for the robot given each foot's lowest sole height (T, F).

    Planted frames pull the lowest planted sole to the floor; the shift is
    interpolated through flight phases, smoothed, and finally raised wherever
    a sole, or the lowest point `lowest` (T,) of any collision geom, would
    otherwise go through the floor.
    """
    shift = -planted_floor(sole_height, planted, fps)
    floor = sole_height.min(axis=1) if lowest is None else np.minimum(sole_height.min(axis=1), lowest)
    return np.maximum(shift, -floor)


def planted_floor(sole_height: np.ndarray, planted: np.ndarray, fps: float) -> np.ndarray:
    """(T,) the height the planted soles stand at, (T, F) sole heights and planted flags: the lowest
    planted sole, interpolated through frames with none planted and smoothed."""
    T = sole_height.shape[0]
    planted_low = np.where(planted, sole_height, np.inf).min(axis=1)
    have = np.isfinite(planted_low)
    if have.any():
        frames = np.flatnonzero(have)
        level = np.interp(np.arange(T), frames, planted_low[frames])
    else:
        level = np.full(T, sole_height.min())
    return gaussian_smooth(level, SMOOTHING_SIGMA * fps) if T > 1 else level
