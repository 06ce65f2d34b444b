"""Training against discharge noise: Posture policies trained in the rate mode (smooth mean force) and
in discharge mode (every unit fires impulses, so force fluctuates), each evaluated in both modes on
the same targets. Do people's stiffening against noise (more co-contraction in precise tasks) and its
energy cost appear in a policy that learned with noisy muscles?"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from neuroleg.envs.physiology import MUSCLE_NAMES, antagonist_pairs, load_model

from ..ceilings import EVALUATION_SEED
from ..config import load_config, resolve_config
from ..runs import RunDir
from .common import mean_sd, write_experiment

NAME = "discharge-training"
HELP = "Posture policies trained in the rate mode and in discharge mode, each evaluated in both"

MODES = {"rate": True, "discharge": "discharge"}  # label -> the environment's motor_units
EPISODES = 30
SEEDS = 2


def trials(timesteps: int, seeds: int) -> list[dict[str, Any]]:
    """One training trial per mode and seed (the sweep machinery's form: restartable records)."""
    from ..sweep import named_trial

    out = []
    for label, mode in MODES.items():
        for seed in range(seeds):
            overrides = [f"env.motor_units={mode}", f"total_timesteps={timesteps}", f"seed={seed}"]
            cfg = load_config(resolve_config("posture_ppo"), overrides)
            out.append(named_trial(f"posture_{label}", {"trained in": label}, seed, cfg, baselines=[]))
    return out


def evaluate_in(run: RunDir, mode: bool | str, episodes: int) -> dict[str, float]:
    """The run's policy on EVALUATION_SEED.. in `mode`: means over episodes of the task score, the
    final foot error (m), the metabolic energy per reach (J) and the co-contraction index (Falconer &
    Winter, 0-100, mean over the body's antagonist pairs)."""
    from ..analysis import pair_cci
    from ..evaluate import model_policy, run_episodes

    cfg = run.config()
    cfg.env.motor_units = mode
    records = run_episodes(cfg, model_policy(run, cfg), episodes, EVALUATION_SEED)
    pairs = antagonist_pairs(load_model(cfg.env.model_path))
    activation = np.concatenate([r.activation for r in records])
    return {
        "score": float(np.mean([r.info["task_score"] for r in records])),
        "error_m": float(np.mean([r.info["precision_m"] for r in records])),
        "energy_j": float(np.mean([r.info["energy_per_unit_j"] for r in records])),
        "cci": float(np.mean(list(pair_cci(activation, MUSCLE_NAMES, pairs).values()))),
    }


def discharge_training_experiment(
    out: Path,
    timesteps: int = 300_000,
    seeds: int = SEEDS,
    episodes: int = EPISODES,
    address: str | None = None,
) -> list[dict[str, Any]]:
    """Train (or reuse, from out/training) the policies, then evaluate each in both modes."""
    from ..sweep import run_trials

    if seeds < 2 or episodes < 1:
        raise ValueError(
            f"seeds must be at least 2 (a spread needs two) and episodes at least 1, got {seeds}, {episodes}"
        )
    todo = trials(timesteps, seeds)
    records = run_trials(todo, out / "training", ["trained in"], todo[0]["config"]["n_envs"], address)
    failed = [r for r in records if r["status"] != "ok"]
    if failed:
        raise RuntimeError(f"{len(failed)} training trial(s) failed, e.g. {failed[0]['trial']}: {failed[0]['error']}")
    by_trial = {r["trial"]: r for r in records}
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    for t in todo:
        run = RunDir(Path(by_trial[t["id"]]["run"]))
        for label, mode in MODES.items():
            results.setdefault((t["point"]["trained in"], label), []).append(evaluate_in(run, mode, episodes))
    rows = []
    for (trained, evaluated), per_seed in results.items():
        rows.append(
            {
                "trained in": trained,
                "evaluated in": evaluated,
                "precision score": mean_sd([r["score"] for r in per_seed]),
                "final foot error (mm)": mean_sd([r["error_m"] for r in per_seed], 1000.0),
                "energy per reach (J)": mean_sd([r["energy_j"] for r in per_seed], digits=4),
                "co-contraction index": mean_sd([r["cci"] for r in per_seed]),
            }
        )

    def plot(ax: Any) -> None:
        for trained, marker in (("rate", "o"), ("discharge", "s")):
            for evaluated, colour in (("rate", "C0"), ("discharge", "C3")):
                r = results[(trained, evaluated)]
                ax.plot(
                    [x["cci"] for x in r],
                    [x["energy_j"] for x in r],
                    marker,
                    color=colour,
                    label=f"trained {trained}, evaluated {evaluated}",
                )
        ax.set_xlabel("co-contraction index (mean over antagonist pairs)")
        ax.set_ylabel("energy per reach (J)")
        ax.legend(fontsize=7)

    counts = load_model().muscles.motor_unit_count.tolist()
    intro = (
        f"Posture's default PPO config, {timesteps} steps, trained with seeds 0-{seeds - 1} in the rate mode "
        '(`motor_units=True`: mean force) and in discharge mode (`motor_units="discharge"`: the model '
        f"file's pools of {min(counts)}-{max(counts)} discharging units a muscle, the force fluctuating). "
        f"Each policy then reaches {episodes} targets (seeds {EVALUATION_SEED} onward, the same in every row) "
        "in both modes, deterministic actions. "
        "Mean +- SD over the training seeds of each policy's mean over episodes; co-contraction index: "
        "Falconer & Winter's, 0-100, the mean over the body's antagonist pairs."
    )
    write_experiment(out, "discharge_training", "Training against discharge noise (Posture)", NAME, intro, rows, plot)
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timesteps", type=int, default=300_000, help="training steps per policy")
    parser.add_argument("--seeds", type=int, default=SEEDS, help="training seeds per mode (at least 2)")
    parser.add_argument("--episodes", type=int, default=EPISODES, help="evaluation reaches per policy and mode")
    parser.add_argument("--address", help="a Ray cluster to train on (default: a local Ray)")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    return discharge_training_experiment(args.out, args.timesteps, args.seeds, args.episodes, args.address)
