"""Loader: open time, RSS after opening, and windows/s, against plain np.load of the same directory.

    python tools/bench/loader.py [--size-gb 3.2] [--window 32] [--batch 1024] [--batches 60]

Writes a synthetic shard directory (tools/bench/synthetic.py), then in two
fresh child processes (torch imported in both):
  mimicdata  MotionWindows(dir): memory-mapped, nothing read at open;
  np.load    the old tool's way: np.load every shard and materialise its arrays.
Each samples `--batches` batches of `--batch` windows of `--window` frames,
weighted by clip, windows inside clips, through the same vectorised gather
(for np.load: from the arrays in RAM). Rates are given for the joint-space
keys (joint_pos, joint_vel) and for all six keys. Targets: RSS after opening
< 300 MB, >= 50,000 windows/s in one process.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from memory import run_in_child  # noqa: E402

KEY_SETS = {"joint_pos+joint_vel": ["joint_pos", "joint_vel"], "all six keys": None}


def _child(how: str, directory: str, window: int, batch: int, batches: int, queue) -> None:
    import numpy as np
    import torch  # noqa: F401  (both sides pay for it, as a training process does)
    from memory import status_mb

    from mimicdata.training.loaders import MotionWindows

    out = {"rss_start": status_mb("VmRSS")}
    t0 = time.perf_counter()
    if how == "mimicdata":
        opened = {name: MotionWindows(directory, window=window, keys=keys) for name, keys in KEY_SETS.items()}
    else:
        arrays = [dict(np.load(p, allow_pickle=False)) for p in sorted(Path(directory).glob("*.npz"))]
        opened = {name: _InRam(arrays, directory, window, keys) for name, keys in KEY_SETS.items()}
    out["open_s"] = time.perf_counter() - t0
    out["rss_open"] = status_mb("VmRSS")
    for name, ds in opened.items():
        sampler = ds.sampler(batch, seed=1, batches=batches)
        ds[next(iter(sampler))]  # warm-up: first maps, first allocation
        t0 = time.perf_counter()
        n = 0
        for items in sampler:
            n += ds[items][ds.keys[0]].shape[0]
        out[f"rate {name}"] = n / (time.perf_counter() - t0)
    out["rss_after"] = status_mb("VmRSS")
    out["anon_after"] = status_mb("RssAnon")
    queue.put(out)


class _InRam:
    """The same windows and sampling, gathered from arrays np.load put in RAM."""

    def __init__(self, arrays, directory, window, keys):
        from mimicdata.training.loaders import MotionWindows

        self._index = MotionWindows(directory, window=window, keys=keys)
        self.keys = self._index.keys
        self._arrays = arrays

    def sampler(self, *args, **kwargs):
        return self._index.sampler(*args, **kwargs)

    def __getitem__(self, items):
        import numpy as np
        import torch

        ds = self._index
        clips, anchors = ds.index.locate(np.asarray(items))
        offsets = np.asarray(ds.window.offsets)
        rows = (ds.shards.clip_start[clips] + anchors)[:, None] + offsets[None, :]
        shard_of = ds.shards.clip_shard[clips]
        batch = {}
        for key in self.keys:
            out = np.empty((len(clips), len(offsets), *self._arrays[0][key].shape[1:]), dtype=np.float32)
            for s in np.unique(shard_of):
                mask = shard_of == s
                out[mask] = self._arrays[s][key][rows[mask]]
            batch[key] = torch.from_numpy(out)
        return batch


def run(how: str, directory: Path, args) -> dict:
    return run_in_child(_child, how, str(directory), args.window, args.batch, args.batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=3.2)
    parser.add_argument("--shard-gb", type=float, default=1.0)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    from synthetic import make_shard_dir

    work = Path(tempfile.mkdtemp(prefix="bench_loader_", dir=args.workdir))
    try:
        paths = make_shard_dir(work, args.size_gb * 1e9, args.shard_gb * 1e9)
        size = sum(p.stat().st_size for p in paths)
        print(
            f"synthetic dataset: {len(paths)} shards, {size / 1e9:.2f} GB; windows of {args.window} frames, "
            f"batches of {args.batch}"
        )
        results = {how: run(how, work, args) for how in ("mimicdata", "np.load")}
        for how, r in results.items():
            rates = ", ".join(
                f"{k.removeprefix('rate ')}: {v:,.0f} windows/s" for k, v in r.items() if k.startswith("rate")
            )
            print(
                f"{how:10s} open {r['open_s']:7.3f} s; RSS after opening {r['rss_open']:6.0f} MB "
                f"(torch alone {r['rss_start']:.0f} MB); {rates}; RSS after sampling {r['rss_after']:.0f} MB "
                f"(private {r['anon_after']:.0f} MB, the rest page-cache maps the kernel can drop)"
            )
        ours, base = results["mimicdata"], results["np.load"]
        print(
            f"open: {base['open_s'] / ours['open_s']:,.0f}x faster; RSS after opening: "
            f"{base['rss_open'] / ours['rss_open']:.1f}x less (target < 300 MB: "
            f"{'met' if ours['rss_open'] < 300 else 'NOT met'})"
        )
        for key in (k for k in ours if k.startswith("rate")):
            verdict = "met" if ours[key] >= 50_000 else "NOT met"
            print(
                f"{key.removeprefix('rate ')}: {ours[key] / base[key]:.2f}x np.load's rate "
                f"(target >= 50,000 windows/s: {verdict})"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
