"""A retarget config drafted for any humanoid from its limbs (robot/topology.py).

The roles are the limbs' bodies; the floating base takes the role of the body it is (the pelvis
where the legs part, or the torso where the arms part: Booster's T1 floats its trunk) and the other
of the two is solved through the joints between them. Task weights, solver, smoothing and
constraints are the bundled G1's: they are per metre and per radian, not per robot (a hand with no
wrist hinge has no orientation target), except that a drafted robot's hanging arms are spread as
its own collision geometry needs (arms.py). Two things are measured on the robot itself:
  - the T-pose: the arm joints that point each upper arm and forearm straight out sideways
    (0, +-1, 0), by least squares from zero within the joint limits, every other joint at zero;
  - the nominal posture the solver starts from: each knee bent by KNEE_BEND the way that takes the
    ankle backward (a human knee), so no solve starts on the straight-knee singularity.
A robot.yaml's `retarget:` section overrides any of it, key by key (`mimicdata init-robot` writes
the draft there for review).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ValidationError

from ..errors import RobotModelError
from ..robot import RobotModel
from ..robot.model import BUNDLED
from ..robot.topology import SIDES, Limbs, Side, find_limbs, hinges_between
from .formats import ROBOTS, RetargetConfig, load_retarget_config

TEMPLATE = "unitree_g1"
KNEE_BEND = 0.4  # rad
STRAIGHT_OUT = 10.0  # weight of the T-pose's directions against 1 per radian of joint motion


def retarget_config(robot: RobotModel) -> RetargetConfig:
    """A robot's retarget config: the bundled one of a bundled robot, else the draft with its robot.yaml's
    `retarget:` overrides. RobotModelError names what could not be found."""
    if robot.name in BUNDLED and (ROBOTS / f"{robot.name}.yaml").is_file():
        return load_retarget_config(robot.name)
    key = (robot.sha256, robot.name)
    if key not in _DRAFTED:
        _DRAFTED[key] = draft_retarget_config(robot, robot.retarget_overrides)
    return _DRAFTED[key]


_DRAFTED: dict[tuple[str, str], RetargetConfig] = {}


def draft_retarget_config(robot: RobotModel, overrides: dict[str, Any] | None = None) -> RetargetConfig:
    """The drafted config as a validated RetargetConfig, `overrides` taking the place of drafted keys (a complete
    set of them is the config as written: nothing is drafted); RobotModelError names what could not be found."""
    overrides = dict(overrides or {})
    if robot.description_problems:
        raise RobotModelError("; ".join(robot.description_problems))
    required = {name for name, field in RetargetConfig.model_fields.items() if field.is_required()} - {"robot"}
    base = {"robot": robot.name} if required <= set(overrides) else draft(robot)
    try:
        return RetargetConfig.model_validate({**base, **overrides})
    except ValidationError as exc:
        raise RobotModelError(f"robot {robot.name!r}: retarget: {exc}") from None


def draft(robot: RobotModel, strict: bool = True) -> dict[str, Any]:
    """The draft as plain data (what init-robot writes); `strict`: refuse a robot whose description lacks
    what the retarget needs (soles it could not derive), else draft it all the same."""
    limbs = find_limbs(robot)
    if strict and robot.description_problems:
        raise RobotModelError("; ".join(robot.description_problems))
    if limbs.root == limbs.pelvis:
        root, other, other_body = "pelvis", "torso", limbs.torso
    elif limbs.root == limbs.torso:
        root, other, other_body = "torso", "pelvis", limbs.pelvis
    else:
        raise RobotModelError(f"robot {robot.name!r}: its floating base {limbs.root!r} is neither where the legs part "
                              f"({limbs.pelvis!r}) nor where the arms part ({limbs.torso!r})")
    template = load_retarget_config(TEMPLATE)
    weights = {role: w.model_dump(exclude={"body"}) for role, w in template.tasks.items()}
    tasks = {"pelvis": {"body": limbs.pelvis, **weights["pelvis"]}, "torso": {"body": limbs.torso, **weights["torso"]}}
    for side in SIDES:
        hip, knee, ankle = limbs.legs[side]
        shoulder, elbow, wrist = limbs.arms[side]
        for role, body in (("knee", knee), ("ankle", ankle), ("elbow", elbow), ("wrist", wrist)):
            tasks[f"{side}_{role}"] = {"body": body, **weights[f"{side}_{role}"]}
        # A hand with no hinge past the elbow cannot turn to follow the performer's: asked to, the arm would.
        if not len(hinges_between(robot, robot.body_index(elbow), robot.body_index(wrist))):
            tasks[f"{side}_wrist"]["orientation"] = 0.0
    smoothing = {name: chain.smoothing for name, chain in template.chains.items()}
    chains = {}
    if other_body != limbs.root:
        chains["waist"] = {"tasks": [other], "smoothing": smoothing["waist"]}
    for side in SIDES:
        chains[f"{side}_leg"] = {"tasks": [f"{side}_knee", f"{side}_ankle"], "smoothing": smoothing[f"{side}_leg"]}
        chains[f"{side}_arm"] = {"tasks": [f"{side}_elbow", f"{side}_wrist"], "smoothing": smoothing[f"{side}_arm"]}
    return {
        "robot": robot.name,
        "tpose": tpose(robot, limbs),
        "legs": {side: list(limbs.legs[side]) for side in SIDES},
        "arms": {side: list(limbs.arms[side]) for side in SIDES},
        "root": root,
        "tasks": tasks,
        "input_smoothing": template.input_smoothing,
        "solve_fps": template.solve_fps,
        "chains": chains,
        "solver": template.solver.model_dump(),
        "nominal": nominal(robot, limbs),
        "head_point": head_point(robot, limbs),
        "constraints": _constraints(template),
    }


def _constraints(template: RetargetConfig) -> dict[str, Any] | None:
    """The G1's constraints, hanging arms spread as the robot's geometry needs (arms.py): nobody has checked
    a drafted robot's hands against its hips, and Booster's T1's hang 10 cm inside them."""
    if template.constraints is None:
        return None
    constraints = template.constraints.model_dump()
    if constraints.get("self_collision") is not None:
        constraints["self_collision"]["spread_arms"] = True
    return constraints


