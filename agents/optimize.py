"""The optimal-control ceiling: the best open-loop stimulation of this body for a task.

As Bobbert & van Soest (1994) did for jumping, each muscle switches from rest to a stimulation
level at its own onset time; CMA-ES (pycma) searches the onset times and levels. The result is
stored with the model version (name, version and a hash of the model file), and evaluations of
trained policies report their score as a fraction of it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .runs import write_json_atomic

ONSET_MAX_S = 0.6  # latest onset after the episode starts (the squat is held 0.1 s, the push lasts ~0.3 s)
REST_DRIVE = 0.0
PROGRESS_WEIGHT = 1e-3  # tie-breaker weight of the task's dense reward against its score
SEED_EXTENSORS = ("GLU", "HAM", "VAS", "GAS", "SOL")
SEED_ONSET_FRACTION = 0.02  # of ONSET_MAX_S
SEED_SIGMA = 0.2
OPTIMIZABLE = ("SquatJump",)  # Hop cannot hop yet and Pedal needs a cyclic pattern: not built
CEILINGS_DIR = "models/ceilings"


@dataclass
class Ceiling:
    task: str
    model: str
    model_version: int
    model_sha256: str
    score: float  # the task's score (SquatJump: jump height, m)
    energy_per_unit_j: float
    onsets_s: list[float]
    levels: list[float]
    evaluations: int
    seed: int


def model_fingerprint(model_path: str | None = None) -> tuple[str, int, str]:
    from neuroleg.envs.physiology import load_model

    model = load_model(model_path)
    text = (
        Path(model_path).read_bytes()
        if model_path
        else resources.files("neuroleg.envs").joinpath("models/leg9.yaml").read_bytes()
    )
    return model.name, model.version, hashlib.sha256(text).hexdigest()


def rollout(
    task: str, onsets: np.ndarray, levels: np.ndarray, seed: int = 0, env_kwargs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One episode of open-loop stimulation; the final info plus `task_return`, the sum of the
    task's reward terms (energy excluded)."""
    import gymnasium as gym

    import neuroleg.envs  # noqa: F401

    env = gym.make(f"neuroleg/{task}-v0", **(env_kwargs or {}))
    env.reset(seed=seed)
    dt = env.unwrapped.dt
    info: dict[str, Any] = {}
    task_return = 0.0
    for k in range(env.spec.max_episode_steps or 1000):
        drive = np.where(k * dt >= onsets, levels, REST_DRIVE).astype(np.float32)
        _, _, term, trunc, info = env.step(drive)
        task_return += sum(v for key, v in info.items() if key.startswith("reward_") and key != "reward_energy")
        if term or trunc:
            break
    env.close()
    return {**info, "task_return": task_return}


def optimize(
    task: str,
    generations: int = 60,
    population: int = 16,
    seed: int = 0,
    out: Path | None = None,
    env_kwargs: dict[str, Any] | None = None,
    candidates: list[tuple[list[float], list[float]]] | None = None,
) -> Ceiling:
    """CMA-ES over 9 onsets (s) and 9 levels (0..1), maximising the task score (for the body
    `env_kwargs` describes, e.g. a recruitment limit; the default body otherwise). `candidates`
    are (onsets, levels) controls evaluated too, so the result is never worse than any of them."""
    import cma

    if task not in OPTIMIZABLE:
        raise ValueError(f"optimize supports {list(OPTIMIZABLE)} so far, got {task!r}")
    n = 9

    def decode(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = np.clip(x, 0.0, 1.0)
        return z[:n] * ONSET_MAX_S, z[n:]

    def cost(x: np.ndarray) -> float:
        onsets, levels = decode(np.asarray(x))
        info = rollout(task, onsets, levels, env_kwargs=env_kwargs)
        # Most early candidates never take off (score 0, a flat landscape for CMA-ES): the task's
        # dense height progress breaks the ties; once airborne the score dominates.
        return -float(info["task_score"]) - PROGRESS_WEIGHT * float(info["task_return"])

    # Start from the obvious solution, every extensor on at once (the search then tunes onsets
    # and levels around it, as Bobbert & van Soest optimised timing), so the ceiling is at least it.
    from neuroleg.envs.physiology import MUSCLE_NAMES

    push = np.array([1.0 if m in SEED_EXTENSORS else 0.0 for m in MUSCLE_NAMES])
    x0 = np.concatenate([np.full(n, SEED_ONSET_FRACTION), np.clip(push, 0.05, 0.95)])
    es = cma.CMAEvolutionStrategy(
        x0,
        SEED_SIGMA,
        {"bounds": [0.0, 1.0], "popsize": population, "seed": seed + 1, "maxiter": generations, "verbose": -9},
    )
    # CMA-ES samples around its mean without evaluating it: make the seed (and any given control,
    # e.g. the one optimised for another body) candidates, so the result is never worse than them.
    extra = [np.concatenate([np.asarray(on) / ONSET_MAX_S, np.asarray(lv)]) for on, lv in (candidates or [])]
    es.inject([x0, *extra])
    while not es.stop():
        xs = es.ask()
        es.tell(xs, [cost(x) for x in xs])
    onsets, levels = decode(np.asarray(es.result.xbest))
    best = rollout(task, onsets, levels, env_kwargs=env_kwargs)
    name, version, digest = model_fingerprint()
    ceiling = Ceiling(
        task,
        name,
        version,
        digest,
        float(best["task_score"]),
        float(best["energy_per_unit_j"]),
        onsets.tolist(),
        levels.tolist(),
        int(es.result.evaluations),
        seed,
    )
    if out is not None:
        write_json_atomic(out, asdict(ceiling))
    return ceiling


# The ceiling is optimised for the default body: these settings change it.
_BODY_DEFAULTS = {
    "recruitment_limit": 1.0,
    "rate_scale": 1.0,
    "synchronization": 0.0,
    "elastic_tendon": True,
    "motor_units": True,
}


def applies_to(env_kwargs: dict[str, Any]) -> bool:
    """Whether a run's environment has the body the stored ceiling was optimised for."""
    return all(env_kwargs.get(k, v) == v for k, v in _BODY_DEFAULTS.items())


def stored_ceiling(task: str) -> Ceiling | None:
    """The packaged ceiling for `task`, if one exists for the current model file (hash-checked)."""
    name, version, digest = model_fingerprint()
    ref = resources.files("neuroleg.envs").joinpath(f"{CEILINGS_DIR}/{name}_v{version}_{task.lower()}.json")
    if not ref.is_file():
        return None
    data = json.loads(ref.read_text())
    return Ceiling(**data) if data.get("model_sha256") == digest else None


def ceiling_filename(task: str) -> str:
    name, version, _ = model_fingerprint()
    return f"{name}_v{version}_{task.lower()}.json"
