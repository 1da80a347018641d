"""ingest-motion: a folder of motion files of one source type -> one clip file each, retargeting BVH."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..build.clip import finish_clip, read_robot_motion
from ..build.discover import ClipItem, scan_source
from ..dataset.shards import write_clip
from ..errors import BuildError, MimicdataError, RobotModelError
from ..robot import load_robot
from ..spec import PreprocessSpec, SourceSpec


@dataclass
class IngestResult:
    clip_id: str
    input: str
    output: str = ""
    num_frames: int = 0
    error: str = ""
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    quality: dict[str, Any] | None = None  # a retargeted file's quality measures (retarget.quality)


def ingest_one(item: ClipItem, source: SourceSpec, robot_spec: str, output: Path, fps: int | None) -> IngestResult:
    """One file -> one clip file; never raises for a bad input."""
    start = time.perf_counter()
    result = IngestResult(item.clip_id, str(item.path))
    try:
        robot = load_robot(robot_spec)
        read = read_robot_motion(source, item.path, robot, item.part)
        motion, notes = read.motion, read.notes
        result.quality = read.quality
        # Clip files store an integer rate: the source's own, rounded, unless asked.
        finished = finish_clip(motion, robot, fps or max(1, round(motion.fps)), PreprocessSpec())
        if finished.rejection is not None or finished.clip is None:
            result.error = finished.rejection.detail if finished.rejection else "no clip"
        else:
            target = output / f"{item.rel}.npz"
            write_clip(target, item.clip_id, finished.clip, source.weight, quality=finished.quality_score)
            result.output, result.num_frames = str(target), finished.clip.num_frames
            result.flags = list(finished.flags)
        result.notes = list(notes)
    except MimicdataError as exc:
        result.error = str(exc)
    except Exception as exc:  # one bad file must not stop the others
        result.error = f"{type(exc).__name__}: {exc}"
    result.seconds = time.perf_counter() - start
    return result


def ingest_motion(
    source: SourceSpec,
    output: Path,
    *,
    robot: str = "unitree_g1",
    jobs: int = 1,
    fps: int | None = None,
    force: bool = False,
) -> list[IngestResult]:
    """Write one clip file per input file under `output`, mirroring the input tree.

    Existing clip files are never replaced unless `force`; an output folder
    inside the input folder is refused, since a second run would read it back.
    """
    output = Path(output).resolve()
    root = source.input.resolve()
    if root.is_dir() and output.is_relative_to(root):
        raise BuildError(f"output {output} lies inside the input {root}; write the clips elsewhere")
    items = scan_source(source).items
    if not items:
        raise BuildError(f"no {source.type} files under {source.input}")
    clashes = [str(output / f"{i.rel}.npz") for i in items if (output / f"{i.rel}.npz").exists()]
    if clashes and not force:
        raise BuildError(
            f"{len(clashes)} clip file(s) already exist, e.g. {clashes[0]}; pass --force to replace them"
        )
    model = load_robot(robot)
    if source.type == "bvh":
        from ..retarget import retarget_config

        try:
            retarget_config(model)  # the robot's roles, found once rather than failing every file
        except RobotModelError as exc:
            raise BuildError(f"--robot {robot}: cannot retarget human motion onto it: {exc}") from None
    if jobs == 1:
        return [ingest_one(i, source, robot, output, fps) for i in items]
    from joblib import Parallel, delayed  # a quarter of a second of imports that one worker does not need

    return list(Parallel(n_jobs=jobs)(delayed(ingest_one)(item, source, robot, output, fps) for item in items))
