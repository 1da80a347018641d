"""Frames to a video file (MP4 through imageio's ffmpeg, GIF through Pillow), written atomically."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import InputError

FORMATS = (".mp4", ".gif")


def check_output(path: Path, overwrite: bool) -> None:
    """Refuse an output this command cannot write, or one it would replace without being told to."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InputError(path, "output", f"expected a {' or '.join(FORMATS)} file name")
    if path.exists() and not overwrite:
        raise InputError(path, "output", "already exists; pass --force to replace it")
    if path.is_dir():
        raise InputError(path, "output", "is a directory")


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float) -> int:
    """Write (H, W, 3) uint8 frames to `path` (.mp4 or .gif) under a temporary name, then rename it into
    place; returns the number of frames written. Nothing is left behind if writing fails."""
    import imageio.v2 as imageio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The suffix stays last, so the writer still knows the format from the name.
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    count = 0
    try:
        if path.suffix.lower() == ".gif":
            # Pillow takes a frame's duration in milliseconds; loop=0 repeats forever.
            writer = imageio.get_writer(tmp, mode="I", duration=1000.0 / fps, loop=0)
        else:
            # yuv420p plays everywhere (browsers included); it needs even sizes, which the callers ask for.
            writer = imageio.get_writer(tmp, fps=fps, codec="libx264", pixelformat="yuv420p", quality=7,
                                        macro_block_size=2, ffmpeg_log_level="error")
        with writer:
            for frame in frames:
                writer.append_data(frame)
                count += 1
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count
