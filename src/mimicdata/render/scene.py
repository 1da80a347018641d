"""What a frame shows: the robot's collision capsules, the performer's bones, a floor grid, a camera.

A motion is turned into capsules in world coordinates once (`Drawing`): the robot's collision geoms
placed by its body poses (bones between body origins for a robot without collision geometry), and
for a retargeted take the performer's bones, scaled as the retarget scaled them and set beside the
robot. Geoms that go into another by more than 1 cm are tinted red, geoms more than 2 cm below the
floor orange: the thresholds of the quality measures (robot.collision).

Each frame is drawn by MuJoCo's own renderer: a world holding only the floor and a light, the
capsules added to its scene as decorative geoms, the clip id, frame and time written on the image.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..robot import RobotModel
from ..robot.collision import FLOOR_DEPTH, SELF_COLLISION_DEPTH
from ..robot.mujoco_model import qpos_addresses
from ..timeseries import gaussian_smooth
from .camera import Camera
from .gl import offscreen_context

PALETTE = np.array([
    [0.72, 0.76, 0.82, 1.0],  # robot
    [0.92, 0.16, 0.14, 1.0],  # into another geom
    [1.0, 0.58, 0.05, 1.0],  # below the floor
    [0.30, 0.62, 0.96, 0.9],  # performer
], dtype=np.float32)
ROBOT, COLLIDING, BELOW_FLOOR, PERFORMER = range(4)
BONE_RADIUS = 0.025  # m, the performer's bones and a geometry-less robot's links
PERFORMER_SIDE = 1.0  # m to the right of the robot, as the camera sees it
FOLLOW_SMOOTHING = 0.5  # s, how slowly the follow camera trails the root
VISUAL = """
  <visual>
    <headlight ambient="0.45 0.45 0.45" diffuse="0.55 0.55 0.55" specular="0.1 0.1 0.1"/>
    <map znear="0.02" zfar="60"/>
  </visual>"""
ASSETS = """
    <texture name="mimicdata_sky" type="skybox" builtin="gradient" rgb1="0.42 0.52 0.62" rgb2="0.1 0.12 0.15"
             width="256" height="1536"/>
    <texture name="mimicdata_grid" type="2d" builtin="checker" width="512" height="512"
             rgb1="0.26 0.29 0.33" rgb2="0.22 0.25 0.29" mark="edge" markrgb="0.55 0.6 0.66"/>
    <material name="mimicdata_grid" texture="mimicdata_grid" texrepeat="1 1" texuniform="true"/>"""
FLOOR = """
    <light pos="1 -1 4" dir="-0.2 0.2 -1" directional="true" diffuse="0.5 0.5 0.5"/>
    <geom name="mimicdata_floor" type="plane" size="0 0 0.05" material="mimicdata_grid" contype="0" conaffinity="0"/>"""
WORLD_XML = f"<mujoco>{VISUAL}<asset>{ASSETS}</asset><worldbody>{FLOOR}</worldbody></mujoco>"


@dataclass(frozen=True)
class RobotPose:
    """The robot's root (T, 3), (T, 4) wxyz and joints (T, J) in its model's joint order, named."""

    root_pos: np.ndarray
    root_quat: np.ndarray
    joint_pos: np.ndarray
    joint_names: tuple[str, ...]


@dataclass(frozen=True)
class Drawing:
    """Capsules in world coordinates, frame by frame: (T, N, 3) segment ends, (N,) radii, (T, N) colours."""

    clip_id: str
    fps: float
    start: np.ndarray
    end: np.ndarray
    radius: np.ndarray
    color: np.ndarray  # index into PALETTE
    focus: np.ndarray  # (T, 3) what the follow camera looks at: the robot's root
    robot_bodies: tuple[str, ...] = ()  # the body of each of the first capsules, the robot's own
    pose: RobotPose | None = None  # root and joints, for drawing a model with meshes instead of capsules

    @property
    def num_frames(self) -> int:
        return int(self.start.shape[0])

    def marks(self, frame: int) -> list[str]:
        """What is wrong at a frame, in words."""
        found = set(self.color[frame].tolist())
        return [word for code, word in ((COLLIDING, "self-collision"), (BELOW_FLOOR, "through the floor"))
                if code in found]


def robot_drawing(
    robot: RobotModel, clip_id: str, fps: float, body_pos: np.ndarray, body_quat: np.ndarray,
    joint_pos: np.ndarray | None = None,
) -> Drawing:
    """The robot's collision capsules, tinted where they collide or go through the floor; with `joint_pos`
    (T, J) also its pose, so a renderer can draw the robot's own meshes when its model has them."""
    body_pos, body_quat = np.asarray(body_pos, dtype=np.float64), np.asarray(body_quat, dtype=np.float64)
    r = robot.body_index(robot.root_body)
    root = body_pos[:, r]
    pose = None if joint_pos is None else RobotPose(root, body_quat[:, r], np.asarray(joint_pos, dtype=np.float64),
                                                    tuple(robot.joint_names))
    geometry = robot.collision
    if geometry is None or not geometry.num_geoms:
        links = np.flatnonzero(robot.body_parents >= 0)
        start, end = body_pos[:, robot.body_parents[links]], body_pos[:, links]
        color = np.full(start.shape[:2], ROBOT, dtype=np.int8)
        bodies = tuple(robot.body_names[b] for b in links)
        return Drawing(clip_id, fps, start, end, np.full(len(links), BONE_RADIUS), color, root, bodies, pose)
    posed = geometry.posed(body_pos, body_quat)
    color = np.full((len(body_pos), geometry.num_geoms), ROBOT, dtype=np.int8)
    color[posed.lowest_points() < -FLOOR_DEPTH] = BELOW_FLOOR
    if len(geometry.pairs):
        frame, pair = np.nonzero(posed.near_pair_distances(0.0) < -SELF_COLLISION_DEPTH)
        color[frame, geometry.pairs[pair, 0]] = COLLIDING
        color[frame, geometry.pairs[pair, 1]] = COLLIDING
    bodies = tuple(robot.body_names[b] for b in geometry.body)
    return Drawing(clip_id, fps, posed.start, posed.end, geometry.radius.copy(), color, root, bodies, pose)


