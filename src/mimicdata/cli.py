"""Command line: a thin typer layer over the library API."""

from __future__ import annotations

import functools
import inspect
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .errors import MimicdataError, SpecError, StrictBuildError
from .render.camera import Camera

if TYPE_CHECKING:
    from .dataset.report import BuildReport
    from .robot.order import BodyOrder

# Library modules are imported inside each command: `--help` and the light
# commands then skip pinocchio, mujoco and torch.

FLAG = ""  # bool options are flags: no <bool> metavar in --help

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None, help="Declarative humanoid motion dataset builder.")


def _print_version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"mimicdata {__version__}")
        raise typer.Exit()


VERSION_OPTION = Annotated[
    bool, typer.Option("--version", callback=_print_version, is_eager=True, metavar=FLAG, help="Print the version and exit.")
]


@app.callback()
def _umbrella(version: VERSION_OPTION = False) -> None:
    """Declarative humanoid motion dataset builder: every tool is a subcommand."""


def _fail(exc: MimicdataError) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2 if isinstance(exc, SpecError) else 1)


def _summary(report: BuildReport) -> str:
    lines = [f"dataset {report.dataset} -> {report.dataset_dir}"]
    for split, info in report.splits.items():
        lines.append(
            f"  {split}: {info.clips} clips, {info.frames} frames ({info.hours * 60:.1f} min), {len(info.shards)} shard(s)"
        )
    for name, src in report.sources.items():
        reasons = ", ".join(f"{k}: {v}" for k, v in src.rejected_by_reason.items())
        lines.append(
            f"  source {name}: {src.scanned} scanned, {src.kept} kept, {src.rejected} rejected"
            + (f" ({reasons})" if reasons else "")
        )
    for r in report.rejected:
        lines.append(f"  rejected {r.clip_id}: {r.detail}")
    for name, src in report.sources.items():
        if src.scanned == 0:
            lines.append(f"  warning: source {name} matched no {src.type} files under {src.input}")
    if report.fk_check:
        fk = report.fk_check
        lines.append(
            f"  fk check (MuJoCo): {fk.passed} of {fk.clips} sampled clips pass, "
            f"worst position error {fk.worst_pos_max:.1e} m"
        )
        for f in fk.failed:
            lines.append(f"  FK MISMATCH {f.clip_id}: {'; '.join(f.problems)}")
    for group in report.duplicates:
        what = "kept, one split" if group.kept_all else f"{group.clip_ids[0]} kept"
        lines.append(f"  duplicates ({group.how}, {what}): {', '.join(group.clip_ids)}")
    retargeted = report.retarget_summary()
    if retargeted:
        lines.append(_retarget_line(retargeted))
    cache = report.cache
    if cache and cache.dir:
        lines.append(f"  cache: {cache.clips_from_cache} clips reused, {cache.motions_from_cache} re-processed "
                     f"from cached motion, {cache.computed} computed ({cache.dir})")
    lines.append(f"  took {report.timings_s['total']:.1f} s")
    return "\n".join(lines)


def _quality_phrase(q: dict) -> str:
    """The measures a user reads first, of one retarget or of a build's retargets together."""
    return (f"self-collision > 1 cm in {q['self_collision_frames']:.2%} of frames, a body > 2 cm below the floor in "
            f"{q['floor_penetration_frames']:.2%}, stance feet slide {q['stance_foot_speed']:.3f} m/s")


def _retarget_line(q: dict) -> str:
    worst = q["deepest_self_penetration"]
    return (
        f"  retarget quality ({q['clips']} clip{'s' if q['clips'] != 1 else ''}, {q['frames']} frames): "
        f"{_quality_phrase(q)}; deepest overlap {worst['m'] * 100:.1f} cm in {worst['clip_id']}"
        + (f" ({worst['pair']})" if worst["pair"] else "")
    )


def _body_order(value: str) -> BodyOrder:
    """--body-order as one of the orders robot.order knows, or a usage error naming them."""
    from .robot.order import BODY_ORDERS  # the robot package: only for the commands that read clips

    for known in BODY_ORDERS:
        if value == known:
            return known
    raise typer.BadParameter(f"--body-order must be one of {BODY_ORDERS}, not {value!r}")


