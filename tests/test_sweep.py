"""neuroleg sweep on a local Ray: trials run, a failing one is recorded, a restart runs only the rest."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from neuroleg.agents.config import ConfigError
from neuroleg.agents.sweep import load_sweep, points, sweep, trial_id
from neuroleg.scripts.cli import main as cli_main

pytest.importorskip("ray", reason="the [distributed] extra")
pytestmark = pytest.mark.slow  # a local Ray starts in seconds; each trial trains a smoke config


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def rows(out: Path) -> list[dict[str, str]]:
    with open(out / "results.csv") as f:
        return list(csv.DictReader(f))


def test_a_sweep_runs_its_trials_records_a_failure_and_resumes(tmp_path: Path) -> None:
    # squat knee 80 deg with the ankle at 20 deg cannot be balanced: that trial raises at its first reset
    spec = write(
        tmp_path / "squat.yaml",
        {
            "base": "squatjump_smoke",
            "seeds": [0],
            "grid": {"total_timesteps": [128], "env.task_args.squat_ankle_deg": [26.0, 20.0]},
            "cpus_per_trial": 1,
        },
    )
    out = tmp_path / "out"
    assert cli_main(["sweep", str(spec), "--out", str(out)]) == 1  # one trial failed
    table = {r["env.task_args.squat_ankle_deg"]: r for r in rows(out)}
    assert table["26.0"]["status"] == "ok" and float(table["26.0"]["task_score"]) >= 0.0
    assert table["26.0"]["energy_per_unit_j"] and Path(table["26.0"]["run"]).is_dir()
    assert table["20.0"]["status"] == "failed" and "no trunk lean balances" in table["20.0"]["error"]
    assert (out / "sweep.png").is_file()
    assert not list(out.rglob(".*.tmp*"))  # nothing half-written

    # a restart skips what finished; a lost record (an interrupted trial) is run again, and only it
    ok_id = table["26.0"]["trial"]
    before = (out / "trials" / f"{ok_id}.json").read_text()
    failed_record = out / "trials" / f"{table['20.0']['trial']}.json"
    failed_record.unlink()
    page = tmp_path / "docs" / "squat.md"  # its folder is made
    records = sweep(spec, out, page=page)
    assert len(records) == 2 and (out / "trials" / f"{ok_id}.json").read_text() == before
    assert json.loads(failed_record.read_text())["status"] == "failed"  # run again, failed again

    # the page: stamped, the file as it ran, a row per point with what ran of it, the failure named
    text = page.read_text()
    assert text.startswith("# Sweep: squat\n\n*Measured by `neuroleg sweep ") and "on env v" in text
    assert "squat_ankle_deg:\n  - 26.0\n  - 20.0" in text
    lines = [line.split(" | ") for line in text.splitlines() if line.startswith("| 2")]
    assert [(cells[0], cells[2]) for cells in lines] == [("| 26", "1 of 1"), ("| 20", "0 of 1")]  # file order
    assert lines[0][5] == f"0: {float(table['26.0']['task_score']):.3f}"  # each seed's score beside the mean
    failure = next(line for line in text.splitlines() if line.startswith("Failed: "))
    assert failure.startswith(f"Failed: {table['20.0']['trial']} (seed 0): ValueError") and "no trunk lean" in failure
    assert "(squat.png)" in text and page.with_suffix(".png").is_file()


def test_a_bad_sweep_file_is_named_before_anything_runs(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", {"base": "posture_smoke", "grid": {"algo.learning_rate": [0.001, -1.0]}})
    out = tmp_path / "out"
    assert cli_main(["sweep", str(bad), "--out", str(out)]) == 2
    assert not (out / "trials").exists() or not list((out / "trials").iterdir())
    with pytest.raises(ConfigError, match="seeds"):
        load_sweep(write(tmp_path / "b2.yaml", {"base": "posture_smoke", "seeds": "0"}))
    with pytest.raises(ConfigError, match="ranges"):
        load_sweep(write(tmp_path / "b3.yaml", {"base": "posture_smoke", "samples": 2}))


def test_random_samples_cross_the_grid_and_are_seeded(tmp_path: Path) -> None:
    spec = load_sweep(
        write(
            tmp_path / "s.yaml",
            {
                "base": "posture_smoke",
                "grid": {"env.energy_weight": [0.0, 0.1]},
                "samples": 3,
                "ranges": {"algo.learning_rate": {"low": 1e-5, "high": 1e-3, "log": True}},
            },
        )
    )
    drawn = points(spec)
    assert len(drawn) == 6 and drawn == points(spec)
    assert all(1e-5 <= p["algo.learning_rate"] <= 1e-3 for p in drawn)
    assert trial_id(drawn[0], 0) != trial_id(drawn[0], 1) == trial_id(drawn[0], 1)


def test_an_edited_base_config_or_a_new_environment_version_makes_new_trials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import neuroleg.agents.sweep as sweeps
    from neuroleg.agents.config import resolve_config

    base = tmp_path / "base.yaml"
    base.write_text(resolve_config("posture_smoke").read_text())
    spec = load_sweep(write(tmp_path / "s.yaml", {"base": str(base), "seeds": [0, 1]}))
    ids = [t["id"] for t in sweeps.trials(spec, base)]
    assert ids == [t["id"] for t in sweeps.trials(spec, base)] and len(set(ids)) == 2  # restartable
    data = yaml.safe_load(base.read_text())
    data["total_timesteps"] += 64  # the same grid point and seed, another config: not the same trial
    base.write_text(yaml.safe_dump(data))
    edited = [t["id"] for t in sweeps.trials(spec, base)]
    assert not set(edited) & set(ids)
    monkeypatch.setattr(sweeps, "ENV_VERSION", sweeps.ENV_VERSION + 1)
    assert not set(t["id"] for t in sweeps.trials(spec, base)) & set(edited)
