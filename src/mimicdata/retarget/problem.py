"""The IK problem of one clip: tasks, chains, per-frame targets and the base, solvable in any grouping of frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..robot import RobotModel
from .formats import RetargetConfig
from .ik import MAX_STEP, Chain, Constraint, IkResult, Task, solve_ik


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
        constraints: tuple[Constraint, ...] = (),
        iterations: int | None = None,
        posture: tuple[np.ndarray, float] | None = None,
        max_step: float = MAX_STEP,
    ) -> IkResult:
        """Solve the frames a slice or index array picks, from `start` joint angles (default: the nominal
        posture), with the solver's iterations unless told otherwise. Constraints are given for the
        picked frames; `posture` (reference (T, J) for the picked frames, weight) replaces the pull
        toward the nominal posture."""
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
            posture_weight=solver.posture_weight if posture is None else posture[1],
            nominal=self.nominal if posture is None else posture[0],
            constraints=constraints,
            max_step=max_step,
        )
