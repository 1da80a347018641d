"""Moving previews for inspect-dataset's report: small looping GIFs of chosen clips, beside the page.

Chosen, in this order and each clip once: the first clip (by id) of every source; the clips with the
highest root, the fastest root and the lowest quality score, each shown around that moment; and the
first few clips of the failures partition. They are drawn like render-motion draws (render/).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..dataset.stored import stored_clips
from ..errors import MimicdataError
from ..render import MotionRenderer, robot_drawing, write_video
from ..robot import load_robot
from .inspect_dataset import ClipInfo, Inspection

SIZE = (240, 180)  # pixels
RATE = 10.0  # frames per second
SECONDS = 5.0  # of each clip, at most
SOURCES_SHOWN = 8
FAILED_SHOWN = 3
FOLDER = "previews"


@dataclass(frozen=True)
class Preview:
    clip: ClipInfo
    why: str
    file: str  # relative to the report's folder


def choose(inspection: Inspection) -> list[tuple[ClipInfo, str, int]]:
    """(clip, why it is shown, the frame it is shown around) for every preview, in page order."""
    chosen: list[tuple[ClipInfo, str, int]] = []
    seen: set[tuple[str, int]] = set()

    def add(clip: ClipInfo, why: str, frame: int) -> None:
        if (clip.file, clip.index) not in seen:
            seen.add((clip.file, clip.index))
            chosen.append((clip, why, frame))

    clips = sorted(inspection.clips, key=lambda c: c.clip_id)
    for source in sorted({c.source for c in clips})[:SOURCES_SHOWN]:
        add(next(c for c in clips if c.source == source), f"source {source}", 0)
    if clips:
        top = max(clips, key=lambda c: c.root_peak[0])
        add(top, f"highest root, {top.root_peak[0]:.2f} m", top.root_peak[1])
        fast = max(clips, key=lambda c: c.speed_peak[0])
        add(fast, f"fastest root, {fast.speed_peak[0]:.2f} m/s", fast.speed_peak[1])
        scored = [c for c in clips if c.quality is not None]
        if scored:
            worst = min(scored, key=lambda c: c.quality or 0.0)
            add(worst, f"lowest quality score, {worst.quality:.2f}", 0)
    for clip in sorted(inspection.failures, key=lambda c: c.clip_id)[:FAILED_SHOWN]:
        add(clip, f"rejected: {clip.reason}", 0)
    return chosen


def write_previews(inspection: Inspection, out_dir: Path, robot: str) -> tuple[list[Preview], str | None]:
    """Draw every chosen preview into out_dir/previews/; (previews, None), or ([], why none could be drawn).
    GIFs an earlier report left there and this one does not use are removed."""
    base = Path(inspection.path) if Path(inspection.path).is_dir() else Path(inspection.path).parent
    folder = Path(out_dir) / FOLDER
    model = load_robot(robot)
    previews: list[Preview] = []
    try:
        with MotionRenderer(*SIZE) as renderer:
            for n, (clip, why, around) in enumerate(choose(inspection)):
                stored = next(stored_clips(base / clip.file, model, clip.index))
                drawing = robot_drawing(model, clip.clip_id, stored.fps, stored.body_pos, stored.body_quat)
                span = int(SECONDS * stored.fps)
                first = int(np.clip(around - span // 2, 0, max(0, drawing.num_frames - span)))
                picks = np.arange(first, min(drawing.num_frames, first + span), stored.fps / RATE).astype(np.int64)
                name = f"{n:02d}_{re.sub(r'[^A-Za-z0-9_.-]', '_', clip.clip_id)[:60]}.gif"
                write_video(folder / name, renderer.frames(drawing, picks, "follow"), RATE)
                previews.append(Preview(clip, why, f"{FOLDER}/{name}"))
    except MimicdataError as exc:
        return [], f"moving previews were not drawn: {exc}"
    used = {Path(p.file).name for p in previews}
    for stale in folder.glob("[0-9][0-9]_*.gif"):  # only names this module gives
        if stale.name not in used:
            stale.unlink()
    return previews, None
