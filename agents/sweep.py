"""`neuroleg sweep SWEEP.yaml`: many train-and-evaluate trials on Ray, one machine or a cluster.

A sweep file names a base config, seeds, a grid of overrides (the keys `neuroleg train` takes on its
command line) and optionally random samples over ranges. Each trial is one Ray task with its CPUs
declared. Every finished trial leaves a record (`trials/<id>.json`, written atomically) and
`results.csv` is rewritten from the records after each one, so an interrupted sweep started again
skips what finished and runs only the rest. A trial that raises is recorded as failed and the others
go on. Ray is an extra: `pip install 'neuroleg[distributed]'`.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import itertools
import json
import math
import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from neuroleg.envs import ENV_VERSION
from neuroleg.envs.tasks import TASKS

from .config import (
    ConfigError,
    RunConfig,
    apply_overrides,
    load_config,
    read_yaml,
    resolve_config,
    validate_config,
)
from .runs import RunDir, write_json_atomic, write_text_atomic
from .sweep_page import plot_sweep, write_sweep_page

RECORDS = "trials"
RESULTS_CSV = "results.csv"
COLUMNS = (
    "trial",
    "seed",
    "status",
    "error",
    "task_score",
    "fraction_of_ceiling",
    "energy_per_unit_j",
    "energy_per_unit_j_per_kg",
    "oxygen_per_unit_ml_per_kg",
    "muscle_efficiency",
    "mean_cci",
    "reward_energy_share",
    "energy_to_ceiling",
    "train_time_s",
    "wall_time_s",
    "run",
)


class Range(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    low: float
    high: float
    log: bool = Field(False, description="sample uniformly in log space (learning rates)")


class SweepFile(BaseModel):
    """What a sweep file holds."""

    model_config = ConfigDict(extra="forbid", strict=True)
    base: str = Field(description="a packaged config name or a config file")
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1, description="seeds every point runs with")
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="override key -> values, all combined")
    samples: int = Field(
        0, ge=0, le=10_000, description="random points drawn over `ranges`, each crossed with the grid"
    )
    ranges: dict[str, Range] = Field(default_factory=dict, description="override key -> range of `samples`")
    sample_seed: int = Field(0, ge=0, description="seed of the random points")
    cpus_per_trial: int | None = Field(None, ge=1, le=256, description="default: the config's n_envs")


def load_sweep(path: Path) -> SweepFile:
    try:
        sweep = SweepFile.model_validate(read_yaml(path) or {})
    except ValidationError as err:
        problems = [(".".join(str(p) for p in e["loc"]) or "<root>", e["msg"]) for e in err.errors()]
        raise ConfigError(str(path), problems) from None
    if sweep.samples and not sweep.ranges:
        raise ConfigError(str(path), [("samples", "random samples need `ranges` to draw from")])
    bad = [(f"ranges.{k}", "low must be below high") for k, r in sweep.ranges.items() if not r.low < r.high]
    bad += [(f"ranges.{k}", "a log range must be positive") for k, r in sweep.ranges.items() if r.log and r.low <= 0]
    if bad:
        raise ConfigError(str(path), bad)
    return sweep


def points(sweep: SweepFile) -> list[dict[str, Any]]:
    """The sweep's points (override key -> value), the grid crossed with any random samples."""
    keys = list(sweep.grid)
    grid = [dict(zip(keys, values, strict=True)) for values in itertools.product(*sweep.grid.values())]
    if not sweep.samples:
        return grid
    rng = np.random.default_rng(sweep.sample_seed)
    drawn = []
    for _ in range(sweep.samples):
        point = {}
        for key, r in sweep.ranges.items():
            lo, hi = (math.log(r.low), math.log(r.high)) if r.log else (r.low, r.high)
            value = float(rng.uniform(lo, hi))
            point[key] = math.exp(value) if r.log else value
        drawn.append(point)
    return [{**g, **d} for g in grid for d in drawn]


def trial_id(point: dict[str, Any], seed: int, config: dict[str, Any] | None = None) -> str:
    """A name that stays the same for the same point, seed and resolved config on the same environment
    version, so that a restarted sweep finds its records and never takes one trained with another
    config (an edited base file, a changed default) or on another simulator for this one."""
    key = {"point": point, "seed": seed, "config": config, "env_version": ENV_VERSION}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def named_trial(name: str, point: dict[str, Any], seed: int, cfg: RunConfig, **extra: Any) -> dict[str, Any]:
    """A trial of one resolved config outside a sweep file (learning's, an experiment's): its id
    `<name>_seed<seed>_<hash>` reads in a folder listing and changes with the config as trial_id's do."""
    config = cfg.model_dump(mode="json")
    tag = trial_id({"config": name}, seed, config)[:8]
    return {"id": f"{name}_seed{seed}_{tag}", "point": point, "seed": seed, "config": config, **extra}


