"""The ceiling of a task with a new target every episode (Posture): searched target by target.

No single open-loop control reaches every target, so the ceiling is searched for each of a fixed set
of targets: those the evaluations draw (episode seeds EVALUATION_SEED, +1, ...; an evaluation of a
trained policy meets the same ones). Each control is a reach and a hold: every muscle at its reach
level from the start until a switch time, then at its hold level to the end (the burst that moves the
foot, then the co-contraction that holds it against gravity; 19 numbers). CMA-ES searches each target
from the best of a common start and the controls found for the other targets (neighbouring targets
share patterns; one search alone can stall far from its start), minimising the task's ceiling_cost
(the score, with the dense tracking reward as a tie-breaker where every early candidate scores 0).
One file stores every target's control and figures; the ceiling's score and energy are their means,
and a policy is graded against the means over its own evaluation's episodes (`Ceiling.over`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

from neuroleg.envs import ENV_IDS, ENV_VERSION
from neuroleg.envs.physiology import MUSCLE_NAMES

from .ceilings import EVALUATION_SEED, Ceiling, is_per_target, model_fingerprint, task_args
from .optimize import SEED_SIGMA, episode_span_s, numeric_figures, rollout, search_cost
from .runs import write_json_atomic

# The start of every target's search (our choice): a light co-contraction of every muscle, switched
# to the same at a fifth of the episode; CMA-ES's first step (SEED_SIGMA) spans most of the box.
START_LEVEL = 0.1
START_SWITCH_FRACTION = 0.2
# Targets searched (our choice): posture_ppo's evaluation draws 20, the discharge-training experiment's 30.
TARGETS_DEFAULT = 30
TARGETS_RANGE = (1, 1000)  # as many as an evaluation may have episodes (RunConfig.eval_episodes)


@dataclass(frozen=True)
class ReachHold:
    """Every muscle at `reach` (muscles,) until `switch_s`, then at `hold` to the end of the episode."""

    switch_s: float
    reach: np.ndarray
    hold: np.ndarray
    cyclic: bool = False

    def drive(self, t: float, cycles: float = 0.0) -> np.ndarray:
        return np.asarray(self.reach if t < self.switch_s else self.hold, dtype=np.float32)

    def encode(self, span_s: float) -> np.ndarray:
        """CMA-ES's [0, 1] box: the switch as a fraction of the episode, then the levels."""
        return np.concatenate([[self.switch_s / span_s], self.reach, self.hold])

    @classmethod
    def decode(cls, z: np.ndarray, span_s: float) -> ReachHold:
        z = np.clip(np.asarray(z, dtype=float), 0.0, 1.0)
        n = (len(z) - 1) // 2
        return cls(float(z[0] * span_s), z[1 : 1 + n], z[1 + n :])

    @classmethod
    def start(cls, span_s: float) -> ReachHold:
        n = len(MUSCLE_NAMES)
        return cls(START_SWITCH_FRACTION * span_s, np.full(n, START_LEVEL), np.full(n, START_LEVEL))

    @classmethod
    def stored(cls, target: dict[str, Any]) -> ReachHold:
        """The control of one entry of `Ceiling.targets`."""
        return cls(float(target["switch_s"]), np.asarray(target["reach_levels"]), np.asarray(target["hold_levels"]))


def search_target(
    task: str,
    episode_seed: int,
    env: gym.Env,
    span_s: float,
    generations: int,
    population: int,
    seed: int,
    restarts: int,
    starts: list[ReachHold],
) -> tuple[ReachHold, dict[str, Any], int, int]:
    """CMA-ES over one target's reach-and-hold control (the episode of `episode_seed`, `span_s` long),
    centred on the best of `starts` (each evaluated, so the result is never worse than any by the
    search's cost); `restarts` searches with seeds seed, seed + 1, ... Returns (control, its rollout's
    info, evaluations, the winning search's seed)."""
    import cma  # only a search needs it

    def cost(x: np.ndarray) -> float:
        return search_cost(task, rollout(task, ReachHold.decode(x, span_s), seed=episode_seed, env=env))

    scored = [(cost(x), i, x) for i, x in enumerate(c.encode(span_s) for c in starts)]
    f_best, _, x0 = min(scored, key=lambda t: t[:2])
    x_best, best_seed, evaluations = x0, seed, len(scored)
    for run_seed in range(seed, seed + restarts):
        options = {"bounds": [0.0, 1.0], "popsize": population, "seed": run_seed + 1, "maxiter": generations}
        es = cma.CMAEvolutionStrategy(x0, SEED_SIGMA, {**options, "verbose": -9})
        while not es.stop():
            xs = es.ask()
            es.tell(xs, [cost(x) for x in xs])
        evaluations += int(es.result.evaluations)
        if float(es.result.fbest) < f_best:
            x_best, f_best, best_seed = np.asarray(es.result.xbest), float(es.result.fbest), run_seed
    control = ReachHold.decode(x_best, span_s)
    return control, rollout(task, control, seed=episode_seed, env=env), evaluations, best_seed


