"""Datasets in the layouts other training stacks read: mjlab, holosoma, Unitree CSV, the old tool's HDF5, LeRobot.

`export_dataset` streams a dataset's clips one at a time (export/clips.py: resampled, FK and velocities
recomputed, in MuJoCo's or IsaacLab's order) into one writer per format, all inside a hidden staging
folder beside the output, which takes the output's name only when every file is written. The dataset
is only read; an existing output is never written into or replaced.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..dataset.layout import BUILD_INFO, is_dataset_dir
from ..dataset.report import read_build_report
from ..errors import InputError
from ..infra.atomic import check_new_output, sweep_temporaries
from ..robot import load_robot
from ..robot.order import BODY_ORDERS, order
from .clips import SPLIT_CHOICES, ExportClip, dataset_clips

# The rate each consumer trains at, when --fps is not given: mjlab and holosoma step at 50 Hz.
DEFAULT_FPS = {"mjlab": 50, "holosoma": 50, "csv": None, "teleopit-hdf5": None, "lerobot": None}
FORMATS = tuple(DEFAULT_FPS)


class Writer(Protocol):
    def add(self, clip: ExportClip) -> Path: ...

    def finish(self) -> None: ...


@dataclass
class ExportReport:
    output: str
    format: str
    body_order: str
    fps: int | None
    clips: int = 0
    frames: int = 0
    files: list[str] = field(default_factory=list)


def export_dataset(
    dataset: Path,
    to: str,
    output: Path,
    *,
    split: str = "train",
    fps: int | None = None,
    body_order: str = "mujoco",
    robot: str = "unitree_g1",
) -> ExportReport:
    """Write the clips of `split` of `dataset` as format `to` into the new folder `output`."""
    dataset, output = Path(dataset), Path(output)
    if to not in FORMATS:
        raise InputError(output, "to", f"unknown format {to!r}; one of {FORMATS}")
    if body_order not in BODY_ORDERS:
        raise InputError(output, "body_order", f"expected one of {BODY_ORDERS}, not {body_order!r}")
    if split not in SPLIT_CHOICES:
        raise InputError(dataset, "split", f"expected one of {SPLIT_CHOICES}, not {split!r}")
    if fps is not None and not 1 <= fps <= 1000:
        raise InputError(output, "fps", f"expected a whole rate in [1, 1000], got {fps}")
    if not is_dataset_dir(dataset):
        raise InputError(dataset, None, "not a dataset directory (no build_info.json, or manifest beside train/ val/)")
    check_new_output(dataset, output, "dataset")
    model = load_robot(robot)
    rate = fps or DEFAULT_FPS[to]
    staging = output.with_name(f".{output.name}.partial-{os.getpid()}")
    if output.parent.is_dir():
        sweep_temporaries(output.parent, f".{output.name}.partial-*")  # what a killed export left
    report = ExportReport(str(output), to, body_order, rate)
    try:
        writer = _writer(to, staging, dataset, model.name)
        for clip in dataset_clips(dataset, split, model, rate, order(model, body_order)):
            written = writer.add(clip)
            report.clips += 1
            report.frames += clip.num_frames
            rel = str(written.relative_to(staging))
            if not report.files or report.files[-1] != rel:
                report.files.append(rel)
        writer.finish()
        report.files = sorted(set(report.files))
        if output.exists():
            output.rmdir()  # check_new_output allowed only an empty folder
        os.replace(staging, output)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError(output, "output", f"cannot be written: {exc.strerror or exc}; nothing was published") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report


def _writer(to: str, out: Path, dataset: Path, robot_type: str) -> Any:
    from .lerobot import LeRobotWriter
    from .npz_clips import HolosomaWriter, MjlabWriter
    from .teleopit_hdf5 import TeleopitHdf5Writer
    from .unitree_csv import UnitreeCsvWriter

    out.mkdir(parents=True)
    if to == "mjlab":
        return MjlabWriter(out)
    if to == "holosoma":
        return HolosomaWriter(out)
    if to == "csv":
        return UnitreeCsvWriter(out)
    if to == "lerobot":
        return LeRobotWriter(out, robot_type)
    built = read_build_report(dataset).built_at_utc if (dataset / BUILD_INFO).is_file() else None
    return TeleopitHdf5Writer(out, str(dataset.resolve()), built or "")
