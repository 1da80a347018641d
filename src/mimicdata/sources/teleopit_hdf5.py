"""The old tool's current HDF5 shards (Teleopit `*.h5`): many clips per file, read one clip at a time.

Both of its layouts are read: the minimal shard (`teleopit_motion_hdf5`: root_pos, root_quat_w wxyz,
joint_pos) and the precomputed training shard (`teleopit_precomputed_motion_hdf5`: body arrays, the
root taken from the body named as the robot's root in `body_names`). Clips longer than a window are
stored as overlapping windows; a clip is put back together from its windows through
`source_clip_ids` and `source_start_frames`, at its own `source_clip_fps`. Joints are in the robot's
order (the format stores no joint names; a `joint_names` attribute, which mimicdata's export writes,
is used when present).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..motion import RobotMotion
from ..robot import RobotModel
from ._common import make_motion, unit_quats

FORMATS = ("teleopit_motion_hdf5", "teleopit_precomputed_motion_hdf5")
CLIP_KEYS = ("source_clip_ids", "source_start_frames", "clip_starts", "clip_lengths", "source_clip_lengths",
             "source_clip_fps")


def _open(path: Path):
    import h5py

    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(path, None, f"not a readable HDF5 file: {exc}") from None
    if str(h5.attrs.get("format", "")) not in FORMATS:
        h5.close()
        raise InputError(path, "format", f"attribute is {h5.attrs.get('format')!r}; expected one of {FORMATS}")
    missing = [k for k in (*CLIP_KEYS, "joint_pos") if k not in h5]
    if missing:
        h5.close()
        raise InputError(path, missing[0], f"missing datasets {missing}")
    return h5


def clip_names(path: Path) -> list[str]:
    """The clips a shard holds: their stored names (mimicdata's export writes them), else clip_00000, ..."""
    with _open(Path(path)) as h5:
        count = int(h5["source_clip_lengths"].shape[0])
        if "source_clip_names" in h5:
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in h5["source_clip_names"][:]]
            return [n.replace(":", "_").replace("/", "_") for n in names]
        return [f"clip_{k:05d}" for k in range(count)]


def read_teleopit_hdf5(path: Path, robot: RobotModel, part: int = 0) -> RobotMotion:
    """Clip `part` of an old-tool HDF5 shard, put back together from its windows."""
    path = Path(path)
    with _open(path) as h5:
        lengths = h5["source_clip_lengths"][:]
        if not 0 <= part < len(lengths):
            raise InputError(path, "source_clip_lengths", f"holds clips 0..{len(lengths) - 1}, not {part}")
        T, fps = int(lengths[part]), float(h5["source_clip_fps"][part])
        owner, offset = h5["source_clip_ids"][:], h5["source_start_frames"][:]
        starts, sizes = h5["clip_starts"][:], h5["clip_lengths"][:]
        precomputed = "body_pos_w" in h5 and "root_pos" not in h5
        keys = ("joint_pos", "body_pos_w", "body_quat_w") if precomputed else ("joint_pos", "root_pos", "root_quat_w")
        out = {k: np.full((T, *h5[k].shape[1:]), np.nan) for k in keys}
        for w in np.flatnonzero(owner == part):
            a, n, at = int(starts[w]), int(sizes[w]), int(offset[w])
            if at < 0 or at + n > T:
                raise InputError(path, "source_start_frames", f"window {w} reaches outside clip {part}")
            for key in keys:
                out[key][at : at + n] = h5[key][a : a + n]
        if np.isnan(out["joint_pos"]).any():
            raise InputError(path, "source_start_frames", f"the windows of clip {part} leave frames uncovered")
        if precomputed:
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in h5["body_names"][:]]
            if robot.root_body not in names:
                raise InputError(path, "body_names", f"no {robot.root_body!r} (the robot's root) among {names}")
            root = names.index(robot.root_body)
            root_pos, root_quat = out["body_pos_w"][:, root], out["body_quat_w"][:, root]
        else:
            root_pos, root_quat = out["root_pos"], out["root_quat_w"]
        joint_pos = out["joint_pos"]
        stored = str(h5.attrs.get("joint_names", ""))
        if stored:
            names = stored.split(",")
            missing = [j for j in robot.joint_names if j not in names]
            if missing:
                raise InputError(path, "joint_names", f"joints of robot {robot.name} missing: {missing}")
            joint_pos = joint_pos[:, [names.index(j) for j in robot.joint_names]]
    quat = unit_quats(path, "root_quat_w", root_quat, 1e-2)
    return make_motion(path, robot, fps, root_pos, quat, joint_pos)
