"""The per-clip cache: no-op rebuilds reuse everything, a threshold change skips ingest, a new file is the only work."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from mimicdata.build.dataset import BuildOptions, build_dataset


def _outputs(dataset: Path) -> dict[str, bytes]:
    files = sorted(dataset.glob("*/shard_*.npz")) + [dataset / "manifest_resolved.csv"]
    return {str(p.relative_to(dataset)): p.read_bytes() for p in files}


@pytest.fixture
def project(tmp_path):
    """A copy of the sample inputs and a spec over them, so tests may add files and change options."""
    shutil.copytree(REPO / "data" / "sample", tmp_path / "inputs")
    spec = yaml.safe_load((REPO / "specs" / "sample.yaml").read_text())
    for source in spec["sources"]:
        source["input"] = str(tmp_path / "inputs" / Path(source["input"]).name)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path, spec


def _build(spec_path, root, **kw):
    return build_dataset(spec_path, BuildOptions(output_root=root, fk_check=False, **kw))


def test_no_op_rebuild_reuses_every_clip_and_writes_the_same_bytes(project, tmp_path):
    spec_path, _ = project
    cold = _build(spec_path, tmp_path / "out")
    scanned = cold.cache.computed
    assert scanned > 0 and cold.cache.clips_from_cache == 0
    first = _outputs(tmp_path / "out" / "sample")
    warm = _build(spec_path, tmp_path / "out")
    assert warm.cache == cold.cache.model_copy(update={"clips_from_cache": scanned, "computed": 0})
    assert _outputs(tmp_path / "out" / "sample") == first
    assert warm.rejected == cold.rejected  # rejections are remembered too
    uncached = _build(spec_path, tmp_path / "plain", use_cache=False)
    assert uncached.cache.dir is None and _outputs(tmp_path / "plain" / "sample") == first


def test_a_threshold_change_reruns_preprocess_but_never_ingest(project, tmp_path, monkeypatch):
    spec_path, spec = project
    _build(spec_path, tmp_path / "out")
    import mimicdata.build.clip as clip_stage

    def no_ingest(*args, **kwargs):
        raise AssertionError("ingest ran although the motion was cached")

    monkeypatch.setattr(clip_stage, "read_robot_motion", no_ingest)
    spec["preprocess"]["min_frames"] = 100
    spec_path.write_text(yaml.safe_dump(spec))
    report = _build(spec_path, tmp_path / "out")  # jobs=1 runs in this process, so the patch is seen
    assert report.cache.clips_from_cache == 0 and report.cache.computed == 0
    assert report.cache.motions_from_cache > 0
    assert any(r.reason == "too_short" for r in report.rejected)
    monkeypatch.undo()
    _build(spec_path, tmp_path / "fresh", cache_dir=tmp_path / "other-cache")
    assert _outputs(tmp_path / "out" / "sample") == _outputs(tmp_path / "fresh" / "sample")


def test_adding_a_file_processes_that_file_only(project, tmp_path):
    spec_path, spec = project
    before = _build(spec_path, tmp_path / "out")
    csv = Path(spec["sources"][1]["input"])
    take = sorted(csv.glob("*.csv"))[-1]
    (csv / "another_take.csv").write_text("\n".join(take.read_text().splitlines()[:-3]) + "\n")
    after = _build(spec_path, tmp_path / "out")
    assert after.cache.computed == 1
    assert after.cache.clips_from_cache == before.cache.computed
    # A second copy of known bytes under a new name reuses the cached motion.
    shutil.copy(take, csv / "same_bytes.csv")
    again = _build(spec_path, tmp_path / "out")
    assert again.cache.computed == 0 and again.cache.motions_from_cache == 1


def test_an_edited_input_is_recomputed(project, tmp_path):
    spec_path, spec = project
    _build(spec_path, tmp_path / "out")
    csv = sorted(Path(spec["sources"][1]["input"]).glob("*.csv"))[0]
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(lines[:-5]) + "\n")  # a shorter take, same name
    report = _build(spec_path, tmp_path / "out")
    assert report.cache.computed == 1


def test_a_damaged_cache_entry_is_computed_again_not_reused(project, tmp_path):
    spec_path, _ = project
    cold = _build(spec_path, tmp_path / "out")
    expected = _outputs(tmp_path / "out" / "sample")
    entry = sorted((tmp_path / "out" / ".cache" / "clip").glob("*/*.npz"))[0]
    damaged = bytearray(entry.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    entry.unlink()  # the dataset's files may be links to the entry: replace it, as a bad disk block would not
    entry.write_bytes(bytes(damaged))
    warm = _build(spec_path, tmp_path / "out")
    assert warm.cache.clips_from_cache == cold.cache.computed - 1
    assert warm.cache.motions_from_cache == 1
    assert _outputs(tmp_path / "out" / "sample") == expected


def test_duplicate_clip_ids_are_not_counted_as_computed(project, tmp_path):
    spec_path, spec = project
    csv = Path(spec["sources"][1]["input"])
    take = sorted(csv.glob("*.csv"))[-1]
    shutil.copy(take, take.with_suffix(".CSV"))  # same clip id, so rejected as a duplicate, never processed
    report = _build(spec_path, tmp_path / "out")
    duplicates = [r for r in report.rejected if r.reason == "duplicate_clip_id"]
    assert len(duplicates) == 1
    scanned = sum(s.scanned for s in report.sources.values())
    assert report.cache.computed == scanned - 1


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_motion_entry_is_read_again_from_the_input(project, tmp_path, damage):
    spec_path, spec = project
    cold = _build(spec_path, tmp_path / "out")
    entry = sorted((tmp_path / "out" / ".cache" / "motion").glob("*/*.bin"))[0]
    data = bytearray(entry.read_bytes())
    if damage == "flip":
        data[-3] ^= 0x01  # one bit of one joint angle
    else:
        del data[len(data) // 2 :]
    entry.write_bytes(bytes(data))
    spec["preprocess"]["min_frames"] = 11  # a clip-level miss everywhere, so every motion entry is read
    spec_path.write_text(yaml.safe_dump(spec))
    warm = _build(spec_path, tmp_path / "out")
    assert warm.cache.computed == 1
    assert warm.cache.motions_from_cache == cold.cache.computed - 1
    _build(spec_path, tmp_path / "fresh", use_cache=False)
    assert _outputs(tmp_path / "out" / "sample") == _outputs(tmp_path / "fresh" / "sample")


def test_unchanged_inputs_are_not_hashed_again(project, tmp_path, monkeypatch):
    spec_path, spec = project
    _build(spec_path, tmp_path / "out")
    import mimicdata.build.clip as build

    hashed = []
    real = build.file_sha256
    monkeypatch.setattr(build, "file_sha256", lambda path: hashed.append(Path(path).name) or real(path))
    _build(spec_path, tmp_path / "out")
    assert hashed == []
    csv = sorted(Path(spec["sources"][1]["input"]).glob("*.csv"))[0]
    csv.write_text(csv.read_text())  # same bytes, new mtime: hashed again, and still served from the cache
    report = _build(spec_path, tmp_path / "out")
    assert hashed == [csv.name] and report.cache.computed == 0


@pytest.mark.parametrize(
    "damage",
    [
        lambda known: "{not json",
        lambda known: "[1, 2]",
        lambda known: json.dumps({path: 5 if i % 2 else ["only one"] for i, path in enumerate(known)}),
    ],
    ids=["not_json", "not_a_mapping", "entries_of_the_wrong_shape"],
)
def test_a_damaged_input_hash_memo_is_ignored(project, tmp_path, damage):
    spec_path, _ = project
    cold = _build(spec_path, tmp_path / "out")
    (memo,) = (tmp_path / "out" / ".cache" / "inputs").glob("*.json")
    memo.write_text(damage(json.loads(memo.read_text())))
    warm = _build(spec_path, tmp_path / "out")
    assert warm.cache.clips_from_cache == cold.cache.computed
    assert not [r for r in warm.rejected if r.reason == "error"]


def _inodes(dataset: Path) -> dict[str, int]:
    return {str(p.relative_to(dataset)): p.stat().st_ino for p in sorted(dataset.glob("*/shard_*.npz"))}


def test_a_rebuild_keeps_unchanged_shards_and_rewrites_only_the_changed_one(project, tmp_path):
    spec_path, spec = project
    small = {"max_shard_size_mb": 0.3}  # several shards per split
    _build(spec_path, tmp_path / "out", **small)
    dataset = tmp_path / "out" / "sample"
    before, first = _inodes(dataset), _outputs(dataset)
    assert len(before) >= 4
    _build(spec_path, tmp_path / "out", **small)
    assert _inodes(dataset) == before and _outputs(dataset) == first  # kept as they were, not written again

    csv = sorted(Path(spec["sources"][1]["input"]).glob("*.csv"))[0]
    csv.write_text("\n".join(csv.read_text().splitlines()[:-5]) + "\n")  # one clip changes
    _build(spec_path, tmp_path / "out", **small)
    after = _inodes(dataset)
    rewritten = [rel for rel in after if after[rel] != before.get(rel)]
    assert 1 <= len(rewritten) < len(after)
    _build(spec_path, tmp_path / "fresh", cache_dir=tmp_path / "other-cache", **small)
    assert _outputs(dataset) == _outputs(tmp_path / "fresh" / "sample")  # what a build from nothing writes

    victim = dataset / sorted(after)[0]
    victim.unlink()
    victim.write_bytes(b"not the shard")  # replaced behind the build's back: written again, not trusted
    _build(spec_path, tmp_path / "out", **small)
    assert _outputs(dataset) == _outputs(tmp_path / "fresh" / "sample")
    forced = _build(spec_path, tmp_path / "out", force=True, **small)
    assert forced.cache.computed > 0 and all(i not in _inodes(dataset).values() for i in after.values())
