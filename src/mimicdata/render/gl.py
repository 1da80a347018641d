"""An offscreen OpenGL context for MuJoCo's renderer, on a machine without a display.

Two headless back ends exist on Linux: EGL (Mesa's software rasteriser on a server, or a GPU driver's)
and OSMesa. `MUJOCO_GL=egl|osmesa` picks one; otherwise EGL when its library is installed, else
OSMesa. PyOpenGL fixes its platform on first import, so the choice is made once per process.
"""

from __future__ import annotations

import ctypes.util
import importlib
import os
from typing import Any

from ..errors import MimicdataError

BACKENDS = ("egl", "osmesa")
INSTALL_HINT = (
    "install one headless OpenGL library: on Debian or Ubuntu `apt-get install libegl1` "
    "(or `apt-get install libosmesa6` and MUJOCO_GL=osmesa)"
)
_LIBRARIES = {"egl": "EGL", "osmesa": "OSMesa"}


class RenderingUnavailable(MimicdataError):
    """No headless OpenGL back end could be started."""


def backend() -> str:
    """The back end this process renders with: MUJOCO_GL when it names one, else the first installed."""
    chosen = os.environ.get("MUJOCO_GL", "").strip().lower()
    if chosen in BACKENDS:
        return chosen
    if chosen not in ("", "glfw", "enable", "enabled", "on", "true", "1"):
        raise RenderingUnavailable(f"MUJOCO_GL={chosen!r} is not a headless back end; use one of {BACKENDS}")
    for name in BACKENDS:
        if ctypes.util.find_library(_LIBRARIES[name]):
            return name
    raise RenderingUnavailable(f"no headless OpenGL library (libEGL or libOSMesa) was found; {INSTALL_HINT}")


def offscreen_context(width: int, height: int) -> Any:
    """A current OpenGL context of at least width x height pixels (call `.free()` when done)."""
    name = backend()
    os.environ.setdefault("PYOPENGL_PLATFORM", name)
    try:
        module = importlib.import_module(f"mujoco.{name}")
        context = module.GLContext(width, height)
        context.make_current()
    except Exception as exc:  # ImportError, EGL/OSMesa errors: a missing or broken driver
        raise RenderingUnavailable(
            f"cannot start headless OpenGL through {name} (PYOPENGL_PLATFORM="
            f"{os.environ.get('PYOPENGL_PLATFORM')!r}): {type(exc).__name__}: {exc}; {INSTALL_HINT}"
        ) from None
    return context
