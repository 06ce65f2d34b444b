"""Stored optimal-control ceilings: what one records, and finding the one that applies to a run.

A ceiling is stored with the model file's name, version and hash, the environment version and the
task's arguments; a changed model file, environment or argument default invalidates it. Found in a
folder of one's own first (`neuroleg optimize --model` writes one), then among the packaged ones.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from neuroleg.envs import ENV_VERSION
from neuroleg.envs.arguments import BodyArgs
from neuroleg.envs.physiology import load_model
from neuroleg.envs.tasks import TASKS

CEILINGS_DIR = "models/ceilings"
# The first episode seed of every evaluation (episodes EVALUATION_SEED, +1, ...): a per-target ceiling
# is searched on these episodes' targets, so that a policy's evaluation meets the same ones.
EVALUATION_SEED = 10_000


@dataclass
class Ceiling:
    task: str
    model: str
    model_version: int
    model_sha256: str
    score: float  # the task's score (SquatJump: jump height, m; Pedal: time at cadence; Hop: hop quality)
    energy_per_unit_j: float
    onsets: list[float]  # SquatJump: s after the start; Pedal: revolutions from top dead centre; Hop: periods
    levels: list[float]
    windows: list[float]  # how long each muscle stays on, in the onsets' unit
    evaluations: int
    seed: int  # the winning CMA-ES search's seed; every rollout resets the environment with seed 0
    metrics: dict[str, float] = field(default_factory=dict)  # the task's info at the optimum
    task_args: dict[str, float] = field(default_factory=dict)  # the task's targets it was optimised for
    # The environments' version (ENV_VERSION): the simulation code changes results as much as the
    # model file does (version 2 solves the fiber-tendon equilibrium; 0 = stored before it was kept).
    env_version: int = 0
    # The version the search ran at, where the ceiling was carried over to a later one (its control
    # replayed there gave the same figures: `neuroleg.agents.carry_over`); None: env_version.
    found_at_env_version: int | None = None
    # Likewise the model file version it was found with, where it was carried over to a later one.
    found_with_model_version: int | None = None
    # A per-target ceiling (Posture): one control and its figures per evaluation episode (its
    # `episode_seed`, `switch_s`, `reach_levels`, `hold_levels`, `score`, `energy_per_unit_j`,
    # `metrics`); score, energy_per_unit_j and metrics above are their means, onsets... are empty.
    targets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def cyclic(self) -> bool:
        return is_cyclic(self.task)

    def over(self, first_seed: int, episodes: int) -> tuple[float, float] | None:
        """(score, energy per unit J) to hold an evaluation of `episodes` episodes from `first_seed`
        against: a per-target ceiling's means over those episodes' targets (None where it lacks one
        of them: another target set says nothing about it), any other ceiling's own figures."""
        if not self.targets:
            return self.score, self.energy_per_unit_j
        by_seed = {t["episode_seed"]: t for t in self.targets}
        wanted = range(first_seed, first_seed + episodes)
        if any(s not in by_seed for s in wanted):
            return None
        chosen = [by_seed[s] for s in wanted]
        return (
            sum(t["score"] for t in chosen) / episodes,
            sum(t["energy_per_unit_j"] for t in chosen) / episodes,
        )


def optimizable() -> list[str]:
    """The tasks with a ceiling search (`Task.ceiling`), registered ones included."""
    return [name for name, task in TASKS.items() if task.ceiling is not None]


def is_cyclic(task: str) -> bool:
    return TASKS[task].ceiling == "cyclic"


def is_per_target(task: str) -> bool:
    """A task with a new target every episode (Posture): its ceiling is searched target by target."""
    return TASKS[task].ceiling == "per_target"


def model_fingerprint(model_path: str | None = None) -> tuple[str, int, str]:

    model = load_model(model_path)
    text = (
        Path(model_path).read_bytes()
        if model_path
        else resources.files("neuroleg.envs").joinpath("models/leg9.yaml").read_bytes()
    )
    return model.name, model.version, hashlib.sha256(text).hexdigest()


