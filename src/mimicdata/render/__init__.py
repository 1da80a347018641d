"""Looking at motion: capsule scenes drawn by MuJoCo's renderer headless, and written as video."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .camera import Camera

_HOME = {"RenderingUnavailable": "gl", "Drawing": "scene", "MotionRenderer": "scene", "robot_drawing": "scene",
         "with_performer": "scene", "check_output": "video", "write_video": "video"}
__all__ = ["Camera", *sorted(_HOME)]


def __getattr__(name: str) -> Any:
    # MuJoCo and scipy load with the drawing, not with the command line that only names a camera.
    if name in _HOME:
        return getattr(import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
