"""Deterministic evaluation of a trained policy and of baseline controllers, measured the same way."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from neuroleg.envs import CONTROL_DT_S, action_to_drive, drive_to_action
from neuroleg.envs.physiology import antagonist_pairs, load_model
from neuroleg.envs.physiology.model import MUSCLE_NAMES
from neuroleg.envs.tasks import TASKS

from .analysis import motor_unit_summary, pair_cci, synergies
from .ceilings import EVALUATION_SEED, applies_to, stored_ceiling
from .config import RunConfig
from .loading import load_run
from .runs import RunDir, atomic_path, write_json_atomic

# Constant co-contraction baseline: every muscle at this drive (inefficient by design).
COCONTRACTION_DRIVE = 0.3
BASELINES = ("zero", "random", "cocontraction")
# Summarised for every task; each task adds its own figures (`Task.metric_info`).
SUMMARISED_INFO = (
    "task_score",
    "task_units",
    "energy_per_unit_j",
    "energy_per_unit_j_per_kg",
    "oxygen_per_unit_ml",
    "oxygen_per_unit_ml_per_kg",
    "metabolic_energy_j",
    "mechanical_work_j",
)

Policy = Callable[[np.ndarray, bool], np.ndarray]  # (raw observation, episode start) -> drive, 0..1


@dataclass
class EpisodeRecord:
    info: dict[str, Any]
    reward: float
    steps: int
    activation: np.ndarray  # (T, 9)
    drive: np.ndarray  # (T, 9)
    q: np.ndarray  # (T, 3)
    force: np.ndarray
    recruited: np.ndarray
    type2: np.ndarray
    at_limit: np.ndarray
    task_obs: np.ndarray  # (T, task's observation fields)
    muscle_power: np.ndarray  # (T, 9) each muscle's metabolic power over the step (W)
    capacity_type2: np.ndarray  # (T, 9) type II force capacity left (1 fresh; 1 throughout without fatigue)
    energy: dict[str, np.ndarray] = field(default_factory=dict)
    energy_return: float = 0.0  # the reward's energy term summed over the episode (<= 0)
    task_return: float = 0.0  # the task's reward terms summed over the episode


def make_eval_env(cfg: RunConfig, render_mode: str | None = None) -> gym.Env:
    import neuroleg.envs  # noqa: F401

    return gym.make(cfg.env.env_id, render_mode=render_mode, **cfg.env.env_kwargs())


def run_episodes(
    cfg: RunConfig, policy: Policy, episodes: int, seed: int, on_frame: Callable[[np.ndarray], None] | None = None
) -> list[EpisodeRecord]:
    env = make_eval_env(cfg, render_mode="rgb_array" if on_frame else None)
    structure = env.unwrapped.observation_structure  # type: ignore[attr-defined]
    joint_angle = structure["joint_angle"]
    task_fields = [k for k in structure if k.startswith("task.")]
    task_slice = slice(structure[task_fields[0]].start, structure[task_fields[-1]].stop) if task_fields else slice(0)
    records = []
    for ep in range(episodes):
        obs, info = env.reset(seed=seed + ep)
        start = True
        rows: dict[str, list[np.ndarray]] = {
            k: []
            for k in (
                "activation",
                "drive",
                "q",
                "force",
                "recruited",
                "type2",
                "at_limit",
                "task_obs",
                "muscle_power",
                "capacity_type2",
            )
        }
        total, steps, energy_return, task_return = 0.0, 0, 0.0, 0.0
        energy = env.unwrapped.energy_breakdown()["total"]
        while True:
            action = np.asarray(policy(obs, start), dtype=np.float32)
            start = False
            obs, reward, term, trunc, info = env.step(drive_to_action(action))
            if on_frame is not None:
                on_frame(env.render())
            total += reward
            steps += 1
            energy_return += info["reward_energy"]
            task_return += sum(v for k, v in info.items() if k.startswith("reward_") and k != "reward_energy")
            rows["activation"].append(info["activation"])
            rows["drive"].append(np.clip(action, 0, 1))
            rows["q"].append(obs[joint_angle].astype(float))
            rows["task_obs"].append(obs[task_slice].astype(float))
            rows["force"].append(info["muscle_force_n"])
            rows["recruited"].append(info["motor_units_recruited"])
            rows["type2"].append(info["type2_share"])
            rows["at_limit"].append(info["at_recruitment_limit"].astype(float))
            now = env.unwrapped.energy_breakdown()["total"]
            rows["muscle_power"].append((now - energy) / env.unwrapped.dt)
            energy = now
            rows["capacity_type2"].append(info["fatigue_capacity_type2"])
            if term or trunc:
                break
        records.append(
            EpisodeRecord(
                info=info,
                reward=total,
                steps=steps,
                energy=env.unwrapped.energy_breakdown(),
                energy_return=energy_return,
                task_return=task_return,
                **{k: np.array(v) for k, v in rows.items()},
            )
        )
    env.close()
    return records


def baseline_policy(name: str, seed: int) -> Policy:
    rng = np.random.default_rng(seed)
    if name == "zero":
        return lambda obs, start: np.zeros(len(MUSCLE_NAMES))
    if name == "random":
        return lambda obs, start: rng.random(len(MUSCLE_NAMES))
    if name == "cocontraction":
        return lambda obs, start: np.full(len(MUSCLE_NAMES), COCONTRACTION_DRIVE)
    raise ValueError(f"unknown baseline {name!r}; allowed: {list(BASELINES)}")


def model_policy(run: RunDir, cfg: RunConfig) -> Policy:
    """The run's policy (`load_run`): deterministic, its normalisation frozen, as drives (0..1)."""
    loaded = load_run(run.path)
    state: Any = None

    def act(obs: np.ndarray, start: bool) -> np.ndarray:
        nonlocal state
        action, state = loaded.predict(obs, state=state, episode_start=np.array([start]))
        return action_to_drive(action)

    return act