def with_performer(drawing: Drawing, joints: np.ndarray, parents: tuple[int, ...]) -> Drawing:
    """The drawing with a performer's bones (joints (T, J, 3), parents per joint) beside the robot."""
    child = np.array([j for j, p in enumerate(parents) if p >= 0], dtype=np.int64)
    parent = np.array([parents[j] for j in child], dtype=np.int64)
    T = min(drawing.num_frames, len(joints))
    shift = np.array([PERFORMER_SIDE, 0.0, 0.0])
    bones_start, bones_end = joints[:T, parent] + shift, joints[:T, child] + shift
    return replace(
        drawing,
        start=np.concatenate([drawing.start[:T], bones_start], axis=1),
        end=np.concatenate([drawing.end[:T], bones_end], axis=1),
        radius=np.concatenate([drawing.radius, np.full(len(child), BONE_RADIUS)]),
        color=np.concatenate([drawing.color[:T], np.full((T, len(child)), PERFORMER, dtype=np.int8)], axis=1),
        focus=drawing.focus[:T] + 0.5 * shift,
        pose=None if drawing.pose is None else replace(
            drawing.pose, root_pos=drawing.pose.root_pos[:T], root_quat=drawing.pose.root_quat[:T],
            joint_pos=drawing.pose.joint_pos[:T]),
    )


