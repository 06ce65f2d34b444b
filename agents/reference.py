"""Reference policies: one trained policy per task ships with the package, so that a user can
evaluate, render and compare without training first, and so that a change to the simulator that moves
a reference policy's figures is seen (a test re-evaluates each against its card).

A reference is a run folder (config.yaml, model.zip, vecnormalize.json) with `card.json`: how it was
trained (config, steps, seed, train time, environment version, commit, date) and what its evaluation
gave (the policy's and the baselines' figures, the fraction of the ceiling). `neuroleg reference TASK`
copies one into a folder of runs; `load_reference(TASK)` loads one as `neuroleg.load_run` does.
`python -m neuroleg.scripts.package_reference RUN` makes one from a trained run (maintainers).
"""

from __future__ import annotations

import json
import shutil
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuroleg import __version__
from neuroleg.envs import ENV_VERSION

from .ceilings import EVALUATION_SEED  # evaluate_run's default: the card's figures are what `neuroleg evaluate` gives
from .config import TASK_CONFIG, RunConfig, load_config, packaged_configs, resolve_config
from .normalization import STATS_FILE
from .provenance import git_commit
from .runs import RunDir, write_json_atomic

if TYPE_CHECKING:
    from .loading import LoadedRun

CARD = "card.json"
FILES = ("config.yaml", "model.zip", STATS_FILE, CARD)
CARD_FIGURES = ("task_score", "energy_per_unit_j", "return")  # compared by the test, mean over episodes
# How close a re-evaluation must come to a card's figures to be the same (the simulation is
# deterministic: the slack is for floating-point summation order across numpy builds).
CARD_RTOL, CARD_ATOL = 1e-6, 1e-9


def packaged(task: str) -> Path:
    """The installed folder of `task`'s reference policy."""
    if task not in TASK_CONFIG:
        raise ValueError(f"no reference policy for {task!r}; there is one per task: {sorted(TASK_CONFIG)}")
    folder = Path(str(resources.files("neuroleg.references").joinpath(task.lower())))
    if not (folder / CARD).is_file():
        raise FileNotFoundError(f"{folder}: the reference policy of {task} is not installed")
    return folder


def card(task: str) -> dict[str, Any]:
    return json.loads((packaged(task) / CARD).read_text())


def load_reference(task: str) -> LoadedRun:
    """`task`'s reference policy, ready to act (`LoadedRun.make_env`, `.predict`)."""
    from .loading import load_run

    return load_run(packaged(task))


def reference_run(task: str, into: Path) -> Path:
    """Copy `task`'s reference policy into `into` (a new folder): a run folder that `neuroleg evaluate`,
    `report` and `render` take."""
    source = packaged(task)
    if into.exists() and (not into.is_dir() or any(into.iterdir())):
        raise FileExistsError(f"{into} exists and is not an empty folder; give a new one")
    into.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(source / name, into / name)
    return into


def evaluation_figures(result: dict[str, Any]) -> dict[str, Any]:
    """What a card records of an evaluation (evaluate_run's result)."""

    def figures(summary: dict[str, Any]) -> dict[str, float]:
        out = {key: summary[key]["mean"] for key in CARD_FIGURES}
        if "fraction_of_ceiling" in summary:
            out["fraction_of_ceiling"] = summary["fraction_of_ceiling"]
        return out

    return {
        "episodes": result["policy"]["episodes"],
        "seed": result["seed"],
        "policy": figures(result["policy"]),
        "baselines": {name: figures(s) for name, s in result["baselines"].items()},
        "ceiling": result.get("ceiling"),
    }


def config_name(cfg: RunConfig) -> str:
    """The packaged config the run's config is (its run name aside), else "custom" (config.yaml has it)."""
    mine = cfg.model_dump(exclude={"name"})
    for name in packaged_configs():
        if load_config(resolve_config(name)).model_dump(exclude={"name"}) == mine:
            return name
    return "custom"


