"""Energy weight: task score against energy per unit as the reward's energy weight varies."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from ..config import TASK_CONFIG, load_config, resolve_config
from ..provenance import results_page
from ..report import pyplot, save_figure
from ..runs import RunDir, write_json_atomic, write_text_atomic
from .common import add_model_argument, markdown_table

NAME = "energy-weight"
HELP = "task score against energy per unit as the reward's energy weight varies"

ENERGY_WEIGHTS = (0.0, 0.05, 0.2)


def plot_energy_weight(task: str, rows: list[dict[str, Any]], runs: list[dict[str, Any]], path: Path) -> None:
    """Task score against energy per unit: each weight's mean +- sd over seeds, and every run in grey."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.errorbar(
        [r["energy_per_unit_j"] for r in rows],
        [r["task_score"] for r in rows],
        xerr=[r["energy_per_unit_j_sd"] for r in rows],
        yerr=[r["task_score_sd"] for r in rows],
        fmt="o-",
        capsize=3,
    )
    seeds = max((r["seeds"] for r in rows), default=1)
    if seeds > 1:
        ax.plot([r["energy_per_unit_j"] for r in runs], [r["task_score"] for r in runs], ".", color="0.6")
    for i, r in enumerate(rows):  # labels stacked: weights can land on the same point
        ax.annotate(
            f"w={r['energy_weight']:g}",
            (r["energy_per_unit_j"], r["task_score"]),
            xytext=(0, 6 + 9 * i),
            textcoords="offset points",
            ha="center",
            fontsize=8,
        )
    ax.margins(x=0.12, y=0.15)  # room for the labels at the ends
    ax.set_xlabel("energy per unit of task (J)")
    ax.set_ylabel("task score")
    ax.set_title(f"{task} (mean +- sd over {seeds} seeds)" if seeds > 1 else task, fontsize=9)
    save_figure(fig, path)


def energy_weight_experiment(
    task: str,
    out: Path,
    weights: tuple[float, ...] = ENERGY_WEIGHTS,
    timesteps: int = 150_000,
    episodes: int = 5,
    seeds: int = 1,
    model_path: str | None = None,
    ramp: tuple[float, float, float] | None = None,
) -> list[dict[str, Any]]:
    """Train the task's default PPO config at each energy weight (with training seeds 0..seeds-1): task
    score against energy per unit, the mean over seeds and its standard deviation (per run in the JSON).
    `ramp`: (start weight, hold, ramp), the config's `energy_ramp` towards each weight (a page of its own,
    `energy_weight_<task>_ramp`)."""
    from ..evaluate import evaluate_run  # deferred: loads torch and stable-baselines3
    from ..train import train  # deferred: torch and stable-baselines3 load only where a policy trains

    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")

    # without --ramp each weight is constant, whatever the default config ramps
    ramp_value = f"{{start_weight: {ramp[0]}, hold: {ramp[1]}, ramp: {ramp[2]}}}" if ramp else "null"

    def config(w: float, seed: int) -> Any:
        return load_config(
            resolve_config(f"{TASK_CONFIG[task]}_ppo"),
            [f"env.energy_weight={w}", f"total_timesteps={timesteps}", f"eval_episodes={episodes}", f"seed={seed}"]
            + ([f"env.model_path={model_path}"] if model_path else [])
            + [f"energy_ramp={ramp_value}"],
        )

    for w in weights:  # every weight validated before any trains
        config(w, 0)
    rows, runs = [], []
    for w in weights:
        per_seed = []
        for seed in range(seeds):
            cfg = config(w, seed)
            suffix = f"_s{seed}" if seeds > 1 else ""
            run = RunDir.create(cfg, out / "runs", f"{TASK_CONFIG[task]}_ew{w:g}{'_ramp' if ramp else ''}{suffix}")
            train(cfg, run, progress=False)
            result = evaluate_run(run, baselines=())
            p, ceiling = result["policy"], result.get("ceiling")
            per_seed.append(
                {
                    "energy_weight": w,
                    "seed": seed,
                    "task_score": p["task_score"]["mean"],
                    "energy_per_unit_j": p["energy_per_unit_j"]["mean"],
                    "metabolic_energy_j": p["metabolic_energy_j"]["mean"],
                    "reward_energy_share": p["reward_energy_share"]["mean"],
                    # against the stored ceiling of the task (none for Posture)
                    **(
                        {"energy_to_ceiling": p["energy_per_unit_j"]["mean"] / ceiling["energy_per_unit_j"]}
                        if ceiling
                        else {}
                    ),
                }
            )
        runs += per_seed
        row: dict[str, Any] = {"energy_weight": w, "seeds": seeds}
        for key in [k for k in per_seed[0] if k not in ("energy_weight", "seed")]:
            values = np.array([r[key] for r in per_seed])
            row[key] = float(values.mean())
            row[f"{key}_sd"] = float(values.std(ddof=1)) if seeds > 1 else 0.0
        rows.append(row)
    name = f"energy_weight_{TASK_CONFIG[task]}" + ("_ramp" if ramp else "")
    ramped = (
        f", the weight ramped from {ramp[0]:g} (held for {ramp[1]:.0%} of the budget, then rising over {ramp[2]:.0%})"
        if ramp
        else ""
    )
    write_json_atomic(out / f"{name}.json", {"rows": rows, "runs": runs})
    write_text_atomic(
        out / f"{name}.md",
        results_page(
            f"Energy weight: {task}, PPO, {timesteps} steps each, {seeds} seed(s){ramped}",
            f"neuroleg experiment energy-weight --task {task} --timesteps {timesteps} --seeds {seeds} "
            f"--weights {' '.join(f'{w:g}' for w in weights)}"
            + (f" --ramp {' '.join(f'{x:g}' for x in ramp)}" if ramp else ""),
            markdown_table(rows),
            out,
        ),
    )
    plot_energy_weight(task, rows, runs, out / f"{name}.png")
    return rows


# Rise times of the drive from 0 to 1 (s): 0 is a step (Bobbert & Casius 2005's infinite dSTIM/dt);
# 0.1 and 0.2 s are our choice of slower rises, not their values (which we did not check).


def add_arguments(parser: argparse.ArgumentParser) -> None:

    parser.add_argument("--task", default="Pedal", choices=list(TASK_CONFIG), help="the task trained")
    parser.add_argument("--timesteps", type=int, default=150_000, help="training steps per energy weight")
    parser.add_argument("--seeds", type=int, default=1, help="training seeds per energy weight")
    parser.add_argument(
        "--weights", type=float, nargs="+", default=list(ENERGY_WEIGHTS), help="energy weights of the reward"
    )
    parser.add_argument(
        "--ramp",
        type=float,
        nargs=3,
        metavar=("START", "HOLD", "RAMP"),
        help="raise each weight during training: from START, held for the HOLD share of the budget, over RAMP",
    )
    add_model_argument(parser)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    return energy_weight_experiment(
        args.task,
        args.out,
        weights=tuple(args.weights),
        timesteps=args.timesteps,
        seeds=args.seeds,
        model_path=args.model,
        ramp=tuple(args.ramp) if args.ramp else None,
    )
