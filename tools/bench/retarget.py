"""BVH -> robot motion throughput on one LAFAN1 take, against a per-frame loop.

    python tools/bench/retarget.py [--bvh ../shared/data/bvh/lafan1/walk4_subject1.bvh] [--repeats 3]

Measured in this process: parse + retarget of the whole take (batched over
frames, the way mimicdata runs it, every constraint on); the same IK problem
solved by the same solver one frame per call, warm-started from the previous
frame (the loop the old tool's GMR retargeter runs, there around a mink QP);
the take retargeted twice by two joblib workers; and what each constraint
costs: the retarget with none of them, then with each one alone. The old
tool's own rate on this machine is 160-280 frames/s.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from joblib import Parallel, delayed

from mimicdata.retarget import load_format, load_retarget_config, retarget_skeleton
from mimicdata.retarget.pipeline import plan_retarget
from mimicdata.robot import load_robot
from mimicdata.sources.bvh import read_bvh

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
TARGET_FPS = 20000.0  # one process, every constraint on
TARGET_FPS_TWO = 35000.0  # --jobs 2


def retarget_file(path: Path, fmt_name: str) -> int:
    robot, fmt = load_robot(), load_format(fmt_name)
    skeleton = read_bvh(path, bvh_format=fmt_name)
    return retarget_skeleton(skeleton, fmt, robot, path).motion.num_frames


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bvh", type=Path, default=SHARED / "bvh" / "lafan1" / "walk4_subject1.bvh")
    parser.add_argument("--format", default="lafan1")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loop-frames", type=int, default=200, help="Frames the per-frame baseline runs.")
    args = parser.parse_args()

    robot, fmt = load_robot(), load_format(args.format)
    frames = retarget_file(args.bvh, args.format)  # warm: imports, robot, format
    batched = min(timed(lambda: retarget_file(args.bvh, args.format)) for _ in range(args.repeats))

    skeleton = read_bvh(args.bvh, bvh_format=args.format)
    parse = min(timed(lambda: read_bvh(args.bvh, bvh_format=args.format)) for _ in range(args.repeats))
    retarget = min(timed(lambda: retarget_skeleton(skeleton, fmt, robot)) for _ in range(args.repeats))

    # The per-frame loop: the same IK problem and solver, one frame per call,
    # each warm-started from the previous frame's solution as GMR does.
    problem, _ = plan_retarget(skeleton, fmt, robot)
    n = min(args.loop_frames, skeleton.num_frames)
    first = (skeleton.num_frames - n) // 2

    def loop() -> None:
        q = None
        for t in range(first, first + n):
            q = problem.solve(robot, slice(t, t + 1), start=q).joint_pos

    per_frame = timed(loop) / n

    with Parallel(n_jobs=2) as pool:
        # A first round starts both workers and warms their imports and caches.
        pool(delayed(retarget_file)(args.bvh, args.format) for _ in range(2))
        two = min(
            timed(lambda: pool(delayed(retarget_file)(args.bvh, args.format) for _ in range(2)))
            for _ in range(args.repeats)
        )

    # What each constraint costs: the retarget (parse excluded) with none, then with each alone.
    config = load_retarget_config(robot.name)
    every = config.constraints
    assert every is not None
    nothing = {"self_collision": None, "floor": None, "stance_lock": None, "swing_clearance": None,
               "base_reach": None, "speed_limits": False}
    alone = {
        "no constraints": None,
        "self-collision only": every.model_copy(update={**nothing, "self_collision": every.self_collision}),
        "floor only": every.model_copy(update={**nothing, "floor": every.floor}),
        "stance lock only": every.model_copy(update={**nothing, "stance_lock": every.stance_lock}),
        "swing clearance only": every.model_copy(update={**nothing, "swing_clearance": every.swing_clearance}),
        "pelvis giving way only": every.model_copy(update={**nothing, "base_reach": every.base_reach}),
        "speed limits only": every.model_copy(update={**nothing, "speed_limits": True}),
    }
    costs = {
        label: min(timed(lambda c=c: retarget_skeleton(skeleton, fmt, robot, args.bvh, config.model_copy(
            update={"constraints": c}))) for _ in range(args.repeats))
        for label, c in alone.items()
    }

    ours = frames / batched
    print(f"take: {args.bvh.name}, {frames} frames at {skeleton.fps:.0f} fps")
    print(f"{f'per-frame IK loop ({n} frames)':44s}: {1 / per_frame:10,.0f} frames/s")
    print(f"mimicdata, one process                      : {ours:10,.0f} frames/s"
          f"   ({ours * per_frame:.1f}x the loop, {ours / TARGET_FPS:.2f}x the {TARGET_FPS:,.0f} target)")
    print(f"  of which BVH parse                        : {parse:10.3f} s")
    print(f"  of which retarget (IK, smoothing, ground) : {retarget:10.3f} s")
    print(f"mimicdata, --jobs 2 (take twice)            : {2 * frames / two:10,.0f} frames/s"
          f"   ({2 * frames / two / TARGET_FPS_TWO:.2f}x the {TARGET_FPS_TWO:,.0f} target)")
    base = costs["no constraints"]
    print(f"retarget without any constraint             : {base:10.3f} s ({frames / base:,.0f} frames/s)")
    for label, seconds in list(costs.items())[1:]:
        print(f"  {label:42s}: {seconds - base:+10.3f} s")
    print(f"  {'all of them (retarget above)':42s}: {retarget - base:+10.3f} s")


if __name__ == "__main__":
    main()