def package_reference(run_path: Path, dest_root: Path, train_seconds: float | None = None) -> Path:
    """Make the reference of the run's task in dest_root/<task>/ from a trained run: its config, final
    model and statistics, and a card with its evaluation (done on the packaged copy)."""
    commit = git_commit()  # before the reference's tracked files change: the code it was packaged with
    run = RunDir(run_path)
    cfg = run.config()
    if cfg.env.model_path is not None:
        raise ValueError("a reference policy is trained on the packaged body (the run names a model file of its own)")
    model, stats = run.final_model()
    if stats is None:
        raise ValueError(f"{run.path}: a reference policy keeps its normalisation statistics; the run has none")
    dest = dest_root / cfg.env.task.lower()
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copyfile(run.config_path, dest / "config.yaml")
    shutil.copyfile(model, dest / "model.zip")
    shutil.copyfile(stats, dest / STATS_FILE)
    result = evaluate_packaged(dest)
    write_json_atomic(
        dest / CARD,
        {
            "task": cfg.env.task,
            "config": config_name(cfg),
            "algorithm": cfg.algo.name,
            "total_timesteps": cfg.total_timesteps,
            "seed": cfg.seed,
            "train_seconds": train_seconds,
            "env_version": ENV_VERSION,
            "neuroleg": __version__,
            "commit": commit,
            "date": time.strftime("%Y-%m-%d"),
            "evaluation": evaluation_figures(result),
        },
    )
    return dest


def evaluate_packaged(folder: Path, episodes: int | None = None) -> dict[str, Any]:
    """evaluate_run of a reference folder, on a scratch copy beside it (evaluation writes into a run
    folder; the reference keeps only its files)."""
    from .evaluate import evaluate_run

    scratch = folder.parent / f".{folder.name}_evaluation"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(folder, scratch)
    try:
        return evaluate_run(RunDir(scratch), episodes=episodes, seed=EVALUATION_SEED)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _carried(c: dict[str, Any]) -> str:
    """How a card came to hold on its version (carry_over's check, or the figures written anew), if
    not trained on it."""
    co = c.get("reevaluated") or c.get("carried_over")
    return f" (re-evaluated at {co['commit']}, {co['date']})" if co else ""


def card_text(task: str) -> str:
    """A reference's card in a few lines."""
    c = card(task)
    ev = c["evaluation"]
    p = ev["policy"]
    lines = [
        f"{c['task']} reference policy: {c['config']} ({c['algorithm']}), {c['total_timesteps']} steps, "
        f"seed {c['seed']}, env v{c.get('trained_at_env_version', c['env_version'])} (neuroleg {c['neuroleg']}, "
        f"commit {c['commit']}, {c['date']}); holds on env v{c['env_version']}{_carried(c)}",
        f"evaluation, {ev['episodes']} deterministic episodes: score {p['task_score']:.3f}"
        + (f" ({p['fraction_of_ceiling']:.0%} of the ceiling)" if "fraction_of_ceiling" in p else "")
        + f", energy per unit {p['energy_per_unit_j']:.0f} J",
    ]
    for name, b in ev["baselines"].items():
        lines.append(f"  {name} drive: score {b['task_score']:.3f}, energy per unit {b['energy_per_unit_j']:.0f} J")
    return "\n".join(lines)


def references_page(dest_root: Path, command: str, commit: str | None = None) -> str:
    """The results page of every reference in dest_root: how each was trained and what it gives
    (`commit`: provenance.stamp's)."""
    from .experiments import markdown_table
    from .provenance import results_page

    rows = []
    for path in sorted(dest_root.glob(f"*/{CARD}")):
        c = json.loads(path.read_text())
        ev, p = c["evaluation"], c["evaluation"]["policy"]
        base = ev["baselines"]
        minutes = f"{c['train_seconds'] / 60:.0f}" if c.get("train_seconds") else "-"
        rows.append(
            {
                "task": c["task"],
                "config": c["config"],
                "steps": c["total_timesteps"],
                "seed": c["seed"],
                "train time (min)": minutes,
                "score": f"{p['task_score']:.3f}",
                "of ceiling": f"{p['fraction_of_ceiling']:.0%}" if "fraction_of_ceiling" in p else "-",
                "energy per unit (J)": f"{p['energy_per_unit_j']:.0f}",
                "score: zero / random": " / ".join(f"{base[b]['task_score']:.3f}" for b in ("zero", "random")),
                "trained at": f"env v{c.get('trained_at_env_version', c['env_version'])}, {c['commit']}, {c['date']}",
                "holds on": f"env v{c['env_version']}" + _carried(c),
            }
        )
    body = (
        "One policy per task, trained with the task's default config and packaged with the library "
        "(`neuroleg reference TASK` copies one into a run folder; `load_reference(TASK)` loads one). "
        f"Figures: deterministic evaluation over each card's episodes, seed {EVALUATION_SEED}. One seed each: "
        "the learning table gives the spread over seeds.\n\n" + markdown_table(rows)
    )
    return results_page("Reference policies", command, body, dest_root, commit)
