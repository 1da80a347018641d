"""The commands as users run them, on the bundled sample data."""

from __future__ import annotations

import json
import subprocess
import sys

import typer
from typer.testing import CliRunner

from conftest import REPO
from mimicdata.cli import app
from mimicdata.dataset.report import BuildReport, read_build_report

runner = CliRunner()
SAMPLE = REPO / "specs" / "sample.yaml"


def test_build_dataset_console_script_with_json(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", "from mimicdata.cli import build_dataset_main; build_dataset_main()",
         "--spec", str(SAMPLE), "--output_root", str(tmp_path), "--json", "--jobs", "2"],
        capture_output=True, text=True, check=True,
    )
    report = BuildReport.model_validate(json.loads(out.stdout))  # the JSON is the typed report, round-tripped
    assert report.dataset == "sample" and report.dataset_dir == str(tmp_path / "sample")
    assert report.sources["unitree_csv"].rejected_by_reason == {"too_short": 1}
    assert "rejected unitree_csv:twitch: clip too short" in out.stderr
    info = json.loads((tmp_path / "sample" / "build_info.json").read_text())
    assert info["splits"] == report.as_dict()["splits"] and "dataset_dir" not in info
    assert read_build_report(tmp_path / "sample") == report.model_copy(update={"dataset_dir": None})
    assert report.splits["train"].clips + report.splits["val"].clips == report.kept == 7
    assert report.sources["mocap"].kept == 1  # the synthetic motion-capture take, retargeted
    assert not (tmp_path / "sample" / "clips").exists() or any(
        s["type"] in ("npz", "bvh") for s in report.spec["sources"]
    )