def build_command(
    spec: Annotated[Path, typer.Option("--spec", help="YAML dataset spec.")],
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Worker processes.")] = 1,
    force: Annotated[bool, typer.Option("--force", metavar=FLAG, help="Rebuild from scratch: compute every clip, reusing no cache.")] = False,
    output_root: Annotated[
        Path, typer.Option("--output-root", "--output_root", help="Where <name>/ is written.")
    ] = Path("data/datasets"),
    max_shard_size_mb: Annotated[
        Optional[float],
        typer.Option("--max-shard-size-mb", "--max_shard_size_mb", min=0.001, help="Shard size bound (MB, default 2048)."),
    ] = None,
    max_size_gb: Annotated[
        Optional[float], typer.Option("--max-size-gb", "--max_size_gb", min=0.000001, help="Shard size bound in GB.")
    ] = None,
    skip_fk_check: Annotated[
        bool, typer.Option("--skip-fk-check", metavar=FLAG, help="Skip the MuJoCo FK check of a few written clips per source.")
    ] = False,
    cache_dir: Annotated[
        Optional[Path], typer.Option("--cache-dir", help="Per-clip cache (default: <output-root>/.cache).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", metavar=FLAG, help="Compute every clip; read and write no cache.")] = False,
    wait: Annotated[
        bool, typer.Option("--wait", metavar=FLAG, help="If another build of this dataset is running, wait for it instead of refusing.")
    ] = False,
    backend: Annotated[
        str, typer.Option("--backend", help="'local' (joblib processes, --jobs) or 'dask' (a cluster, --scheduler).")
    ] = "local",
    scheduler: Annotated[
        Optional[str], typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786.")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", metavar=FLAG, help="Fail (exit 1, nothing written) if any clip is rejected.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", metavar=FLAG, help="Print the build report as JSON on stdout.")] = False,
) -> None:
    """Build a dataset from a spec: ingest, FK, preprocess, split, shards, manifest."""
    if max_shard_size_mb is not None and max_size_gb is not None:
        raise typer.BadParameter("give either --max-shard-size-mb or --max-size-gb, not both")
    size_mb = max_shard_size_mb if max_shard_size_mb is not None else (
        max_size_gb * 1000.0 if max_size_gb is not None else 2048.0
    )
    from .build.dataset import BuildOptions, build_dataset

    options = BuildOptions(
        jobs=jobs, force=force, output_root=output_root, max_shard_size_mb=size_mb, fk_check=not skip_fk_check,
        cache_dir=cache_dir, use_cache=not no_cache, wait_for_lock=wait, progress=True, backend=backend,
        scheduler=scheduler, strict=strict,
    )
    try:
        report = build_dataset(spec, options)
    except StrictBuildError as exc:
        if as_json:
            typer.echo(json.dumps(exc.report.as_dict(), indent=2))
        _fail(exc)
    except MimicdataError as exc:
        _fail(exc)
    if as_json:
        typer.echo(_summary(report), err=True)
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        typer.echo(_summary(report))


app.command("build-dataset")(build_command)


