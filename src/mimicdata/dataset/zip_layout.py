"""The zip container of shards and clip files, written directly: stored members, fixed timestamps, each
member's data starting on an aligned offset.

Per member (PKWARE APPNOTE 4.3.7), with every size in the ZIP64 extra field so a member of any size
streams without knowing its length first:

    local header (30 bytes, sizes 0xFFFFFFFF) | name | extra: alignment pad (id 0xD935), ZIP64 (id 1) | data

then one central directory record per member (a ZIP64 extra only where a size or offset passes 2^31 - 1)
and the end records (the ZIP64 ones only when the directory needs them). The bytes are those Python's
zipfile writes for members opened with force_zip64 (a test compares them), at a fraction of its
per-member cost, which dominated writing a clip file of seventeen small members.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from typing import BinaryIO

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_END64 = struct.Struct("<4sQ2H2L4Q")
_LOCATOR64 = struct.Struct("<4sLQL")
_ZIP64_SIZES = struct.Struct("<HHQQ")
ZIP64_LIMIT = (1 << 31) - 1  # past this a size or offset needs its ZIP64 field (zipfile's bound)
_COUNT_LIMIT = (1 << 16) - 1
_VERSION = 45  # ZIP64
_UNIX = 3
_DOS_TIME, _DOS_DATE = 0, (1 << 5) | 1  # 1980-01-01 00:00:00, the earliest a zip can say
_ATTRIBUTES = 0o644 << 16
_PAD_ID = 0xD935  # the "alignment" extra field id zipalign uses


class AlignedZipWriter:
    """Members appended to a seekable binary file, each one's data starting at a multiple of `align`."""

    def __init__(self, fh: BinaryIO, align: int) -> None:
        self.fh = fh
        self.align = align
        self.entries: list[tuple[bytes, bytes, int, int, int]] = []  # name, pad extra, crc, size, offset

    def add(self, name: str, chunks: Iterable[bytes], lead: bytes = b"") -> None:
        """One stored member: `lead` (a .npy header) then the chunks; `lead` is what the alignment counts from
        too, so the data after it lands on the boundary."""
        fh, encoded = self.fh, name.encode("ascii")
        offset = fh.tell()
        pad = (-(offset + _LOCAL.size + len(encoded) + 4 + _ZIP64_SIZES.size + len(lead))) % self.align
        padding = struct.pack("<HH", _PAD_ID, pad) + bytes(pad)
        fh.write(self._local(encoded, padding, 0, 0))
        crc, size = zlib.crc32(lead), len(lead)
        fh.write(lead)
        for chunk in chunks:
            crc, size = zlib.crc32(chunk, crc), size + len(chunk)
            fh.write(chunk)
        end = fh.tell()
        fh.seek(offset)
        fh.write(self._local(encoded, padding, crc, size))
        fh.seek(end)
        self.entries.append((encoded, padding, crc, size, offset))

    def close(self) -> None:
        """The central directory and end records."""
        fh = self.fh
        start = fh.tell()
        for name, padding, crc, size, offset in self.entries:
            wide = [size, size] if size > ZIP64_LIMIT else []
            wide += [offset] if offset > ZIP64_LIMIT else []
            extra = (struct.pack(f"<HH{len(wide)}Q", 1, 8 * len(wide), *wide) if wide else b"") + padding
            short_size = 0xFFFFFFFF if size > ZIP64_LIMIT else size
            fh.write(_CENTRAL.pack(b"PK\x01\x02", _VERSION, _UNIX, _VERSION, 0, 0, 0, _DOS_TIME, _DOS_DATE, crc,
                                   short_size, short_size, len(name), len(extra), 0, 0, 0, _ATTRIBUTES,
                                   0xFFFFFFFF if offset > ZIP64_LIMIT else offset))
            fh.write(name)
            fh.write(extra)
        end = fh.tell()
        count, length = len(self.entries), end - start
        if count > _COUNT_LIMIT or start > ZIP64_LIMIT or length > ZIP64_LIMIT:
            fh.write(_END64.pack(b"PK\x06\x06", 44, _VERSION, _VERSION, 0, 0, count, count, length, start))
            fh.write(_LOCATOR64.pack(b"PK\x06\x07", 0, end, 1))
            count, length, start = min(count, 0xFFFF), min(length, 0xFFFFFFFF), min(start, 0xFFFFFFFF)
        fh.write(_END.pack(b"PK\x05\x06", 0, 0, count, count, length, start, 0))

    @staticmethod
    def _local(name: bytes, padding: bytes, crc: int, size: int) -> bytes:
        extra = padding + _ZIP64_SIZES.pack(1, 16, size, size)
        return _LOCAL.pack(b"PK\x03\x04", _VERSION, 0, 0, 0, _DOS_TIME, _DOS_DATE, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                           len(name), len(extra)) + name + extra
