import hashlib

from mimicdata.stages.split import assign_splits, hash_bucket


def test_bucket_is_the_old_tools_md5_rule():
    for salt, key in [("", "seed:240918/body_check_001__A548"), ("s1", "gmr:walk"), ("x", "a:b/c")]:
        expected = int(hashlib.md5(f"{salt}:{key}".encode()).hexdigest(), 16) % 100
        assert hash_bucket(salt, key) == expected


def test_split_follows_buckets():
    ids = [f"src:clip_{i:03d}" for i in range(300)]
    split = assign_splits(ids, 10, "salt")
    for cid in ids:
        assert split[cid] == ("val" if hash_bucket("salt", cid) < 10 else "train")
    share = sum(s == "val" for s in split.values()) / len(ids)
    assert 0.04 < share < 0.18


def test_empty_split_gets_first_clip_by_sorted_id():
    ids = ["b:2", "a:1", "c:3"]
    # find a salt that puts all three in train at 1 %
    salt = next(s for s in map(str, range(1000)) if all(hash_bucket(s, i) >= 1 for i in ids))
    split = assign_splits(ids, 1, salt)
    assert split == {"a:1": "val", "b:2": "train", "c:3": "train"}


def test_groups_never_straddle_splits():
    ids = [f"lafan:subject{s}/take{t}" for s in range(1, 21) for t in range(5)]
    split = assign_splits(ids, 30, "g", group_pattern=r"subject\d+")
    by_subject = {}
    for cid, s in split.items():
        by_subject.setdefault(cid.split("/")[0], set()).add(s)
    assert all(len(v) == 1 for v in by_subject.values())
    for cid, s in split.items():
        subject = cid.split(":")[1].split("/")[0]
        assert s == ("val" if hash_bucket("g", subject) < 30 else "train")
