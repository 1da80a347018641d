"""Build engine: cold, no-op and threshold-change rebuilds of a >= 500-clip spec, against per-frame mj_forward FK.

    python tools/bench/build.py [--seconds 4] [--workdir DIR]

Cuts the real robot motions in ../shared/data (G1 CSV, GMR pickles, mjlab
NPZ) into clips of --seconds (half-overlapping) and writes them as csv, pkl
and npz sources of one spec, outside the project. Then, in this process:
  cold --jobs 1, cold --jobs 2 (each with an empty cache),
  no-op rebuild, rebuild after a preprocess threshold change;
and the baseline: the same clips read, resampled, and given body poses by the
old tool's way, one mujoco.mj_forward per frame on mjlab's G1 model, with
finite-difference velocities. Prints wall time and frames/s of each.
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import tempfile
import time
from pathlib import Path

import mujoco
import numpy as np
import yaml

from mimicdata.build import BuildOptions, build_dataset
from mimicdata.discover import scan_source
from mimicdata.ingest import load_robot_motion, reader_options
from mimicdata.kinematics import resample
from mimicdata.robot import load_robot
from mimicdata.rotations import wxyz_to_xyzw
from mimicdata.sources.npz import load_arrays
from mimicdata.spec import load_spec

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
MJLAB_XML = SHARED / "robots" / "unitree_g1_mjlab" / "g1.xml"
TARGET_FPS = 30


def _windows(frames: int, length: int) -> list[tuple[int, int]]:
    return [(a, a + length) for a in range(0, max(frames - length, 0) + 1, max(1, length // 2))]


def assemble(work: Path, seconds: float) -> Path:
    """Real motions cut into clips, one folder per source type, and the spec that builds them."""
    robot = load_robot()
    data = SHARED / "data"
    out = {kind: work / "inputs" / kind for kind in ("csv", "pkl", "npz")}
    for folder in out.values():
        folder.mkdir(parents=True)
    for csv, fps in [(p, 30) for p in sorted((data / "g1_csv" / "unitree_lafan1").glob("*.csv"))] + [
        (p, 60) for p in sorted((data / "g1_csv" / "g1moves_60fps").glob("*.csv"))
    ]:
        rows = csv.read_text().splitlines()
        for n, (a, b) in enumerate(_windows(len(rows), int(seconds * fps))):
            (out["csv"] / f"{csv.stem}_{fps}fps_{n:03d}.csv").write_text("\n".join(rows[a:b]) + "\n")
    for pkl in sorted((data / "pkl" / "gmr_g1").glob("*.pkl")):
        motion, _ = load_robot_motion("pkl", pkl, robot)
        for n, (a, b) in enumerate(_windows(motion.num_frames, int(seconds * motion.fps))):
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
    for npz in sorted((data / "npz" / "g1moves").glob("*.npz")):
        arrays = load_arrays(npz)
        fps = float(np.ravel(arrays["fps"])[0])
        frames = arrays["joint_pos"].shape[0]
        for n, (a, b) in enumerate(_windows(frames, int(seconds * fps))):
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


def old_tool_fk(spec_path: Path) -> tuple[int, float]:
    """Read and resample every clip, then body poses by per-frame mj_forward and differenced velocities."""
    spec = load_spec(spec_path)
    robot = load_robot()
    model = mujoco.MjModel.from_xml_path(str(MJLAB_XML))
    data = mujoco.MjData(model)
    bodies = [model.body(n).id for n in robot.body_names]
    frames = 0
    started = time.perf_counter()
    for source in spec.sources:
        for item in scan_source(source).items:
            motion, _ = load_robot_motion(source.type, item.path, robot, **reader_options(source))
            motion = resample(motion, spec.target_fps)
            T = motion.num_frames
            pos, quat = np.empty((T, len(bodies), 3)), np.empty((T, len(bodies), 4))
            for t in range(T):
                data.qpos[:3], data.qpos[3:7], data.qpos[7:] = (
                    motion.root_pos[t],
                    motion.root_quat[t],
                    motion.joint_pos[t],
                )
                mujoco.mj_forward(model, data)
                pos[t], quat[t] = data.xpos[bodies], data.xquat[bodies]
            np.gradient(pos, 1.0 / spec.target_fps, axis=0)
            frames += T
    return frames, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="clip length cut from the real motions")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_build_", dir=args.workdir))
    try:
        spec_path = assemble(work, args.seconds)
        counts = {k: len(list((work / "inputs" / k).iterdir())) for k in ("csv", "pkl", "npz")}
        print(f"spec: {sum(counts.values())} clips ({counts}) cut from ../shared/data, target {TARGET_FPS} fps")

        def run(label: str, **options) -> dict:
            t0 = time.perf_counter()
            report = build_dataset(
                spec_path, BuildOptions(output_root=work / "out", force=True, fk_check=False, **options)
            )
            seconds = time.perf_counter() - t0
            frames = sum(s["frames"] for s in report["splits"].values())
            c = report["cache"]
            print(
                f"{label:34s} {seconds:7.2f} s  {frames / seconds:10,.0f} frames/s  "
                f"(cache: {c['clips_from_cache']} clips reused, {c['motions_from_cache']} from cached motion, "
                f"{c['computed']} computed)"
            )
            return {"seconds": seconds, "frames": frames}

        cold1 = run("cold build, --jobs 1", jobs=1, cache_dir=work / "cache1")
        cold2 = run("cold build, --jobs 2", jobs=2, cache_dir=work / "cache2")
        noop = run("no-op rebuild, --jobs 2", jobs=2, cache_dir=work / "cache2")
        spec = yaml.safe_load(spec_path.read_text())
        spec["preprocess"]["max_root_lin_vel"] = 4.0
        spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
        changed = run("rebuild after a threshold change", jobs=2, cache_dir=work / "cache2")

        frames, seconds = old_tool_fk(spec_path)
        base = frames / seconds
        print(f"{'baseline: read + per-frame mj_forward':34s} {seconds:7.2f} s  {base:10,.0f} frames/s  (one process)")
        print(
            f"cold --jobs 1 vs baseline: {cold1['frames'] / cold1['seconds'] / base:.1f}x; "
            f"cold --jobs 2: {cold2['frames'] / cold2['seconds'] / base:.1f}x; "
            f"no-op rebuild: {cold2['seconds'] / noop['seconds']:.1f}x faster than cold; "
            f"threshold change: {cold2['seconds'] / changed['seconds']:.1f}x faster than cold"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