@app.command("ingest-motion")
def ingest_command(
    source_type: Annotated[str, typer.Option("--type", help="Source type: bvh, pkl, npz, seed_csv, csv, hdf5.")],
    input_path: Annotated[Path, typer.Option("--input", help="A motion file or a folder of them (searched recursively).")],
    output: Annotated[Path, typer.Option("--output", help="Folder for the clip files; mirrors the input tree.")],
    source: Annotated[str, typer.Option("--source", help="Source name, the prefix of every clip id.")],
    bvh_format: Annotated[
        Optional[str], typer.Option("--bvh-format", "--bvh_format", help="Skeleton format of bvh input (default: auto, each file's own).")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Worker processes.")] = 1,
    max_frames: Annotated[
        Optional[int], typer.Option("--max-frames", "--max_frames", min=1, help="Keep at most this many input frames.")
    ] = None,
    fps: Annotated[Optional[float], typer.Option("--fps", help="Frame rate of inputs that store none (csv).")] = None,
    target_fps: Annotated[
        Optional[int], typer.Option("--target-fps", min=1, help="Resample clips to this rate (default: the input's, rounded).")
    ] = None,
    robot: Annotated[str, typer.Option("--robot", help="Bundled robot name, robot.yaml, URDF or MJCF.")] = "unitree_g1",
    force: Annotated[bool, typer.Option("--force", metavar=FLAG, help="Replace clip files that already exist.")] = False,
) -> None:
    """Turn motion files into clip files (one NPZ per input, the clips/ format), retargeting BVH."""
    try:
        from .commands.ingest_motion import ingest_motion
        from .spec import source_spec

        spec = source_spec(
            name=source, type=source_type, input=input_path, bvh_format=bvh_format, max_frames=max_frames, fps=fps
        )
        results = ingest_motion(spec, output, robot=robot, jobs=jobs, fps=target_fps, force=force)
    except MimicdataError as exc:
        _fail(exc)
    failed = [r for r in results if r.error]
    for r in results:
        if r.error:
            typer.secho(f"  failed {r.input}: {r.error}", fg=typer.colors.RED, err=True)
        else:
            typer.echo(f"  {r.output}: {r.num_frames} frames" + "".join(f"\n    note: {n}" for n in r.notes))
            if r.quality:
                typer.echo(f"    retarget: {_quality_phrase(r.quality)}, joint jerk {r.quality['rms_joint_jerk']:.0f} rad/s^3")
    frames = sum(r.num_frames for r in results)
    seconds = sum(r.seconds for r in results)
    typer.echo(
        f"ingested {len(results) - len(failed)} of {len(results)} files, {frames} frames "
        f"({frames / max(seconds, 1e-9):,.0f} frames/s per worker)"
    )
    if failed:
        raise typer.Exit(1)


@app.command("check-fk")
def check_fk_command(
    npz: Annotated[Path, typer.Option("--npz", help="A clip file, shard, foreign NPZ clip, or a directory of them.")],
    clip: Annotated[Optional[int], typer.Option("--clip", min=0, help="Only this clip of a shard.")] = None,
    all_clips: Annotated[bool, typer.Option("--all", metavar=FLAG, help="Every clip (the default when --clip is not given).")] = False,
    robot: Annotated[str, typer.Option("--robot", help="Robot: bundled name, robot.yaml, URDF or MJCF.")] = "unitree_g1",
    mjcf: Annotated[
        Optional[Path], typer.Option("--mjcf", help="Model MuJoCo compiles (default: the robot's own description).")
    ] = None,
    frames: Annotated[Optional[int], typer.Option("--frames", min=1, help="Check this many evenly spaced frames per clip.")] = None,
    pos_max: Annotated[float, typer.Option("--pos-max", help="Largest position error that passes (m).")] = 1e-3,
    rot_mean: Annotated[float, typer.Option("--rot-mean", help="Largest mean rotation error that passes (rad).")] = 0.05,
    rot_p95: Annotated[float, typer.Option("--rot-p95", help="Largest p95 rotation error that passes (rad).")] = 0.10,
    lin_vel_p95: Annotated[
        float, typer.Option("--lin-vel-p95", help="Largest p95 gap between stored and differenced linear velocity (m/s).")
    ] = 0.5,
    ang_vel_p95: Annotated[
        float, typer.Option("--ang-vel-p95", help="Largest p95 gap between stored and differenced angular velocity (rad/s).")
    ] = 2.0,
    strict: Annotated[
        bool, typer.Option("--strict", metavar=FLAG, help="Also fail when stored velocities disagree with the stored poses.")
    ] = False,
    body_order: Annotated[
        str, typer.Option("--body-order", help="Order of files that store no names: mujoco (depth-first) or isaaclab.")
    ] = "mujoco",
    as_json: Annotated[bool, typer.Option("--json", metavar=FLAG, help="Print the results as JSON.")] = False,
) -> None:
    """Recompute body poses with MuJoCo from the stored root and joints, and compare.

    The exit code is about poses; velocities that disagree with them are
    reported, and fail the check only with --strict.
    """
    if clip is not None and all_clips:
        raise typer.BadParameter("give --clip N or --all, not both")
    thresholds = {"pos_max": pos_max, "rot_mean": rot_mean, "rot_p95": rot_p95, "lin_vel_p95": lin_vel_p95,
                  "ang_vel_p95": ang_vel_p95}
    try:
        from .commands.check_fk import check_fk

        results = check_fk(npz, robot, mjcf=mjcf, clip=clip, frames=frames, thresholds=thresholds,
                           body_order=_body_order(body_order))
    except MimicdataError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    passed = [(r.passed_strict if strict else r.passed) for _, r, _ in results]
    if as_json:
        typer.echo(json.dumps([{"clip_id": cid, **r.as_dict(), "notes": notes} for cid, r, notes in results], indent=2))
    else:
        typer.echo(
            f"{'clip':40s} {'frames':>6s} {'pos max m':>10s} {'pos p95':>9s} {'rot mean':>9s} {'rot p95':>8s}"
            f" {'v p95':>7s} {'w p95':>7s}  result"
        )
        notes_seen: list[str] = []
        for cid, r, notes in results:
            if not r.passed:
                verdict = "FAIL: " + "; ".join(r.problems + r.velocity_problems)
            elif r.velocity_problems:
                verdict = ("FAIL (--strict): " if strict else "poses ok; velocities: ") + "; ".join(r.velocity_problems)
            else:
                verdict = "ok"
            vel = " ".join("      -" if v is None else f"{v:7.3f}" for v in (r.lin_vel_p95, r.ang_vel_p95))
            typer.echo(
                f"{cid[:40]:40s} {r.frames_checked:6d} {r.pos_max:10.2e} {r.pos_p95:9.2e} {r.rot_mean:9.2e}"
                f" {r.rot_p95:8.2e} {vel}  {verdict}"
            )
            notes_seen += [n for n in notes if n not in notes_seen]
        for note in notes_seen:
            typer.echo(f"note: {note}")
        velocity_only = sum(r.passed and bool(r.velocity_problems) for _, r, _ in results)
        typer.echo(
            f"{sum(passed)} of {len(results)} clips pass"
            + (f" ({velocity_only} with velocities that disagree with their poses)" if velocity_only else "")
        )
    if not all(passed):
        raise typer.Exit(1)


@app.command("split-shards")
def split_shards_command(
    input_dir: Annotated[
        Path, typer.Option("--input", help="A shard directory (train/, say), or a dataset directory (both splits).")
    ],
    output_dir: Annotated[Path, typer.Option("--output", help="New directory for the re-packed shards.")],
    max_size_gb: Annotated[
        Optional[float], typer.Option("--max-size-gb", "--max_size_gb", min=1e-9, help="Shard size bound in GB.")
    ] = None,
    max_size_mb: Annotated[
        Optional[float], typer.Option("--max-size-mb", "--max_size_mb", min=1e-6, help="Shard size bound in MB.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", metavar=FLAG, help="Print the report as JSON.")] = False,
) -> None:
    """Re-pack shards at clip boundaries into shards of a bounded size, streaming; the input is left untouched."""
    if max_size_gb is not None and max_size_mb is not None:
        raise typer.BadParameter("give either --max-size-gb or --max-size-mb, not both")
    bound = max_size_mb * 1e6 if max_size_mb is not None else (max_size_gb if max_size_gb is not None else 2.0) * 1e9
    try:
        from .commands.split_shards import split_shards

        report = split_shards(input_dir, output_dir, int(bound))
    except MimicdataError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(asdict(report), indent=2))
        return
    for split, info in report.splits.items():
        for shard in info.shards:
            typer.echo(f"  {shard.path}: {shard.clips} clips, {shard.frames} frames, {shard.bytes / 1e6:.1f} MB")
        out_bytes = sum(s.bytes for s in info.shards)
        typer.echo(
            f"{split}: {info.input_shards} shard(s), {info.input_bytes / 1e6:.1f} MB -> {len(info.shards)} "
            f"shard(s), {out_bytes / 1e6:.1f} MB; {info.clips} clips and {info.frames} frames, verified"
        )
    if report.not_copied:
        typer.echo(f"not copied (not shards): {', '.join(report.not_copied)}")
    typer.echo(f"wrote {report.output}")


