"""train-motion: a small next-frames predictor trained on a dataset's shards, to prove they train.

The model sees `window - future` frames of joint positions and root motion
(height, heading-frame linear and angular velocity, gravity in the root
frame) and predicts the next `future` frames, an MLP on normalised features.
Train batches come from the train shards, the loss is reported on a fixed
set of val windows each epoch. Checkpoint, config, history and the dataset
fingerprint (shard hashes) go to --out; --resume continues where it stopped,
drawing the very batches an uninterrupted run would have drawn.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..dataset.layout import BUILD_INFO, SPLITS, is_dataset_dir, shard_files
from ..dataset.report import read_build_report
from ..dataset.shards import file_sha256
from ..errors import MimicdataError
from ..infra.atomic import atomic_file, write_text_atomic
from .loaders import MotionWindows

FEATURE_KEYS = ["joint_pos", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w"]
VAL_SEED = 1_000_003
STATS_BATCHES = 20
STD_FLOOR = 0.1  # rad, m, m/s, rad/s: the scale below which a feature counts as still


class TrainError(MimicdataError):
    """The trainer cannot start or resume as asked."""


@dataclass
class TrainConfig:
    data: str
    out: str = "runs/motion"
    epochs: int = 20
    batch_size: int = 256
    window: int = 12  # frames per window: window - future seen, future predicted
    future: int = 4
    steps_per_epoch: int | None = None  # default: one pass over the train windows
    val_batches: int = 10
    lr: float = 1e-3
    hidden: int = 256
    seed: int = 0
    workers: int = 0

    def check(self) -> None:
        if not 0 < self.future < self.window:
            raise TrainError(f"--future must be between 1 and --window - 1 ({self.window - 1}), got {self.future}")
        for name in ("epochs", "batch_size", "steps_per_epoch", "val_batches", "hidden"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise TrainError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")


def frame_features(batch: dict[str, torch.Tensor], root: int) -> torch.Tensor:
    """(B, W, F): joint positions, root height, root velocities in the heading frame, gravity in the root frame."""
    quat = batch["body_quat_w"][:, :, root]
    w, x, y, z = quat.unbind(-1)
    yaw = torch.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    cos, sin = torch.cos(yaw), torch.sin(yaw)

    def heading(v: torch.Tensor) -> torch.Tensor:
        return torch.stack([cos * v[..., 0] + sin * v[..., 1], -sin * v[..., 0] + cos * v[..., 1], v[..., 2]], -1)

    gravity = torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1)  # R^T e_z
    return torch.cat(
        [
            batch["joint_pos"],
            batch["body_pos_w"][:, :, root, 2:3],
            heading(batch["body_lin_vel_w"][:, :, root]),
            heading(batch["body_ang_vel_w"][:, :, root]),
            gravity,
        ],
        dim=-1,
    )


class NextFrames(nn.Module):
    """MLP from `history` normalised frames to the next `future` ones."""

    def __init__(self, features: int, history: int, future: int, hidden: int) -> None:
        super().__init__()
        self.history, self.future, self.features = history, future, features
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("std", torch.ones(features))
        self.net = nn.Sequential(
            nn.Linear(features * history, hidden),
            nn.GELU(),
            nn.Linear(hidden, hidden),
            nn.GELU(),
            nn.Linear(hidden, features * future),
        )

    def loss(self, frames: torch.Tensor) -> torch.Tensor:
        z = (frames - self.mean) / self.std
        past, future = z[:, : self.history], z[:, self.history :]
        guess = self.net(past.flatten(1)).view_as(future) + past[:, -1:]  # residual on the last seen frame
        return torch.mean((guess - future) ** 2)

    def persistence_loss(self, frames: torch.Tensor) -> torch.Tensor:
        """The loss of repeating the last seen frame: what the model has to beat."""
        z = (frames - self.mean) / self.std
        return torch.mean((z[:, self.history :] - z[:, self.history - 1 : self.history]) ** 2)


def dataset_fingerprint(data: Path) -> dict[str, Any]:
    """Shard hashes: from build_info.json when the dataset has one, else hashed here."""
    info_path = Path(data) / BUILD_INFO
    if info_path.is_file():
        info = read_build_report(info_path)
        return {"dataset": info.dataset, "source": "build_info.json", "shards": info.shard_hashes()}
    files = [f for split in ("train", "val") for f in shard_files(data, split)]
    return {
        "dataset": Path(data).name,
        "source": "hashed",
        "shards": {str(f.relative_to(data)): file_sha256(f) for f in files},
    }


def _check_is_dataset(data: Path) -> None:
    """--data must be a dataset directory with train/ and val/ shards: say so in the command's terms."""
    if not data.exists():
        raise TrainError(f"--data {data}: not found; give a dataset directory built by build-dataset")
    if not is_dataset_dir(data) and not all((data / s).is_dir() for s in SPLITS):
        raise TrainError(
            f"--data {data}: not a dataset directory (no build_info.json, no train/ and val/ shard folders); "
            "give the folder build-dataset wrote, e.g. data/datasets/<name>"
        )