def trials(sweep: SweepFile, base_path: Path) -> list[dict[str, Any]]:
    """Every trial with its validated config: a bad grid value is an error naming it before anything runs."""
    base = read_yaml(base_path) or {}
    out = []
    for point in points(sweep):
        for seed in sweep.seeds:
            overrides = [f"{k}={json.dumps(v)}" for k, v in point.items()] + [f"seed={seed}"]
            cfg = validate_config(apply_overrides(base, overrides), f"{base_path} with {overrides}")
            config = cfg.model_dump(mode="json")
            out.append({"id": trial_id(point, seed, config), "point": point, "seed": seed, "config": config})
    return out


def run_trial(trial: dict[str, Any], runs_root: str) -> dict[str, Any]:
    """Train and evaluate one trial (in a Ray worker); a failure is a record, not an exception."""
    from .evaluate import evaluate_run  # deferred: torch and stable-baselines3 load in the Ray worker
    from .train import train

    start = time.perf_counter()
    record: dict[str, Any] = {"trial": trial["id"], "seed": trial["seed"], **trial["point"]}
    try:
        cfg = validate_config(trial["config"])
        # a run folder without a record is what an interrupted attempt left: it starts again
        shutil.rmtree(Path(runs_root) / trial["id"], ignore_errors=True)
        run = RunDir.create(cfg, Path(runs_root), trial["id"])
        train_start = time.perf_counter()
        train(cfg, run, progress=False)
        record["train_time_s"] = round(time.perf_counter() - train_start, 1)
        ceilings = Path(trial["ceilings"]) if trial.get("ceilings") else None
        result = evaluate_run(run, baselines=tuple(trial.get("baselines", ())), ceilings=ceilings)
        p = result["policy"]
        ceiling = result.get("ceiling")
        for name, b in result["baselines"].items():
            record[f"{name}_task_score"] = b["task_score"]["mean"]
            record[f"{name}_energy_per_unit_j"] = b["energy_per_unit_j"]["mean"]
        record.update(
            status="ok",
            error="",
            task_score=p["task_score"]["mean"],
            fraction_of_ceiling=p.get("fraction_of_ceiling", ""),
            energy_per_unit_j=p["energy_per_unit_j"]["mean"],
            energy_per_unit_j_per_kg=p["energy_per_unit_j_per_kg"]["mean"],
            oxygen_per_unit_ml_per_kg=p["oxygen_per_unit_ml_per_kg"]["mean"],
            muscle_efficiency=p["muscle_efficiency"]["mean"],
            mean_cci=float(np.mean(list(p["cci"].values()))) if p["cci"] else "",
            reward_energy_share=p["reward_energy_share"]["mean"],
            energy_to_ceiling=p["energy_per_unit_j"]["mean"] / ceiling["energy_per_unit_j"] if ceiling else "",
            run=str(run.path),
        )
        # the task's own figures (Hop's flight height...): in the record, not results.csv's columns
        record.update({f"metric_{k}": p[k]["mean"] for k in TASKS[cfg.env.task].metric_info if k in p})
    except Exception as err:
        record.update(status="failed", error=f"{type(err).__name__}: {err}".splitlines()[0][:500])
    record["wall_time_s"] = round(time.perf_counter() - start, 1)
    return record


def write_results(out: Path, axes: list[str]) -> list[dict[str, Any]]:
    """results.csv from every trial record, atomically."""
    records = [json.loads(p.read_text()) for p in sorted((out / RECORDS).glob("*.json"))]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*axes, *COLUMNS], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    write_text_atomic(out / RESULTS_CSV, buffer.getvalue())
    return records


@contextmanager
def ray_cluster(address: str | None, num_cpus: int | None = None) -> Iterator[None]:
    """Ray for the block: the cluster at `address` (or RAY_ADDRESS), else a local one on `num_cpus`
    cores (default all of this machine's)."""
    import ray

    address = address or os.environ.get("RAY_ADDRESS")
    ray.init(address=address, num_cpus=None if address else (num_cpus or os.cpu_count()), include_dashboard=False)
    try:
        yield
    finally:
        ray.shutdown()


@contextmanager
def cancelled_on_interrupt(refs: Iterable[Any]) -> Iterator[None]:
    """Ctrl-C in the block cancels the Ray tasks still in `refs` (their workers stop) and re-raises."""
    import ray

    try:
        yield
    except KeyboardInterrupt:
        for ref in list(refs):
            ray.cancel(ref, force=True)
        raise


