"""`neuroleg tune TUNE.yaml`: hyperparameter search with Optuna, its trials in parallel on Ray.

A tune file names a base config, the parameters to search (override keys, as `neuroleg train` takes
them, with a range or a list of choices), the number of trials and the objective: the task score
(maximised, with trials pruned on the training episodes' score at intermediate points), or the task
score and the energy per unit together (the Pareto front; Optuna cannot prune multi-objective
trials). The study lives in Optuna's storage: a journal file in the output folder by default (many
processes on one machine), or a database URL (`--storage`, many machines). Started again, a study
continues until it has its number of finished trials. Each trial trains and evaluates a run folder
in `OUT/runs/`; `OUT/tune.md` lists the best trials. Optuna and Ray are the `[distributed]` extra.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import deque
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from stable_baselines3.common.callbacks import BaseCallback

from .config import ConfigError, apply_overrides, read_yaml, resolve_config, validate_config
from .experiments import markdown_table
from .provenance import results_page
from .runs import RunDir, write_text_atomic

SCORE_WINDOW_EPISODES = 20  # the pruner sees the mean score of the last this many training episodes


class Param(BaseModel):
    """A searched value: a range (`low`, `high`, optionally `log`, `integer`) or `choices`."""

    model_config = ConfigDict(extra="forbid", strict=True)
    low: float | None = None
    high: float | None = None
    log: bool = Field(False, description="sample uniformly in log space (learning rates)")
    integer: bool = Field(False, description="whole numbers only (n_steps, batch sizes)")
    choices: list[Any] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _range_or_choices(self) -> Param:
        if self.choices is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give either low and high or choices, not both")
        elif self.low is None or self.high is None or not self.low < self.high:
            raise ValueError("a range needs low < high (or give choices)")
        elif self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        return self


class TuneFile(BaseModel):
    """What a tune file holds."""

    model_config = ConfigDict(extra="forbid", strict=True)
    base: str = Field(description="a packaged config name or a config file (relative to the tune file)")
    params: dict[str, Param] = Field(min_length=1, description="override key -> range or choices")
    trials: int = Field(20, ge=1, le=10_000, description="finished trials the study runs to")
    objective: Literal["score", "score_energy"] = Field(
        "score", description="score: maximise the task score; score_energy: the Pareto front of score and energy"
    )
    prune: bool = Field(True, description="stop unpromising trials early (objective score only)")
    reports: int = Field(4, ge=1, le=100, description="intermediate points per trial the pruner judges")
    workers: int = Field(1, ge=1, le=256, description="trials at once (Ray tasks); 1 runs in this process")
    seed: int = Field(0, ge=0, description="the sampler's seed")


def load_tune(path: Path) -> TuneFile:
    try:
        return TuneFile.model_validate(read_yaml(path) or {})
    except ValidationError as err:
        problems = [(".".join(str(p) for p in e["loc"]) or "<root>", e["msg"]) for e in err.errors()]
        raise ConfigError(str(path), problems) from None


class ReportScore(BaseCallback):
    """Reports the training episodes' mean task score to the trial at `reports` points; stops
    training (returns False) when the pruner says so."""

    def __init__(self, trial: Any, total: int, reports: int) -> None:
        super().__init__()
        self.trial = trial
        self.every = max(total // reports, 1)
        self.scores: deque[float] = deque(maxlen=SCORE_WINDOW_EPISODES)
        self.next = self.every
        self.pruned = False

    def _on_step(self) -> bool:
        for done, info in zip(self.locals["dones"], self.locals["infos"], strict=True):
            if done and "task_score" in info:
                self.scores.append(float(info["task_score"]))
        if self.num_timesteps >= self.next and self.scores:
            self.next += self.every
            self.trial.report(sum(self.scores) / len(self.scores), self.num_timesteps)
            if self.trial.should_prune():
                self.pruned = True
                return False
        return True


def base_data(path: Path, spec: TuneFile) -> tuple[Path, dict[str, Any]]:
    """The base config's file and contents (a relative path is read beside the tune file)."""
    is_path = "/" in spec.base or Path(spec.base).suffix != ""
    base_path = resolve_config(str(path.parent / spec.base) if is_path else spec.base)
    return base_path, read_yaml(base_path) or {}


def check_params(spec: TuneFile, base: dict[str, Any], origin: str) -> None:
    """Each parameter's extremes make a valid config: a typo in a key is named before any trial runs."""
    for key, p in spec.params.items():
        for value in p.choices if p.choices is not None else [p.low, p.high]:
            if p.integer and p.choices is None:
                value = int(value)  # type: ignore[arg-type]
            validate_config(apply_overrides(base, [f"{key}={json.dumps(value)}"]), f"{origin}: {key}={value}")


def suggest(trial: Any, key: str, p: Param) -> Any:
    if p.choices is not None:
        return trial.suggest_categorical(key, p.choices)
    assert p.low is not None and p.high is not None
    if p.integer:
        return trial.suggest_int(key, math.ceil(p.low), math.floor(p.high), log=p.log)
    return trial.suggest_float(key, p.low, p.high, log=p.log)


