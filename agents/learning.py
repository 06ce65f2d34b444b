"""The learning table (docs/results/learning.md): each task's default config trained with its default budget,
evaluated against the zero and random baselines and, where one is stored, the task's ceiling.
Rerun with `neuroleg learning`."""

from __future__ import annotations

import time
from pathlib import Path

from .config import TASK_CONFIG, load_config, resolve_config
from .evaluate import evaluate_run
from .provenance import results_page
from .runs import RunDir, write_text_atomic
from .train import train

DEFAULT_ALGO = "ppo"


def learning_table(
    runs_root: Path,
    tasks: list[str],
    out: Path | None = None,
    overrides: list[str] | None = None,
    ceilings: Path | None = None,
) -> str:
    """Train and evaluate each task's default config, with `overrides` (e.g. `env.model_path=FILE`,
    `total_timesteps=N`) applied to every one; `ceilings`: a folder of that body's ceilings (`optimize
    --model`), the packaged ones otherwise. A task without a ceiling for the run's body shows "-"."""
    cfgs = {t: load_config(resolve_config(f"{TASK_CONFIG[t]}_{DEFAULT_ALGO}"), overrides or []) for t in tasks}
    rows = [
        "| task | steps | train time | score: policy | of ceiling | zero | random | "
        "energy per unit (J): policy | zero | random |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for task, cfg in cfgs.items():  # every config is checked before the first one trains
        run = RunDir.create(cfg, runs_root, f"{TASK_CONFIG[task]}_{DEFAULT_ALGO}_{time.strftime('%Y%m%d_%H%M%S')}")
        start = time.perf_counter()
        train(cfg, run, progress=False)
        minutes = (time.perf_counter() - start) / 60
        res = evaluate_run(run, baselines=("zero", "random"), ceilings=ceilings)
        p, z, r = res["policy"], res["baselines"]["zero"], res["baselines"]["random"]
        fraction = f"{p['fraction_of_ceiling']:.0%}" if "fraction_of_ceiling" in p else "-"
        rows.append(
            f"| {task} | {cfg.total_timesteps} | {minutes:.0f} min | {p['task_score']['mean']:.3f} | {fraction} | "
            f"{z['task_score']['mean']:.3f} | {r['task_score']['mean']:.3f} | {p['energy_per_unit_j']['mean']:.0f} | "
            f"{z['energy_per_unit_j']['mean']:.0f} | {r['energy_per_unit_j']['mean']:.0f} |"
        )
    table = "\n".join(rows)
    if out is not None:
        given = dict(o.split("=", 1) for o in overrides or [])  # the options the command line turned into these
        command = f"neuroleg learning --tasks {' '.join(tasks)}"
        command += f" --model {given['env.model_path']}" if "env.model_path" in given else ""
        command += f" --timesteps {given['total_timesteps']}" if "total_timesteps" in given else ""
        write_text_atomic(out, results_page("Learning: each task's default PPO config", command, table, out.parent))
    return table
