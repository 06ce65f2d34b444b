"""The coordination experiments, run at small budgets."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from neuroleg.agents import experiments


def test_recruitment_experiment_reoptimised_control_never_loses(tmp_path: Path) -> None:
    rows = experiments.recruitment_limit_experiment(tmp_path, limits=(0.85, 1.0), generations=2, population=4)
    assert [r["recruitment_limit"] for r in rows] == [0.85, 1.0]
    for r in rows:  # the kept control is one of the candidates, so re-optimising cannot do worse
        assert r["jump_m_reoptimised"] >= r["jump_m_untrained_control"] - 1e-9
    assert rows[0]["jump_m_reoptimised"] == rows[0]["jump_m_untrained_control"]
    assert json.loads((tmp_path / "recruitment_limit.json").read_text()) == rows
    assert (tmp_path / "recruitment_limit.png").stat().st_size > 1000


def test_recruitment_experiment_side_by_side_gives_what_one_at_a_time_gives(tmp_path: Path) -> None:
    kw = {"limits": (0.85, 0.9, 1.0), "generations": 1, "population": 4}
    serial = experiments.recruitment_limit_experiment(tmp_path / "a", **kw)
    assert experiments.recruitment_limit_experiment(tmp_path / "b", workers=2, **kw) == serial
    assert [r["recruitment_limit"] for r in serial] == [0.85, 0.9, 1.0]
    with pytest.raises(ValueError, match="workers must be at least 1"):
        experiments.recruitment_limit_experiment(tmp_path / "c", workers=0, **kw)


def test_recruitment_experiment_polishes_every_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []
    from neuroleg.agents.experiments import recruitment

    real = recruitment.optimize

    def recording(*args: object, polish: int = 0, **kwargs: object) -> object:
        asked.append(polish)
        return real(*args, **kwargs)  # unpolished: the polish passes themselves are optimize's to test

    monkeypatch.setattr(recruitment, "optimize", recording)
    experiments.recruitment_limit_experiment(tmp_path, limits=(0.85, 1.0), generations=1, population=4, polish=2)
    assert asked == [2, 2]  # the untrained body's search and the re-optimisation


def test_rate_coding_experiment(tmp_path: Path) -> None:
    rows = experiments.rate_coding_experiment(tmp_path)
    by = {(r["drive"], r["rate_scale"], r["synchronization"]): r for r in rows}
    # synchronization shortens the activation time constant: faster early force rise, same plateau
    assert by[(1.0, 1.0, 1.0)]["rfd_0_50ms_n_per_s"] > by[(1.0, 1.0, 0.0)]["rfd_0_50ms_n_per_s"]
    assert np.isclose(by[(1.0, 1.0, 1.0)]["peak_force_n"], by[(1.0, 1.0, 0.0)]["peak_force_n"], rtol=1e-3)
    # lower peak discharge rates cost force and RFD at full drive
    assert by[(1.0, 0.8, 0.0)]["peak_force_n"] < by[(1.0, 1.0, 0.0)]["peak_force_n"]
    assert by[(1.0, 0.8, 0.0)]["rfd_0_50ms_n_per_s"] < by[(1.0, 1.0, 0.0)]["rfd_0_50ms_n_per_s"]
    assert (tmp_path / "rate_coding.md").is_file() and (tmp_path / "rate_coding.png").is_file()


def test_added_cocontraction_costs_energy(tmp_path: Path) -> None:
    from neuroleg.agents.config import load_config, resolve_config
    from neuroleg.agents.runs import RunDir
    from neuroleg.agents.train import train

    cfg = load_config(resolve_config("pedal_smoke"), ["total_timesteps=128"])
    run = RunDir.create(cfg, tmp_path, "pedal")
    train(cfg, run, progress=False)
    rows = experiments.cocontraction_experiment(run.path, tmp_path / "exp", levels=(0.0, 0.3), episodes=1)
    assert rows[1]["metabolic_energy_j"] > rows[0]["metabolic_energy_j"]
    assert rows[1]["mean_cci"] > rows[0]["mean_cci"]
    assert (tmp_path / "exp" / "cocontraction.png").stat().st_size > 1000


def test_energy_weight_experiment_trains_one_run_per_weight(tmp_path: Path) -> None:
    rows = experiments.energy_weight_experiment("Posture", tmp_path, weights=(0.0, 1.0), timesteps=256, episodes=1)
    assert [r["energy_weight"] for r in rows] == [0.0, 1.0]
    assert all(np.isfinite(r["energy_per_unit_j"]) for r in rows)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["posture_ew0", "posture_ew1"]
    assert (tmp_path / "energy_weight_posture.png").is_file()
    assert all(r["task_score_sd"] == 0.0 for r in rows)  # one seed: no spread
    for run in (tmp_path / "runs").iterdir():  # constant weights, whatever the default config ramps
        assert yaml.safe_load((run / "config.yaml").read_text())["energy_ramp"] is None


def test_energy_weight_experiment_with_a_ramp_writes_its_own_page(tmp_path: Path) -> None:
    experiments.energy_weight_experiment(
        "Posture", tmp_path, weights=(1.0,), timesteps=256, episodes=1, ramp=(0.0, 0.25, 0.5)
    )
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name == "posture_ew1_ramp"
    ramp = yaml.safe_load((run / "config.yaml").read_text())["energy_ramp"]
    assert ramp == {"start_weight": 0.0, "hold": 0.25, "ramp": 0.5}
    page = (tmp_path / "energy_weight_posture_ramp.md").read_text()
    assert "--weights 1 --ramp 0 0.25 0.5`" in page and "ramped from 0" in page
    assert not (tmp_path / "energy_weight_posture.md").exists()  # the constant weights' page stays its own


def test_energy_weight_experiment_averages_over_training_seeds(tmp_path: Path) -> None:
    rows = experiments.energy_weight_experiment(
        "Posture", tmp_path, weights=(0.0, 1.0), timesteps=256, episodes=1, seeds=2
    )
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [
        "posture_ew0_s0",
        "posture_ew0_s1",
        "posture_ew1_s0",
        "posture_ew1_s1",
    ]
    saved = json.loads((tmp_path / "energy_weight_posture.json").read_text())
    assert saved["rows"] == rows and len(saved["runs"]) == 4
    for row in rows:
        mine = [r for r in saved["runs"] if r["energy_weight"] == row["energy_weight"]]
        assert [r["seed"] for r in mine] == [0, 1] and row["seeds"] == 2
        energy = [r["energy_per_unit_j"] for r in mine]
        assert row["energy_per_unit_j"] == pytest.approx(np.mean(energy))
        assert row["energy_per_unit_j_sd"] == pytest.approx(np.std(energy, ddof=1))
    with pytest.raises(ValueError, match="seeds"):
        experiments.energy_weight_experiment("Posture", tmp_path / "none", seeds=0)
    assert not (tmp_path / "none").exists()


@pytest.mark.slow
def test_discharge_training_trains_in_both_modes_and_evaluates_each_policy_in_both(tmp_path: Path) -> None:
    from neuroleg.agents.experiments.discharge_training import discharge_training_experiment

    rows = discharge_training_experiment(tmp_path, timesteps=256, seeds=2, episodes=1)
    pairs = [(r["trained in"], r["evaluated in"]) for r in rows]
    assert sorted(pairs) == [(a, b) for a in ("discharge", "rate") for b in ("discharge", "rate")]
    folders = (tmp_path / "training" / "runs").glob("*/config.yaml")
    modes = sorted(str(yaml.safe_load(p.read_text())["env"]["motor_units"]) for p in folders)
    assert modes == ["True", "True", "discharge", "discharge"]  # two seeds trained in each mode
    page = (tmp_path / "discharge_training.md").read_text()
    assert "| rate | discharge |" in page and (tmp_path / "discharge_training.png").is_file()
    # started again it trains nothing: every policy has its record
    before = sorted(p.stat().st_mtime_ns for p in (tmp_path / "training" / "runs").glob("*/model.zip"))
    discharge_training_experiment(tmp_path, timesteps=256, seeds=2, episodes=1)
    assert sorted(p.stat().st_mtime_ns for p in (tmp_path / "training" / "runs").glob("*/model.zip")) == before
    with pytest.raises(ValueError, match="seeds"):
        discharge_training_experiment(tmp_path / "none", seeds=1)


def test_experiments_run_on_a_model_file_of_ones_own(tmp_path: Path, stronger_model: Path) -> None:
    from neuroleg.agents.runs import RUN_MODEL_FILE, RunDir

    kw = {"limits": (0.85,), "generations": 1, "population": 4}
    packaged = experiments.recruitment_limit_experiment(tmp_path / "packaged", **kw)
    mine = experiments.recruitment_limit_experiment(tmp_path / "mine", model_path=str(stronger_model), **kw)
    # the same search on a stronger hip: another jump
    assert mine[0]["jump_m_untrained_control"] != packaged[0]["jump_m_untrained_control"]
    experiments.energy_weight_experiment(
        "Posture", tmp_path / "ew", weights=(0.0,), timesteps=128, episodes=1, model_path=str(stronger_model)
    )
    run = RunDir(tmp_path / "ew" / "runs" / "posture_ew0")
    assert (run.path / RUN_MODEL_FILE).read_text() == stronger_model.read_text()
    assert run.config().env.model_path == str(run.path / RUN_MODEL_FILE)


def test_countermovement_experiment_pairs_each_jump_with_the_squat_from_its_depth(tmp_path: Path) -> None:
    from neuroleg.agents.ceilings import stored_ceiling
    from neuroleg.agents.validation import COUNTERMOVEMENT_START, countermovement_depth

    kw = {"generations": 1, "population": 4}
    rows = experiments.countermovement_experiment(tmp_path / "a", rises=(0.0, 0.1), workers=2, **kw)
    assert [r["drive_rise_s"] for r in rows] == [0.0, 0.1]
    assert rows[0]["gain_cm"] == pytest.approx(100 * (rows[0]["countermovement_jump_m"] - rows[0]["squat_jump_m"]))
    # at a step drive each search starts from the stored ceiling, so it finds at least that
    stored = stored_ceiling("SquatJump", COUNTERMOVEMENT_START)
    assert stored is not None and rows[0]["countermovement_jump_m"] >= stored.score - 1e-12
    depth = countermovement_depth(stored)
    assert {k: rows[0][k] for k in depth} == depth
    squat = stored_ceiling("SquatJump", depth)
    assert squat is not None and rows[0]["squat_jump_m"] >= squat.score - 1e-12
    # a slower rise is searched again, and side by side gives what one at a time gives
    assert experiments.countermovement_experiment(tmp_path / "b", rises=(0.1,), **kw) == rows[1:]
    assert json.loads((tmp_path / "a" / "countermovement.json").read_text()) == rows
    assert (tmp_path / "a" / "countermovement.png").stat().st_size > 1000


def test_countermovement_experiment_names_the_rise_time_whose_dip_no_squat_can_start_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neuroleg.agents.ceilings import stored_ceiling
    from neuroleg.agents.experiments import countermovement

    knee = round(stored_ceiling("SquatJump", {"start": "standing"}).metrics["dip_knee_deg"])
    assert knee > 100
    monkeypatch.setattr(countermovement, "SQUAT_KNEE_RANGE_DEG", (40.0, 100.0))  # the stored dip goes deeper
    with pytest.raises(ValueError, match=rf"drive_rise_s=0: .*squat_knee_deg={knee}, outside .*40-100"):
        experiments.countermovement_experiment(tmp_path, rises=(0.0,), generations=1, population=4)
    assert not (tmp_path / "countermovement.json").exists()  # nothing finished, nothing written


def test_a_squat_jump_search_that_finds_no_valid_jump_gives_no_gain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import neuroleg.envs.tasks.squat_jump as squat_jump

    # at a 0.1 mm dip allowance every squat jump is voided: the body settles ~1.5 mm as the stool goes
    monkeypatch.setattr(squat_jump, "COUNTERMOVEMENT_TOLERANCE_M", 1e-4)
    (row,) = experiments.countermovement_experiment(tmp_path, rises=(0.0,), generations=1, population=4)
    assert row["squat_jump_m"] == 0.0 and row["gain_cm"] is None  # not the whole countermovement jump
    assert row["countermovement_jump_m"] > 0.1  # the countermovement jump has no allowance to break
    assert "None" in (tmp_path / "countermovement.md").read_text()


def _pool_workers(parent: int) -> list[int]:
    """Pids of the multiprocessing spawn workers whose parent is `parent` (not its resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # it ended while we looked
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the workers through /proc")
def test_sigterm_to_a_parallel_experiment_stops_its_workers(tmp_path: Path) -> None:
    # a batch scheduler's kill reaches the parent only; its workers must not run on for an hour
    cmd = [sys.executable, "-m", "neuroleg.scripts.cli", "experiment", "countermovement", "--workers", "2"]
    cmd += ["--rises", "0", "0.1", "--generations", "1000", "--out", str(tmp_path / "cm")]
    log = tmp_path / "stderr.txt"
    with log.open("wb") as err:  # a file, not a pipe: orphaned workers would hold a pipe open
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    workers: list[int] = []
    try:
        deadline = time.time() + 120
        while len(workers) < 2 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.5)
            workers = _pool_workers(proc.pid)
        assert len(workers) == 2, log.read_text()
        time.sleep(2.0)  # into the searches, past the workers' start-up
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 130, log.read_text()
        deadline = time.time() + 10
        while any(_running(w) for w in workers) and time.time() < deadline:
            time.sleep(0.2)
        assert [w for w in workers if _running(w)] == []
        assert not (tmp_path / "cm" / "countermovement.json").exists()  # no rise time finished
    finally:  # leave nothing running, pass or fail
        proc.kill()
        for w in workers:
            if _running(w):
                os.kill(w, signal.SIGKILL)


