"""The learning table (docs/results/learning.md): each task's default config trained with its default
budget over seeds, evaluated against the zero and random baselines and, where one is stored, the
task's ceiling. The trials run on the sweep machinery (Ray tasks, one record per trial, a restart runs
only what has no record). Rerun with `neuroleg learning --seeds N --out docs/results/learning.md`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neuroleg.envs.tasks.squat_jump import COUNTERMOVEMENT_TOLERANCE_M

from .ceilings import EVALUATION_SEED, Ceiling, applies_to, stored_ceiling
from .config import load_config, resolve_config, validate_config
from .provenance import results_page
from .runs import write_text_atomic
from .summary import CONFIDENCE, format_ci, values
from .sweep import named_trial, run_trials, trials_at_once

# The page's rows: each task's default config, and the countermovement jump (SquatJump from standing).
# Posture's is SAC: PPO reached 22 % of its ceiling at 300k steps and 33 % at 900k, not following the
# ankle's height, which SAC follows as the ceiling does (docs/results/sweeps/, posture_following).
LEARNING_ROWS = {
    "Posture": "posture_sac",
    "SquatJump": "squatjump_ppo",
    "CMJ": "squatjump_cmj_ppo",
    "Hop": "hop_ppo",
    "Pedal": "pedal_ppo",
}
BASELINES = ("zero", "random")  # evaluated once per task, beside its first seed: they do not learn
# The economy the policies should reach (the project's targets), as means over seeds: task ->
# (fraction of the ceiling's score at least, energy per unit over the ceiling's at most; None: no
# energy target, Posture's is precision alone).
ECONOMY_TARGETS: dict[str, tuple[float, float | None]] = {
    "SquatJump": (0.97, 1.0),
    "CMJ": (0.90, None),
    "Hop": (0.95, 1.1),
    "Pedal": (0.95, 1.25),
    "Posture": (0.80, None),
}
# A task figure whose mean over seeds must also reach a floor for the target to be met: row -> (info
# key, the floor; None: the ceiling's figure). Hop's flights must be the ceiling's size or larger (a
# bounce on the toes scores hop height too); the countermovement jump must dip past the 3 cm beyond
# which the task calls a squat jump a countermovement one.
TARGET_FLOORS: dict[str, tuple[str, float | None]] = {
    "Hop": ("hop_flight_height_m", None),
    "CMJ": ("dip_m", COUNTERMOVEMENT_TOLERANCE_M),
}
# Where a target is not met, the page names what was tried: row -> the results pages that looked for
# what stands in the way (relative to docs/results/, where the learning page lives).
EVIDENCE = {
    "Posture": (
        "sweeps/posture_budget.md",
        "sweeps/posture_exploration.md",
        "sweeps/posture_sac.md",
        "experiments/posture_following.md",
    )
}
# Task figures the page lists beside the ceiling's: row -> (info key, label, scale to the label's unit).
REPORTED_METRICS = {
    "CMJ": (("dip_m", "dip (cm)", 100.0), ("jump_height_m", "jump height (cm)", 100.0)),
    "Hop": (("hop_flight_height_m", "flight height (mm)", 1000.0), ("hop_height_m", "hop height (mm)", 1000.0)),
}


def learning_trials(
    tasks: list[str], seeds: list[int], overrides: list[str], ceilings: Path | None
) -> list[dict[str, Any]]:
    """One trial per row of LEARNING_ROWS (`tasks`) and seed, each config validated before any trains.
    A trial's id names its config, seed and (by a hash) the resolved config and environment version, so
    that a rerun with another budget, an edited config or on a new version does not reuse old records."""
    out = []
    for task in tasks:
        name = LEARNING_ROWS[task]
        for seed in seeds:
            cfg = load_config(resolve_config(name), [*overrides, f"seed={seed}"])
            baselines = list(BASELINES) if seed == seeds[0] else []
            where = str(ceilings) if ceilings else None
            trial = named_trial(name, {"task": task}, seed, cfg, baselines=baselines, ceilings=where)
            out.append({**trial, "cpus": cfg.n_envs})  # a trial takes one CPU per environment
    return out


def graded(
    records: list[dict[str, Any]], todo: list[dict[str, Any]], found: dict[str, Ceiling | None]
) -> list[dict[str, Any]]:
    """The records, those evaluated before their task's ceiling was stored graded against it as
    `evaluate_run` grades (the mean score over the evaluation's episodes, EVALUATION_SEED on, over the
    ceiling's over the same episodes; its energy likewise): the page grades every seed alike."""
    configs = {t["id"]: t["config"] for t in todo}
    out = []
    for r in records:
        ceiling, config = found.get(r.get("task", "")), configs.get(r["trial"])
        if r["status"] != "ok" or r.get("fraction_of_ceiling", "") != "" or ceiling is None or config is None:
            out.append(r)
            continue
        cfg = validate_config(config)
        held = ceiling.over(EVALUATION_SEED, cfg.eval_episodes)
        if held is None or held[0] <= 0 or not applies_to(cfg.env.task, cfg.env.env_kwargs(), ceiling.task_args):
            out.append(r)
            continue
        score, energy = held
        out.append(
            {
                **r,
                "fraction_of_ceiling": float(r["task_score"]) / score,
                "energy_to_ceiling": float(r["energy_per_unit_j"]) / energy,
            }
        )
    return out


def _ok(records: list[dict[str, Any]], wanted: set[str], task: str) -> list[dict[str, Any]]:
    return [r for r in records if r["trial"] in wanted and r["task"] == task and r["status"] == "ok"]


def targets_table(
    records: list[dict[str, Any]],
    wanted: set[str],
    tasks: list[str],
    ceiling_metrics: dict[str, dict[str, float]],
    tried: dict[str, str] | None = None,
) -> str:
    """Each task's economy target, the means over its seeds, and whether they meet it
    (`ceiling_metrics`: task -> its ceiling's figures, for TARGET_FLOORS; `tried`: task -> what was
    tried where its target is not met, a link for the page)."""
    from .experiments import markdown_table

    tried = tried or {}
    rows = []
    for task in tasks:
        ok = _ok(records, wanted, task)
        fractions = values(ok, "fraction_of_ceiling")
        ratios = values(ok, "energy_to_ceiling")
        if task not in ECONOMY_TARGETS:
            rows.append({"task": task, "target": "needs a ceiling", "mean over seeds": "-", "met": "-"})
            continue
        least, most = ECONOMY_TARGETS[task]
        target = f">= {least:.0%} of the ceiling" + ("" if most is None else f" at <= {most:g}x its energy")
        row = {"task": task, "target": target}
        if task in TARGET_FLOORS:
            key, fixed = TARGET_FLOORS[task]
            row["target"] += f", {key} at least " + ("the ceiling's" if fixed is None else f"{fixed:g}")
        if not fractions or not ratios:  # no trial of it finished, or its body has no ceiling
            rows.append({**row, "mean over seeds": "-", "met": "-"})
            continue
        fraction, ratio = float(np.mean(fractions)), float(np.mean(ratios))
        met = fraction >= least and (most is None or ratio <= most)
        mean = f"{fraction:.0%}" + ("" if most is None else f" at {ratio:.2f}x")
        if task in TARGET_FLOORS:
            key, fixed = TARGET_FLOORS[task]
            figures = values(ok, f"metric_{key}")
            floor = ceiling_metrics.get(task, {}).get(key) if fixed is None else fixed
            if figures and floor is not None:
                mean += (
                    f", {key} {np.mean(figures) / floor:.1f}x the ceiling's"
                    if fixed is None
                    else f", {key} {np.mean(figures):.3g}"
                )
                met = met and float(np.mean(figures)) >= floor
            else:  # records from before the figure was kept, or no ceiling figure: not shown to be met
                mean += f", {key} not recorded"
                met = False
        rows.append({**row, "mean over seeds": mean, "met": "yes" if met else "no"})
        if not met and task in tried:
            rows[-1]["what was tried"] = tried[task]
    return "Economy targets, means over the seeds above:\n\n" + markdown_table(rows)


def metrics_table(
    records: list[dict[str, Any]], wanted: set[str], tasks: list[str], ceiling_metrics: dict[str, dict[str, float]]
) -> str:
    """REPORTED_METRICS of each task: mean and confidence interval over seeds, and the ceiling's."""
    from .experiments import markdown_table

    rows = []
    for task in tasks:
        for key, label, scale in REPORTED_METRICS.get(task, ()):
            figures = values(_ok(records, wanted, task), f"metric_{key}", scale)
            ceiling = ceiling_metrics.get(task, {}).get(key)
            rows.append(
                {
                    "task": task,
                    "figure": label,
                    "policy": format_ci(figures, ".1f"),
                    "ceiling": "-" if ceiling is None else f"{ceiling * scale:.1f}",
                }
            )
    return "Task figures, means over the seeds above:\n\n" + markdown_table(rows) if rows else ""


def tried_pages(out: Path | None) -> dict[str, str]:
    """EVIDENCE as links from a page at `out` where the linked page is beside it, else as paths."""

    def cite(page: str) -> str:
        return f"[{Path(page).stem}]({page})" if out is not None and (out.parent / page).is_file() else f"`{page}`"

    return {task: ", ".join(cite(page) for page in pages) for task, pages in EVIDENCE.items()}


def learning_table(
    runs_root: Path,
    tasks: list[str],
    out: Path | None = None,
    overrides: list[str] | None = None,
    ceilings: Path | None = None,
    seeds: int = 1,
    address: str | None = None,
) -> str:
    """Train and evaluate each task's default config with seeds 0..seeds-1, `overrides` (e.g.
    `env.model_path=FILE`, `total_timesteps=N`) applied to every one; `ceilings`: a folder of that
    body's ceilings (`optimize --model`), the packaged ones otherwise. Records and runs go to
    `runs_root`; the table (mean and 95 % confidence interval over seeds) is returned and written to
    `out` when given. A task without a ceiling for the run's body shows "-"."""
    overrides = overrides or []
    todo = learning_trials(tasks, list(range(seeds)), overrides, ceilings)
    configs = {t["point"]["task"]: validate_config(t["config"]) for t in todo}  # each row's, seed aside
    found = {row: stored_ceiling(c.env.task, c.env.env_kwargs(), ceilings) for row, c in configs.items()}
    records = graded(run_trials(todo, runs_root, ["task"], 1, address), todo, found)  # each names its CPUs
    wanted = {t["id"] for t in todo}
    rows = []
    for task in tasks:
        mine = [r for r in records if r["trial"] in wanted and r["task"] == task]
        ok = [r for r in mine if r["status"] == "ok"]
        base = next((r for r in ok if "zero_task_score" in r), {})

        config = configs[task]
        rows.append(
            {
                "task": task,
                "config": LEARNING_ROWS[task],
                "seeds (ok of run)": f"{len(ok)} of {len(mine)}",
                "steps": config.total_timesteps,
                "CPUs": config.n_envs,
                "train time (min)": format_ci(values(ok, "train_time_s", 1 / 60), ".0f"),
                "score: policy": format_ci(values(ok, "task_score"), ".3f"),
                "of ceiling": format_ci(values(ok, "fraction_of_ceiling"), ".0f", percent=True),
                "energy per unit (J)": format_ci(values(ok, "energy_per_unit_j"), ".0f"),
                "energy / ceiling's": format_ci(values(ok, "energy_to_ceiling"), ".2f"),
                "energy term's share of reward": format_ci(values(ok, "reward_energy_share"), ".1f", percent=True),
                "score: zero": f"{base['zero_task_score']:.3f}" if base else "-",
                "score: random": f"{base['random_task_score']:.3f}" if base else "-",
                "energy: zero (J)": f"{base['zero_energy_per_unit_j']:.0f}" if base else "-",
                "energy: random (J)": f"{base['random_energy_per_unit_j']:.0f}" if base else "-",
            }
        )
    from .experiments import markdown_table  # the experiments' table format

    ceiling_metrics = {task: c.metrics for task, c in found.items() if c is not None}
    table = "\n\n".join(
        part
        for part in (
            markdown_table(rows),
            targets_table(records, wanted, tasks, ceiling_metrics, tried_pages(out)),
            metrics_table(records, wanted, tasks, ceiling_metrics),
        )
        if part
    )
    failed = [r for r in records if r["trial"] in wanted and r["status"] != "ok"]
    notes = "".join(f"\n\nFailed: {r['trial']}: {r['error']}" for r in failed)
    if out is not None:
        given = dict(o.split("=", 1) for o in overrides)  # the options the command line turned into these
        command = f"neuroleg learning --seeds {seeds} --tasks {' '.join(tasks)}"
        command += f" --model {given['env.model_path']}" if "env.model_path" in given else ""
        command += f" --timesteps {given['total_timesteps']}" if "total_timesteps" in given else ""
        body = (
            f"Mean +- half-width of the {CONFIDENCE:.0%} confidence interval over seeds (Student's t); "
            f"baselines from the first seed's evaluation. Train times are wall-clock, each trial on its "
            f"row's CPUs (one per environment), {trials_at_once(None, address)}, with whatever else the machine "
            f"ran beside them.\n\n{table}{notes}"
        )
        write_text_atomic(out, results_page("Learning: each task's default config", command, body, out.parent))
    return table + notes
