"""Build engine: cold, no-op and threshold-change rebuilds of a 1,000-clip spec, against the old tool's pipeline.

    python tools/bench/build.py [--clips 1000] [--seconds 4] [--workdir DIR]

Cuts the real robot motions in ../shared/data (G1 CSV, GMR pickles, mjlab
NPZ) into --clips clips of --seconds each (overlapping windows, one common
stride) and writes them as csv, pkl and npz sources of one spec, outside the
project. Then, in this process:
  cold --jobs 1, cold --jobs 2 (each with an empty cache),
  no-op rebuild, rebuild after a preprocess threshold change;
and the baseline, the old tool's way over the same clips in one process:
read, resample, body poses by one mujoco.mj_forward per frame on mjlab's G1,
velocities by its finite differences, one np.savez per clip, then every clip
loaded again and concatenated into one merged np.savez. Prints wall time and
frames/s of each, and the FK + velocity stage alone on both sides.
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import tempfile
import time
from pathlib import Path

import mujoco
import numpy as np
import yaml

from mimicdata.build.clip import read_robot_motion
from mimicdata.build.dataset import BuildOptions, build_dataset
from mimicdata.build.discover import scan_source
from mimicdata.dataset.foreign import load_arrays
from mimicdata.geometry.rotations import wxyz_to_xyzw
from mimicdata.robot import load_robot
from mimicdata.spec import load_spec, source_spec
from mimicdata.stages.resample import resample

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
MJLAB_XML = SHARED / "robots" / "unitree_g1_mjlab" / "g1.xml"
TARGET_FPS = 30


def _stride_for(spans: list[tuple[int, float]], seconds: float, clips: int) -> float:
    """The largest stride (s) that cuts at least `clips` windows of `seconds` from motions of (frames, fps)."""

    def count(stride: float) -> int:
        return sum(
            int((frames - seconds * fps) // (stride * fps)) + 1 for frames, fps in spans if frames >= seconds * fps
        )

    lo, hi = 1e-3, seconds
    if count(lo) < clips:
        raise SystemExit(f"../shared/data holds fewer than {clips} windows of {seconds} s")
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if count(mid) >= clips else (lo, mid)
    return lo


def _windows(frames: int, fps: float, seconds: float, stride: float) -> list[tuple[int, int]]:
    length, step = int(round(seconds * fps)), max(1, int(stride * fps))
    return [(a, a + length) for a in range(0, frames - length + 1, step)]


def assemble(work: Path, clips: int, seconds: float) -> Path:
    """Exactly `clips` real-motion clips, one folder per source type, and the spec that builds them."""
    robot = load_robot()
    data = SHARED / "data"
    csvs = [(p, 30) for p in sorted((data / "g1_csv" / "unitree_lafan1").glob("*.csv"))]
    csvs += [(p, 60) for p in sorted((data / "g1_csv" / "g1moves_60fps").glob("*.csv"))]
    csv_rows = {p: p.read_text().splitlines() for p, _ in csvs}
    pkl_source = source_spec(name="gmr", type="pkl", input=data / "pkl" / "gmr_g1")
    pkls = [(p, read_robot_motion(pkl_source, p, robot).motion) for p in sorted((data / "pkl" / "gmr_g1").glob("*.pkl"))]
    npzs = [(p, load_arrays(p)) for p in sorted((data / "npz" / "g1moves").glob("*.npz"))]
    npz_fps = {p: float(np.ravel(a["fps"])[0]) for p, a in npzs}
    spans = [(len(csv_rows[p]), fps) for p, fps in csvs] + [(m.num_frames, m.fps) for _, m in pkls]
    spans += [(a["joint_pos"].shape[0], npz_fps[p]) for p, a in npzs]
    stride = _stride_for(spans, seconds, clips)
    budget = clips  # the windows beyond the budget are dropped from the end

    out = {kind: work / "inputs" / kind for kind in ("csv", "pkl", "npz")}
    for folder in out.values():
        folder.mkdir(parents=True)

    def take(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
        nonlocal budget
        chosen, budget = windows[:budget], budget - min(budget, len(windows))
        return chosen

    for csv, fps in csvs:
        rows = csv_rows[csv]
        for n, (a, b) in enumerate(take(_windows(len(rows), fps, seconds, stride))):
            (out["csv"] / f"{csv.stem}_{fps}fps_{n:03d}.csv").write_text("\n".join(rows[a:b]) + "\n")
    for pkl, motion in pkls:
        for n, (a, b) in enumerate(take(_windows(motion.num_frames, motion.fps, seconds, stride))):
            clip = {
                "fps": int(round(motion.fps)),
                "root_pos": motion.root_pos[a:b],
                "root_rot": wxyz_to_xyzw(motion.root_quat[a:b]),
                "dof_pos": motion.joint_pos[a:b],
                "local_body_pos": None,
                "link_body_list": None,
            }
            with open(out["pkl"] / f"{pkl.stem}_{n:03d}.pkl", "wb") as fh:
                pickle.dump(clip, fh)
    for npz, arrays in npzs:
        frames = arrays["joint_pos"].shape[0]
        for n, (a, b) in enumerate(take(_windows(frames, npz_fps[npz], seconds, stride))):
            np.savez(
                out["npz"] / f"{npz.stem}_{n:03d}.npz",
                **{k: (v[a:b] if v.ndim and v.shape[0] == frames else v) for k, v in arrays.items()},
            )
    spec = {
        "name": "bench",
        "target_fps": TARGET_FPS,
        "val_percent": 5,
        "hash_salt": "bench",
        "preprocess": {"min_frames": 30},
        "sources": [
            {"name": "csv_30", "type": "csv", "input": str(out["csv"]), "fps": 30, "exclude_patterns": ["*_60fps_*"]},
            {"name": "csv_60", "type": "csv", "input": str(out["csv"]), "fps": 60, "exclude_patterns": ["*_30fps_*"]},
            {"name": "gmr", "type": "pkl", "input": str(out["pkl"])},
            {"name": "mjlab", "type": "npz", "input": str(out["npz"])},
        ],
    }
    path = work / "bench.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _old_angular_velocity(quat: np.ndarray, dt: float) -> np.ndarray:
    """The old tool's formula: 2 * dq/dt * conj(q), on normalised float32 quaternions."""
    q = quat / np.linalg.norm(quat, axis=-1, keepdims=True)
    dq = np.gradient(q, dt, axis=0)
    w1, x1, y1, z1 = np.moveaxis(dq, -1, 0)
    w2, x2, y2, z2 = np.moveaxis(q * np.array([1, -1, -1, -1], np.float32), -1, 0)
    vec = np.stack(
        [
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        axis=-1,
    )
    return (2.0 * vec).astype(np.float32)


def old_tool(spec_path: Path, out: Path) -> dict[str, float]:
    """The old tool's pipeline over the spec's clips; returns frames and seconds, in total and for FK alone."""
    spec = load_spec(spec_path)
    robot = load_robot()
    model = mujoco.MjModel.from_xml_path(str(MJLAB_XML))
    data = mujoco.MjData(model)
    bodies = [model.body(n).id for n in robot.body_names]
    out.mkdir(parents=True)
    frames, fk_seconds, written = 0, 0.0, []
    started = time.perf_counter()
    for source in spec.sources:
        for item in scan_source(source).items:
            motion = read_robot_motion(source, item.path, robot).motion
            motion = resample(motion, spec.target_fps)
            fk_started = time.perf_counter()
            T, dt = motion.num_frames, 1.0 / spec.target_fps
            pos = np.empty((T, len(bodies), 3), np.float32)
            quat = np.empty((T, len(bodies), 4), np.float32)
            for t in range(T):
                data.qpos[:3], data.qpos[3:7], data.qpos[7:] = (
                    motion.root_pos[t],
                    motion.root_quat[t],
                    motion.joint_pos[t],
                )
                mujoco.mj_forward(model, data)
                pos[t], quat[t] = data.xpos[bodies], data.xquat[bodies]
            arrays = {
                "fps": np.array(spec.target_fps),
                "joint_pos": motion.joint_pos.astype(np.float32),
                "joint_vel": np.gradient(motion.joint_pos, dt, axis=0).astype(np.float32),
                "body_pos_w": pos,
                "body_quat_w": quat,
                "body_lin_vel_w": np.gradient(pos, dt, axis=0).astype(np.float32),
                "body_ang_vel_w": _old_angular_velocity(quat, dt),
            }
            fk_seconds += time.perf_counter() - fk_started
            path = out / f"{len(written):06d}.npz"
            np.savez(path, **arrays)
            written.append(path)
            frames += T
    merged = {}
    for path in written:  # the old merge: every clip in memory, then one concatenation
        with np.load(path) as clip:
            for key in clip.files:
                if key != "fps":
                    merged.setdefault(key, []).append(clip[key])
    np.savez(out / "merged.npz", **{k: np.concatenate(v) for k, v in merged.items()})
    return {"frames": frames, "seconds": time.perf_counter() - started, "fk_seconds": fk_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000, help="how many clips the spec holds")
    parser.add_argument("--seconds", type=float, default=4.0, help="clip length cut from the real motions")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_build_", dir=args.workdir))
    try:
        spec_path = assemble(work, args.clips, args.seconds)
        counts = {k: len(list((work / "inputs" / k).iterdir())) for k in ("csv", "pkl", "npz")}
        print(f"spec: {sum(counts.values())} clips ({counts}) cut from ../shared/data, target {TARGET_FPS} fps")

        def line(label: str, seconds: float, frames: int, extra: str = "") -> None:
            print(f"{label:36s} {seconds:7.2f} s  {frames / seconds:10,.0f} frames/s  {extra}")

        os.sync()
        old = old_tool(spec_path, work / "old")
        line("baseline: the old tool's pipeline", old["seconds"], old["frames"], "(one process)")

        def run(label: str, out: str, **options) -> dict:
            os.sync()  # so no run pays for the write-back of the one before
            t0 = time.perf_counter()
            report = build_dataset(
                spec_path, BuildOptions(output_root=work / out, fk_check=False, **options)
            )
            seconds = time.perf_counter() - t0
            frames = sum(s.frames for s in report.splits.values())
            c = report.cache
            line(
                label,
                seconds,
                frames,
                f"(cache: {c.clips_from_cache} clips reused, "
                f"{c.motions_from_cache} from cached motion, {c.computed} computed)",
            )
            return {"seconds": seconds, "frames": frames, "fk": report.timings_s.get("clip_stage_fk_cpu", 0.0)}

        # Each cold build into a folder of its own: a rebuild over an existing dataset keeps its unchanged shards.
        cold1 = run("cold build, --jobs 1", "out1", jobs=1, cache_dir=work / "cache1")
        cold2 = run("cold build, --jobs 2", "out2", jobs=2, cache_dir=work / "cache2")
        noop = run("no-op rebuild, --jobs 2", "out2", jobs=2, cache_dir=work / "cache2")
        spec = yaml.safe_load(spec_path.read_text())
        spec["preprocess"]["max_root_lin_vel"] = 4.0
        spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
        changed = run("rebuild after a threshold change", "out2", jobs=2, cache_dir=work / "cache2")

        base = old["frames"] / old["seconds"]
        print(
            f"FK + velocities alone: {old['frames'] / old['fk_seconds']:,.0f} frames/s per-frame mj_forward, "
            f"{cold1['frames'] / cold1['fk']:,.0f} frames/s mimicdata ({old['fk_seconds'] / cold1['fk']:.1f}x)"
        )
        print(
            f"against the old tool's pipeline: cold --jobs 1 {cold1['frames'] / cold1['seconds'] / base:.1f}x, "
            f"cold --jobs 2 {cold2['frames'] / cold2['seconds'] / base:.1f}x, "
            f"no-op rebuild {old['seconds'] / noop['seconds']:.1f}x, "
            f"threshold change {old['seconds'] / changed['seconds']:.1f}x; "
            f"no-op rebuild {cold2['seconds'] / noop['seconds']:.1f}x faster than cold"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