def summarise(records: list[EpisodeRecord], cfg: RunConfig) -> dict[str, Any]:

    infos = [r.info for r in records]

    def stat(values: list[float]) -> dict[str, float]:
        arr = np.asarray(values, dtype=float)
        return {"mean": float(arr.mean()), "std": float(arr.std())}

    muscle_energy = [max(i["muscle_energy_j"], 1e-9) for i in infos]
    out: dict[str, Any] = {
        "episodes": len(records),
        "return": stat([r.reward for r in records]),
        "muscle_efficiency": stat([i["mechanical_work_j"] / e for i, e in zip(infos, muscle_energy, strict=True)]),
        "unstable_episodes": int(sum(bool(i["unstable"]) for i in infos)),
        # how much the energy term weighs in what the learner optimises: |energy| / (|energy| + |task|)
        "reward_energy_share": stat([energy_share(r.energy_return, r.task_return) for r in records]),
    }
    # The end-of-episode info already holds the task's figures under their stable names.

    for key in (*SUMMARISED_INFO, *TASKS[cfg.env.task].metric_info):
        if key in infos[0] and isinstance(infos[0][key], (int, float)):
            out[key] = stat([i[key] for i in infos])
    act = np.concatenate([r.activation for r in records])
    pairs = antagonist_pairs(load_model(cfg.env.model_path))  # the run's body: its file may set other roles
    out["cci"] = pair_cci(act, MUSCLE_NAMES, pairs)
    out["synergies"] = synergies(act, seed=cfg.seed)
    out["motor_units"] = motor_unit_summary(
        np.concatenate([r.recruited for r in records]),
        np.concatenate([r.type2 for r in records]),
        np.concatenate([r.force for r in records]),
        np.concatenate([r.at_limit for r in records]),
        MUSCLE_NAMES,
    )
    out["energy_by_muscle_j"] = {
        component: dict(
            zip(MUSCLE_NAMES, np.mean([r.energy[component] for r in records], axis=0).tolist(), strict=True)
        )
        for component in ("am", "sl", "work_pos", "total")
    }
    return out


def energy_share(energy_return: float, task_return: float) -> float:
    """The energy term's share of an episode's reward, 0..1, by magnitude (0 when both are 0)."""
    total = abs(energy_return) + abs(task_return)
    return abs(energy_return) / total if total > 0 else 0.0


