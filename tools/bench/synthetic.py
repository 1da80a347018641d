"""A synthetic shard directory of a given size, in mimicdata's shard format, for the I/O benchmarks.

    python tools/bench/synthetic.py OUT_DIR [--size-gb 3.2] [--shard-gb 1.0]

Random G1-shaped clips of 300-6000 frames, written one clip at a time (the
generator never holds more than one clip), deterministic for a given seed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mimicdata.dataset.shards import ShardClip, bytes_per_frame, frame_widths, write_shard
from mimicdata.motion import ARRAY_KEYS
from mimicdata.robot import load_robot


def make_shard_dir(out: Path, size_bytes: float, shard_bytes: float, seed: int = 0, fps: int = 50) -> list[Path]:
    """Shards totalling at least `size_bytes`, each at most about `shard_bytes`; returns their paths."""
    robot = load_robot()
    J, B = robot.num_joints, len(robot.body_names)
    per_frame = bytes_per_frame(J, B)
    widths = frame_widths(J, B)
    rng = np.random.default_rng(seed)
    lengths: list[int] = []
    while sum(lengths) * per_frame < size_bytes:
        lengths.append(int(rng.integers(300, 6000)))

    class Lazy(dict):
        """The writer asks for one member at a time; generate only that one."""

        def __init__(self, n: int, length: int) -> None:
            super().__init__()
            self.n, self.length = n, length

        def __missing__(self, key: str) -> np.ndarray:
            r = np.random.default_rng((seed, self.n, ARRAY_KEYS.index(key)))
            return r.standard_normal((self.length, *widths[key]), dtype=np.float32)

    def loader(n: int, length: int):
        return lambda: Lazy(n, length)

    paths, group, used = [], [], 0
    for n, length in enumerate(lengths):
        group.append(ShardClip(f"synthetic:clip_{n:05d}", length, 1.0 + (n % 3), loader(n, length)))
        used += length * per_frame
        if used >= shard_bytes or n == len(lengths) - 1:
            path = out / f"shard_{len(paths):03d}.npz"
            write_shard(path, group, fps, robot.joint_names, robot.body_names)
            paths.append(path)
            group, used = [], 0
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size-gb", type=float, default=3.2)
    parser.add_argument("--shard-gb", type=float, default=1.0)
    args = parser.parse_args()
    paths = make_shard_dir(args.out, args.size_gb * 1e9, args.shard_gb * 1e9)
    print(f"{len(paths)} shards, {sum(p.stat().st_size for p in paths) / 1e9:.2f} GB in {args.out}")


if __name__ == "__main__":
    main()
