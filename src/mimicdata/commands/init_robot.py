"""init-robot: a robot folder with the drafted description of any humanoid MJCF or URDF, for a person to review.

The robot.yaml written there says everything mimicdata derived (robot/derived.py, retarget/draft.py):
root, feet and their sole points, the mirror as explicit joint and body partners, and the whole
retarget config (roles, T-pose, tasks, chains), each section under a comment saying how it was
guessed. Loaded as `robot: DIR/robot.yaml`, every key in it is used as written, so an edit
overrides the guess. What could not be derived is listed at the top, and the file loads but refuses
to retarget until it is given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import InputError
from ..infra.atomic import write_text_atomic
from ..retarget.draft import draft
from ..robot import load_robot

HOW = {
    "root_body": "the floating base of the model",
    "foot_bodies": "guess: the leg ends, the two lowest limb ends of the zero pose, left at +y (robot/topology.py)",
    "sole_points": "guess: the underside of each foot's collision geometry, in the foot's frame, metres",
    "mirror": "guess: each body's partner sits at its mirrored zero-pose position; a hinge takes its partner's angle "
              "with sign -1 where the mirrored axis turns the other way (roll, yaw)",
    "retarget": "guess: roles from the limbs (hip, knee, ankle; shoulder, elbow, wrist: first body, the hinged body "
                "half way, the end), T-pose arms straight out by least squares, knees bent the human way in the "
                "nominal posture, weights and constraints the bundled G1's, hanging arms spread as far as this "
                "robot's own collision geometry needs (spread_arms; retarget/draft.py, retarget/arms.py)",
}


@dataclass(frozen=True)
class InitRobot:
    path: Path
    problems: tuple[str, ...]  # what could not be derived and must be written in by hand


def init_robot(model: Path | str, output: Path | str) -> InitRobot:
    """Write OUTPUT/robot.yaml drafted from MODEL; an existing robot.yaml is never replaced."""
    model, output = Path(model).resolve(), Path(output)
    target = output / "robot.yaml"
    if target.exists():
        raise InputError(target, "output", "already exists; nothing is ever overwritten (move it, or pick another folder)")
    robot = load_robot(str(model))
    problems = tuple(robot.description_problems)
    retarget = draft(robot, strict=False)  # finds the limbs, or says which it cannot
    names, mirror = robot.joint_names, robot.mirror
    sections: dict[str, object] = {
        "root_body": robot.root_body,
        "foot_bodies": list(robot.foot_bodies),
        "sole_points": {foot: robot.sole_points[foot].round(4).tolist() for foot in robot.foot_bodies
                        if foot in robot.sole_points},
    }
    if mirror is not None:
        sections["mirror"] = {
            "joints": {n: [names[mirror.joint_partner[j]], int(mirror.joint_sign[j])] for j, n in enumerate(names)},
            "bodies": {n: robot.body_names[mirror.body_partner[b]] for b, n in enumerate(robot.body_names)},
        }
    sections["retarget"] = {k: v for k, v in retarget.items() if k != "robot"}
    output.mkdir(parents=True, exist_ok=True)
    relative = os.path.relpath(model, output.resolve())
    lines = [f"# Drafted by `mimicdata init-robot` from {model.name}: review every section; an edit overrides the guess.",
             *(f"# COULD NOT DERIVE: {p}" for p in problems),
             yaml.safe_dump({"name": robot.name, "model": relative}, sort_keys=False).rstrip()]
    for key, value in sections.items():
        if value in ({}, []):
            continue
        text = f"{key}: {value}" if isinstance(value, str) else yaml.safe_dump({key: value}, sort_keys=False,
                                                                                 default_flow_style=None).rstrip()
        lines += [f"# {HOW[key]}", text]
    write_text_atomic(target, "\n".join(lines) + "\n")
    return InitRobot(target, problems)
