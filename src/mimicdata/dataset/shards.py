"""Shard files: self-contained, uncompressed, byte-reproducible NPZ archives.

A shard is a zip of .npy members written with fixed timestamps and each
member's data aligned to 64 bytes (zip_layout.py), so readers can memory-map
any member and the same clips always give the same bytes. A clip file is a
one-clip shard.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import struct
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ShardError
from ..infra.atomic import atomic_file
from ..motion import ARRAY_KEYS, MotionClip
from .layout import clip_starts
from .zip_layout import AlignedZipWriter

# 2: clip_quality per clip, body_contacts per frame; failures shards add clip_reject_reasons and _details.
SCHEMA_VERSION = 2
FLOAT_DTYPE = np.float32
META_KEYS = (
    "fps",
    "body_names",
    "joint_names",
    "clip_starts",
    "clip_lengths",
    "clip_fps",
    "clip_weights",
    "clip_quality",
    "clip_ids",
    "schema_version",
)
REJECTION_KEYS = ("clip_reject_reasons", "clip_reject_details")  # failures shards only
LABEL_KEY = "body_contacts"  # (T, B) bool, written when the clips carry it
_ALIGN = 64


def frame_widths(num_joints: int, num_bodies: int) -> dict[str, tuple[int, ...]]:
    """The per-frame shape of each frame array."""
    return {
        "joint_pos": (num_joints,),
        "joint_vel": (num_joints,),
        "body_pos_w": (num_bodies, 3),
        "body_quat_w": (num_bodies, 4),
        "body_lin_vel_w": (num_bodies, 3),
        "body_ang_vel_w": (num_bodies, 3),
    }


def bytes_per_frame(num_joints: int, num_bodies: int) -> int:
    width = sum(int(np.prod(w)) for w in frame_widths(num_joints, num_bodies).values())
    return width * np.dtype(FLOAT_DTYPE).itemsize


Member = tuple[str, tuple[int, ...], np.dtype, Iterator[bytes]]  # name, shape, dtype, C-order bytes


@dataclass(frozen=True)
class ShardClip:
    """One clip as the shard writer sees it: metadata plus a loader for its arrays."""

    clip_id: str
    num_frames: int
    weight: float
    load: Callable[[], Mapping[str, np.ndarray]]
    quality: float = math.nan  # stages.measures.quality_score; NaN when not measured
    rejection: tuple[str, str] | None = None  # (reason, detail) of a clip in the failures partition


def write_shard(
    path: Path,
    clips: Sequence[ShardClip],
    fps: int,
    joint_names: Sequence[str],
    body_names: Sequence[str],
    durable: bool = True,
    in_memory: bool = False,
) -> str:
    """Write clips into one shard atomically; returns the file's sha256.

    Arrays stream member by member, one clip at a time, so memory stays at
    one clip whatever the shard size.
    """
    lengths = np.array([c.num_frames for c in clips], dtype=np.int64)
    starts = clip_starts(lengths)
    total = int(lengths.sum())
    meta = {
        "fps": np.array(fps, dtype=np.int64),
        "body_names": np.array(list(body_names), dtype=str),
        "joint_names": np.array(list(joint_names), dtype=str),
        "clip_starts": starts,
        "clip_lengths": lengths,
        "clip_fps": np.full(len(clips), fps, dtype=np.int64),
        "clip_weights": np.array([c.weight for c in clips], dtype=np.float64),
        "clip_quality": np.array([c.quality for c in clips], dtype=np.float64),
        "clip_ids": np.array([c.clip_id for c in clips], dtype=str),
        "schema_version": np.array(SCHEMA_VERSION, dtype=np.int64),
    }
    meta_keys = list(META_KEYS)
    if any(c.rejection for c in clips):
        meta["clip_reject_reasons"] = np.array([c.rejection[0] if c.rejection else "" for c in clips], dtype=str)
        meta["clip_reject_details"] = np.array([c.rejection[1] if c.rejection else "" for c in clips], dtype=str)
        meta_keys += REJECTION_KEYS
    widths = frame_widths(len(joint_names), len(body_names))
    dtypes: dict[str, np.dtype] = {key: np.dtype(FLOAT_DTYPE) for key in ARRAY_KEYS}
    frame_keys = list(ARRAY_KEYS)
    if clips and LABEL_KEY in clips[0].load():
        widths[LABEL_KEY], dtypes[LABEL_KEY] = (len(body_names),), np.dtype(bool)
        frame_keys.append(LABEL_KEY)

    def chunks(key: str) -> Iterator[bytes]:
        # One clip's member at a time: loaders hand out memory maps or arrays
        # already in memory, so calling them once per key costs nothing.
        for clip in clips:
            arrays = clip.load()
            if key not in arrays:
                raise ShardError(f"clip {clip.clip_id} has no {key}, which the shard's first clip has")
            arr = np.ascontiguousarray(arrays[key], dtype=dtypes[key])
            if arr.shape != (clip.num_frames, *widths[key]):
                raise ShardError(
                    f"clip {clip.clip_id}: {key} has shape {arr.shape}, "
                    f"expected {(clip.num_frames, *widths[key])}"
                )
            yield arr.tobytes()

    members: list[Member] = [(key, (total, *widths[key]), dtypes[key], chunks(key)) for key in frame_keys]
    members += [(key, meta[key].shape, meta[key].dtype, iter([meta[key].tobytes()])) for key in meta_keys]
    return write_members(path, members, durable, in_memory)


def write_members(path: Path, members: Iterable[Member], durable: bool = True, in_memory: bool = False) -> str:
    """Write .npy members into an aligned, reproducible NPZ atomically; returns its sha256.

    Each member's bytes arrive as an iterator, so nothing larger than one
    chunk is ever held; members are generated lazily, one after the other.
    `in_memory` assembles the archive in memory first and writes it with one
    call: for small files (clips), where the many small writes and seeks and
    re-reading the file for its hash cost more than the data.
    """

    def write(archive: AlignedZipWriter) -> None:
        for key, shape, dtype, chunks in members:
            archive.add(f"{key}.npy", chunks, lead=_npy_header(shape, dtype))

    return atomic_write(path, write, durable, in_memory)


def write_clip(
    path: Path, clip_id: str, clip: MotionClip, weight: float = 1.0, durable: bool = True, quality: float = math.nan
) -> str:
    """A clip file: a one-clip shard, with the clip's contact labels when it has them. `durable=False`
    skips the fsync (see atomic_file)."""
    arrays = {k: getattr(clip, k) for k in ARRAY_KEYS}
    if clip.body_contacts is not None:
        arrays[LABEL_KEY] = clip.body_contacts
    item = ShardClip(clip_id, clip.num_frames, weight, lambda: arrays, quality)
    return write_shard(path, [item], clip.fps, clip.joint_names, clip.body_names, durable, in_memory=True)


def atomic_write(
    path: Path, write: Callable[[AlignedZipWriter], None], durable: bool = True, in_memory: bool = False
) -> str:
    """Write a zip atomically (see mimicdata.infra.atomic); returns the sha256 of what was written."""
    if in_memory:
        buffer = io.BytesIO()
        archive = AlignedZipWriter(buffer, _ALIGN)
        write(archive)
        archive.close()
        data = buffer.getbuffer()
        with atomic_file(path, durable=durable) as (fh, _):
            fh.write(data)
        return hashlib.sha256(data).hexdigest()
    with atomic_file(path, durable=durable) as (fh, tmp):
        archive = AlignedZipWriter(fh, _ALIGN)
        write(archive)
        archive.close()
        fh.flush()
        digest = file_sha256(tmp)
    return digest


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=4096)  # the same few shapes recur across a build's clips
def _npy_header(shape: tuple[int, ...], dtype: np.dtype) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": tuple(shape)}
    )
    return buf.getvalue()


def _read_npy_header(fh) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) from a .npy header, leaving `fh` at the data."""
    start = fh.tell()
    lead = fh.read(10)
    if lead[:8] == b"\x93NUMPY\x01\x00":
        text = fh.read(int.from_bytes(lead[8:10], "little"))
        match = _PLAIN_HEADER.fullmatch(text)
        if match:
            # The layout np.save writes for plain dtypes; numpy's own parser (below) costs an ast.literal_eval.
            descr, fortran, dims = match.groups()
            return tuple(int(d) for d in dims.split(b",") if d.strip()), fortran == b"True", np.dtype(descr.decode())
    fh.seek(start)
    version = np.lib.format.read_magic(fh)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    return read(fh)