@app.command("inspect-dataset")
def inspect_dataset_command(
    path: Annotated[Path, typer.Argument(help="Dataset directory, shard directory or file, or a directory of clip NPZ.")],
    as_json: Annotated[bool, typer.Option("--json", metavar=FLAG, help="Print the summary as JSON.")] = False,
    report: Annotated[
        Optional[Path],
        typer.Option("--report", help="Write DIR/report.html (plots, a clip table to sort and filter) and DIR/previews/."),
    ] = None,
    previews: Annotated[
        bool, typer.Option("--previews/--no-previews", help="Draw moving previews of chosen clips for the report.")
    ] = True,
    robot: Annotated[str, typer.Option("--robot", help="Robot whose joint limits the ranges are set against.")] = (
        "unitree_g1"
    ),
    body_order: Annotated[
        str, typer.Option("--body-order", help="Order of files that store no names: mujoco (depth-first) or isaaclab.")
    ] = "mujoco",
) -> None:
    """Clips, frames and hours per source and split, shards, names, rejections, joint ranges, root motion."""
    try:
        from .commands.inspect_dataset import inspect_dataset
        from .commands.report_html import write_report

        found = inspect_dataset(path, robot, _body_order(body_order))
        written = write_report(found, report, previews, robot) if report is not None else None
    except MimicdataError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    summary = found.summary()
    typer.echo(json.dumps(summary, indent=2) if as_json else _inspection_text(summary))
    if written is not None:
        typer.echo(f"report: {written}", err=as_json)


