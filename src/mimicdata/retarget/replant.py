"""A planted foot its leg cannot hold where the performer's was is planted where it can be held.

A hip's adduction range is its narrowest (T1: 0.3 rad, the G1's and H1's under 0.5). Where the
performer sets a foot in toward the other (a crossover in a dance, a landing under the body on
a get-up), the robot's stance leg reaches that limit and its foot, locked to the performer's spot,
ends outward of it by an amount that changes as the pelvis moves: it slides along the floor
(LAFAN1 cut 680_800 on the G1: 0.079 m/s). So, after the plain solve, each run of contact whose
foot ends outward of its target is planted that much farther out, for the whole run, where the
leg can hold it. With a_t where the ankle ended and p_t its target, u_t the performer's hip line
(horizontal, unit, pointing to the foot's side), the run [s, e) lacks

    l = max_{s <= t < e} (a_t - p_t) . u_t,

and, where l > DEAD_ZONE, its ankle target moves out by d = l u (u the run's mean hip line). The
knee target stays: moving it too, the whole leg, straightened swing knees into their limit on the
turns (Booster's T1 on SOMA walk_arc: joint jerk 3,268 -> 25,545; the ankle alone: 2,823).
Between two runs of a foot the displacement goes from one run's d to the next one's along the
quintic smoothstep (timeseries.smoothstep) over the frames of the swing between them, and fades
in before the first and out after the last over `fade` seconds, without a jerk spike at either
end. The frames it moves are solved again in order; a second round takes what the first left.
Inward shortfalls are left alone: a foot that cannot reach out is the pelvis's to fix (reach.py).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..robot import RobotModel
from ..timeseries import smoothstep
from .ik import IkResult
from .problem import IkProblem
from .reach import solve_again
from .stance import MIN_RUN, contact_runs

DEAD_ZONE = 0.005  # m


def run_displacement(runs: list[tuple[int, int]], shifts: list[np.ndarray], T: int, fade: int) -> np.ndarray:
    """(T, 3) the displacement: each run's (3,) shift over its frames, the smoothstep from one to the next over
    the frames between, fading in before the first and out after the last over `fade` frames."""
    out = np.zeros((T, 3))
    for n, ((s, e), shift) in enumerate(zip(runs, shifts)):
        out[s:e] = shift
        if n + 1 < len(runs):
            following, nxt = runs[n + 1][0], shifts[n + 1]
            x = (np.arange(e, following) - e + 1) / (following - e + 1)
            out[e:following] = shift + (nxt - shift) * smoothstep(x)[:, None]
    if runs:
        (s, _), (_, e) = runs[0], runs[-1]
        before = np.arange(max(0, s - fade), s)
        out[before] = shifts[0] * smoothstep(1.0 - (s - before) / (fade + 1))[:, None]
        after = np.arange(e, min(T, e + fade))
        out[after] = shifts[-1] * smoothstep(1.0 - (after - e + 1) / (fade + 1))[:, None]
    return out


def replant(
    problem: IkProblem,
    robot: RobotModel,
    solved: IkResult,
    ankles: list[int],
    hips: list[int],
    down: np.ndarray,
    rounds: int,
    fade: float,
    fps: float,
) -> tuple[IkProblem, IkResult]:
    """The problem with the ankle targets (tasks `ankles`, left then right) of the runs where a foot is `down`
    (T, F) and ends outward of its target planted that much farther out, and its plain in-order solve; hips:
    the bodies the legs hang from, left then right."""
    T = len(solved.joint_pos)
    fade_frames = max(1, int(round(fade * fps)))
    min_run = max(1, int(round(MIN_RUN * fps)))
    for _ in range(rounds):
        targets, _ = problem.targets(solved.body_pos, solved.body_quat)
        across = solved.body_pos[:, hips[0]] - solved.body_pos[:, hips[1]]
        across[:, 2] = 0.0
        across /= np.linalg.norm(across, axis=1, keepdims=True)
        positions = problem.targets.positions.copy()
        moved = np.zeros(T, dtype=bool)
        for f, (ankle, side) in enumerate(zip(ankles, (1.0, -1.0))):
            outward = side * ((solved.body_pos[:, problem.tasks[ankle].body] - targets[:, ankle]) * across).sum(axis=1)
            runs = contact_runs(down[:, f], min_run)
            shifts = []
            for s, e in runs:
                lack = float(outward[s:e].max())
                direction = across[s:e].mean(axis=0)
                shifts.append(side * lack * direction / np.linalg.norm(direction) if lack > DEAD_ZONE else np.zeros(3))
            if not any(shift.any() for shift in shifts):
                continue
            displacement = run_displacement(runs, shifts, T, fade_frames)
            positions[:, ankle] += displacement
            moved |= np.abs(displacement).max(axis=1) > 0.0
        if not moved.any():
            break
        problem = replace(problem, targets=replace(problem.targets, positions=positions))
        solved = solve_again(problem, robot, solved, moved)
    return problem, solved