@pytest.mark.slow
def test_every_experiment_runs_from_its_command_at_a_small_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # what a user types, end to end: each command exits 0, prints its table and writes table, data and figure
    from neuroleg.agents.config import load_config, resolve_config
    from neuroleg.agents.reference import reference_run
    from neuroleg.agents.runs import RunDir
    from neuroleg.agents.train import train
    from neuroleg.scripts.cli import main as cli_main

    cfg = load_config(resolve_config("pedal_smoke"), ["total_timesteps=128"])
    run = RunDir.create(cfg, tmp_path, "pedal")
    train(cfg, run, progress=False)
    posture = reference_run("Posture", tmp_path / "posture_reference")
    commands = {  # experiment: (arguments, rows its table has, the files' stem)
        "recruitment": (["--generations", "1"], len(experiments.RECRUITMENT_LIMITS), "recruitment_limit"),
        "rate-coding": ([], None, "rate_coding"),
        "cocontraction": (["--run", str(run.path)], None, "cocontraction"),
        "energy-weight": (["--task", "Posture", "--timesteps", "128"], None, "energy_weight_posture"),
        "countermovement": (["--rises", "0", "--generations", "1"], 1, "countermovement"),
        "unit-size": ([], None, "unit_size"),
        "synchronization": ([], None, "synchronization"),
        "posture-unit-size": (["--episodes", "2"], 5, "posture_unit_size"),
        "slow-component": (["--powers", "100", "--minutes", "0.5"], 1, "slow_component"),
        "discharge-training": (["--timesteps", "128", "--episodes", "1"], 4, "discharge_training"),
        "posture-following": (["--runs", str(posture), "--episodes", "3"], 2, "posture_following"),
    }
    assert set(commands) == set(experiments.EXPERIMENTS)  # a new experiment is run here too
    for name, (args, n_rows, stem) in commands.items():
        out = tmp_path / name
        assert cli_main(["experiment", name, *args, "--out", str(out)]) == 0, name
        printed = capsys.readouterr().out
        data = json.loads((out / f"{stem}.json").read_text())
        rows = data["rows"] if isinstance(data, dict) else data  # energy-weight keeps each run beside its rows
        assert rows and (n_rows is None or len(rows) == n_rows), name
        table = [line for line in printed.splitlines() if line.startswith("| ") and "---" not in line]
        assert len(table) == len(rows) + 1, name  # a header and one line per row
        written = (out / f"{stem}.md").read_text().splitlines()
        assert all(line in written for line in table), name  # the page holds what was printed
        assert (out / f"{stem}.png").stat().st_size > 1000, name
    # a run of another task is refused by name, and nothing is written
    refused = ["experiment", "posture-following", "--runs", str(run.path), "--out", str(tmp_path / "refused")]
    assert cli_main(refused) == 2
    assert "a Pedal run; posture-following takes Posture runs" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()