def _inspection_text(s: dict) -> str:
    schema = f"schema {s['schema_version']}" if s["schema_version"] is not None else "no schema version"
    fps = ", ".join(f"{f:g}" for f in s["fps"])
    lines = [
        f"{s['path']}: {s['kind']}, {schema}, {s['clips']} clips, {s['frames']} frames, {s['hours']:.3f} h, fps {fps}",
        f"  {len(s['joint_names'])} joints, {len(s['body_names'] or [])} bodies (names with --json)",
    ]
    for split, info in s["splits"].items():
        shards = info.get("shards", [])
        size = sum(x["bytes"] for x in shards) / 1e6
        lines.append(f"  {split}: {info['clips']} clips, {info['frames']} frames, {info['hours']:.3f} h"
                     + (f" in {len(shards)} shard(s), {size:.1f} MB" if shards else ""))
        lines += [f"    {x['path']}: {x['clips']} clips, {x['frames']} frames, {x['bytes'] / 1e6:.1f} MB" for x in shards]
    for source, per_split in s["sources"].items():
        cells = ", ".join(f"{sp} {v['clips']} clips / {v['hours']:.3f} h" for sp, v in per_split.items())
        lines.append(f"  source {source}: {cells}")
    c = s["clip_seconds"]
    lines.append(f"  clip length: {c['min']:.1f} .. {c['max']:.1f} s, median {c['median']:.1f}")
    if s["root_height_m"]:
        h, v = s["root_height_m"], s["root_speed_mps"] or {}
        lines.append(f"  root height p1/p50/p99: {h['p1']:.2f} / {h['p50']:.2f} / {h['p99']:.2f} m; "
                     f"root speed p50/p99/max: {v.get('p50', 0):.2f} / {v.get('p99', 0):.2f} / {v.get('max', 0):.2f} m/s")
    beyond = [j["name"] for j in s["joints"] if j["beyond_limits"]]
    lines.append(f"  joints used beyond the limits: {', '.join(beyond) if beyond else 'none'}")
    rej = s["rejected"]
    reasons = ", ".join(f"{k}: {v}" for k, v in rej["by_reason"].items())
    lines.append(f"  rejected: {rej['clips']}" + (f" ({reasons})" if reasons else ""))
    lines += [f"    {r['clip_id']}: {r.get('detail') or r.get('reason')}" for r in rej["list"]]
    failed = s.get("failures") or {}
    if failed.get("clips"):
        reasons = ", ".join(f"{k}: {v}" for k, v in failed["by_reason"].items())
        lines.append(f"  failures/: {failed['clips']} rejected clips, {failed['frames']} frames, kept for analysis "
                     f"({reasons}); loaders read them only with split='failures'")
    if q := s.get("quality_score"):
        lowest = ", ".join(f"{c['clip_id']} {c['quality_score']:.2f}" for c in q["lowest"])
        lines.append(f"  quality score min/p10/p50: {q['min']:.2f} / {q['p10']:.2f} / {q['p50']:.2f} "
                     f"over {q['clips']} clips; lowest: {lowest}")
    if s.get("retarget_quality"):
        lines.append(_retarget_line(s["retarget_quality"]))
    lines += [f"  duplicates ({d['how']}): {', '.join(d['clip_ids'])}" for d in s.get("duplicates") or []]
    lines += [f"  note: {n}" for n in s["notes"]]
    return "\n".join(lines)


