"""Retarget quality on real BVH takes, side by side with the retargets others published of them.

    python tools/eval_retarget.py [--bvh-dir DIR --format NAME] [--robot ROBOT] [--json out.json] [--markdown]

Without --bvh-dir: every take in ../shared/data/bvh/{lafan1, lafan1_cuts, cmu, hc_mocap, soma}, each
folder with its format. For every take, mimicdata's retarget is measured by
mimicdata.retarget.quality on the robot's collision geometry. Where another G1 retarget of the
same take exists, it is measured the same way (frame for frame, against the same scaled human):
Unitree's of LAFAN1 (../shared/data/g1_csv/unitree_lafan1, Unitree CSV) and NVIDIA's of BONES-SEED
SOMA takes (../shared/data/seed_csv, SEED CSV). The last lines are one table of every take
(--markdown prints it as a Markdown table).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from mimicdata.geometry.rotations import xyzw_to_wxyz
from mimicdata.motion import RobotMotion
from mimicdata.retarget import load_format, retarget_config, retarget_skeleton
from mimicdata.retarget.formats import resolve_roles
from mimicdata.retarget.quality import Quality, evaluate, measure_retarget
from mimicdata.robot import load_robot
from mimicdata.sources import read_motion
from mimicdata.sources.bvh import read_bvh

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FOLDERS = [("lafan1", "lafan1"), ("lafan1_cuts", "lafan1"), ("cmu", "cmu"), ("hc_mocap", "hc_mocap"), ("soma", "soma")]
# Folder of takes -> (who published a G1 retarget of them, where, how to read one).
REFERENCES = {"lafan1": ("unitree", SHARED / "g1_csv" / "unitree_lafan1", "unitree"),
              "soma": ("nvidia", SHARED / "seed_csv", "seed_csv")}

ROWS = [
    ("self_collision_frames", "frames self-colliding > 1 cm", "{:.2%}"),
    ("deepest_self_penetration", "deepest self-penetration (m)", "{:.3f}"),
    ("floor_penetration_frames", "frames with a geom below -2 cm", "{:.2%}"),
    ("deepest_floor_penetration", "deepest floor penetration (m)", "{:.3f}"),
    ("limit_violation_frames", "frames outside joint limits", "{:.2%}"),
    ("speed_limit_frames", "steps over a joint speed limit", "{:.2%}"),
    ("below_2cm_frames", "frames with sole below -2 cm", "{:.2%}"),
    ("median_lowest_sole", "median lowest sole (m)", "{:+.4f}"),
    ("stance_foot_speed", "stance foot speed (m/s)", "{:.4f}"),
    ("rms_joint_acc", "RMS joint acc (rad/s^2)", "{:.2f}"),
    ("rms_joint_jerk", "RMS joint jerk (rad/s^3)", "{:.1f}"),
    ("ik_residual_frames", "frames a hand/foot misses IK > 5 cm", "{:.2%}"),
    ("planted_foot_tilt", "planted sole tilt off level (deg)", "{:.1f}"),
]
SUMMARY = ["self_collision_frames", "floor_penetration_frames", "below_2cm_frames", "median_lowest_sole",
           "stance_foot_speed", "planted_foot_tilt", "rms_joint_jerk", "limit_violation_frames", "speed_limit_frames"]


def reference_motion(csv: Path, layout: str, fps: float, frames: int, robot) -> RobotMotion:
    """Another tool's G1 retarget of a take, at most as many frames as the take."""
    if layout == "seed_csv":
        return read_motion("seed_csv", csv, robot).head(frames)  # type: ignore[union-attr]
    data = np.loadtxt(csv, delimiter=",")[:frames]
    return RobotMotion(fps, data[:, :3], xyzw_to_wxyz(data[:, 3:7]), data[:, 7:], robot.joint_names)


def mean_ee(q: Quality) -> float:
    return float(np.mean(list(q.end_effector_error.values()))) if q.end_effector_error else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bvh-dir", type=Path, help="One folder of takes (default: the four folders above).")
    parser.add_argument("--format", default="lafan1", help="The skeleton format of --bvh-dir.")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", action="store_true", help="Print the summary as a Markdown table.")
    parser.add_argument("--robot", default="unitree_g1",
                        help="Bundled robot, robot.yaml, MJCF or URDF (others' G1 retargets are compared on the G1 only).")
    args = parser.parse_args()

    robot = load_robot(args.robot)
    config = retarget_config(robot)
    folders = [(args.bvh_dir, args.format)] if args.bvh_dir else [(SHARED / "bvh" / d, f) for d, f in FOLDERS]
    report: dict[str, dict] = {}
    table: list[tuple[str, str, Quality, float]] = []
    for folder, fmt_name in folders:
        fmt = load_format(fmt_name)
        for bvh in sorted(folder.glob("*.bvh")):
            start = time.perf_counter()
            skeleton = read_bvh(bvh, bvh_format=fmt_name)
            result = retarget_skeleton(skeleton, fmt, robot, bvh)
            seconds = time.perf_counter() - start
            roles = resolve_roles(skeleton, fmt, bvh)
            scale = result.robot.leg / result.human.leg
            ours = measure_retarget(robot, result, skeleton, fmt, bvh)
            name = f"{folder.name}/{bvh.stem}"
            entry = {"frames": skeleton.num_frames, "seconds": seconds, "mimicdata": ours.as_dict()}
            table.append((name, "mimicdata", ours, skeleton.num_frames / seconds))
            who, where, layout = REFERENCES.get(folder.name, ("", folder, ""))
            reference = where / f"{bvh.stem}.csv"
            theirs = None
            if who and reference.is_file() and robot.name == "unitree_g1":
                motion = reference_motion(reference, layout, skeleton.fps, skeleton.num_frames, robot)
                theirs = evaluate(robot, motion, config, skeleton, roles, scale, result.planted)
                entry[who] = theirs.as_dict()
                table.append((name, who, theirs, float("nan")))
            report[name] = entry
            print(f"\n{name}: {skeleton.num_frames} frames, retargeted in {seconds:.2f} s "
                  f"({skeleton.num_frames / seconds:,.0f} frames/s); {result.notes[-1]}")
            print(f"  {'':34s}{'mimicdata':>12s}{who if theirs else '':>12s}")
            for key, label, form in ROWS:
                mine = form.format(getattr(ours, key))
                other = form.format(getattr(theirs, key)) if theirs else ""
                if theirs and key == "ik_residual_frames":
                    other = "-"  # another tool's retarget: its IK targets are not ours to measure
                print(f"  {label:34s}{mine:>12s}{other:>12s}")
            if ours.worst_pair:
                print(f"  {'deepest overlap between':34s}{ours.worst_pair:>24s}")
            for part, err in ours.end_effector_error.items():
                other = f"{theirs.end_effector_error[part]:.3f}" if theirs else ""
                print(f"  {'ee error ' + part + ' (m)':34s}{err:>12.3f}{other:>12s}")
    _summary(table, args.markdown)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def _summary(table: list[tuple[str, str, Quality, float]], markdown: bool) -> None:
    forms = {key: form for key, _, form in ROWS}
    head = ["take", "retarget", *SUMMARY, "ee_error_m", "frames/s"]
    rows = [[name, who, *(forms[k].format(getattr(q, k)) for k in SUMMARY), f"{mean_ee(q):.3f}",
             "" if np.isnan(rate) else f"{rate:,.0f}"] for name, who, q, rate in table]
    print()
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:
        print("  ".join(str(c).rjust(w) for c, w in zip(row, widths)))


if __name__ == "__main__":
    main()