def test_fewer_larger_motor_units_hold_a_force_less_steadily(tmp_path: Path) -> None:
    from neuroleg.agents.experiments.unit_size import FORCE_LEVELS, UNIT_COUNTS, unit_size_experiment

    rows = unit_size_experiment(tmp_path, seeds=(0, 1))
    for level in FORCE_LEVELS:

        def cvs(common: str, level: float = level) -> list[float]:
            chosen = [r for r in rows if r["force (of max)"] == level and r["common input"] == common]
            return [float(r["force CV (%)"].split(" +- ")[0]) for r in chosen]

        own, shared = cvs("no"), cvs("yes")
        assert len(own) == len(shared) == len(UNIT_COUNTS)
        assert all(a > b for a, b in itertools.pairwise(own))  # the units' own noise averages out
        # the shared input does not: it adds to every count, and the fewest units still hold least steadily
        assert all(s > o for s, o in zip(shared, own, strict=True)) and shared[0] > shared[-1]
    assert (tmp_path / "unit_size.png").stat().st_size > 1000


def test_synchronization_speeds_the_early_rise_of_force(tmp_path: Path) -> None:
    from neuroleg.agents.experiments.synchronization import synchronization_experiment

    rows = synchronization_experiment(tmp_path, seeds=(0, 1))
    early = {(r["drive"], r["synchronization"]): float(r["RFD 0-50 ms (N/s)"].split(" +- ")[0]) for r in rows}
    for drive in (0.7, 1.0):
        assert early[(drive, 0.5)] > 1.15 * early[(drive, 0.0)]


