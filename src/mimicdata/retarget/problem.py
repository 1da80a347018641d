"""The IK problem of one clip: tasks, chains, per-frame targets and the base, solvable in any grouping of frames."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .. import kernels
from ..geometry.rotations import quat_continuity, quat_normalize
from ..robot import RobotModel
from .formats import RetargetConfig
from .ik import MAX_STEP, Chain, IkResult, Task, chain_joints, solve_ik, task_errors

FIRST_FRAME = 4  # times the solver's iterations the first frame of a clip may take, from the nominal posture


@dataclass(frozen=True)
class Targets:
    """Per-task targets; arm targets hang from the robot's current shoulders."""

    positions: np.ndarray  # (T, K, 3)
    orientations: np.ndarray  # (T, K, 4)
    arm_slots: list[tuple[int, int, np.ndarray]]  # (task, shoulder body, (T, 3) offset)

    def __call__(self, body_pos: np.ndarray, body_quat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = self.positions.copy()
        for k, shoulder, offset in self.arm_slots:
            pos[:, k] = body_pos[:, shoulder] + offset
        return pos, self.orientations

    def at(self, frames: slice | np.ndarray) -> Targets:
        slots = [(k, s, offset[frames]) for k, s, offset in self.arm_slots]
        return Targets(self.positions[frames], self.orientations[frames], slots)


@dataclass(frozen=True)
class IkProblem:
    """Everything the solver needs for a clip; frames can be solved in any grouping."""

    tasks: list[Task]
    chains: list[Chain]
    targets: Targets
    root_pos: np.ndarray  # (T, 3)
    root_quat: np.ndarray  # (T, 4)
    nominal: np.ndarray  # (J,)
    config: RetargetConfig

    def solve(
        self,
        robot: RobotModel,
        frames: slice | np.ndarray = slice(None),
        start: np.ndarray | None = None,
        iterations: int | None = None,
    ) -> IkResult:
        """The plain solve of the frames a slice or index array picks, all at once (ik.solve_ik), from `start`
        joint angles (default: the nominal posture), with the solver's iterations unless told otherwise."""
        root_pos, root_quat = self.root_pos[frames], self.root_quat[frames]
        start = np.broadcast_to(self.nominal, (len(root_pos), robot.num_joints)) if start is None else start
        solver = self.config.solver
        return solve_ik(
            robot,
            self.tasks,
            self.chains,
            self.targets.at(frames),
            root_pos,
            root_quat,
            start,
            iterations=solver.iterations if iterations is None else iterations,
            damping=solver.damping,
            posture_weight=solver.posture_weight,
            nominal=self.nominal,
        )

    def between(self, start: int, stop: int) -> IkProblem:
        """The problem of frames [start, stop) alone."""
        frames = slice(start, stop)
        return replace(self, targets=self.targets.at(frames), root_pos=self.root_pos[frames],
                       root_quat=self.root_quat[frames])

    def solve_in_order(self, robot: RobotModel) -> IkResult:
        """The plain solve (no constraints) of every frame, frame after frame, each from the joint angles the
        one before ended at, until no joint moves more than the solver's tolerance in a step (at most its
        iterations; the first frame, from the nominal posture, FIRST_FRAME times as many).

        A frame of a take lies close to the one before, so its Gauss-Newton steps start near the answer and
        each costs one frame's FK and chain steps in compiled code (kernels.c), not a pass of numpy calls.
        On LAFAN1 walk4, at the G1's tolerance of 1e-3 rad, a frame takes 4.2 steps on average and ends within
        1.2e-3 rad of a 30-step solve, where 8 batched steps from the nominal posture left some frames 0.1
        rad away. Solved in order, an arm keeps to the branch it is on instead of each frame finding its own
        (CMU 131_01: self-collision frames 0.9% -> 0).
        """
        q = self.joint_pos_in_order(robot)
        body_pos, body_quat = robot.forward_kinematics(self.root_pos, self.root_quat, q)
        return IkResult(q, body_pos, body_quat, *task_errors(self.tasks, self.targets, body_pos, body_quat))

    def joint_pos_in_order(self, robot: RobotModel, start: np.ndarray | None = None) -> np.ndarray:
        """The joint angles (T, J) of solve_in_order; given `start` joint angles (J,) near the first frame's
        answer, that frame takes the usual steps, not FIRST_FRAME times as many."""
        solver = self.config.solver
        first = solver.iterations if start is not None else FIRST_FRAME * solver.iterations
        start = np.clip(self.nominal if start is None else start, robot.joint_lower, robot.joint_upper)
        q, _ = kernels.solve_in_order(
            self.kernel_clip(robot), (solver.damping, solver.posture_weight, MAX_STEP), self.nominal,
            (first, solver.iterations, solver.tolerance), start,
        )
        return q

    def kernel_clip(self, robot: RobotModel) -> kernels.Clip:
        """The problem as the compiled per-frame solvers read it (kernels.Clip)."""
        T = len(self.root_pos)
        bodies = np.array([t.body for t in self.tasks])
        slots = self.targets.arm_slots
        return kernels.Clip(
            tree=robot.kernel_tree,
            root=(self.root_pos, quat_continuity(quat_normalize(self.root_quat))),
            tasks=(bodies, np.sqrt([t.position_weight for t in self.tasks]),
                   np.sqrt([t.orientation_weight for t in self.tasks])),
            targets=(self.targets.positions, self.targets.orientations),
            slots=(np.array([k for k, _, _ in slots], dtype=np.int64), np.array([b for _, b, _ in slots], dtype=np.int64),
                   np.stack([o for _, _, o in slots], axis=1) if slots else np.zeros((T, 0, 3))),
            chains=(*chain_joints(self.chains),
                    np.cumsum([0, *(len(c.tasks) for c in self.chains)]),
                    np.concatenate([np.array(c.tasks, dtype=np.int64) for c in self.chains]),
                    np.cumsum([0, *(len(c.joints) * len(c.tasks) for c in self.chains)]),
                    np.concatenate([robot.body_joint_mask[np.ix_(bodies[list(c.tasks)], c.joints)].ravel()
                                    for c in self.chains]).astype(float)),
            limits=(robot.joint_lower, robot.joint_upper),
        )