def _finite(obj: Any) -> Any:
    """JSON has no NaN/inf: make any that slipped through explicit rather than invalid JSON."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def evaluate_run(
    run: RunDir,
    episodes: int | None = None,
    seed: int = EVALUATION_SEED,
    baselines: tuple[str, ...] = BASELINES,
    ceilings: Path | None = None,
) -> dict[str, Any]:
    """Evaluate the policy and the baselines; write evaluation.json and trajectory.npz atomically.
    The score is also given as a fraction of the stored ceiling of the run's model file and task
    (looked up in `ceilings` first, then among the packaged ones), when there is one."""
    cfg = run.config()
    n = episodes or cfg.eval_episodes
    policy_records = run_episodes(cfg, model_policy(run, cfg), n, seed)
    result: dict[str, Any] = {
        "task": cfg.env.task,
        "algorithm": cfg.algo.name,
        "seed": seed,
        "policy": summarise(policy_records, cfg),
        "baselines": {},
    }
    for name in baselines:
        result["baselines"][name] = summarise(run_episodes(cfg, baseline_policy(name, seed), n, seed), cfg)

    kwargs = cfg.env.env_kwargs()
    ceiling = stored_ceiling(cfg.env.task, kwargs, ceilings)
    # a per-target ceiling holds for these episodes' targets only (None when it lacks one of them)
    held = ceiling.over(seed, n) if ceiling is not None else None
    if held is not None and held[0] > 0 and applies_to(cfg.env.task, kwargs, ceiling.task_args):
        # "How well did RL coordinate the muscles": the score as a fraction of the best open-loop control.
        result["ceiling"] = {"score": held[0], "energy_per_unit_j": held[1]}
        for summary in (result["policy"], *result["baselines"].values()):
            summary["fraction_of_ceiling"] = summary["task_score"]["mean"] / held[0]
    result = _finite(result)
    write_json_atomic(run.evaluation_path, result)
    first = policy_records[0]
    buffer = io.BytesIO()

    np.savez_compressed(
        buffer,
        activation=first.activation,
        drive=first.drive,
        q=first.q,
        force=first.force,
        recruited=first.recruited,
        type2=first.type2,
        muscle_power=first.muscle_power,
        capacity_type2=first.capacity_type2,
        task_obs=first.task_obs,
        task_fields=np.array(TASKS[cfg.env.task].observation_fields),
        dt=np.array(CONTROL_DT_S),
    )
    with atomic_path(run.path / "trajectory.npz") as tmp:
        Path(tmp).write_bytes(buffer.getvalue())
    return result


def format_table(result: dict[str, Any]) -> str:
    """A plain-text table of the policy against the baselines."""
    rows = [("policy", result["policy"]), *result["baselines"].items()]
    header = (
        f"{'controller':<15}{'score':>10}{'units':>8}{'J/unit':>11}{'J/kg/unit':>11}{'mL O2/kg/u':>12}"
        f"{'efficiency':>11}{'synergies':>10}"
    )
    lines = [f"{result['task']} ({result['algorithm']}), {result['policy']['episodes']} episodes", header]
    for name, s in rows:
        lines.append(
            f"{name:<15}{s['task_score']['mean']:>10.3f}{s['task_units']['mean']:>8.1f}"
            f"{s['energy_per_unit_j']['mean']:>11.1f}{s['energy_per_unit_j_per_kg']['mean']:>11.2f}"
            f"{s['oxygen_per_unit_ml_per_kg']['mean']:>12.3f}{s['muscle_efficiency']['mean']:>11.3f}"
            f"{s['synergies']['n_synergies_90']:>10d}"
        )
    cci = result["policy"]["cci"]
    lines.append("co-contraction (policy): " + ", ".join(f"{k} {v:.1f}" for k, v in cci.items()))
    share = result["policy"].get("reward_energy_share")  # evaluations before 8.2.0 lack it
    if share is not None:
        lines.append(f"energy term's share of the policy's reward: {share['mean']:.1%}")
    if "ceiling" in result:
        lines.append(
            f"optimal-control ceiling: score {result['ceiling']['score']:.3f}; policy reaches "
            f"{result['policy']['fraction_of_ceiling']:.0%} of it"
        )
    return "\n".join(lines)