def optimize_targets(
    task: str,
    targets: int = TARGETS_DEFAULT,
    generations: int = 60,
    population: int = 16,
    seed: int = 0,
    out: Path | None = None,
    env_kwargs: dict[str, Any] | None = None,
    start: Ceiling | None = None,
    restarts: int = 1,
    progress: bool = False,
) -> Ceiling:
    """The per-target ceiling of `task` (Posture) on the targets of episodes EVALUATION_SEED ..
    EVALUATION_SEED + targets - 1, for the body `env_kwargs` describes. Each target's search is
    centred on the best of the common start, the control `start` (a stored per-target ceiling) has
    for it, and every control found or stored for another target. Written to `out` (atomically) when
    given, after every target is searched; `progress`: a bar over the targets with the mean score so
    far (the command line's)."""
    if not is_per_target(task):
        raise ValueError(f"{task} is not searched target by target (its ceiling is {task!r}'s own: optimize)")
    if not TARGETS_RANGE[0] <= targets <= TARGETS_RANGE[1]:
        raise ValueError(f"targets must be {TARGETS_RANGE[0]}..{TARGETS_RANGE[1]}, got {targets}")
    if restarts < 1:
        raise ValueError(f"restarts must be at least 1, got {restarts}")
    span = episode_span_s(task, env_kwargs)
    known = {t["episode_seed"]: ReachHold.stored(t) for t in (start.targets if start is not None else [])}
    env = gym.make(ENV_IDS[task], **(env_kwargs or {}))
    entries, evaluations = [], 0
    try:
        seeds = range(EVALUATION_SEED, EVALUATION_SEED + targets)
        bar = tqdm(seeds, desc=f"{task} targets", unit="target", disable=not progress)
        for episode_seed in bar:
            own = [known[episode_seed]] if episode_seed in known else []
            others = [c for s, c in known.items() if s != episode_seed]
            control, info, tried, best_seed = search_target(
                task,
                episode_seed,
                env,
                span,
                generations,
                population,
                seed,
                restarts,
                [*own, ReachHold.start(span), *others],
            )
            known[episode_seed] = control
            evaluations += tried
            if info.get("unstable"):
                raise ValueError(
                    f"{task}, target of episode {episode_seed}: the best control found ended with the simulation "
                    f"unstable (info['unstable']) after {tried} evaluations; no ceiling written"
                )
            entries.append(
                {
                    "episode_seed": episode_seed,
                    "switch_s": control.switch_s,
                    "reach_levels": control.reach.tolist(),
                    "hold_levels": control.hold.tolist(),
                    "score": float(info["task_score"]),
                    "energy_per_unit_j": float(info["energy_per_unit_j"]),
                    "search_seed": best_seed,
                    "metrics": numeric_figures(info),
                }
            )
            bar.set_postfix(mean_score=f"{np.mean([e['score'] for e in entries]):.3f}")
    finally:
        env.close()
    keys = set.intersection(*(set(e["metrics"]) for e in entries))
    name, version, digest = model_fingerprint((env_kwargs or {}).get("model_path"))
    ceiling = Ceiling(
        task=task,
        model=name,
        model_version=version,
        model_sha256=digest,
        score=float(np.mean([e["score"] for e in entries])),
        energy_per_unit_j=float(np.mean([e["energy_per_unit_j"] for e in entries])),
        onsets=[],
        levels=[],
        windows=[],
        evaluations=evaluations,
        seed=seed,
        metrics={k: float(np.mean([e["metrics"][k] for e in entries])) for k in sorted(keys)},
        task_args=task_args(task, env_kwargs),
        env_version=ENV_VERSION,
        targets=entries,
    )
    if out is not None:
        write_json_atomic(out, asdict(ceiling))
    return ceiling


def replay_targets(c: Ceiling, env_kwargs: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Each stored target's control replayed on its episode: the final infos, in the stored order."""
    env = gym.make(ENV_IDS[c.task], **(env_kwargs if env_kwargs is not None else c.task_args))
    try:
        return [rollout(c.task, ReachHold.stored(t), seed=t["episode_seed"], env=env) for t in c.targets]
    finally:
        env.close()
