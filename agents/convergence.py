"""The convergence study: every task's key figures replayed at several physics steps and solver
iteration counts, against the finest setting, to choose the environments' defaults honestly.

Each case replays a fixed open-loop control (a stored ceiling, or for Posture a constant co-contraction
hold) with `physics_dt` and `solver_iterations` changed and nothing else. A setting passes when every
key figure lies within `tolerance` (relative) of the reference, the smallest step with the most
iterations. The choice is the cheapest passing setting: the largest step, then the fewest iterations
(cost falls with both; the page shows the wall time measured side by side to confirm it). `neuroleg
convergence` runs it and writes the results page.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from neuroleg.envs import ENV_VERSION
from neuroleg.envs.arguments import PHYSICS_DT_DEFAULT_S, SOLVER_ITERATIONS_DEFAULT, BodyArgs
from neuroleg.envs.physiology.model import MUSCLE_NAMES

from .ceilings import stored_ceiling
from .experiments import markdown_table
from .optimize import Stimulation, ceiling_control, rollout
from .provenance import results_page
from .runs import write_text_atomic

DEFAULT_STEPS_MS = (0.25, 0.5, 1.0, 1.25, 2.0)
DEFAULT_ITERATIONS = (10, 20, 50, 100)
# The integration converges at first order (halving the step halves every deviation, docs: speed):
# 1 % would need 0.25 ms at 2.2-2.8x the cost of 1 ms; 2 % is the accuracy the defaults keep.
DEFAULT_TOLERANCE = 0.02
SOLVER_TOLERANCE = 0.005  # how far a setting may lie from the same step at the most iterations
# Posture's hold: every muscle at this drive (a co-contraction that holds the hanging leg still).
POSTURE_HOLD_DRIVE = 0.2
POSTURE_HOLD_S = 1.0


@dataclass(frozen=True)
class Case:
    """A fixed control of one task and the info figures a change of physics step must not move."""

    name: str
    task: str
    task_kwargs: dict[str, Any]
    figures: tuple[str, ...]


CASES = (
    Case("squat jump", "SquatJump", {}, ("jump_height_m", "energy_per_unit_j")),
    Case("countermovement jump", "SquatJump", {"start": "standing"}, ("jump_height_m", "dip_m", "energy_per_unit_j")),
    Case("hop", "Hop", {}, ("hop_height_m", "hop_period_s", "energy_per_unit_j")),
    Case("pedal", "Pedal", {}, ("cadence_rpm", "gross_efficiency", "energy_per_unit_j")),
    Case("posture hold", "Posture", {}, ("precision_m", "muscle_energy_j")),
)


@dataclass
class Replay:
    case: str
    physics_dt_ms: float
    solver_iterations: int
    figures: dict[str, float]
    wall_s: float


@dataclass
class Study:
    replays: list[Replay]
    reference: tuple[float, int]
    tolerance: float
    skipped: list[str] = field(default_factory=list)  # cases without a stored ceiling

    def figure(self, case: str, setting: tuple[float, int], key: str) -> float:
        return next(r.figures[key] for r in self.replays if r.case == case and self._at(r, setting))

    def deviations(
        self, setting: tuple[float, int], against: tuple[float, int] | None = None
    ) -> dict[tuple[str, str], float]:
        """Relative deviation of each (case, figure) at `setting` from `against` (the reference)."""
        out = {}
        for r in self.replays:
            if not self._at(r, setting):
                continue
            for key, value in r.figures.items():
                ref = self.figure(r.case, against or self.reference, key)
                out[(r.case, key)] = abs(value - ref) / abs(ref) if ref != 0 else abs(value)
        return out

    def settings(self) -> list[tuple[float, int]]:
        return sorted({(r.physics_dt_ms, r.solver_iterations) for r in self.replays})

    def wall_s(self, setting: tuple[float, int]) -> float:
        return sum(r.wall_s for r in self.replays if self._at(r, setting))

    def passing(self) -> list[tuple[float, int]]:
        """Settings within `tolerance` of the reference whose solve has converged: within
        SOLVER_TOLERANCE of the same step with the most iterations (few iterations can leave a contact
        unsolved and land near the reference by chance)."""
        most = max(s[1] for s in self.settings())
        return [
            s
            for s in self.settings()
            if max(self.deviations(s).values()) <= self.tolerance
            and max(self.deviations(s, against=(s[0], most)).values()) <= SOLVER_TOLERANCE
        ]

    def chosen(self) -> tuple[float, int]:
        """The cheapest passing setting: the largest step, then the fewest iterations (the reference
        always passes)."""
        return max(self.passing(), key=lambda s: (s[0], -s[1]))

    @staticmethod
    def _at(r: Replay, setting: tuple[float, int]) -> bool:
        return (r.physics_dt_ms, r.solver_iterations) == setting


def case_control(case: Case) -> Stimulation | None:
    """The control a case replays: its stored ceiling, Posture's constant hold; None when no ceiling
    is stored for this environment version."""
    if case.task == "Posture":
        m = len(MUSCLE_NAMES)
        return Stimulation(np.zeros(m), np.full(m, POSTURE_HOLD_DRIVE), np.full(m, POSTURE_HOLD_S))
    ceiling = stored_ceiling(case.task, case.task_kwargs)
    return None if ceiling is None else ceiling_control(ceiling)


def replay(case: Case, control: Stimulation, dt_ms: float, iterations: int, repeats: int = 2) -> Replay:
    """`control` replayed with one physics setting; wall time the least of `repeats` runs."""
    kwargs = {**case.task_kwargs, "physics_dt": dt_ms / 1000.0, "solver_iterations": iterations}
    best, info = np.inf, {}
    for _ in range(repeats):
        start = time.perf_counter()
        info = rollout(case.task, control, env_kwargs=kwargs)
        best = min(best, time.perf_counter() - start)
    return Replay(case.name, dt_ms, iterations, {k: float(info[k]) for k in case.figures}, best)


def study(
    steps_ms: Sequence[float] = DEFAULT_STEPS_MS,
    iterations: Sequence[int] = DEFAULT_ITERATIONS,
    tolerance: float = DEFAULT_TOLERANCE,
    cases: Sequence[Case] = CASES,
    progress: bool = True,
    repeats: int = 2,
) -> Study:
    """Every case at every (step, iterations); the reference is the smallest step with the most
    iterations. Steps and iterations are checked (as the environments check them) before any replay."""
    if not 0.0 < tolerance < 1.0:
        raise ValueError(f"tolerance must lie in (0, 1), got {tolerance}")
    if not steps_ms or not iterations:
        raise ValueError("give at least one physics step and one solver iteration count")
    for dt_ms in steps_ms:
        for it in iterations:
            try:
                BodyArgs.model_validate({"physics_dt": dt_ms / 1000.0, "solver_iterations": it})
            except ValidationError as err:
                problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in err.errors())
                raise ValueError(f"physics step {dt_ms:g} ms with {it} solver iterations: {problems}") from None
    reference = (min(steps_ms), max(iterations))
    replays, skipped = [], []
    for case in cases:
        control = case_control(case)
        if control is None:
            skipped.append(case.name)
            continue
        for dt_ms in steps_ms:
            for it in iterations:
                replays.append(replay(case, control, dt_ms, it, repeats))
                if progress:
                    print(f"  {case.name}: {dt_ms:g} ms, {it} iterations", flush=True)
    return Study(replays, reference, tolerance, skipped)


def page(result: Study, command: str, written: Path | None = None) -> str:
    """The results page: per setting the worst deviation and the wall time, then every figure."""
    ref_dt, ref_it = result.reference
    default = (PHYSICS_DT_DEFAULT_S * 1000.0, SOLVER_ITERATIONS_DEFAULT)
    base_wall = result.wall_s(result.reference)
    rows = []
    passing = result.passing()
    most = max(s[1] for s in result.settings())
    for s in result.settings():
        dev = result.deviations(s)
        worst_key = max(dev, key=lambda k: dev[k])
        rows.append(
            {
                "physics step (ms)": f"{s[0]:g}",
                "solver iterations": s[1],
                "worst deviation": f"{100 * dev[worst_key]:.2f} % ({worst_key[0]}: {worst_key[1]})",
                "vs most iterations": f"{100 * max(result.deviations(s, against=(s[0], most)).values()):.2f} %",
                "passes": "yes" if s in passing else "no",
                "speed vs reference": f"{base_wall / result.wall_s(s):.1f}x",
                "default": "**default**" if s == default else "",
            }
        )
    chosen = result.chosen()
    lines = [
        f"Reference: {ref_dt:g} ms with {ref_it} solver iterations. A setting passes when every key figure "
        f"lies within {100 * result.tolerance:g} % of the reference and within {100 * SOLVER_TOLERANCE:g} % "
        "of the same step with the most iterations (the contact solve has converged); the cheapest passing "
        "one (largest step, "
        f"then fewest iterations) is {chosen[0]:g} ms with {chosen[1]} iterations. The environments' default "
        f"(env v{ENV_VERSION}): {default[0]:g} ms with {default[1]} iterations. Speed: the reference's wall "
        "time over the setting's, all cases replayed side by side in this run.",
        "",
        markdown_table(rows),
        "",
        "## Figures per case",
        "",
    ]
    if result.skipped:
        lines[1:1] = [
            "",
            f"Not replayed (no stored ceiling for this environment version): {', '.join(result.skipped)}.",
        ]
    for case in dict.fromkeys(r.case for r in result.replays):
        keys = next(r.figures for r in result.replays if r.case == case)
        rows = [
            {
                "step (ms)": f"{s[0]:g}",
                "iterations": s[1],
                **{key: f"{result.figure(case, s, key):.4g}" for key in keys},
            }
            for s in result.settings()
        ]
        lines += [f"### {case}", "", markdown_table(rows), ""]
    return results_page("Convergence of the physics step", command, "\n".join(lines), written)


def write_page(result: Study, out: Path, command: str) -> Path:
    """The results page written to `out` (atomically), stamped with `command`."""
    write_text_atomic(out, page(result, command, out.parent))
    return out
