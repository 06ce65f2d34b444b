"""The optimal-control ceiling: the best open-loop stimulation of this body for a task.

SquatJump: as Bobbert & van Soest (1994) did for jumping, each muscle switches from rest to a
stimulation level at its own onset time, and here also back to rest after its own window (with
onsets only, a trained PPO policy jumped higher than the "optimum"). Pedal: each muscle is on at its
level over its own window of crank angle, every revolution (crank-angle-timed excitations, as in
Raasch et al. 1997); the search maximises gross efficiency (the foot's work on the crank per
metabolic energy) while holding the target cadence. Hop: each muscle at its level over its own
window of every hop cycle at the target frequency; the search maximises the hop score. CMA-ES
(pycma) searches the onsets, levels and windows, optionally followed by coordinate passes on the
control's grid (`polish`), which find what CMA-ES's small steps miss on a cost that is flat between
control steps. The result is stored with the model version (name,
version and a hash of the model file), the environment version and the task's targets, and
evaluations of trained policies report their score as a fraction of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from neuroleg.envs import CONTROL_DT_S, ENV_IDS, ENV_VERSION, drive_to_action
from neuroleg.envs.physiology import MUSCLE_NAMES
from neuroleg.envs.tasks import TASKS
from neuroleg.envs.tasks.base import CEILING_SEED_OFF
from neuroleg.envs.tasks.squat_jump import SquatJumpTask

from .ceilings import Ceiling, is_cyclic, is_per_target, model_fingerprint, optimizable, task_args
from .runs import write_json_atomic

# Onsets and windows of a "once" task range over the whole episode (its time_limit_s, the hold
# included): a countermovement jump pushes late, after its dip.
REST_DRIVE = 0.0  # a muscle's drive outside its window
SEED_SIGMA = 0.2  # CMA-ES's initial step, a fifth of the [0, 1] search box (pycma's usual 0.1-0.3)
# Polish: a coordinate search after CMA-ES. The drive is held over each 20 ms control step, so the
# cost is flat between grid points of onsets and windows; CMA-ES steps smaller than one (a sixtieth of
# SquatJump's box) see a plateau, and a better onset a few steps away stays unfound (the countermovement
# jump's gastrocnemius: 0.6 s -> 0.8 s, +1.4 cm). Each pass tries every onset and window on the grid
# and every level in POLISH_LEVEL_STEP steps, one parameter at a time, keeping any improvement.
POLISH_CYCLE_STEP = 1 / 40  # cyclic tasks: onsets and windows in fortieths of a cycle
POLISH_LEVEL_STEP = 0.05  # drive (0-1); our choice, a twentieth of the range
# The cost of a rollout that went unstable, above any other's: its score (an apex the blow-up threw the
# body to) means nothing, and a search ranking it by that score can end on it.
UNSTABLE_COST = 1e9


@dataclass(frozen=True)
class Stimulation:
    """An open-loop control: each muscle at its level from its onset for its window, in time
    (s, once) or, when `cyclic`, in cycles (every crank revolution or hop period)."""

    onsets: np.ndarray
    levels: np.ndarray
    windows: np.ndarray
    cyclic: bool = False

    def drive(self, t: float, cycles: float) -> np.ndarray:
        since = np.mod(cycles - self.onsets, 1.0) if self.cyclic else t - self.onsets
        return np.where((since >= 0.0) & (since < self.windows), self.levels, REST_DRIVE).astype(np.float32)


class OpenLoop(Protocol):
    """An open-loop control: the drive (muscles,) at time t (s), given the cycles passed if cyclic."""

    cyclic: bool

    def drive(self, t: float, cycles: float) -> np.ndarray: ...


def rollout(
    task: str,
    control: OpenLoop,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    env: gym.Env | None = None,
) -> dict[str, Any]:
    """One episode of open-loop stimulation; the final info plus `task_return`, the sum of the
    task's reward terms (energy excluded), `force_impulse_n_s`, the muscles' summed force impulse,
    and for a task with `ceiling_unit_keys` (Pedal) `cycle_<name>`: their growth between the first and
    the last completed unit (the same phase of the cycle, so that the leg's and the counterweight's
    potential and elastic energy cancel), with `cycle_revolutions`, the units between them.
    `env`: an environment of `task` to reuse (a seed gives the same episode in a reused one), left
    open; default a new one with `env_kwargs`, closed after."""

    own = env is None
    env = gym.make(ENV_IDS[task], **(env_kwargs or {})) if env is None else env
    _, info = env.reset(seed=seed)
    dt = env.unwrapped.dt
    the_task = env.unwrapped.task
    unit_keys = the_task.ceiling_unit_keys
    task_return = 0.0
    at_units: list[dict[str, Any]] = []
    for k in range(env.spec.max_episode_steps or 1000):
        t = k * dt
        cycles = the_task.cycle_position(info, t) if control.cyclic else 0.0
        units = info["task_units"]
        _, _, term, trunc, info = env.step(drive_to_action(control.drive(t, cycles)))
        task_return += sum(v for key, v in info.items() if key.startswith("reward_") and key != "reward_energy")
        if unit_keys and info["task_units"] > units:
            at_units.append(info)
        if term or trunc:
            break
    extra: dict[str, float] = {}
    if len(at_units) >= 2:
        first, last = at_units[0], at_units[-1]
        extra = {f"cycle_{key}": last[key] - first[key] for key in unit_keys}
        extra["cycle_revolutions"] = last["task_units"] - first["task_units"]
    impulse = float(env.unwrapped.energy_breakdown()["force_impulse"].sum())
    if own:
        env.close()
    return {**info, **extra, "task_return": task_return, "force_impulse_n_s": impulse}


def numeric_figures(info: dict[str, Any]) -> dict[str, float]:
    """The numbers of a rollout's info (flags and arrays left out): what a ceiling stores as its metrics."""
    return {k: float(v) for k, v in info.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def release_delay_s(env_kwargs: dict[str, Any] | None = None) -> float:
    """How much later than with a step drive SquatJump releases the body (its hold follows
    drive_rise_s): a pattern found for a step drive keeps its timing after release when its
    onsets move by this."""

    rise = float((env_kwargs or {}).get("drive_rise_s", 0.0))
    return SquatJumpTask.hold_for(rise) - SquatJumpTask.hold_for(0.0)


def delayed(control: Stimulation, by_s: float) -> Stimulation:
    return Stimulation(control.onsets + by_s, control.levels, control.windows, control.cyclic)


def seed_control(task: str, env_kwargs: dict[str, Any] | None = None) -> Stimulation:
    """The obvious solution the search starts from (the task's `ceiling_seed`), so the ceiling is at least it."""

    env = gym.make(ENV_IDS[task], **(env_kwargs or {}))
    seed = env.unwrapped.task.ceiling_seed()
    env.close()
    onsets, windows, levels = np.array([seed.get(m, CEILING_SEED_OFF) for m in MUSCLE_NAMES]).T
    return Stimulation(onsets, levels, windows, cyclic=is_cyclic(task))


def episode_span_s(task: str, env_kwargs: dict[str, Any] | None = None) -> float:
    """How long an episode of `task` with these arguments may last (its task's time_limit_s)."""

    env = gym.make(ENV_IDS[task], **(env_kwargs or {}))
    span = float(env.unwrapped.task.time_limit_s())
    env.close()
    return span


def _codec(
    task: str, n: int, span_s: float
) -> tuple[Callable[[np.ndarray], Stimulation], Callable[[Stimulation], np.ndarray]]:
    """Map CMA-ES's [0, 1] search box (onsets, levels, windows) to a control and back: onsets and windows
    in s over the episode's `span_s` ("once" tasks), or in cycles (cyclic ones)."""
    cyclic = is_cyclic(task)
    scale = 1.0 if cyclic else span_s
    return (
        lambda z: Stimulation(z[:n] * scale, z[n : 2 * n], z[2 * n :] * scale, cyclic),
        lambda c: np.concatenate([c.onsets / scale, c.levels, c.windows / scale]),
    )


def search_cost(task: str, info: dict[str, Any]) -> float:
    """The task's `ceiling_cost`; an unstable rollout costs more than any stable one."""

    if info.get("unstable"):
        return UNSTABLE_COST
    return TASKS[task].ceiling_cost(info)


def optimize(
    task: str,
    generations: int = 60,
    population: int = 16,
    seed: int = 0,
    out: Path | None = None,
    env_kwargs: dict[str, Any] | None = None,
    candidates: list[Stimulation] | None = None,
    start: Stimulation | None = None,
    restarts: int = 1,
    polish: int = 0,
) -> Ceiling:
    """CMA-ES over each muscle's onset, level and window (of time, or of the cycle for Pedal and
    Hop): SquatJump maximises jump height, Hop its score, Pedal holds cadence at the best gross
    efficiency (for the body `env_kwargs` describes, e.g. a recruitment limit; the default body
    otherwise).
    `start` is the control the search is centred on (default: the task's seed control, see
    `seed_control`); it is evaluated too.
    `candidates` are controls evaluated too, so the result is never worse than any of them by the
    search's cost, the task's `ceiling_cost` (by default the score plus CEILING_PROGRESS_WEIGHT times
    the task's reward terms without the energy penalty, so a candidate can lose to a slightly lower
    score with more return).
    `restarts` runs that many searches from the same start with seeds seed, seed + 1, ... and keeps
    the best (the countermovement jump's search can stall in a shallow dip with one seed); the
    ceiling records the winning search's seed and every search's evaluations.
    `polish` coordinate passes on the control's grid follow (see POLISH_CYCLE_STEP); they count
    among the evaluations."""
    import cma  # only a search needs it; stored ceilings are read without

    if task not in optimizable():
        raise ValueError(f"optimize supports {optimizable()} (tasks with a ceiling search), got {task!r}")
    if is_per_target(task):
        raise ValueError(f"{task}'s ceiling is searched target by target: target_ceiling.optimize_targets")
    if restarts < 1:
        raise ValueError(f"restarts must be at least 1, got {restarts}")
    if polish < 0:
        raise ValueError(f"polish must be 0 or more passes, got {polish}")

    span = episode_span_s(task, env_kwargs)
    decode, encode = _codec(task, len(MUSCLE_NAMES), span)

    def cost(x: np.ndarray) -> float:
        return search_cost(task, rollout(task, decode(np.clip(x, 0.0, 1.0)), env_kwargs=env_kwargs))

    x0 = encode(start if start is not None else seed_control(task, env_kwargs))
    given = [x0, *(encode(c) for c in candidates or [])]
    # pycma's bound transform moves injected solutions near the bounds (by up to ~0.01 of the box),
    # so no search may have evaluated a given control as it is: evaluate each here.
    x_best, f_best, best_seed = x0, np.inf, seed
    for x in given:
        f = cost(x)
        if f < f_best:
            x_best, f_best = x, f
    evaluations = len(given)
    for run_seed in range(seed, seed + restarts):
        es = cma.CMAEvolutionStrategy(
            x0,
            SEED_SIGMA,
            {"bounds": [0.0, 1.0], "popsize": population, "seed": run_seed + 1, "maxiter": generations, "verbose": -9},
        )
        # CMA-ES samples around its mean without evaluating it: inject the seed (and any given control,
        # e.g. the one optimised for another body) so the search starts from them. force=True: otherwise
        # pycma uses an injected solution only as a direction from the mean, shortened to its step size.
        es.inject(given, force=True)
        while not es.stop():
            xs = es.ask()
            es.tell(xs, [cost(x) for x in xs])
        evaluations += int(es.result.evaluations)
        if float(es.result.fbest) < f_best:
            x_best, f_best, best_seed = np.clip(np.asarray(es.result.xbest), 0.0, 1.0), float(es.result.fbest), run_seed
    control = decode(x_best)
    if polish:
        control, f_best, tried = polish_control(
            task,
            control,
            lambda c: search_cost(task, rollout(task, c, env_kwargs=env_kwargs)),
            f_best,
            1.0 if is_cyclic(task) else span,
            polish,
        )
        evaluations += tried
    best = rollout(task, control, env_kwargs=env_kwargs)
    if best.get("unstable"):
        # every control the search tried ended the same way (each costs UNSTABLE_COST), so its "best"
        # means nothing: store none
        raise ValueError(
            f"{task} with task arguments {task_args(task, env_kwargs)}: the best control found ended with the "
            f"simulation unstable (info['unstable']) after {evaluations} evaluations; no ceiling written"
        )
    # the body searched: a ceiling of a model file of one's own must not carry the packaged file's hash
    name, version, digest = model_fingerprint((env_kwargs or {}).get("model_path"))
    ceiling = Ceiling(
        task,
        name,
        version,
        digest,
        float(best["task_score"]),
        float(best["energy_per_unit_j"]),
        control.onsets.tolist(),
        control.levels.tolist(),
        control.windows.tolist(),
        evaluations,
        best_seed,
        numeric_figures(best),
        task_args(task, env_kwargs),
        ENV_VERSION,
    )
    if out is not None:
        write_json_atomic(out, asdict(ceiling))
    return ceiling


def polish_control(
    task: str,
    control: Stimulation,
    cost: Callable[[Stimulation], float],
    f_start: float,
    span: float,
    passes: int,
    muscles: list[int] | None = None,
) -> tuple[Stimulation, float, int]:
    """Coordinate passes over each muscle's onset, window (on the control step's grid over `span` s, or
    in POLISH_CYCLE_STEP over a cycle) and level; returns the control, its cost and the evaluations."""

    step = POLISH_CYCLE_STEP if is_cyclic(task) else CONTROL_DT_S
    # just past each grid point, so that float rounding cannot move an onset to the next control step
    times = np.arange(0.0, span + 1e-9, step) + 1e-6 * step
    levels = np.arange(0.0, 1.0 + 1e-9, POLISH_LEVEL_STEP)
    params = {"onsets": control.onsets.copy(), "windows": control.windows.copy(), "levels": control.levels.copy()}
    grids = {"onsets": times, "windows": times, "levels": levels}
    best, tried = f_start, 0
    for _ in range(passes):
        for m in muscles if muscles is not None else range(len(control.onsets)):
            for key, grid in grids.items():
                keep = params[key][m]
                for value in grid:
                    params[key][m] = value
                    f = cost(Stimulation(params["onsets"], params["levels"], params["windows"], control.cyclic))
                    tried += 1
                    if f < best:
                        best, keep = f, value
                params[key][m] = keep
    return Stimulation(params["onsets"], params["levels"], params["windows"], control.cyclic), best, tried


def ceiling_control(c: Ceiling) -> Stimulation:
    """The stored control of a ceiling with one (not a per-target one: `target_ceiling.ReachHold.stored`)."""
    if c.targets:
        raise ValueError(f"the {c.task} ceiling has one control per target, not one control")
    return Stimulation(np.asarray(c.onsets), np.asarray(c.levels), np.asarray(c.windows), c.cyclic)