def test_the_posture_policy_holds_the_same_targets_whatever_its_units(tmp_path: Path) -> None:
    from neuroleg.agents.experiments.posture_unit_size import hold_episodes

    rate = hold_episodes(True, None, episodes=2)
    assert hold_episodes(True, None, episodes=2) == rate  # the same seeds: the same targets and starts
    few = hold_episodes("discharge", 30, episodes=2)
    assert few["error_m"] != rate["error_m"]  # the units' discharges move the foot...
    assert np.allclose(few["error_m"], rate["error_m"], atol=0.01)  # ...by millimetres, on the same targets


def test_the_unit_size_experiment_holds_with_a_given_posture_run_and_refuses_others(tmp_path: Path) -> None:
    import yaml

    from neuroleg.agents.experiments.posture_unit_size import hold_episodes, policy_for
    from neuroleg.agents.reference import reference_run

    run = reference_run("Posture", tmp_path / "posture")
    policy, who = policy_for(run)
    assert f"`{run}`" in who and "seed 0" in who
    assert hold_episodes(True, None, 2, policy) == hold_episodes(True, None, 2)  # the reference, loaded as a run
    with pytest.raises(ValueError, match="a Hop run"):
        policy_for(reference_run("Hop", tmp_path / "hop"))
    config = run / "config.yaml"
    data = yaml.safe_load(config.read_text())
    data["env"]["motor_units"] = "discharge"
    config.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="needs a rate-mode policy"):
        policy_for(run)