# Stored ceilings are optimised for the default body and task: these body arguments change them
# (their defaults are BodyArgs's).
CEILING_BODY_ARGUMENTS = (
    "recruitment_limit",
    "rate_scale",
    "motor_unit_count",
    "synchronization",
    "drive_rise_s",
    "fatigue",
    "elastic_tendon",
    "motor_units",
    "physics_dt",
    "solver_iterations",
)


def applies_to(task: str, env_kwargs: dict[str, Any], ceiling_task_args: dict[str, Any] | None = None) -> bool:
    """Whether a run's environment has the default body arguments and the task arguments a ceiling
    was optimised for (default: the task's defaults; a Hop ceiling at 2.2 Hz says nothing about
    hopping at 2.6 Hz). The model file is `stored_ceiling`'s to match, by hash."""
    defaults = {k: BodyArgs.model_fields[k].default for k in CEILING_BODY_ARGUMENTS}
    body = all(env_kwargs.get(k, v) == v for k, v in defaults.items())
    wanted = task_defaults(task) if ceiling_task_args is None else ceiling_task_args
    return body and task_args(task, env_kwargs) == wanted


def task_defaults(task: str) -> dict[str, Any]:
    """The task's arguments and their defaults (its targets: frequency, cadence...), from its `Args`."""
    return TASKS[task].Args().model_dump()


def task_args(task: str, env_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The task's arguments in `env_kwargs`, with the task's defaults for the rest."""
    defaults = task_defaults(task)
    given = {k: v for k, v in (env_kwargs or {}).items() if k in defaults}
    # 71 and 71.0 are one squat depth: name and compare them alike
    return {**defaults, **{k: _as_default_type(v, defaults[k]) for k, v in given.items()}}


def _as_default_type(value: Any, default: Any) -> Any:
    """An int where the default is a float becomes that float; anything else is left to the task to check."""
    return float(value) if isinstance(default, float) and type(value) is int else value


def stored_ceiling(task: str, env_kwargs: dict[str, Any] | None = None, folder: Path | None = None) -> Ceiling | None:
    """The stored ceiling for `task` with the task arguments in `env_kwargs` (default: the task's
    defaults; e.g. {"start": "standing"} for the countermovement jump), if one exists for the
    model file `env_kwargs["model_path"]` (default: the packaged one; hash-checked), the current
    environment version and those arguments with today's defaults (a changed default invalidates it
    too). Looked up in `folder` first (where `neuroleg optimize --model` wrote it), then among the
    packaged ceilings."""
    _, _, digest = model_fingerprint((env_kwargs or {}).get("model_path"))
    name = ceiling_filename(task, env_kwargs)
    places = [Path(folder) / name] if folder is not None else []
    for ref in [*places, resources.files("neuroleg.envs").joinpath(f"{CEILINGS_DIR}/{name}")]:
        if not ref.is_file():
            continue
        data = json.loads(ref.read_text())
        if (
            data.get("model_sha256") == digest
            and data.get("env_version", 0) == ENV_VERSION
            and data.get("task_args") == task_args(task, env_kwargs)
        ):
            return Ceiling(**data)
    return None


def ceiling_filename(task: str, env_kwargs: dict[str, Any] | None = None) -> str:
    """<model>_v<version>_<task>[_<arg>-<value>...].json, naming the task arguments that differ
    from the defaults; <model> and <version> are those of `env_kwargs["model_path"]` (default: packaged)."""
    name, version, _ = model_fingerprint((env_kwargs or {}).get("model_path"))
    defaults = task_defaults(task)
    variant = "".join(
        f"_{k}-{v:g}" if isinstance(v, float) else f"_{k}-{v}"
        for k, v in sorted(task_args(task, env_kwargs).items())
        if v != defaults[k]
    )
    return f"{name}_v{version}_{task.lower()}{variant}.json"
