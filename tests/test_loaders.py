"""Torch loaders: windows inside clips, weighted and seeded sampling, DDP partitions, workers, refusals."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the loaders need torch (pip install -e '.[test]' installs it)")

from torch.utils.data import DataLoader  # noqa: E402

from mimicdata.dataset.shards import SCHEMA_VERSION, ShardClip, frame_widths, write_shard  # noqa: E402
from mimicdata.errors import ShardError  # noqa: E402
from mimicdata.motion import ARRAY_KEYS  # noqa: E402
from mimicdata.training.loaders import MotionWindows, MotionWindowStream  # noqa: E402

J, B = 29, 30
WIDTHS = frame_widths(J, B)
# clip lengths per shard; 3, 4 and 9 frames are too short for the 10-frame windows below
LAYOUT = [[40, 3, 25], [60, 12], [4, 33, 50, 9]]


def labelled_clip(number: int, length: int) -> dict[str, np.ndarray]:
    """Every element of every array says which clip and which frame it belongs to."""
    frame = np.arange(length, dtype=np.float32)
    return {
        k: np.broadcast_to((number * 1000 + frame).reshape(-1, *[1] * len(w)), (length, *w)).copy()
        for k, w in WIDTHS.items()
    }


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("labelled")
    number = 0
    for s, lengths in enumerate(LAYOUT):
        clips = []
        for length in lengths:
            arrays = labelled_clip(number, length)
            clips.append(ShardClip(f"src:clip{number}", length, 1.0 + number % 3, lambda a=arrays: a))
            number += 1
        write_shard(root / f"shard_{s:03d}.npz", clips, 50, [f"j{i}" for i in range(J)], [f"b{i}" for i in range(B)])
    return root


def test_every_window_stays_inside_its_clip(labelled):
    offsets = [0, 1, 2, -1, -2, 5, -4]
    ds = MotionWindows(labelled, window=offsets)
    span = max(offsets) - min(offsets)
    lengths = [n for shard in LAYOUT for n in shard]
    assert len(ds) == sum(max(n - span, 0) for n in lengths)
    assert ds.skipped_clips == sum(n <= span for n in lengths)
    batch = ds[np.arange(len(ds))]
    for key, value in batch.items():
        assert value.dtype == torch.float32 and value.shape[:2] == (len(ds), len(offsets)), key
    label = batch["body_quat_w"][:, :, 0, 0].numpy()
    clip, frame = label // 1000, label % 1000
    assert (clip == clip[:, :1]).all()  # one clip per window
    np.testing.assert_array_equal(frame - frame[:, :1], np.broadcast_to(offsets, frame.shape))
    assert frame.min() >= 0
    for c in np.unique(clip[:, 0]):
        assert frame[clip[:, 0] == c].max() < lengths[int(c)]
    # every valid window appears exactly once
    assert len({(int(a), int(b)) for a, b in zip(clip[:, 0], frame[:, 0])}) == len(ds)


def test_single_items_match_batches_and_names_fps_schema_are_exposed(labelled):
    ds = MotionWindows(labelled, window=10)
    assert ds.fps == 50 and ds.schema_version == SCHEMA_VERSION and ds.keys == list(ARRAY_KEYS)
    assert ds.joint_names[0] == "j0" and len(ds.body_names) == B
    batch = ds[[7, 3, 100]]
    for i, flat in enumerate([7, 3, 100]):
        one = ds[flat]
        for k in ds.keys:
            assert torch.equal(one[k], batch[k][i])


def test_sampling_follows_clip_weight_times_valid_windows(labelled):
    ds = MotionWindows(labelled, window=10)
    flat = ds.index.sample(np.random.default_rng(0), 200_000)
    clips, _ = ds.index.locate(flat)
    counts = np.bincount(clips, minlength=ds.shards.num_clips)
    expected = ds.shards.clip_weight * np.maximum(ds.shards.clip_length - 9, 0)
    expected = expected / expected.sum() * len(flat)
    assert (counts[expected == 0] == 0).all()
    used = expected > 0
    np.testing.assert_allclose(counts[used], expected[used], rtol=0.03)


def test_seeded_and_reproducible_with_or_without_workers(labelled):
    ds = MotionWindows(labelled, window=8, keys=["joint_pos"])
    runs = [[b["joint_pos"] for b in ds.loader(32, seed=5, batches=6, num_workers=w)] for w in (0, 2, 0)]
    for other in runs[1:]:
        assert all(torch.equal(a, b) for a, b in zip(runs[0], other))
    different = [b["joint_pos"] for b in ds.loader(32, seed=6, batches=6)]
    assert not all(torch.equal(a, b) for a, b in zip(runs[0], different))
    sampler = ds.sampler(32, seed=5, batches=2)
    first = list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != first


def test_stream_splits_batches_over_workers_reproducibly(labelled):
    def collect(workers: int) -> list:
        stream = MotionWindowStream(labelled, window=6, keys=["joint_pos"], batch_size=16, batches=7, seed=3)
        return [b["joint_pos"] for b in DataLoader(stream, batch_size=None, num_workers=workers)]

    one, two, again = collect(0), collect(2), collect(2)
    assert len(one) == len(two) == 7
    assert all(torch.equal(a, b) for a, b in zip(two, again))
    assert all(b.shape == (16, 6, J) for b in two)


def test_ranks_read_disjoint_shards_or_clips(labelled):
    for world in (2, 3, 5):  # 3 shards: by shard for 2 and 3 ranks, by clip for 5
        seen = []
        for rank in range(world):
            ds = MotionWindows(labelled, window=10, rank=rank, world_size=world)
            clips = set(ds.index.clips.tolist())
            shards = set(ds.shards.clip_shard[list(clips)].tolist())
            if world <= len(LAYOUT):
                assert all(s % world == rank for s in shards)
            seen.append(clips)
        assert sum(len(c) for c in seen) == len(set().union(*seen))  # disjoint
        assert set().union(*seen) == set(MotionWindows(labelled, window=10).index.clips.tolist())


def test_workers_get_no_maps_from_the_parent(labelled):
    ds = MotionWindows(labelled, window=10)
    ds[np.arange(len(ds))]  # maps every member in this process
    assert len(pickle.dumps(ds)) < 50_000  # the shards are ~1 MB; only their layout travels


def test_compressed_shards_fall_back_to_loading(labelled, tmp_path):
    for path in sorted(labelled.glob("*.npz")):
        with np.load(path) as data:
            np.savez_compressed(tmp_path / path.name, **{k: data[k] for k in data.files})
    a, b = MotionWindows(labelled, window=10), MotionWindows(tmp_path, window=10)
    items = np.arange(0, len(a), 7)
    for k in a.keys:
        assert torch.equal(a[items][k], b[items][k])


def test_dataset_directory_and_split(built_sample):
    train, val = MotionWindows(built_sample, window=16), MotionWindows(built_sample, split="val", window=16)
    assert len(train) > 0 and len(val) > 0 and train.joint_names == val.joint_names
    with pytest.raises(ShardError, match="split must be one of"):
        MotionWindows(built_sample, split="test")


@pytest.mark.parametrize("change", ["fps", "joint_names", "schema_version"])
def test_shards_that_disagree_are_refused(labelled, tmp_path, change):
    for path in sorted(labelled.glob("*.npz")):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    with np.load(tmp_path / "shard_001.npz") as data:
        arrays = {k: data[k] for k in data.files}
    arrays[change] = {
        "fps": np.array(30),
        "schema_version": np.array(SCHEMA_VERSION + 1),
        "joint_names": np.array([f"k{i}" for i in range(J)]),
    }[change]
    np.savez(tmp_path / "shard_001.npz", **arrays)
    with pytest.raises(ShardError, match=f"shard_001.npz: {change}"):
        MotionWindows(tmp_path, window=4)


def test_clear_errors_for_what_cannot_be_loaded(labelled, tmp_path):
    with pytest.raises(ShardError, match="no clip is long enough"):
        MotionWindows(labelled, window=100)
    with pytest.raises(ShardError, match="holds no .npz"):
        MotionWindows(tmp_path, window=4)
    np.savez(tmp_path / "clip.npz", joint_pos=np.zeros((10, J)), fps=np.array(30))
    with pytest.raises(ShardError, match="not a mimicdata shard"):
        MotionWindows(tmp_path, window=4)