def test_posture_following_reads_a_slope_of_one_as_following_and_zero_as_ignoring_the_target() -> None:
    from neuroleg.agents.ceilings import EVALUATION_SEED, stored_ceiling
    from neuroleg.agents.experiments.posture_following import AXES, ceiling_infos, following

    rng = np.random.default_rng(0)
    targets = [
        dict(zip(("target_x_m", "target_z_m", "target_foot_angle_rad"), rng.normal(size=3), strict=True))
        for _ in range(8)
    ]
    exact = [
        {**t, "foot_x_m": t["target_x_m"], "foot_z_m": 0.5, "foot_angle_rad": 0.5 * t["target_foot_angle_rad"]}
        for t in targets
    ]
    result = following([{**i, "task_score": 0.5} for i in exact])
    assert result["ankle forward: slope"] == pytest.approx(1.0) and result["ankle forward: error"] == pytest.approx(0)
    assert result["ankle height: slope"] == pytest.approx(0.0, abs=1e-9)  # the same height whatever the target
    assert result["foot angle: slope"] == pytest.approx(0.5)
    assert set(AXES) == {k.split(":")[0] for k in result if ":" in k}
    # the ceiling's replay is the stored ceiling: its mean precision over those targets is the stored one's
    infos = ceiling_infos(4)
    assert following(infos)["score"] == pytest.approx(stored_ceiling("Posture").over(EVALUATION_SEED, 4)[0], rel=1e-6)
    with pytest.raises(ValueError, match="--episodes 31"):
        ceiling_infos(31)