_PLAIN_HEADER = re.compile(
    rb"\{'descr': '([<>|=]?[a-zA-Z]\d*)', 'fortran_order': (True|False), 'shape': \(((?:\d+, ?)*\d*)\), \} *\n"
)


# ---------------------------------------------------------------- reading


class Shard:
    """A shard opened for reading: members memory-mapped where stored uncompressed."""

    def __init__(self, path: Path, mmap: bool = True) -> None:
        self.path = Path(path)
        try:
            with zipfile.ZipFile(self.path) as zf:
                infos = {i.filename.removesuffix(".npy"): i for i in zf.infolist()}
        except (zipfile.BadZipFile, OSError) as exc:
            raise ShardError(f"{self.path}: not a readable NPZ archive ({exc})") from None
        self._infos = infos
        self._mmap = mmap
        self._cache: dict[str, np.ndarray] = {}
        self._where: dict[str, tuple[int, tuple[int, ...], bool, np.dtype] | None] = {}
        self._inflated: tuple[str, np.ndarray] | None = None

    def __getstate__(self) -> dict:
        # A worker process gets the file's layout, never the parent's maps or
        # loaded members: it maps what it reads itself, once.
        return {**self.__dict__, "_cache": {}, "_inflated": None}

    def keys(self) -> list[str]:
        return list(self._infos)

    def __contains__(self, key: str) -> bool:
        return key in self._infos

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = self._read(self._info(key))
        return self._cache[key]

    def _read(self, info: zipfile.ZipInfo) -> np.ndarray:
        where = self._locate(info) if self._mmap else None
        if where is not None:
            offset, shape, fortran, dtype = where
            if int(np.prod(shape)) > 0 and dtype.kind != "U":
                return np.memmap(self.path, dtype=dtype, mode="r", offset=offset, shape=shape,
                                 order="F" if fortran else "C")
        return self._inflate(info)

    def _inflate(self, info: zipfile.ZipInfo, header_only: bool = False):
        """A member read through zipfile (compressed, or not mapped): the array, or (shape, dtype)."""
        try:
            with zipfile.ZipFile(self.path) as zf, zf.open(info) as member:
                if not header_only:
                    return np.lib.format.read_array(member, allow_pickle=False)
                shape, _, dtype = _read_npy_header(member)
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise ShardError(f"{self.path}: member {info.filename} cannot be read ({exc})") from None
        if dtype.hasobject:
            raise ShardError(f"{self.path}: member {info.filename} holds Python objects; refused")
        return tuple(shape), dtype

    def _locate(self, info: zipfile.ZipInfo) -> tuple[int, tuple[int, ...], bool, np.dtype] | None:
        """(data offset, shape, fortran order, dtype) of a stored member; None when compressed."""
        if info.filename not in self._where:
            self._where[info.filename] = self._parse_header(info)
        return self._where[info.filename]

    def _parse_header(self, info: zipfile.ZipInfo) -> tuple[int, tuple[int, ...], bool, np.dtype] | None:
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        with open(self.path, "rb") as fh:
            fh.seek(info.header_offset)
            name_len, extra_len = struct.unpack("<HH", fh.read(30)[26:30])
            fh.seek(info.header_offset + 30 + name_len + extra_len)
            try:
                shape, fortran, dtype = _read_npy_header(fh)
            except ValueError as exc:
                raise ShardError(f"{self.path}: member {info.filename} is not a .npy array ({exc})") from None
            if dtype.hasobject:
                raise ShardError(f"{self.path}: member {info.filename} holds Python objects; refused")
            return fh.tell(), tuple(shape), bool(fortran), dtype

    def header(self, key: str) -> tuple[tuple[int, ...], np.dtype]:
        """A member's shape and dtype, read from its header without loading it (compressed or not)."""
        info = self._info(key)
        where = self._locate(info)
        if where is not None:
            return where[1], where[3]
        return self._inflate(info, header_only=True)

    def rows(self, key: str, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) of a member as an in-memory array, read without mapping the file.

        A re-sharder reading a whole directory this way holds one block of
        rows at a time; a mapping would keep every page it touched resident.
        """
        info = self._info(key)
        where = self._locate(info)
        if where is None or where[2]:
            # Compressed (or Fortran-ordered): inflate this one member, and keep only it.
            if self._inflated is None or self._inflated[0] != key:
                self._inflated = None
                self._inflated = (key, self._inflate(info))
            return np.array(self._inflated[1][start:stop])
        offset, shape, _, dtype = where
        row = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        count = (stop - start) * int(np.prod(shape[1:], dtype=np.int64))
        with open(self.path, "rb") as fh:
            fh.seek(offset + start * row)
            out = np.fromfile(fh, dtype=dtype, count=count)
        if out.size != count:
            raise ShardError(f"{self.path}: member {key} ends before row {stop} (file truncated?)")
        return out.reshape((stop - start, *shape[1:]))

    def release(self) -> None:
        """Drop every map and inflated member this shard holds; it reopens them on demand."""
        self._cache.clear()
        self._inflated = None

    def _info(self, key: str) -> zipfile.ZipInfo:
        if key not in self._infos:
            raise ShardError(f"{self.path}: no member {key!r} (has {sorted(self._infos)})")
        return self._infos[key]

    @property
    def num_clips(self) -> int:
        return int(self["clip_lengths"].shape[0])

    def clip(self, index: int) -> dict[str, np.ndarray]:
        """One clip's frame arrays, contact labels included where stored (views into the maps)."""
        start = int(self["clip_starts"][index])
        stop = start + int(self["clip_lengths"][index])
        return {k: self[k][start:stop] for k in (*ARRAY_KEYS, LABEL_KEY) if k in self}