def objective_fn(spec: TuneFile, base: dict[str, Any], runs: Path) -> Any:
    def objective(trial: Any) -> float | tuple[float, float]:
        import optuna

        from .evaluate import evaluate_run
        from .train import train

        values = {key: suggest(trial, key, p) for key, p in spec.params.items()}
        cfg = validate_config(apply_overrides(base, [f"{k}={json.dumps(v)}" for k, v in values.items()]))
        name = f"trial_{trial.number:04d}"
        shutil.rmtree(runs / name, ignore_errors=True)  # what an interrupted attempt of this trial left
        run = RunDir.create(cfg, runs, name)
        trial.set_user_attr("run", str(run.path))
        # Optuna prunes single-objective studies only
        pruning = spec.prune and spec.objective == "score"
        reporter = ReportScore(trial, cfg.total_timesteps, spec.reports) if pruning else None
        train(cfg, run, progress=False, callbacks=[reporter] if reporter is not None else [])
        if reporter is not None and reporter.pruned:
            raise optuna.TrialPruned(f"pruned at step {reporter.num_timesteps}")
        p = evaluate_run(run, baselines=())["policy"]
        score, energy = p["task_score"]["mean"], p["energy_per_unit_j"]["mean"]
        trial.set_user_attr("energy_per_unit_j", energy)
        trial.set_user_attr("task_score", score)
        if "fraction_of_ceiling" in p:
            trial.set_user_attr("fraction_of_ceiling", p["fraction_of_ceiling"])
        return score if spec.objective == "score" else (score, energy)

    return objective


def storage_for(out: Path, url: str | None) -> Any:
    """A database URL as given; otherwise a journal file in `out`, which processes on one machine share."""
    if url:
        return url
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    out.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(out / "study.journal")))


def study_options(spec: TuneFile, worker: int = 0) -> dict[str, Any]:
    """The sampler (TPE for the score, NSGA-II for the Pareto front; seeded per worker, so that workers
    do not propose the same points) and the pruner (median of the trials so far at the same step)."""
    import optuna

    seed = spec.seed + worker
    sampler = (
        optuna.samplers.TPESampler(seed=seed) if spec.objective == "score" else optuna.samplers.NSGAIISampler(seed=seed)
    )
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2) if spec.prune else optuna.pruners.NopPruner()
    return {"sampler": sampler, "pruner": pruner}


def run_worker(path: str, out: str, storage_url: str | None, study_name: str, worker: int = 0) -> int:
    """Run trials of the study until it has its number of finished ones (in a Ray task or here)."""
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    spec = load_tune(Path(path))
    _, base = base_data(Path(path), spec)
    storage = storage_for(Path(out), storage_url)
    study = optuna.load_study(study_name=study_name, storage=storage, **study_options(spec, worker))
    finished = (TrialState.COMPLETE, TrialState.PRUNED)
    left = spec.trials - len(study.get_trials(deepcopy=False, states=finished))
    if left > 0:
        study.optimize(
            objective_fn(spec, base, Path(out) / "runs"),
            callbacks=[MaxTrialsCallback(spec.trials, states=finished)],
            catch=(Exception,),  # a failing trial is recorded as failed and the study goes on
        )
    return len(study.trials)


def tune(path: Path, out: Path, storage: str | None = None, address: str | None = None) -> Path:
    """Run (or continue) the tune file's study; returns the page of its best trials."""
    try:
        import optuna  # the [distributed] extra
    except ImportError:
        raise RuntimeError("neuroleg tune runs on Optuna and Ray: pip install 'neuroleg[distributed]'") from None
    spec = load_tune(path)
    base_path, base = base_data(path, spec)
    check_params(spec, base, str(path))
    name = path.stem
    directions = ["maximize"] if spec.objective == "score" else ["maximize", "minimize"]
    study = optuna.create_study(
        study_name=name, storage=storage_for(out, storage), directions=directions, load_if_exists=True
    )
    if len(study.directions) != len(directions):
        raise ValueError(
            f"the study {name!r} in {out} was started with another objective; give another --out for objective "
            f"{spec.objective!r}"
        )
    if spec.workers > 1 or address is not None:
        try:
            import ray  # noqa: F401 - the [distributed] extra
        except ImportError:
            raise RuntimeError("parallel trials run on Ray: pip install 'neuroleg[distributed]'") from None
    if spec.workers == 1 and address is None:
        run_worker(str(path), str(out), storage, name)
    else:
        _on_ray(spec, path, out, storage, name, address, base_path)
    return write_page(path, out, storage, name, spec)


def _on_ray(
    spec: TuneFile, path: Path, out: Path, storage: str | None, name: str, address: str | None, base_path: Path
) -> None:
    import ray

    from .config import load_config
    from .sweep import cancelled_on_interrupt, ray_cluster

    with ray_cluster(address):
        task = ray.remote(num_cpus=load_config(base_path).n_envs)(run_worker)
        refs = [task.remote(str(path.resolve()), str(out.resolve()), storage, name, w) for w in range(spec.workers)]
        with cancelled_on_interrupt(refs):
            ray.get(refs)


def write_page(path: Path, out: Path, storage: str | None, name: str, spec: TuneFile) -> Path:
    """`OUT/tune.md`: the best trial (score) or the Pareto front (score and energy), then every trial."""
    import optuna

    study = optuna.load_study(study_name=name, storage=storage_for(out, storage))

    def row(t: Any) -> dict[str, Any]:
        return {
            "trial": t.number,
            "state": t.state.name.lower(),
            **{k: t.params.get(k, "") for k in spec.params},
            "task score": t.user_attrs.get("task_score", ""),
            "energy per unit (J)": t.user_attrs.get("energy_per_unit_j", ""),
            "run": t.user_attrs.get("run", ""),
        }

    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = study.best_trials if done else []
    title = "Best trial" if spec.objective == "score" else "Pareto front (task score up, energy per unit down)"
    lines = [f"Study `{name}`, objective `{spec.objective}`, {len(study.trials)} trials.", ""]
    lines += [f"## {title}", "", markdown_table([row(t) for t in best]) if best else "No finished trial.", ""]
    lines += ["## Every trial", "", markdown_table([row(t) for t in study.trials]), ""]
    page = out / "tune.md"
    write_text_atomic(page, results_page(f"Tune: {path.name}", f"neuroleg tune {path.name}", "\n".join(lines), out))
    return page
