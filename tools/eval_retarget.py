"""Retarget quality on real BVH takes, side by side with Unitree's own retarget.

    python tools/eval_retarget.py [--bvh-dir ../shared/data/bvh/lafan1] [--json out.json]

For every BVH in the folder: mimicdata's retarget measured by
mimicdata.retarget.quality; where ../shared/data/g1_csv/unitree_lafan1 holds
Unitree's G1 retarget of the same take, that is measured the same way
(frame for frame, against the same scaled human).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from mimicdata.geometry.rotations import xyzw_to_wxyz
from mimicdata.motion import RobotMotion
from mimicdata.retarget import load_format, load_retarget_config, retarget_skeleton
from mimicdata.retarget.formats import resolve_roles
from mimicdata.retarget.quality import evaluate
from mimicdata.robot import load_robot
from mimicdata.sources.bvh import read_bvh

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

ROWS = [
    ("self_collision_frames", "frames self-colliding > 1 cm", "{:.2%}"),
    ("deepest_self_penetration", "deepest self-penetration (m)", "{:.3f}"),
    ("floor_penetration_frames", "frames with a geom below -2 cm", "{:.2%}"),
    ("deepest_floor_penetration", "deepest floor penetration (m)", "{:.3f}"),
    ("limit_violation_frames", "frames outside joint limits", "{:.2%}"),
    ("below_2cm_frames", "frames with sole below -2 cm", "{:.2%}"),
    ("median_lowest_sole", "median lowest sole (m)", "{:+.4f}"),
    ("stance_foot_speed", "stance foot speed (m/s)", "{:.4f}"),
    ("rms_joint_acc", "RMS joint acc (rad/s^2)", "{:.2f}"),
    ("rms_joint_jerk", "RMS joint jerk (rad/s^3)", "{:.1f}"),
]


def unitree_motion(csv: Path, fps: float, frames: int, joint_names: tuple[str, ...]) -> RobotMotion:
    data = np.loadtxt(csv, delimiter=",")[:frames]
    return RobotMotion(fps, data[:, :3], xyzw_to_wxyz(data[:, 3:7]), data[:, 7:], joint_names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bvh-dir", type=Path, default=SHARED / "bvh" / "lafan1")
    parser.add_argument("--format", default="lafan1")
    parser.add_argument("--reference-dir", type=Path, default=SHARED / "g1_csv" / "unitree_lafan1")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    robot = load_robot("unitree_g1")
    config = load_retarget_config(robot.name)
    fmt = load_format(args.format)
    report = {}
    for bvh in sorted(args.bvh_dir.glob("*.bvh")):
        start = time.perf_counter()
        skeleton = read_bvh(bvh, bvh_format=args.format)
        result = retarget_skeleton(skeleton, fmt, robot, bvh)
        seconds = time.perf_counter() - start
        roles = resolve_roles(skeleton, fmt, bvh)
        scale = result.robot.leg / result.human.leg
        ours = evaluate(robot, result.motion, config, skeleton, roles, scale)
        entry = {"frames": skeleton.num_frames, "seconds": seconds, "mimicdata": ours.as_dict()}
        reference = args.reference_dir / f"{bvh.stem}.csv"
        theirs = None
        if reference.is_file():
            motion = unitree_motion(reference, skeleton.fps, skeleton.num_frames, robot.joint_names)
            theirs = evaluate(robot, motion, config, skeleton, roles, scale)
            entry["unitree"] = theirs.as_dict()
        report[bvh.stem] = entry
        print(f"\n{bvh.stem}: {skeleton.num_frames} frames, retargeted in {seconds:.2f} s "
              f"({skeleton.num_frames / seconds:,.0f} frames/s); {result.notes[-1]}")
        print(f"  {'':34s}{'mimicdata':>12s}{'unitree' if theirs else '':>12s}")
        for key, label, form in ROWS:
            mine = form.format(getattr(ours, key))
            other = form.format(getattr(theirs, key)) if theirs else ""
            print(f"  {label:34s}{mine:>12s}{other:>12s}")
        for name, err in ours.end_effector_error.items():
            other = f"{theirs.end_effector_error[name]:.3f}" if theirs else ""
            print(f"  {'ee error ' + name + ' (m)':34s}{err:>12.3f}{other:>12s}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