def is_shard(path: Path) -> bool:
    """Whether an NPZ holds concatenated clips (a shard, or a one-clip file) rather than one bare clip."""
    try:
        with zipfile.ZipFile(path) as zf:
            return "clip_lengths.npy" in zf.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ShardError(f"{path}: not a readable NPZ archive ({exc})") from None


class _Members(Mapping[str, np.ndarray]):
    """A shard's members, each read when asked for with a plain file read (no memory map)."""

    def __init__(self, shard: Shard) -> None:
        self.shard = shard

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self.shard:
            raise KeyError(key)
        return self.shard.rows(key, 0, self.shard.header(key)[0][0])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self.shard

    def __iter__(self) -> Iterator[str]:
        return iter(self.shard.keys())

    def __len__(self) -> int:
        return len(self.shard.keys())


def clip_file_loader(path: Path) -> Callable[[], Mapping[str, np.ndarray]]:
    """A ShardClip loader for a one-clip file: opened once, then one read per member the writer asks for."""
    opened: list[Shard] = []

    def load() -> Mapping[str, np.ndarray]:
        if not opened:
            opened.append(Shard(path))
        return _Members(opened[0])

    return load


def read_clip_file(path: Path) -> dict[str, np.ndarray]:
    """All arrays of a one-clip file as plain in-memory arrays."""
    shard = Shard(path, mmap=False)
    return {k: shard[k] for k in shard.keys()}
