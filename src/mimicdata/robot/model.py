"""A floating-base robot (its parse: robot/parse.py), with FK batched over frames."""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from .. import kernels
from ..errors import RobotModelError
from ..geometry.rotations import (
    quat_continuity,
    quat_normalize,
    rotate_vector,
)
from .collision import CollisionGeometry, collision_from_config, collision_from_model
from .parse import parse_model

ASSETS = Path(__file__).parent / "assets"
BUNDLED = {"unitree_g1": ASSETS / "unitree_g1" / "robot.yaml"}


class RobotModel:
    """Names, limits, sole geometry and batched forward kinematics of one robot."""

    def __init__(self, config_path: Path | None, model_path: Path, options: dict) -> None:
        self.model_path = model_path
        parsed = parse_model(model_path, options.get("extra_bodies"), config_path or model_path)
        self.parsed = parsed
        self.name = str(options.get("name", parsed.name))
        link_parent, link_joint = parsed.link_parent.tolist(), parsed.link_joint.tolist()
        joint_names = list(parsed.joint_names)
        # The tree as the FK kernel reads it (kernels.forward_kinematics).
        self._kernel_links = (
            parsed.link_parent.astype(np.int64),
            np.maximum(parsed.link_joint, 0).astype(np.int64),
            parsed.link_pos,
            parsed.link_quat,
            parsed.link_axis,
        )
        self.joint_names: tuple[str, ...] = parsed.joint_names
        self.joint_lower = parsed.lower.copy()
        self.joint_upper = parsed.upper.copy()

        order = options.get("body_names") or list(parsed.body_names)
        by_name = {name: i for i, name in enumerate(parsed.body_names)}
        missing = [b for b in order if b not in by_name]
        if missing:
            raise RobotModelError(f"{config_path or model_path}: bodies not in the model: {missing}")
        self.body_names: tuple[str, ...] = tuple(order)
        frames = [by_name[b] for b in order]
        self._body_link = parsed.body_link[frames]
        self._kernel_bodies = (
            self._body_link.astype(np.int64),
            parsed.body_pos[frames].reshape(-1, 3),
            parsed.body_quat[frames].reshape(-1, 4),
        )

        self.root_body = str(options.get("root_body", self.body_names[0]))
        self.foot_bodies: tuple[str, ...] = tuple(options.get("foot_bodies", ()))
        soles = options.get("sole_points", {}) or {}
        self.given_soles = {b: np.asarray(points, dtype=float) for b, points in soles.items()}
        self.sole_points = {b: self.given_soles.get(b, np.zeros((1, 3))) for b in self.foot_bodies}
        self.retarget_overrides: dict = dict(options.get("retarget") or {})  # over the drafted retarget config
        # What robot/derived.py could not derive for a description that does not give it.
        self.description_problems: list[str] = []
        for name in (self.root_body, *self.foot_bodies):
            self.body_index(name)
        # body_joint_mask[b, j]: joint j lies on the chain from the root to body b.
        self.body_joint_mask = np.zeros((len(self.body_names), len(joint_names)), dtype=bool)
        for b, link in enumerate(self._body_link):
            while link > 0:
                self.body_joint_mask[b, link_joint[link]] = True
                link = link_parent[link]
        # body_parents[b]: the body one joint up the tree from b (-1 for the root).
        link_body = {int(link): b for b, link in reversed(list(enumerate(self._body_link)))}
        self.body_parents = np.array([link_body.get(link_parent[link], -1) if link > 0 else -1
                                      for link in self._body_link])
        # A model's own speed limits (URDF `velocity`) unless the description gives them; 0 means none.
        own = parsed.velocity
        self.velocity_limit = np.where(own > 0, own, np.inf)
        if options.get("velocity_limits"):
            self.velocity_limit = _velocity_limits(options["velocity_limits"], joint_names, config_path or model_path)
        self.mirror = _mirror_map(options.get("mirror"), joint_names, list(self.body_names), config_path or model_path)
        # A description's own capsules are read now (a mistake in them is an error on loading); a model's
        # collision geoms only when first asked for, since reading them compiles the model with MuJoCo.
        self._collision = (collision_from_config(options["collision"], self, config_path or model_path)
                           if options.get("collision") else None)
        self._collision_from_model = not options.get("collision")
        digest = hashlib.sha256(model_path.read_bytes())
        if config_path is not None:
            digest.update(config_path.read_bytes())
        self.sha256 = digest.hexdigest()

    @property
    def collision(self) -> CollisionGeometry | None:
        """The robot's collision geometry (robot/collision.py), or None when it has none."""
        if self._collision_from_model:
            self._collision, self._collision_from_model = collision_from_model(self.model_path, self), False
        return self._collision

    @property
    def kernel_tree(self) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """The kinematic tree as the compiled kernels read it: (links, bodies) of kernels.forward_kinematics."""
        return self._kernel_links, self._kernel_bodies

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def body_index(self, name: str) -> int:
        try:
            return self.body_names.index(name)
        except ValueError:
            raise RobotModelError(
                f"body {name!r} is not in robot {self.name!r}; bodies are {list(self.body_names)}"
            ) from None

    def forward_kinematics(
        self, root_pos: np.ndarray, root_quat: np.ndarray, joint_pos: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """World poses of every body for every frame: (T, B, 3) positions, (T, B, 4) wxyz.

        One pass over the kinematic tree per frame, in compiled code (kernels.c).
        """
        body_pos, body_quat, _, _ = self._forward(root_pos, root_quat, joint_pos, with_joints=False)
        return body_pos, body_quat

    def posed(self, joint_pos: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Body positions (B, 3) and orientations (B, 4) of one posture (J,), every joint at zero unless given,
        the root at the origin and unturned."""
        q = np.zeros((1, self.num_joints)) if joint_pos is None else np.asarray(joint_pos, dtype=float)[None]
        pos, quat = self.forward_kinematics(np.zeros((1, 3)), np.array([[1.0, 0.0, 0.0, 0.0]]), q)
        return pos[0], quat[0]

    def joint_frames(
        self, root_pos: np.ndarray, root_quat: np.ndarray, joint_pos: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Body poses plus every hinge's world origin and unit axis, (T, J, 3) each.

        With `body_joint_mask` these give the geometric Jacobian of any body:
        hinge j moves point p at axis_j x (p - origin_j) and turns it about axis_j.
        """
        body_pos, body_quat, joint_origin, joint_axis = self._forward(root_pos, root_quat, joint_pos, with_joints=True)
        assert joint_origin is not None and joint_axis is not None
        return body_pos, body_quat, joint_origin, joint_axis

    def _forward(
        self, root_pos: np.ndarray, root_quat: np.ndarray, joint_pos: np.ndarray, with_joints: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        T = root_pos.shape[0]
        if joint_pos.shape != (T, self.num_joints):
            raise ValueError(f"joint_pos has shape {joint_pos.shape}, expected ({T}, {self.num_joints})")
        # A sign-continuous root makes every body continuous, since each body
        # quaternion is a smooth function of the root and the joint angles.
        root_quat = quat_continuity(quat_normalize(np.asarray(root_quat, dtype=float)))
        return kernels.forward_kinematics(*self.kernel_tree, root_pos, root_quat, joint_pos, with_joints)

    def sole_points_world(self, foot: str, body_pos: np.ndarray, body_quat: np.ndarray) -> np.ndarray:
        """(T, P, 3) world positions of one foot's sole points (its origin if it declares none)."""
        b = self.body_index(foot)
        points = self.sole_points.get(foot, np.zeros((1, 3)))
        return body_pos[:, b, None, :] + rotate_vector(body_quat[:, b, None, :], points)

    def lowest_sole_heights(
        self, body_pos: np.ndarray, body_quat: np.ndarray, feet: tuple[str, ...] | None = None
    ) -> np.ndarray:
        """(T, F) height of each foot's lowest sole point (feet: the robot's own unless given)."""
        feet = self.foot_bodies if feet is None else feet
        return np.stack([self.sole_points_world(f, body_pos, body_quat)[..., 2].min(axis=1) for f in feet], axis=1)

    def over_speed_limit(self, joint_pos: np.ndarray, fps: float) -> np.ndarray:
        """(T - 1,) whether any joint moves faster than its velocity limit from one frame to the next."""
        too_fast = np.abs(np.diff(joint_pos, axis=0)) * fps > self.velocity_limit * (1 + 1e-6)
        return np.asarray(too_fast.any(axis=1))

    def limit_excess(self, joint_pos: np.ndarray) -> np.ndarray:
        """(T, J) radians by which each joint lies outside its range; 0 inside it."""
        return np.maximum(0.0, np.maximum(self.joint_lower - joint_pos, joint_pos - self.joint_upper))


@dataclass(frozen=True)
class MirrorMap:
    """The robot's left-right mirror: which joint and body stands for each in the mirror, and the joint signs."""

    joint_partner: np.ndarray  # (J,) index of the joint that takes joint j's angle in the mirror
    joint_sign: np.ndarray  # (J,) +1 or -1
    body_partner: np.ndarray  # (B,)
    swap: tuple[str, str] = ("left_", "right_")  # the name prefixes a mirror exchanges

    def name(self, name: str) -> str:
        """The mirror partner of any name (a joint, body or geom) that carries a side prefix; others as they are."""
        return _side_swapped(name, *self.swap)


def _side_swapped(name: str, left: str, right: str) -> str:
    if name.startswith(left):
        return right + name[len(left):]
    return left + name[len(right):] if name.startswith(right) else name


def _mirror_map(config: object, joint_names: list[str], body_names: list[str], source: Path) -> MirrorMap | None:
    """From `mirror: {swap: [left_prefix, right_prefix], negate: [joint-name patterns]}`, or explicit partners
    `mirror: {joints: {name: [partner, sign]}, bodies: {name: partner}}` (init-robot writes these); None without one."""
    if not config:
        return None
    if isinstance(config, dict) and "joints" in config:
        return _explicit_mirror(config, joint_names, body_names, source)
    if not isinstance(config, dict) or not isinstance(config.get("swap"), list) or len(config["swap"]) != 2:
        raise RobotModelError(f"{source}: mirror: expected swap: [left prefix, right prefix] and negate: [patterns]")
    left, right = (str(p) for p in config["swap"])

    def partner(names: list[str], kind: str) -> np.ndarray:
        index = {n: i for i, n in enumerate(names)}
        out = []
        for name in names:
            other = _side_swapped(name, left, right)
            if other not in index:
                raise RobotModelError(f"{source}: mirror: {kind} {name!r} has no partner {other!r}")
            out.append(index[other])
        return np.array(out)

    patterns = [str(p) for p in config.get("negate") or []]
    sign = np.array([-1.0 if any(fnmatch.fnmatchcase(n, p) for p in patterns) else 1.0 for n in joint_names])
    return MirrorMap(partner(joint_names, "joint"), sign, partner(body_names, "body"), (left, right))


def _explicit_mirror(config: dict, joint_names: list[str], body_names: list[str], source: Path) -> MirrorMap:
    joints, bodies = config.get("joints") or {}, config.get("bodies") or {}
    if not isinstance(joints, dict) or not isinstance(bodies, dict):
        raise RobotModelError(f"{source}: mirror: expected joints: {{name: [partner, sign]}} and bodies: {{name: partner}}")
    problems = [f"joint {n!r}" for n in joint_names if n not in joints] + [f"body {n!r}" for n in body_names if n not in bodies]
    bad = [f"joints[{n!r}]: {v!r}" for n, v in joints.items()
           if not (isinstance(v, list) and len(v) == 2 and v[0] in joint_names and v[1] in (1, -1))]
    bad += [f"bodies[{n!r}]: {v!r}" for n, v in bodies.items() if v not in body_names]
    if problems or bad:
        raise RobotModelError(f"{source}: mirror: " + "; ".join(
            ([f"no partner for {', '.join(problems)}"] if problems else []) +
            ([f"expected [a joint of the model, 1 or -1] or a body of the model, got {', '.join(bad)}"] if bad else [])))
    return MirrorMap(
        np.array([joint_names.index(joints[n][0]) for n in joint_names]),
        np.array([float(joints[n][1]) for n in joint_names]),
        np.array([body_names.index(bodies[n]) for n in body_names]),
    )


def _velocity_limits(patterns: object, joint_names: list[str], source: Path) -> np.ndarray:
    """(J,) joint speed limits in rad/s from `velocity_limits: {joint-name pattern: rad/s}`; inf where none
    is given. The first pattern a joint matches wins."""
    limits = np.full(len(joint_names), np.inf)
    if not isinstance(patterns, dict):
        raise RobotModelError(f"{source}: velocity_limits: expected a mapping of joint-name pattern -> rad/s")
    for pattern, value in patterns.items():
        if not isinstance(value, (int, float)) or not value > 0:
            raise RobotModelError(f"{source}: velocity_limits[{pattern!r}]: expected a positive number, got {value!r}")
        matched = [j for j, name in enumerate(joint_names) if fnmatch.fnmatchcase(name, str(pattern))]
        if not matched:
            raise RobotModelError(f"{source}: velocity_limits[{pattern!r}] matches none of the joints {joint_names}")
        for j in matched:
            if np.isinf(limits[j]):
                limits[j] = float(value)
    return limits


@lru_cache(maxsize=8)
def load_robot(spec: str = "unitree_g1") -> RobotModel:
    """A bundled robot by name, a robot.yaml, or any URDF/MJCF file."""
    if spec in BUNDLED:
        config_path = BUNDLED[spec]
    else:
        path = Path(spec).expanduser()
        if path.suffix.lower() not in (".yaml", ".yml", ".urdf", ".xml", ".mjcf"):
            raise RobotModelError(
                f"robot {spec!r} is neither a bundled robot ({', '.join(sorted(BUNDLED))}) "
                "nor a path to a robot .yaml, a URDF or an MJCF file"
            )
        if path.suffix.lower() not in (".yaml", ".yml"):
            return _completed(RobotModel(None, path.resolve(), {"name": path.stem}))
        config_path = path
    if not config_path.is_file():
        raise RobotModelError(f"{config_path}: robot config not found")
    options = yaml.safe_load(config_path.read_text()) or {}
    model_path = (config_path.parent / options["model"]).resolve()
    return _completed(RobotModel(config_path.resolve(), model_path, options))


def _completed(robot: RobotModel) -> RobotModel:
    """The robot with what its description leaves out derived where it can be (robot/derived.py)."""
    if not robot.foot_bodies or robot.mirror is None or set(robot.foot_bodies) - set(robot.given_soles):
        from .derived import complete_description

        complete_description(robot)
    return robot
