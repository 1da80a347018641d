"""A motion's left-right mirror image, in the robot's x-z plane.

The reflection M = diag(1, -1, 1) maps the root position p to M p and a rotation R to M R M: about
the axis M a by the opposite angle, so the quaternion (w, x, y, z) becomes (w, -x, y, -z). Each
joint takes the angle of its mirror partner (robot.mirror: left and right swapped), negated for a
hinge whose axis the reflection turns around (roll and yaw; pitch axes lie along y and keep their
sense). Mirroring twice gives the original back exactly: every step is a swap or a sign.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import SpecError
from ..motion import RobotMotion
from ..robot import RobotModel

MIRROR_SUFFIX = ":mirror"  # appended to a clip id for its mirror image


def mirror_motion(motion: RobotMotion, robot: RobotModel) -> RobotMotion:
    """The mirror image of a robot motion (joints in the robot's order)."""
    if robot.mirror is None:
        raise SpecError(f"robot {robot.name!r} has no mirror map (`mirror:` in its robot.yaml): it cannot be mirrored")
    mirror = robot.mirror
    root_pos = motion.root_pos * np.array([1.0, -1.0, 1.0])
    root_quat = motion.root_quat * np.array([1.0, -1.0, 1.0, -1.0])
    joint_pos = motion.joint_pos[:, mirror.joint_partner] * mirror.joint_sign
    return replace(motion, root_pos=root_pos, root_quat=root_quat, joint_pos=joint_pos)


def original_id(clip_id: str) -> str:
    """The clip id a mirror image was made from (the id itself for any other clip)."""
    return clip_id.removesuffix(MIRROR_SUFFIX)


def mirror_quality(quality: dict[str, Any] | None, robot: RobotModel) -> dict[str, Any] | None:
    """A retarget's quality measures (retarget.quality) as its mirror image has them: the same numbers, the
    sides of named geoms and end effectors exchanged."""
    if not quality or robot.mirror is None:
        return quality
    mirror = robot.mirror
    out = dict(quality)
    if out.get("worst_pair"):
        out["worst_pair"] = "/".join(mirror.name(g) for g in str(out["worst_pair"]).split("/"))
    if isinstance(out.get("end_effector_error"), dict):
        out["end_effector_error"] = {mirror.name(k): v for k, v in out["end_effector_error"].items()}
    return out
