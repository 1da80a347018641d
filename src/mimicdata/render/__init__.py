"""Looking at motion: capsule scenes drawn by MuJoCo's renderer headless, and written as video."""

from .gl import RenderingUnavailable
from .scene import Drawing, MotionRenderer, robot_drawing, with_performer
from .video import check_output, write_video

__all__ = ["Drawing", "MotionRenderer", "RenderingUnavailable", "check_output", "robot_drawing", "with_performer",
           "write_video"]
