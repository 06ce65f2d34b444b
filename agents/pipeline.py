"""Train-then-evaluate and the smoke check: the jobs the command line and CI run."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from .config import TASK_CONFIG, RunConfig, load_config, resolve_config
from .runs import RunDir


def train_and_evaluate(
    cfg: RunConfig,
    run_dir: Path | None,
    resume: bool,
    progress: bool,
    evaluate: bool,
    runs_root: Path,
    name: str | None,
) -> Path:
    from .evaluate import evaluate_run, format_table  # deferred: loads torch and stable-baselines3
    from .train import train  # deferred: torch and stable-baselines3 load only where a policy trains

    run = RunDir(run_dir) if resume and run_dir else RunDir.create(cfg, runs_root, name)
    start = time.perf_counter()
    train(cfg, run, resume=resume, progress=progress)
    print(f"trained {cfg.env.task} with {cfg.algo.name} in {time.perf_counter() - start:.0f} s -> {run.path}")
    if evaluate:
        print(format_table(evaluate_run(run)))
    return run.path


def _finite_numbers(obj: object) -> bool:
    if isinstance(obj, dict):
        return all(_finite_numbers(v) for v in obj.values())
    if isinstance(obj, list):
        return all(_finite_numbers(v) for v in obj)
    if isinstance(obj, float):
        return math.isfinite(obj)
    return obj is not None


def smoke(runs_root: Path, tasks: list[str]) -> list[str]:
    """Train every task briefly with its smoke config; return the problems found (empty = pass)."""
    from .report import make_report  # deferred: matplotlib

    problems = []
    for task in tasks:
        cfg = load_config(resolve_config(f"{TASK_CONFIG[task]}_smoke"))
        path = train_and_evaluate(cfg, None, False, False, True, runs_root, f"smoke_{TASK_CONFIG[task]}")
        run = RunDir(path)
        make_report(run)
        for needed in ("model.zip", "logs/progress.csv", "evaluation.json", "report/report.md", "config.yaml"):
            if not (path / needed).is_file():
                problems.append(f"{task}: missing {needed}")
        if not list(run.logs.glob("events.out.tfevents*")):
            problems.append(f"{task}: no TensorBoard log")
        result = json.loads(run.evaluation_path.read_text())
        if not _finite_numbers(result):
            problems.append(f"{task}: evaluation holds non-finite figures")
    return problems