def test_rerunning_a_build_updates_the_dataset_and_force_rebuilds_from_scratch(tmp_path):
    args = ["build-dataset", "--spec", str(SAMPLE), "--output-root", str(tmp_path), "--skip-fk-check", "--json"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    manifest = (tmp_path / "sample" / "manifest_resolved.csv").read_bytes()
    again = runner.invoke(app, args + ["--max-size-gb", "0.0001"])  # no --force needed: the old tool's habit
    assert again.exit_code == 0, again.output
    cache = json.loads(again.stdout)["cache"]
    assert cache["computed"] == 0 and cache["clips_from_cache"] > 0  # incremental: every clip reused
    assert (tmp_path / "sample" / "manifest_resolved.csv").read_bytes() != manifest  # more, smaller shards
    assert len(list((tmp_path / "sample" / "train").glob("shard_*.npz"))) > 1
    forced = runner.invoke(app, args + ["--force"])
    assert forced.exit_code == 0, forced.output
    cache = json.loads(forced.stdout)["cache"]
    assert cache["clips_from_cache"] == 0 and cache["motions_from_cache"] == 0 and cache["computed"] > 0
    assert (tmp_path / "sample" / "manifest_resolved.csv").read_bytes() == manifest
    # no staging, backup or lock file left behind
    assert not list(tmp_path.glob(".sample.*"))


def test_foreign_directory_is_never_replaced(tmp_path):
    (tmp_path / "sample").mkdir()
    (tmp_path / "sample" / "precious.txt").write_text("mine")
    result = runner.invoke(app, ["build-dataset", "--spec", str(SAMPLE), "--output-root", str(tmp_path), "--force"])
    assert result.exit_code == 1 and "not a mimicdata dataset" in result.output
    assert (tmp_path / "sample" / "precious.txt").read_text() == "mine"


def test_spec_errors_exit_2_with_the_message(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntarget_fps: 30\nval_percent: 5\nsources:\n  - {name: a, type: pkl, input: nowhere}\n")
    result = runner.invoke(app, ["build-dataset", "--spec", str(bad), "--output-root", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output and "sources[0] (a).input" in result.output
    assert not (tmp_path / "o").exists()


def test_twist2_full_spec_lists_every_missing_input_before_work(tmp_path):
    result = runner.invoke(
        app, ["build-dataset", "--spec", str(REPO / "specs" / "twist2_full.yaml"), "--output-root", str(tmp_path)]
    )
    assert result.exit_code == 2
    for name in ("OMOMO_g1_GMR", "AMASS_g1_GMR8", "twist1_to_twist2", "v1_v2_v3_g1", "lafan1"):
        assert f"({name}).input" in result.output
    assert not any(tmp_path.iterdir())


def test_every_console_script_runs_its_own_command():
    import subprocess
    import sys

    import tomllib

    from conftest import REPO

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"build-dataset", "ingest-motion", "check-fk", "split-shards", "inspect-dataset"} <= set(scripts)
    for name, target in scripts.items():
        module, func = target.split(":")
        call = f"{func}()" if func != "app" else "app(prog_name='mimicdata')"
        code = f"import sys; sys.argv = [{name!r}, '--help']; from {module} import {func}; {call}"
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert f"Usage: {name}" in run.stdout, run.stdout[:300]


def test_progress_is_plain_lines_off_a_terminal_and_one_redrawn_line_on_it():
    import io

    from mimicdata.infra.progress import Progress

    plain = io.StringIO()
    progress = Progress(40, plain, tty=False)
    for n in range(40):
        progress.update(kept=n % 8 != 0, frames=100)
    lines = plain.getvalue().splitlines()
    assert len(lines) == 10 and "\r" not in plain.getvalue()
    assert lines[-1].startswith("clips 40/40, rejected 5, ") and "frames/s, ETA 0:00" in lines[-1]

    terminal = io.StringIO()
    progress = Progress(3, terminal, tty=True)
    for _ in range(3):
        progress.update(kept=True, frames=10)
    progress.close()
    text = terminal.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n") and "\r\033[K" in text and "clips 3/3" in text


def test_build_dataset_reports_progress_on_stderr(tmp_path):
    from typer.testing import CliRunner

    from mimicdata.cli import app

    result = CliRunner().invoke(
        app, ["build-dataset", "--spec", str(REPO / "specs" / "sample.yaml"), "--output-root", str(tmp_path),
              "--skip-fk-check", "--json"],
    )
    assert result.exit_code == 0, result.output
    assert "clips 8/8, rejected 1" in result.stderr
    assert json.loads(result.stdout)["cache"]["computed"] == 8


def test_version_and_help_show_flags_as_flags_with_descriptions():
    assert runner.invoke(app, ["--version"]).output.startswith("mimicdata ")
    for command in ("build-dataset", "ingest-motion", "check-fk", "split-shards", "inspect-dataset", "train-motion"):
        out = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
        assert "<bool>" not in out, command
        import click

        cmd = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
        undocumented = [p.name for p in cmd.params if isinstance(p, click.Option) and not p.help and p.name != "help"]
        assert not undocumented, (command, undocumented)


def test_every_console_script_takes_version_and_still_runs_its_command(tmp_path):
    import mimicdata
    from mimicdata import cli

    scripts = ("build-dataset", "ingest-motion", "check-fk", "split-shards", "inspect-dataset", "train-motion")
    for name in scripts:
        single = cli._single([c.callback for c in app.registered_commands if c.name == name][0])
        result = runner.invoke(single, ["--version"])
        assert result.exit_code == 0 and result.output == f"mimicdata {mimicdata.__version__}\n", (name, result.output)
        assert "--version" in runner.invoke(single, ["--help"]).output
    build = cli._single([c.callback for c in app.registered_commands if c.name == "build-dataset"][0])
    result = runner.invoke(build, ["--spec", str(SAMPLE), "--output-root", str(tmp_path), "--skip-fk-check", "--no-cache"])
    assert result.exit_code == 0 and "dataset sample" in result.output, result.output


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path, monkeypatch):
    import mimicdata.build.dataset as build

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build, "build_dataset", interrupted)
    result = CliRunner().invoke(app, ["build-dataset", "--spec", str(SAMPLE), "--output-root", str(tmp_path)])
    assert result.exit_code == 130
    assert result.output.strip().splitlines() == ["interrupted: nothing half-written was published"]


def test_train_motion_without_torch_says_how_to_install_it(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError("No module named 'torch'", name="torch")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "mimicdata.training.train", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_torch)
    result = CliRunner().invoke(app, ["train-motion", "--data", str(tmp_path)])
    assert result.exit_code == 2 and "pip install 'mimicdata[train]'" in result.output


def test_no_clip_survived_names_each_source_and_json_still_gets_the_report(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "short.csv").write_text(",".join(["0"] * 6 + ["1"] + ["0"] * 29) + "\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: none\ntarget_fps: 30\nval_percent: 10\npreprocess: {min_frames: 5}\nsources:\n"
        f"  - {{name: robots, type: csv, fps: 30, input: {tmp_path / 'csv'}}}\n"
        f"  - {{name: nothing, type: pkl, input: {tmp_path / 'empty'}}}\n"
    )
    result = CliRunner().invoke(app, ["build-dataset", "--spec", str(spec), "--output-root", str(tmp_path / "out"),
                                      "--json"])
    assert result.exit_code == 1
    assert "source robots (csv, " in result.output and "1 file(s) scanned, 1 rejected (by reason: too_short: 1)" in result.output
    assert "source nothing (pkl, " in result.output and "0 file(s) scanned" in result.output
    report = BuildReport.model_validate(json.loads(result.stdout[result.stdout.index("{"):]))
    assert report.sources["robots"].rejected_by_reason == {"too_short": 1}
    assert not (tmp_path / "out" / "none").exists()


def test_train_motion_on_a_folder_that_is_not_a_dataset_says_so(tmp_path):
    (tmp_path / "motions").mkdir()
    for folder in (tmp_path / "motions", tmp_path / "missing"):
        result = CliRunner().invoke(app, ["train-motion", "--data", str(folder), "--out", str(tmp_path / "run")])
        assert result.exit_code == 1 and f"--data {folder}" in result.output and "dataset directory" in result.output
    assert not (tmp_path / "run").exists()


def test_a_source_that_matches_no_files_is_a_warning_in_the_summary(tmp_path):
    import yaml

    spec = yaml.safe_load(SAMPLE.read_text())
    for source in spec["sources"]:
        for key in ("input", "metadata_csv"):
            if key in source:
                source[key] = str((SAMPLE.parent / source[key]).resolve())
    (tmp_path / "empty").mkdir()
    spec["sources"].append({"name": "nothing", "type": "pkl", "input": str(tmp_path / "empty")})
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = runner.invoke(app, ["build-dataset", "--spec", str(path), "--output-root", str(tmp_path / "out"),
                                 "--skip-fk-check", "--no-cache"])
    assert result.exit_code == 0, result.output
    assert f"warning: source nothing matched no pkl files under {tmp_path / 'empty'}" in result.output


def test_ingest_motion_retargets_the_sample_take_and_says_how_well(tmp_path):
    result = runner.invoke(app, ["ingest-motion", "--type", "bvh", "--input", str(REPO / "data" / "sample" / "bvh"),
                                 "--output", str(tmp_path), "--source", "mocap", "--bvh-format", "nokov"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "human_walk.npz").is_file()
    assert "note: performer: leg" in result.output
    line = next(x for x in result.output.splitlines() if "retarget:" in x)
    assert "self-collision > 1 cm in 0.00% of frames" in line and "below the floor in 0.00%" in line


def test_inspect_dataset_shows_the_retarget_quality_of_the_sample(tmp_path):
    build = runner.invoke(app, ["build-dataset", "--spec", str(SAMPLE), "--output-root", str(tmp_path)])
    assert build.exit_code == 0, build.output
    shown = runner.invoke(app, ["inspect-dataset", str(tmp_path / "sample"), "--json"])
    quality = json.loads(shown.stdout)["retarget_quality"]
    assert quality["clips"] == 1 and quality["frames"] == 120 and quality["self_collision_frames"] == 0.0
    text = runner.invoke(app, ["inspect-dataset", str(tmp_path / "sample")]).output
    assert "retarget quality (1 clip, 120 frames)" in text
