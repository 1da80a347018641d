"""The hand-written zip container against Python's zipfile: the same bytes, and readable by it and numpy."""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pytest

import mimicdata.dataset.zip_layout as zip_layout
from mimicdata.dataset.zip_layout import AlignedZipWriter

ALIGN = 64


def _members() -> list[tuple[str, bytes, list[bytes]]]:
    rng = np.random.default_rng(3)
    members = []
    for n, shape in enumerate([(7, 3), (0, 5), (1,), (129, 2, 4), ()]):
        arr = rng.normal(size=shape).astype(np.float32)
        buf = io.BytesIO()
        np.lib.format.write_array_header_1_0(buf, np.lib.format.header_data_from_array_1_0(arr))
        data = arr.tobytes()
        members.append((f"m{n}_{'x' * n}.npy", buf.getvalue(), [data[: len(data) // 2], data[len(data) // 2:]]))
    return members


def _with_zipfile(members) -> bytes:
    """What shards wrote through zipfile before: stored, force_zip64, fixed time, the same alignment pad."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, lead, chunks in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.create_system = 3
            fixed = buffer.tell() + 30 + len(name) + 20 + 4
            pad = (-(fixed + len(lead))) % ALIGN
            info.extra = struct.pack("<HH", 0xD935, pad) + b"\0" * pad
            with zf.open(info, "w", force_zip64=True) as member:
                member.write(lead)
                for chunk in chunks:
                    member.write(chunk)
    return buffer.getvalue()


def _written(members) -> bytes:
    buffer = io.BytesIO()
    archive = AlignedZipWriter(buffer, ALIGN)
    for name, lead, chunks in members:
        archive.add(name, iter(chunks), lead=lead)
    archive.close()
    return buffer.getvalue()


def test_the_bytes_are_zipfiles_and_every_member_is_aligned_and_loads():
    members = _members()
    data = _written(members)
    assert data == _with_zipfile(members)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        for info, (name, lead, _) in zip(zf.infolist(), members):
            assert info.filename == name
            start = info.header_offset + 30 + len(name) + len(info.extra)  # a local extra as long as the central one + 20
            assert (start + 20 + len(lead)) % ALIGN == 0
    loaded = np.load(io.BytesIO(data), allow_pickle=False)
    assert loaded["m3_xxx"].shape == (129, 2, 4) and loaded["m1_x"].shape == (0, 5)


def test_offsets_and_sizes_past_the_32_bit_bound_go_into_zip64_fields(monkeypatch):
    # Lowered so a small archive takes the branches a 2 GiB shard would.
    monkeypatch.setattr(zip_layout, "ZIP64_LIMIT", 100)
    monkeypatch.setattr(zip_layout, "_COUNT_LIMIT", 2)
    data = _written(_members())
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data  # the ZIP64 end record and its locator
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert [i.file_size for i in zf.infolist()][3] == 129 * 2 * 4 * 4 + len(_members()[3][1])
    loaded = np.load(io.BytesIO(data), allow_pickle=False)
    np.testing.assert_array_equal(loaded["m0_"], np.load(io.BytesIO(_written(_members())))["m0_"])


@pytest.mark.parametrize("align", [1, 64, 4096])
def test_any_alignment(align):
    buffer = io.BytesIO()
    archive = AlignedZipWriter(buffer, align)
    archive.add("a.npy", [b"12345"], lead=b"abc")
    archive.close()
    with zipfile.ZipFile(buffer) as zf:
        assert zf.read("a.npy") == b"abc12345"
        info = zf.getinfo("a.npy")
    assert (info.header_offset + 30 + 5 + 4 + (len(info.extra) - 4) + 20 + 3) % align == 0