def planned(path: Path) -> tuple[list[dict[str, Any]], list[str], int]:
    """The sweep file's trials (each config validated), its axes (the override keys it varies) and the
    CPUs each trial declares."""
    spec = load_sweep(path)
    # a base given as a relative path is read beside the sweep file; a bare name is a packaged config
    is_path = "/" in spec.base or Path(spec.base).suffix != ""
    base_path = resolve_config(str(path.parent / spec.base) if is_path else spec.base)
    todo = trials(spec, base_path)
    axes = sorted({k for t in todo for k in t["point"]})
    return todo, axes, spec.cpus_per_trial or load_config(base_path).n_envs


def sweep(
    path: Path,
    out: Path,
    address: str | None = None,
    retry_failed: bool = False,
    num_cpus: int | None = None,
    page: Path | None = None,
) -> list[dict[str, Any]]:
    """Run the sweep file's trials on Ray (a local cluster of this machine's cores, or `address`);
    returns the records of every trial, finished before or now. `page`: also write a results page of
    this file's trials (mean and confidence interval over seeds per point, and the figure beside it)."""
    try:
        import ray  # noqa: F401 - the [distributed] extra
    except ImportError:
        raise RuntimeError("neuroleg sweep runs on Ray: pip install 'neuroleg[distributed]'") from None
    todo, axes, cpus = planned(path)
    records = run_trials(todo, out, axes, cpus, address, retry_failed, num_cpus)
    if threading.current_thread() is threading.main_thread():
        plot_sweep(records, axes, out / "sweep.png")
        if page is not None:
            order = {t["id"]: i for i, t in enumerate(todo)}  # the file's order, not the records' names
            mine = sorted((r for r in records if r["trial"] in order), key=lambda r: order[r["trial"]])
            tasks = {t["config"]["env"]["task"] for t in todo}
            leave_out = frozenset().union(*(TASKS[task].descriptive_metrics for task in tasks))
            write_sweep_page(path, page, mine, axes, trials_at_once(cpus, address), leave_out)
    return records


def trials_at_once(cpus: int | None, address: str | None = None) -> str:
    """How `run_trials` runs trials of `cpus` CPUs each from here (None: each names its own), said for
    a results page."""
    if address or os.environ.get("RAY_ADDRESS"):
        return "on a Ray cluster"
    if importlib.util.find_spec("ray") is None:  # run_trials' fallback: one after another
        return "1 at a time"
    if cpus is None:
        return f"as many at once as this machine's {os.cpu_count() or 1} cores hold"
    return f"{max(1, (os.cpu_count() or 1) // cpus)} at a time"  # a local Ray fits them on the cores


def run_trials(
    todo: list[dict[str, Any]],
    out: Path,
    axes: list[str],
    cpus: int,
    address: str | None = None,
    retry_failed: bool = False,
    num_cpus: int | None = None,
) -> list[dict[str, Any]]:
    """Run the trials that have no record in out/trials (and failed ones with `retry_failed`) as Ray
    tasks of `cpus` CPUs each (a trial's own "cpus" where it names one), recording each as it
    finishes; results.csv is rewritten after each.
    Without Ray installed and no cluster named, they run one after another in this process.
    Returns every trial's record."""
    records_dir = out / RECORDS
    records_dir.mkdir(parents=True, exist_ok=True)
    done = {p.stem: json.loads(p.read_text()) for p in records_dir.glob("*.json")}
    pending = [t for t in todo if t["id"] not in done or (retry_failed and done[t["id"]]["status"] == "failed")]

    def keep(record: dict[str, Any]) -> None:
        write_json_atomic(records_dir / f"{record['trial']}.json", record)
        write_results(out, axes)

    try:
        import ray
    except ImportError:
        if address or os.environ.get("RAY_ADDRESS"):
            raise RuntimeError(
                "a Ray cluster was named but Ray is not installed: pip install 'neuroleg[distributed]'"
            ) from None
        for t in pending:
            keep(run_trial(t, str(out / "runs")))
        return write_results(out, axes)
    if pending:
        with ray_cluster(address, num_cpus):
            task = ray.remote(run_trial)
            refs = {task.options(num_cpus=t.get("cpus", cpus)).remote(t, str(out / "runs")): t for t in pending}
            with cancelled_on_interrupt(refs):
                while refs:
                    ready, _ = ray.wait(list(refs), num_returns=1)
                    for ref in ready:
                        refs.pop(ref)
                        keep(ray.get(ref))
    return write_results(out, axes)