@app.command("train-motion")
def train_motion_command(
    data: Annotated[Path, typer.Option("--data", help="Dataset directory (train/ and val/ shards).")],
    out: Annotated[Path, typer.Option("--out", help="Where checkpoint, config, history and fingerprint go.")] = Path(
        "runs/motion"
    ),
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Passes over the train windows.")] = 20,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Windows per batch.")] = 256,
    window: Annotated[int, typer.Option("--window", min=2, help="Frames per window (seen + predicted).")] = 12,
    future: Annotated[int, typer.Option("--future", min=1, help="Frames predicted at the end of each window.")] = 4,
    steps_per_epoch: Annotated[
        Optional[int], typer.Option("--steps-per-epoch", min=1, help="Default: one pass over the train windows.")
    ] = None,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate.")] = 1e-3,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the weights and of the batches drawn.")] = 0,
    workers: Annotated[int, typer.Option("--workers", min=0, help="DataLoader worker processes.")] = 0,
    resume: Annotated[bool, typer.Option("--resume", metavar=FLAG, help="Continue the run in --out.")] = False,
) -> None:
    """Train a small next-frames predictor on the train shards, validating on val every epoch."""
    try:
        from .training.train import TrainConfig, console_progress, train
    except ModuleNotFoundError as exc:
        if exc.name != "torch":
            raise
        typer.secho("error: train-motion needs torch: pip install 'mimicdata[train]'", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None

    config = TrainConfig(str(data), str(out), epochs, batch_size, window, future, steps_per_epoch, lr=lr, seed=seed,
                         workers=workers)
    try:
        history = train(config, resume=resume, progress=console_progress)
    except MimicdataError as exc:
        _fail(exc)
    if history:
        best = min(history, key=lambda h: h["val_loss"])
        typer.echo(f"val loss {history[0]['val_loss']:.4f} -> {history[-1]['val_loss']:.4f} "
                   f"(best {best['val_loss']:.4f} at epoch {best['epoch'] + 1}; repeating the last frame scores "
                   f"{history[-1]['val_persistence_loss']:.4f}); checkpoint in {out}")


@app.command("render-motion")
def render_motion_command(
    path: Annotated[Path, typer.Argument(help="A clip file, shard, dataset, foreign NPZ clip, or a .bvh take.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The video to write: FILE.mp4 or FILE.gif.")],
    clip: Annotated[
        Optional[str], typer.Option("--clip", help="Which clip: its index in a shard, or its clip id (default: the first).")
    ] = None,
    fps: Annotated[Optional[float], typer.Option("--fps", help="Frames per second of the video (default: the clip's, at most 60).")] = None,
    width: Annotated[int, typer.Option("--width", help="Pixels, even.")] = 640,
    height: Annotated[int, typer.Option("--height", help="Pixels, even.")] = 480,
    camera: Annotated[Camera, typer.Option("--camera", help="follow (trails the root) or fixed (frames the whole motion).")] = "follow",
    robot: Annotated[str, typer.Option("--robot", help="Robot: bundled name, robot.yaml, URDF or MJCF.")] = "unitree_g1",
    bvh_format: Annotated[Optional[str], typer.Option("--bvh-format", help="Skeleton format of a .bvh take (default: auto).")] = None,
    force: Annotated[bool, typer.Option("--force", metavar=FLAG, help="Replace the output if it exists.")] = False,
) -> None:
    """Draw a clip with MuJoCo's renderer, headless: the robot's collision geometry on a floor grid, red where
    it goes into itself, orange where it goes through the floor; a BVH take is retargeted on the fly and
    drawn with the performer beside the robot."""
    try:
        from .commands.render_motion import render_motion

        done = render_motion(path, output, clip=clip, fps=fps, width=width, height=height,
                             camera=camera,
                             robot=robot, bvh_format=bvh_format, force=force)
    except MimicdataError as exc:
        _fail(exc)
    marked = f"; {done.marked_frames} frames marked (self-collision or through the floor)" if done.marked_frames else ""
    typer.echo(f"{done.output}: {done.clip_id}, {done.frames} frames at {done.fps:g} fps ({done.seconds:.1f} s){marked}")


@app.command("export-dataset")
def export_dataset_command(
    dataset: Annotated[Path, typer.Argument(help="A dataset directory build-dataset wrote.")],
    to: Annotated[str, typer.Option("--to", help="mjlab, holosoma, csv, teleopit-hdf5 or lerobot.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="A new folder (or an empty one) for the export.")],
    split: Annotated[str, typer.Option("--split", help="train, val, all (both) or failures.")] = "train",
    fps: Annotated[
        Optional[int], typer.Option("--fps", help="Rate of the export (default: 50 for mjlab and holosoma, else the dataset's).")
    ] = None,
    body_order: Annotated[
        str, typer.Option("--body-order", help="mujoco (depth-first, mjlab's) or isaaclab (breadth-first).")
    ] = "mujoco",
    robot: Annotated[str, typer.Option("--robot", help="Robot: bundled name, robot.yaml, URDF or MJCF.")] = "unitree_g1",
) -> None:
    """Write a dataset's clips in the layout another training stack reads, clip by clip, into a new folder."""
    try:
        from .export import export_dataset

        done = export_dataset(dataset, to, output, split=split, fps=fps, body_order=body_order, robot=robot)
    except MimicdataError as exc:
        _fail(exc)
    rate = f"{done.fps} fps" if done.fps else "the dataset's rate"
    typer.echo(f"{done.output}: {done.clips} clips, {done.frames} frames as {done.format} at {rate}, "
               f"{done.body_order} order, {len(done.files)} file(s)")


@app.command("init-robot")
def init_robot_command(
    model: Annotated[Path, typer.Argument(help="A humanoid's MJCF (.xml) or URDF.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The robot folder to write robot.yaml into.")],
) -> None:
    """Draft a robot.yaml for any humanoid (feet, soles, mirror, retarget roles, T-pose) for a person to review."""
    try:
        from .commands.init_robot import init_robot

        done = init_robot(model, output)
    except MimicdataError as exc:
        _fail(exc)
    typer.echo(f"wrote {done.path}: review it, then use `robot: {done.path}` in a spec or --robot {done.path}")
    for problem in done.problems:
        typer.secho(f"  could not derive: {problem}", fg=typer.colors.YELLOW, err=True)


INTERRUPTED = 130  # the shell's code for a process ended by Ctrl-C


def _interruptible(command: Callable[..., None]) -> Callable[..., None]:
    """Ctrl-C ends a command with one line and exit code 130, not a traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except KeyboardInterrupt:
            typer.secho("interrupted: nothing half-written was published", fg=typer.colors.RED, err=True)
            raise typer.Exit(INTERRUPTED) from None

    return run


for _registered in app.registered_commands:
    if _registered.callback is not None:
        _registered.callback = _interruptible(_registered.callback)


def _single(command: Callable[..., Any]) -> typer.Typer:
    """The command on its own, taking the umbrella's --version too."""

    @functools.wraps(command)
    def run(*args: Any, version: bool = False, **kwargs: Any) -> Any:
        return command(*args, **kwargs)

    signature = inspect.signature(command, eval_str=True)  # a preset __signature__ is taken as it stands
    version = inspect.Parameter("version", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=VERSION_OPTION)
    run.__signature__ = signature.replace(parameters=[*signature.parameters.values(), version])  # type: ignore[attr-defined]
    single = typer.Typer(add_completion=False, rich_markup_mode=None)
    single.command()(run)
    return single


def _script(name: str):
    """A console script running one subcommand on its own (`check-fk ...` as well as `mimicdata check-fk ...`)."""
    (command,) = [c.callback for c in app.registered_commands if c.name == name and c.callback]

    def main() -> None:
        _single(command)(prog_name=name)

    return main


build_dataset_main = _script("build-dataset")
ingest_motion_main = _script("ingest-motion")
check_fk_main = _script("check-fk")
split_shards_main = _script("split-shards")
inspect_dataset_main = _script("inspect-dataset")
train_motion_main = _script("train-motion")
render_motion_main = _script("render-motion")
export_dataset_main = _script("export-dataset")
init_robot_main = _script("init-robot")


if __name__ == "__main__":
    app(sys.argv[1:])
