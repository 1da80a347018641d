"""Command line: a thin typer layer over the library API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .build import BuildOptions, build_dataset
from .errors import MimicdataError, SpecError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Declarative humanoid motion dataset builder.")


@app.callback()
def _umbrella() -> None:
    """Declarative humanoid motion dataset builder: every tool is a subcommand."""


def _fail(exc: MimicdataError) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2 if isinstance(exc, SpecError) else 1)


def _summary(report: dict) -> str:
    lines = [f"dataset {report['dataset']} -> {report['dataset_dir']}"]
    for split, info in report["splits"].items():
        lines.append(
            f"  {split}: {info['clips']} clips, {info['frames']} frames ({info['hours'] * 60:.1f} min), "
            f"{len(info['shards'])} shard(s)"
        )
    for name, src in report["sources"].items():
        reasons = ", ".join(f"{k}: {v}" for k, v in src["rejected_by_reason"].items())
        lines.append(
            f"  source {name}: {src['scanned']} scanned, {src['kept']} kept, {src['rejected']} rejected"
            + (f" ({reasons})" if reasons else "")
        )
    for r in report["rejected"]:
        lines.append(f"  rejected {r['clip_id']}: {r['detail']}")
    lines.append(f"  took {report['timings_s']['total']:.1f} s")
    return "\n".join(lines)


def build_command(
    spec: Annotated[Path, typer.Option("--spec", help="YAML dataset spec.")],
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Worker processes.")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing dataset of the same name.")] = False,
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
    as_json: Annotated[bool, typer.Option("--json", help="Print the build report as JSON on stdout.")] = False,
) -> None:
    """Build a dataset from a spec: ingest, FK, preprocess, split, shards, manifest."""
    if max_shard_size_mb is not None and max_size_gb is not None:
        raise typer.BadParameter("give either --max-shard-size-mb or --max-size-gb, not both")
    size_mb = max_shard_size_mb if max_shard_size_mb is not None else (
        max_size_gb * 1000.0 if max_size_gb is not None else 2048.0
    )
    options = BuildOptions(jobs=jobs, force=force, output_root=output_root, max_shard_size_mb=size_mb)
    try:
        report = build_dataset(spec, options)
    except MimicdataError as exc:
        _fail(exc)
    if as_json:
        typer.echo(_summary(report), err=True)
        typer.echo(json.dumps(report, indent=2))
    else:
        typer.echo(_summary(report))


app.command("build-dataset")(build_command)


def _single(command) -> typer.Typer:
    single = typer.Typer(add_completion=False)
    single.command()(command)
    return single


def build_dataset_main() -> None:
    _single(build_command)(prog_name="build-dataset")


if __name__ == "__main__":
    app(sys.argv[1:])
