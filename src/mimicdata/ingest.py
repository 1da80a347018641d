"""Any source file -> robot motion, and the standalone ingest of a folder into clip files."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joblib import Parallel, delayed

from .discover import ClipItem, scan_source
from .errors import BuildError, MimicdataError
from .kinematics import motion_to_clip, resample
from .motion import RobotMotion, SkeletonMotion
from .robot import RobotModel, load_robot
from .shards import write_clip
from .sources import read_motion
from .spec import SourceSpec


def load_robot_motion(
    source_type: str,
    path: Path,
    robot: RobotModel,
    *,
    max_frames: int | None = None,
    **options: Any,
) -> tuple[RobotMotion, tuple[str, ...]]:
    """Read one file and, for a human skeleton, retarget it: robot motion plus warnings."""
    motion = read_motion(source_type, path, robot, **options).head(max_frames)
    if isinstance(motion, SkeletonMotion):
        from .retarget import load_format, retarget_skeleton  # scipy: only human motion needs it

        result = retarget_skeleton(motion, load_format(options["bvh_format"]), robot, path)
        return result.motion, result.notes
    return motion, ()


def reader_options(source: SourceSpec) -> dict[str, Any]:
    """The per-type options a reader takes from its source spec."""
    if source.type == "bvh":
        return {"bvh_format": source.bvh_format}
    if source.type in ("csv", "seed_csv"):
        return {"fps": source.fps} if source.fps is not None else {}
    if source.type == "hdf5":
        return {
            "fps": source.fps,
            "root_pos_key": source.root_pos_key,
            "root_quat_key": source.root_quat_key,
            "joint_pos_key": source.joint_pos_key,
            "quat_order": source.quat_order,
        }
    return {}


@dataclass
class IngestResult:
    clip_id: str
    input: str
    output: str = ""
    num_frames: int = 0
    error: str = ""
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def ingest_one(item: ClipItem, source: SourceSpec, robot_spec: str, output: Path, fps: int | None) -> IngestResult:
    """One file -> one clip file; never raises for a bad input."""
    start = time.perf_counter()
    result = IngestResult(item.clip_id, str(item.path))
    try:
        robot = load_robot(robot_spec)
        motion, notes = load_robot_motion(
            source.type, item.path, robot, max_frames=source.max_frames, **reader_options(source)
        )
        # Clip files store an integer rate: the source's own, rounded, unless asked.
        motion = resample(motion, fps or max(1, round(motion.fps)))
        clip = motion_to_clip(robot, motion)
        target = output / f"{item.rel}.npz"
        write_clip(target, item.clip_id, clip, source.weight)
        result.output, result.num_frames, result.notes = str(target), clip.num_frames, list(notes)
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
    load_robot(robot)
    work = (delayed(ingest_one)(item, source, robot, output, fps) for item in items)
    return list(Parallel(n_jobs=jobs)(work)) if jobs > 1 else [ingest_one(i, source, robot, output, fps) for i in items]