def _arm_joints(robot: RobotModel, limbs: Limbs, side: Side) -> np.ndarray:
    """The shoulder and elbow hinges: those between the torso and the elbow body, its own included (the wrist's
    would bend the hand to meet the directions, not the arm)."""
    return hinges_between(robot, robot.body_index(limbs.torso), robot.body_index(limbs.arms[side][1]))


def tpose(robot: RobotModel, limbs: Limbs) -> dict[str, float]:
    """Arm joint angles (rad) that hold both arms straight out sideways; only those not zero."""
    from scipy.optimize import least_squares

    angles: dict[str, float] = {}
    for side, sign in zip(SIDES, (1.0, -1.0)):
        joints = _arm_joints(robot, limbs, side)
        bodies = [robot.body_index(b) for b in limbs.arms[side]]
        out = np.array([0.0, sign, 0.0])

        def residual(x: np.ndarray, joints: np.ndarray = joints, bodies: list[int] = bodies,
                     out: np.ndarray = out) -> np.ndarray:
            q = np.zeros(robot.num_joints)
            q[joints] = x
            upper, fore = np.diff(robot.posed(q)[0][bodies], axis=0)
            return np.concatenate([STRAIGHT_OUT * (upper / np.linalg.norm(upper) - out),
                                   STRAIGHT_OUT * (fore / np.linalg.norm(fore) - out), x])

        lower, upper = robot.joint_lower[joints], robot.joint_upper[joints]
        start = np.clip(np.zeros(len(joints)), lower + 1e-6, upper - 1e-6)
        found = least_squares(residual, start, bounds=(lower, upper))
        angles.update({robot.joint_names[j]: round(float(v), 4) for j, v in zip(joints, found.x) if abs(v) > 1e-3})
    return angles


def nominal(robot: RobotModel, limbs: Limbs) -> dict[str, float]:
    """Each knee bent by KNEE_BEND the human way (the ankle goes back), within its range."""
    out: dict[str, float] = {}
    rest, _ = robot.posed()
    for side in SIDES:
        hip, knee, ankle = (robot.body_index(b) for b in limbs.legs[side])
        own = hinges_between(robot, int(robot.body_parents[knee]), knee)
        if not len(own):
            continue
        j = int(own[-1])
        for bend in (KNEE_BEND, -KNEE_BEND):
            if not robot.joint_lower[j] <= bend <= robot.joint_upper[j]:
                continue
            q = np.zeros(robot.num_joints)
            q[j] = bend
            if robot.posed(q)[0][ankle, 0] < rest[ankle, 0]:
                out[robot.joint_names[j]] = bend
                break
    return out


def head_point(robot: RobotModel, limbs: Limbs) -> list[float]:
    """A point at the top of the robot, in the torso's frame: for measuring the head's error."""
    pos, quat = robot.posed()
    torso = robot.body_index(limbs.torso)
    top = pos[:, 2].max()
    geometry = robot.collision
    if geometry is not None:
        start, end = geometry.world(pos[None], quat[None])
        top = max(top, float((np.maximum(start[0, :, 2], end[0, :, 2]) + geometry.radius).max()))
    return [0.0, 0.0, round(float(top - pos[torso, 2]), 3)]
