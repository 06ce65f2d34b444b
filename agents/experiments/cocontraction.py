"""Co-contraction: energy per unit of a trained policy with added antagonist co-activation."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from neuroleg.envs.physiology import MUSCLE_NAMES, antagonist_pairs, load_model
from neuroleg.envs.tasks import TASKS

from ..provenance import results_page
from ..report import pyplot, save_figure
from ..runs import RunDir, write_json_atomic, write_text_atomic
from .common import markdown_table

NAME = "cocontraction"
HELP = "a trained policy with antagonist co-activation added"

COACTIVATION_LEVELS = (0.0, 0.1, 0.2, 0.3)  # drive added to every muscle of an agonist/antagonist pair


def cocontraction_experiment(
    run_path: Path, out: Path, levels: tuple[float, ...] = COACTIVATION_LEVELS, episodes: int = 3, seed: int = 10_000
) -> list[dict[str, Any]]:
    """A trained policy with extra co-activation of its antagonist pairs: what it costs per unit of task."""

    from ..evaluate import model_policy, run_episodes, summarise  # deferred: loads torch and stable-baselines3

    run = RunDir(run_path)
    cfg = run.config()
    policy = model_policy(run, cfg)
    paired = {m for _, a, b in antagonist_pairs(load_model(cfg.env.model_path)) for m in (a, b)}  # the run's body
    mask = np.array([1.0 if m in paired else 0.0 for m in MUSCLE_NAMES])
    rows = []
    for level in levels:

        def with_coactivation(obs: np.ndarray, start: bool, level: float = level) -> np.ndarray:
            return np.clip(policy(obs, start) + level * mask, 0.0, 1.0)

        s = summarise(run_episodes(cfg, with_coactivation, episodes, seed), cfg)
        rows.append(
            {
                "added_coactivation": level,
                "task_score": s["task_score"]["mean"],
                "energy_per_unit_j": s["energy_per_unit_j"]["mean"],
                "metabolic_energy_j": s["metabolic_energy_j"]["mean"],
                "mean_cci": float(np.mean(list(s["cci"].values()))),
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "cocontraction.json", rows)
    write_text_atomic(
        out / "cocontraction.md",
        results_page(
            f"Added co-contraction: {cfg.env.task} policy of {run.path.name}",
            "neuroleg experiment cocontraction",
            markdown_table(rows),
            out,
        ),
    )
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
    x = [r["added_coactivation"] for r in rows]
    left.plot(x, [r["energy_per_unit_j"] for r in rows], "o-")
    left.set_ylabel(f"energy per {TASKS[cfg.env.task].unit} (J)")
    right.plot(x, [r["task_score"] for r in rows], "o-", label="task score")
    right.plot(x, [r["mean_cci"] / 100.0 for r in rows], "s--", label="mean CCI / 100")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.set_xlabel("added co-activation of antagonist pairs")
    fig.suptitle(f"{cfg.env.task} policy with added co-contraction", fontsize=9)
    save_figure(fig, out / "cocontraction.png")
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="a trained run folder (its own model file is used)")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    return cocontraction_experiment(Path(args.run), args.out)
