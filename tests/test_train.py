"""train-motion: the validation loss goes down, resuming equals not stopping, refusals are clear."""

from __future__ import annotations

import json
import shutil

import pytest

torch = pytest.importorskip("torch", reason="the trainer needs torch (pip install -e '.[test]' installs it)")

from typer.testing import CliRunner  # noqa: E402

from mimicdata.cli import app  # noqa: E402
from mimicdata.training.train import TrainConfig, TrainError, train  # noqa: E402


def test_validation_loss_goes_down_and_beats_repeating_the_last_frame(built_sample, tmp_path):
    history = train(TrainConfig(str(built_sample), str(tmp_path / "run"), epochs=20))
    first, last = history[0], history[-1]
    assert len(history) == 20
    assert last["val_loss"] < 0.6 * first["val_loss"]
    assert last["val_loss"] < 0.5 * last["val_persistence_loss"]
    assert last["train_loss"] < first["train_loss"]
    saved = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert saved["epoch"] == 19 and len(saved["history"]) == 20
    info = json.loads((built_sample / "build_info.json").read_text())
    fingerprint = json.loads((tmp_path / "run" / "dataset_fingerprint.json").read_text())
    assert fingerprint["shards"] == {s["path"]: s["sha256"] for sp in info["splits"].values() for s in sp["shards"]}
    assert json.loads((tmp_path / "run" / "config.json").read_text())["root_body"] == "pelvis"


def test_resuming_gives_the_run_that_never_stopped(built_sample, tmp_path):
    straight = train(TrainConfig(str(built_sample), str(tmp_path / "a"), epochs=6))
    train(TrainConfig(str(built_sample), str(tmp_path / "b"), epochs=3))
    resumed = train(TrainConfig(str(built_sample), str(tmp_path / "b"), epochs=6), resume=True)
    assert [h["epoch"] for h in resumed] == list(range(6))
    for a, b in zip(straight, resumed):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)


def test_refusals(built_sample, tmp_path):
    config = TrainConfig(str(built_sample), str(tmp_path / "run"), epochs=1)
    with pytest.raises(TrainError, match="nothing to resume"):
        train(config, resume=True)
    train(config)
    with pytest.raises(TrainError, match="exists; pass --resume"):
        train(config)
    with pytest.raises(TrainError, match="--window is 16, the checkpoint used 12"):
        train(TrainConfig(str(built_sample), str(tmp_path / "run"), epochs=2, window=16), resume=True)
    other = tmp_path / "other"
    shutil.copytree(built_sample, other)
    info = json.loads((other / "build_info.json").read_text())
    info["splits"]["train"]["shards"][0]["sha256"] = "0" * 64
    (other / "build_info.json").write_text(json.dumps(info))
    with pytest.raises(TrainError, match="differ from those the checkpoint was trained on"):
        train(TrainConfig(str(other), str(tmp_path / "run"), epochs=2), resume=True)
    shutil.rmtree(other / "val")
    with pytest.raises(TrainError, match="no usable val shards"):
        train(TrainConfig(str(other), str(tmp_path / "fresh"), epochs=1))
    with pytest.raises(TrainError, match="--future"):
        train(TrainConfig(str(built_sample), str(tmp_path / "x"), window=4, future=4))


def test_cli(built_sample, tmp_path):
    runner = CliRunner()
    args = ["train-motion", "--data", str(built_sample), "--out", str(tmp_path / "run"), "--epochs", "2"]
    ok = runner.invoke(app, args)
    assert ok.exit_code == 0, ok.output
    assert "epoch 2/2" in ok.output and "repeating the last frame scores" in ok.output
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "--resume" in again.output
