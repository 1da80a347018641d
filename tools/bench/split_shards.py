"""Peak memory of split-shards against the old tool's way (load the directory, concatenate, slice).

    python tools/bench/split_shards.py [--size-gb 3.2] [--shard-gb 1.0] [--max-size-gb 0.5] [--workdir DIR]

Writes a synthetic shard directory of --size-gb, then re-shards it to
--max-size-gb twice, each in a fresh child process so each peak RSS is its
own: once with mimicdata.commands.split_shards.split_shards, once the way the old
train_mimic split_shards.py does it (np.load every shard, concatenate every
array, slice, np.savez). Prints peak RSS as a fraction of the dataset size
and the ratio between the two. Needs about 3x --size-gb of free disk.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import run_in_child  # noqa: E402

KEYS = ("joint_pos", "joint_vel", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w")


def mimicdata_split(src: Path, dst: Path, bound: float) -> int:
    from mimicdata.commands.split_shards import split_shards

    return split_shards(src, dst, int(bound)).clips


def old_tool_split(src: Path, dst: Path, bound: float) -> int:
    """The old tool's algorithm, as its split_shards.py runs it: everything in RAM first."""
    arrays = {k: [] for k in KEYS}
    lengths, fps_, weights = [], [], []
    for path in sorted(src.glob("*.npz")):
        data = np.load(path, allow_pickle=True)
        for k in KEYS:
            arrays[k].append(np.asarray(data[k]))
        lengths.append(data["clip_lengths"])
        fps_.append(data["clip_fps"])
        weights.append(data["clip_weights"])
        fps, body_names = data["fps"], data["body_names"]
    merged = {k: np.concatenate(v) for k, v in arrays.items()}
    lengths, fps_, weights = np.concatenate(lengths), np.concatenate(fps_), np.concatenate(weights)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    per_frame = sum(int(np.prod(merged[k].shape[1:])) * merged[k].dtype.itemsize for k in KEYS)
    max_frames = int(bound / per_frame)
    ranges, first, used = [], 0, 0
    for i, n in enumerate(lengths):
        if used + n > max_frames and used > 0:
            ranges.append((first, i))
            first, used = i, 0
        used += n
    ranges.append((first, len(lengths)))
    dst.mkdir(parents=True)
    for s, (a, b) in enumerate(ranges):
        lo = int(starts[a])
        hi = int(starts[b]) if b < len(lengths) else len(merged["joint_pos"])
        out = {k: np.asarray(merged[k][lo:hi]) for k in KEYS}
        cl = lengths[a:b]
        np.savez(
            dst / f"shard_{s:03d}.npz",
            **out,
            fps=fps,
            body_names=body_names,
            clip_lengths=cl,
            clip_starts=np.concatenate([[0], np.cumsum(cl)[:-1]]),
            clip_fps=fps_[a:b],
            clip_weights=weights[a:b],
        )
    return len(lengths)


def _child(name: str, src: str, dst: str, bound: float, queue) -> None:
    from memory import status_mb

    start_rss = status_mb("VmHWM")
    t0 = time.perf_counter()
    clips = {"mimicdata": mimicdata_split, "old": old_tool_split}[name](Path(src), Path(dst), bound)
    queue.put((clips, time.perf_counter() - t0, start_rss, status_mb("VmHWM")))


def run(name: str, src: Path, dst: Path, bound: float) -> tuple[int, float, float, float]:
    return run_in_child(_child, name, str(src), str(dst), bound)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=3.2)
    parser.add_argument("--shard-gb", type=float, default=1.0)
    parser.add_argument("--max-size-gb", type=float, default=0.5)
    parser.add_argument("--workdir", type=Path, default=None, help="Where the data goes (default: a temp dir).")
    args = parser.parse_args()
    # Imported here, not at the top: the spawned children re-import this module and should stay lean.
    from synthetic import make_shard_dir

    work = Path(tempfile.mkdtemp(prefix="bench_split_", dir=args.workdir))
    try:
        t0 = time.perf_counter()
        paths = make_shard_dir(work / "in", args.size_gb * 1e9, args.shard_gb * 1e9)
        size = sum(p.stat().st_size for p in paths)
        print(
            f"synthetic dataset: {len(paths)} shards, {size / 1e9:.2f} GB ({time.perf_counter() - t0:.0f} s to write)"
        )
        bound = args.max_size_gb * 1e9
        results = {}
        for name in ("mimicdata", "old"):
            clips, seconds, start, peak = run(name, work / "in", work / f"out_{name}", bound)
            out = sum(p.stat().st_size for p in (work / f"out_{name}").rglob("*.npz"))
            shards = len(list((work / f"out_{name}").rglob("*.npz")))
            results[name] = peak
            print(
                f"{name:10s} {clips} clips -> {shards} shards ({out / 1e9:.2f} GB) in {seconds:5.1f} s; "
                f"peak RSS {peak:6.0f} MB = {peak * 2**20 / size:.3f} of the dataset "
                f"({peak - start:.0f} MB above the {start:.0f} MB the process started with)"
            )
            shutil.rmtree(work / f"out_{name}")
        print(f"peak RSS, old tool / mimicdata: {results['old'] / results['mimicdata']:.1f}x")
        print(
            f"bound in the issue: one output shard plus one input shard = {(bound + args.shard_gb * 1e9) / 2**20:.0f} MB"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
