"""neuroleg tune: an Optuna study of smoke trainings; pruning, the Pareto front, resuming, Ray workers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from neuroleg.agents.config import ConfigError, load_config, resolve_config
from neuroleg.agents.runs import RunDir
from neuroleg.agents.tune import ReportScore, load_tune, tune
from neuroleg.scripts.cli import main as cli_main

optuna = pytest.importorskip("optuna", reason="the [distributed] extra")
pytestmark = pytest.mark.slow  # each trial trains a smoke config (about a second)


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def study(out: Path, name: str) -> Any:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return optuna.load_study(study_name=name, storage=JournalStorage(JournalFileBackend(str(out / "study.journal"))))


LR = {"algo.learning_rate": {"low": 1e-4, "high": 1e-3, "log": True}}


def test_a_study_runs_its_trials_and_continues_where_it_stopped(tmp_path: Path) -> None:
    spec = write(tmp_path / "lr.yaml", {"base": "squatjump_smoke", "trials": 2, "params": LR, "reports": 2})
    out = tmp_path / "out"
    assert cli_main(["tune", str(spec), "--out", str(out)]) == 0
    trials = study(out, "lr").trials
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    assert all(1e-4 <= t.params["algo.learning_rate"] <= 1e-3 for t in trials)
    for t in trials:  # each trial trained and evaluated its own run folder with the value it was given
        cfg = RunDir(Path(t.user_attrs["run"])).config()
        assert cfg.algo.learning_rate == pytest.approx(t.params["algo.learning_rate"])
        assert t.values[0] == pytest.approx(t.user_attrs["task_score"])
    page = (out / "tune.md").read_text()
    assert "## Best trial" in page and "trial_0001" in page and "*Measured by `neuroleg tune lr.yaml`" in page
    # started again it has its trials; with a larger budget it runs only the missing one
    tune(spec, out)
    assert len(study(out, "lr").trials) == 2
    write(spec, {"base": "squatjump_smoke", "trials": 3, "params": LR, "reports": 2})
    tune(spec, out)
    assert len(study(out, "lr").trials) == 3


def test_score_and_energy_give_the_pareto_front(tmp_path: Path) -> None:
    spec = write(
        tmp_path / "front.yaml",
        {
            "base": "squatjump_smoke",
            "trials": 2,
            "params": {"algo.n_epochs": {"choices": [1, 2]}},
            "objective": "score_energy",
        },
    )
    page = tune(spec, tmp_path / "out").read_text()
    trials = study(tmp_path / "out", "front").trials
    assert all(len(t.values) == 2 and t.values[1] == pytest.approx(t.user_attrs["energy_per_unit_j"]) for t in trials)
    assert "## Pareto front (task score up, energy per unit down)" in page


class _Trial:
    """Stands in for an Optuna trial whose pruner stops it at its first report."""

    def __init__(self) -> None:
        self.reports: list[tuple[float, int]] = []

    def report(self, value: float, step: int) -> None:
        self.reports.append((value, step))

    def should_prune(self) -> bool:
        return True


def test_a_pruned_trial_stops_training_at_its_first_report(tmp_path: Path) -> None:
    from neuroleg.agents.train import train

    cfg = load_config(resolve_config("posture_smoke"), ["total_timesteps=2048", "checkpoint_every=2048"])
    run = RunDir.create(cfg, tmp_path, "pruned")
    trial = _Trial()
    reporter = ReportScore(trial, cfg.total_timesteps, reports=4)
    model = train(cfg, run, progress=False, callbacks=[reporter])
    assert reporter.pruned and len(trial.reports) == 1
    assert trial.reports[0][1] >= 512 and model.num_timesteps < 2048  # stopped early, at the first report
    assert run.model_path.is_file()  # and left a finished run folder


def test_bad_tune_files_are_named(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "bad.yaml",
        {"base": "squatjump_smoke", "params": {"algo.learning_rate": {"low": 1e-3, "high": 1e-4}}},
    )
    with pytest.raises(ConfigError, match="low < high"):
        load_tune(bad)
    typo = write(
        tmp_path / "typo.yaml", {"base": "squatjump_smoke", "params": {"algo.learning_rat": {"choices": [1e-4]}}}
    )
    assert cli_main(["tune", str(typo), "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o" / "runs").exists()  # refused before any trial ran
    refused = write(tmp_path / "trials.yaml", {"base": "squatjump_smoke", "trials": "3", "params": LR})
    with pytest.raises(ConfigError, match="trials"):
        load_tune(refused)  # a text is not read as a number


def test_workers_run_trials_in_parallel_on_ray(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    spec = write(tmp_path / "par.yaml", {"base": "squatjump_smoke", "trials": 2, "params": LR, "workers": 2})
    tune(spec, tmp_path / "out")
    trials = study(tmp_path / "out", "par").trials
    assert sum(t.state.name == "COMPLETE" for t in trials) >= 2
