"""Measure a skeleton format's rotation offsets on a T-pose frame and store them.

    python tools/calibrate_bvh_format.py --format lafan1 \
        --bvh ../shared/data/bvh/lafan1/fallAndGetUp1_subject1.bvh --frame 0

The performer must stand upright in a T-pose (arms straight out sideways,
palms down, feet flat and forward) in that frame. Only the offsets and the
rest pose's hips-to-head direction (which `bvh_format: auto` checks files
against), derived numbers, go into the format file; the BVH stays where it is.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from mimicdata.retarget.calibrate import offsets_at
from mimicdata.retarget.formats import FORMATS, load_format, load_retarget_config, resolve_roles
from mimicdata.robot import load_robot
from mimicdata.sources.bvh import parse_bvh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", required=True)
    parser.add_argument("--bvh", required=True, type=Path)
    parser.add_argument("--frame", type=int, default=0)
    parser.add_argument("--robot", default="unitree_g1")
    args = parser.parse_args()

    path = FORMATS / f"{args.format}.yaml"
    text = path.read_text()
    head = text[: text.index("calibration:")]
    # Load without the stored block so a format can be calibrated from scratch.
    tmp = Path(tempfile.mkdtemp()) / path.name
    tmp.write_text(head + "calibration:\n  from: rest\n")
    try:
        load_format.cache_clear()
        fmt = load_format(str(tmp))
    finally:
        tmp.unlink()
        tmp.parent.rmdir()
    robot = load_robot(args.robot)
    skeleton = parse_bvh(args.bvh, length_unit=fmt.length_unit, up_axis=fmt.up_axis)
    roles = resolve_roles(skeleton, fmt, args.bvh)
    offsets = offsets_at(skeleton, roles, robot, load_retarget_config(robot.name), frame=args.frame)
    rest = skeleton.rest_positions
    spine = rest[roles["head"]] - 0.5 * (rest[roles["left_hip"]] + rest[roles["right_hip"]])
    up = spine / np.linalg.norm(spine)
    block = [
        "calibration:",
        "  from: stored",
        f"  measured_on: {args.bvh.name} frame {args.frame} (T-pose)",
        f"  rest_up: [{', '.join(f'{v:.3f}' for v in up)}]  # hips to head in the rest pose (Z-up)",
        "  offsets:  # wxyz, q_robot_body = q_human_joint * offset",
    ]
    for role, q in offsets.items():
        block.append(f"    {role}: [{', '.join(f'{v:.6f}' for v in np.round(q, 6))}]")
    path.write_text(head + "\n".join(block) + "\n")
    load_format.cache_clear()
    load_format(args.format)
    print(f"wrote {len(offsets)} offsets to {path}")


if __name__ == "__main__":
    main()