def train(config: TrainConfig, resume: bool = False, progress: Callable[[str, bool], None] | None = None) -> list[dict]:
    """Train (or resume); returns the history, one entry per epoch: train and val loss, seconds."""
    config.check()
    _check_is_dataset(Path(config.data))
    out = Path(config.out)
    checkpoint_path = out / "checkpoint.pt"
    fingerprint = dataset_fingerprint(Path(config.data))
    state = None
    if resume:
        if not checkpoint_path.is_file():
            raise TrainError(f"{checkpoint_path}: nothing to resume")
        state = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
        _check_resumable(state, config, fingerprint)
    elif checkpoint_path.exists():
        raise TrainError(f"{checkpoint_path} exists; pass --resume to continue it or choose another --out")

    train_set = MotionWindows(config.data, "train", config.window, FEATURE_KEYS)
    try:
        val_set = MotionWindows(config.data, "val", config.window, FEATURE_KEYS)
    except MimicdataError as exc:
        raise TrainError(f"{config.data}: no usable val shards to evaluate on ({exc})") from None
    steps = config.steps_per_epoch or max(1, len(train_set) // config.batch_size)
    root = train_set.body_names.index("pelvis") if "pelvis" in train_set.body_names else 0
    history = config.window - config.future
    torch.manual_seed(config.seed)
    probe = frame_features(train_set[[0]], root)
    model = NextFrames(probe.shape[-1], history, config.future, config.hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    if state is None:
        model.mean, model.std = _feature_stats(train_set, root, config)
        log: list[dict] = []
        first_epoch = 0
    else:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        log, first_epoch = state["history"], state["epoch"] + 1
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(
        out / "config.json",
        json.dumps({**asdict(config), "features": probe.shape[-1], "root_body": train_set.body_names[root]}, indent=2)
        + "\n",
    )
    write_text_atomic(out / "dataset_fingerprint.json", json.dumps(fingerprint, indent=2) + "\n")
    val_batches = [frame_features(b, root) for b in val_set.loader(config.batch_size, VAL_SEED, config.val_batches)]
    with torch.no_grad():
        persistence = float(np.mean([float(model.persistence_loss(f)) for f in val_batches]))
    sampler_loader = train_set.loader(config.batch_size, config.seed, steps, config.workers)
    for epoch in range(first_epoch, config.epochs):
        started = time.perf_counter()
        sampler_loader.sampler.set_epoch(epoch)  # type: ignore[attr-defined]
        model.train()
        losses = []
        for step, batch in enumerate(sampler_loader):
            loss = model.loss(frame_features(batch, root))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            if progress:
                progress(_bar(epoch, config.epochs, step + 1, steps, float(np.mean(losses))), False)
        model.eval()
        with torch.no_grad():
            val = float(np.mean([float(model.loss(f)) for f in val_batches]))
        log.append(
            {
                "epoch": epoch,
                "train_loss": float(np.mean(losses)),
                "val_loss": val,
                "val_persistence_loss": persistence,
                "seconds": round(time.perf_counter() - started, 3),
            }
        )
        _save(
            checkpoint_path,
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "epoch": epoch,
                "history": log,
                "config": asdict(config),
                "fingerprint": fingerprint,
            },
        )
        write_text_atomic(out / "history.json", json.dumps(log, indent=2) + "\n")
        if progress:
            progress(
                f"epoch {epoch + 1}/{config.epochs}: train {log[-1]['train_loss']:.4f}, val {val:.4f} "
                f"({log[-1]['seconds']:.1f} s)",
                True,
            )
    return log


def _feature_stats(train_set: MotionWindows, root: int, config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    frames = torch.cat(
        [
            frame_features(b, root).flatten(0, 1)
            for b in train_set.loader(config.batch_size, config.seed + 1, STATS_BATCHES)
        ]
    )
    # A floor, so a feature the train clips barely move (a wrist held still) cannot blow up the val loss.
    return frames.mean(0), frames.std(0).clamp_min(STD_FLOOR)


def _check_resumable(state: dict, config: TrainConfig, fingerprint: dict) -> None:
    if state["fingerprint"]["shards"] != fingerprint["shards"]:
        raise TrainError(
            f"{config.data}: its shards differ from those the checkpoint was trained on; "
            "resume on the same dataset or start a new --out"
        )
    saved = state["config"]
    for key in ("window", "future", "hidden", "batch_size", "steps_per_epoch", "seed", "lr"):
        if saved[key] != getattr(config, key):
            raise TrainError(f"--{key.replace('_', '-')} is {getattr(config, key)}, the checkpoint used {saved[key]}")


def _save(path: Path, state: dict) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with atomic_file(path) as (fh, _):
        fh.write(buffer.getvalue())


def _bar(epoch: int, epochs: int, step: int, steps: int, loss: float) -> str:
    done = int(30 * step / steps)
    return f"epoch {epoch + 1}/{epochs} [{'#' * done}{'.' * (30 - done)}] {step}/{steps} loss {loss:.4f}"


def console_progress(line: str, final: bool) -> None:
    """A bar redrawn in place on a terminal; only the per-epoch lines otherwise."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + line + ("\n" if final else ""))
        sys.stderr.flush()
    elif final:
        print(line, file=sys.stderr, flush=True)
