"""Kinematic robot models: names, limits, sole geometry, batched FK."""

from .model import BUNDLED, RobotModel, load_robot

__all__ = ["BUNDLED", "RobotModel", "load_robot"]