class MotionRenderer:
    """MuJoCo's renderer on an offscreen context, drawing one frame of a Drawing at a time.

    With `meshes` (mesh_world: the robot's own MJCF with the floor added), the robot is drawn with its
    meshes, posed by the drawing's root and joints, its parts tinted where their capsules are; otherwise
    as capsules.
    """

    def __init__(self, width: int, height: int, meshes: Any = None) -> None:
        import mujoco

        self._mj = mujoco
        self.width, self.height = width, height
        self._context = offscreen_context(width, height)
        self.model = meshes if meshes is not None else mujoco.MjModel.from_xml_string(WORLD_XML)
        self.model.vis.global_.offwidth, self.model.vis.global_.offheight = width, height
        self.data = mujoco.MjData(self.model)
        mujoco.mj_forward(self.model, self.data)
        self.scene = mujoco.MjvScene(self.model, maxgeom=2000)
        # Shadows double the cost of a frame on a software rasteriser (70 vs 34 ms at 640 x 480).
        self.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
        self.option = mujoco.MjvOption()
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        font = mujoco.mjtFontScale.mjFONTSCALE_150 if height > 360 else mujoco.mjtFontScale.mjFONTSCALE_100
        self.gpu = mujoco.MjrContext(self.model, font)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self.gpu)
        self.viewport = mujoco.MjrRect(0, 0, width, height)
        self._pixels = np.empty((height, width, 3), dtype=np.uint8)
        self.meshes = meshes is not None
        self._qpos_of: np.ndarray | None = None
        self._rgba, self._matid = self.model.geom_rgba.copy(), self.model.geom_matid.copy()

    def frames(self, drawing: Drawing, picks: np.ndarray, camera: Camera = "follow") -> Iterator[np.ndarray]:
        """(H, W, 3) uint8 images of the frames `picks` of a drawing."""
        looks, distance = _camera_path(drawing, camera)
        for t in picks:
            yield self.frame(drawing, int(t), looks[t], distance)

    def frame(self, drawing: Drawing, t: int, lookat: np.ndarray, distance: float) -> np.ndarray:
        mj = self._mj
        cam = self.camera
        cam.lookat[:] = lookat
        cam.distance, cam.azimuth, cam.elevation = distance, 90.0, -18.0
        skip = 0
        if self.meshes and drawing.pose is not None:
            self._pose_meshes(drawing, t)
            skip = len(drawing.robot_bodies)
        mj.mjv_updateScene(self.model, self.data, self.option, None, cam, mj.mjtCatBit.mjCAT_ALL, self.scene)
        self._add_capsules(drawing, t, skip)
        mj.mjr_render(self.viewport, self.scene, self.gpu)
        marks = drawing.marks(t)
        mj.mjr_overlay(mj.mjtFont.mjFONT_NORMAL, mj.mjtGridPos.mjGRID_TOPLEFT, self.viewport,
                       f"{drawing.clip_id}\nframe {t} / {drawing.num_frames}\n{t / drawing.fps:.2f} s", "", self.gpu)
        if marks:
            mj.mjr_overlay(mj.mjtFont.mjFONT_NORMAL, mj.mjtGridPos.mjGRID_TOPRIGHT, self.viewport,
                           "\n".join(marks), "", self.gpu)
        mj.mjr_readPixels(self._pixels, None, self.viewport, self.gpu)
        return np.flipud(self._pixels).copy()

    def _pose_meshes(self, drawing: Drawing, t: int) -> None:
        """The robot model posed at frame t, the parts whose capsules are tinted in the tint's colour."""
        mj, model, data = self._mj, self.model, self.data
        pose = drawing.pose
        assert pose is not None
        if self._qpos_of is None:
            self._qpos_of = qpos_addresses(model, pose.joint_names, "the robot's mesh model")
        data.qpos[:3], data.qpos[3:7] = pose.root_pos[t], pose.root_quat[t]
        data.qpos[self._qpos_of] = pose.joint_pos[t]
        mj.mj_kinematics(model, data)
        model.geom_rgba[:], model.geom_matid[:] = self._rgba, self._matid
        for n in np.flatnonzero(drawing.color[t, : len(drawing.robot_bodies)] != ROBOT):
            body = mj.mj_name2id(model, mj.mjtObj.mjOBJ_BODY, drawing.robot_bodies[n])
            if body >= 0:
                parts = model.geom_bodyid == body
                model.geom_rgba[parts], model.geom_matid[parts] = PALETTE[drawing.color[t, n]], -1

    def _add_capsules(self, drawing: Drawing, t: int, skip: int = 0) -> None:
        """The drawing's capsules at frame t, the first `skip` left out (the robot, drawn with its meshes)."""
        mj, scene = self._mj, self.scene
        identity = np.eye(3).ravel()
        room = scene.maxgeom - scene.ngeom
        for n in range(skip, min(skip + room, drawing.start.shape[1])):
            a, b, r = drawing.start[t, n], drawing.end[t, n], float(drawing.radius[n])
            geom = scene.geoms[scene.ngeom]
            rgba = PALETTE[drawing.color[t, n]]
            if np.allclose(a, b):  # a sphere
                mj.mjv_initGeom(geom, mj.mjtGeom.mjGEOM_SPHERE, np.array([r, r, r]), a, identity, rgba)
            else:
                mj.mjv_initGeom(geom, mj.mjtGeom.mjGEOM_CAPSULE, np.zeros(3), np.zeros(3), identity, rgba)
                mj.mjv_connector(geom, mj.mjtGeom.mjGEOM_CAPSULE, r, a, b)
            scene.ngeom += 1

    def close(self) -> None:
        self.gpu.free()
        self._context.free()

    def __enter__(self) -> MotionRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def mesh_world(robot: RobotModel) -> Any:
    """The robot's own MJCF with its meshes and this module's floor, sky and light, compiled by MuJoCo; None
    when the robot is no MJCF, has no free joint or no mesh geoms, or its meshes do not load (capsules then)."""
    import mujoco

    path = Path(robot.model_path)
    if path.suffix.lower() not in (".xml", ".mjcf"):
        return None
    xml = path.read_text(errors="replace")
    # Compiled from a string, the model finds its files through absolute asset folders.
    compiler = re.search(r"<compiler\b[^>]*>", xml)
    folders = {key: str((path.parent / value).resolve()) for key, value in
               re.findall(r'\b(meshdir|texturedir|assetdir)="([^"]*)"', compiler.group(0) if compiler else "")}
    folders.setdefault("meshdir", str(path.parent.resolve()))
    folders.setdefault("texturedir", str(path.parent.resolve()))
    attributes = " ".join(f'{k}="{v}"' for k, v in folders.items())
    if compiler:
        kept = re.sub(r'\s(meshdir|texturedir|assetdir)="[^"]*"', "", compiler.group(0))
        xml = xml.replace(compiler.group(0), kept.replace("<compiler", f"<compiler {attributes}", 1), 1)
    else:
        xml = re.sub(r"(<mujoco\b[^>]*>)", rf"\1<compiler {attributes}/>", xml, count=1)
    xml = re.sub(r"(<mujoco\b[^>]*>)", rf"\1{VISUAL}", xml, count=1)
    xml = re.sub(r"(<asset\b[^>]*>)", rf"\1{ASSETS}", xml, count=1) if "<asset" in xml else \
        xml.replace("<worldbody", f"<asset>{ASSETS}</asset><worldbody", 1)
    xml = re.sub(r"(<worldbody\b[^>]*>)", rf"\1{FLOOR}", xml, count=1)
    try:
        model = mujoco.MjModel.from_xml_string(xml)
    except (ValueError, RuntimeError):
        return None
    if model.nq < 7 or model.jnt_type[0] != mujoco.mjtJoint.mjJNT_FREE:
        return None
    return model if (model.geom_type == mujoco.mjtGeom.mjGEOM_MESH).any() else None


def _camera_path(drawing: Drawing, camera: Camera) -> tuple[np.ndarray, float]:
    """(T, 3) where the camera looks, and its distance: trailing the root, or fixed on the whole motion."""
    focus = drawing.focus.copy()
    if camera == "fixed":
        reach = np.ptp(np.concatenate([drawing.start, drawing.end], axis=1)[..., :2].reshape(-1, 2), axis=0)
        center = 0.5 * (focus.min(axis=0) + focus.max(axis=0))
        center[2] = 0.7
        return np.broadcast_to(center, focus.shape), float(max(3.5, 1.1 * reach.max() + 1.0))
    if len(focus) > 1:
        focus = gaussian_smooth(focus, FOLLOW_SMOOTHING * drawing.fps)
    focus[:, 2] = 0.7  # a steady horizon: the camera follows the root across the floor, not up and down
    return focus, 3.5
