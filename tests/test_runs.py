"""Run handling that never lies: config resolution, resume, checkpoints, logs, locks and clear errors."""

from __future__ import annotations

import csv
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

from neuroleg.agents.config import ConfigError, load_config, resolve_config
from neuroleg.agents.evaluate import evaluate_run
from neuroleg.agents.runs import RunDir, RunError
from neuroleg.agents.train import EpisodeMetrics, WorkerDiedError, train
from neuroleg.scripts.cli import main as cli_main

SMOKE = "posture_smoke"


def smoke_cfg(*overrides: str):
    return load_config(resolve_config(SMOKE), list(overrides))


def trained(tmp_path: Path, name: str = "r", *overrides: str) -> RunDir:
    cfg = smoke_cfg("total_timesteps=256", "checkpoint_every=128", *overrides)
    run = RunDir.create(cfg, tmp_path, name)
    train(cfg, run, progress=False)
    return run


def interrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: int = 300, *overrides: str) -> RunDir:
    """A run stopped by Ctrl-C at step `at` of a 768-step budget, checkpointed every 128 steps."""
    cfg = smoke_cfg("total_timesteps=768", "checkpoint_every=128", *overrides)
    run = RunDir.create(cfg, tmp_path, "int")
    original = EpisodeMetrics._on_step

    def ctrl_c(self: EpisodeMetrics) -> bool:
        if self.num_timesteps >= at:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(EpisodeMetrics, "_on_step", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, run, progress=False)
    monkeypatch.setattr(EpisodeMetrics, "_on_step", original)
    return run


# ---- silent wrong results --------------------------------------------------------------------


def test_a_config_path_that_is_not_there_is_an_error_not_the_packaged_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for typo in ("myconfs/posture_smoke.yaml", "posture_smoke.yml", "posture_smoke.txt", "./posture_smoke"):
        with pytest.raises(ConfigError, match="no such file"):
            resolve_config(typo)
    assert resolve_config(SMOKE).name == "posture_smoke.yaml"  # a bare name is a packaged config
    (tmp_path / "mine.yaml").write_text(resolve_config(SMOKE).read_text())
    assert resolve_config("mine.yaml") == Path("mine.yaml")
    assert cli_main(["train", "myconfs/posture_smoke.yaml", "--runs-dir", str(tmp_path / "runs")]) == 2
    assert "myconfs/posture_smoke.yaml" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # nothing trained


def test_resume_refuses_a_config_and_bad_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = trained(tmp_path)
    resume = ["train", "--resume", str(run.path), "--no-progress", "--no-eval"]
    assert cli_main([*resume[:1], SMOKE, *resume[1:]]) == 2
    assert "--resume takes no CONFIG" in capsys.readouterr().err
    assert cli_main([*resume, "algo.learning_rate=abc"]) == 2
    assert "algo.learning_rate" in capsys.readouterr().err
    assert cli_main([*resume, "algo.learning_rate=0.001"]) == 2
    err = capsys.readouterr().err
    assert "algo.learning_rate (trained with 0.0003, now 0.001)" in err and "Start a new run" in err


@pytest.mark.parametrize(
    "edit,field",
    [
        (lambda c: c["env"].update(task="Hop"), "env.task"),
        (lambda c: c["algo"].update(learning_rate=0.01), "algo.learning_rate"),
        (lambda c: c["algo"]["policy"].update(net_arch=[64, 64]), "algo.policy.net_arch"),
        (lambda c: c.update(normalize=False), "normalize"),
    ],
)
def test_resume_refuses_an_edited_config_naming_the_field(tmp_path: Path, edit, field: str) -> None:
    run = trained(tmp_path)
    data = yaml.safe_load(run.config_path.read_text())
    edit(data)
    run.config_path.write_text(yaml.safe_dump(data))
    with pytest.raises(RunError, match=field.replace(".", r"\.")):
        train(run.config(), run, resume=True, progress=False)


def test_resume_applies_a_larger_budget_and_records_it(tmp_path: Path) -> None:
    run = trained(tmp_path)
    assert cli_main(["train", "--resume", str(run.path), "total_timesteps=512", "--no-progress", "--no-eval"]) == 0
    assert run.config().total_timesteps == 512  # config.yaml states what ran
    (record,) = json.loads((run.path / "resumes.json").read_text())
    assert record["changes"] == {"total_timesteps": {"was": 256, "now": 512}}
    assert record["resumed_at_step"] == 256
    assert json.loads((run.path / "training.json").read_text())["num_timesteps"] == 512
    with pytest.raises(RunError, match="below the 512 steps trained"):
        train(run.config(["total_timesteps=384"]), run, resume=True, progress=False)


def test_evaluation_without_the_normalisation_statistics_is_refused(tmp_path: Path) -> None:
    run = trained(tmp_path)
    run.vecnormalize_path.unlink()
    with pytest.raises(FileNotFoundError, match="normalisation statistics"):
        evaluate_run(run, episodes=1, baselines=())
    assert cli_main(["evaluate", str(run.path), "--episodes", "1"]) == 2


# ---- lost data -------------------------------------------------------------------------------


def test_progress_log_appends_across_a_resume_with_a_continuous_step_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = interrupted(tmp_path, monkeypatch)
    before = list(csv.DictReader(open(run.logs / "progress.csv")))
    assert [int(r["time/total_timesteps"]) for r in before] == [128, 256]
    train(run.config(), run, resume=True, progress=False)
    rows = list(csv.DictReader(open(run.logs / "progress.csv")))
    steps = [int(r["time/total_timesteps"]) for r in rows]
    assert steps == [128, 256, 384, 512, 640, 768]  # history kept, nothing logged twice
    assert rows[0] == before[0]


def test_rows_logged_after_the_checkpoint_are_dropped_on_resume(tmp_path: Path) -> None:
    from neuroleg.agents.logs import trim_progress

    path = tmp_path / "progress.csv"
    path.write_text("a,time/total_timesteps\n1,128\n2,256\n3,384\n")
    assert trim_progress(path, 256) == 1
    assert path.read_text() == "a,time/total_timesteps\n1,128\n2,256\n"


@pytest.mark.parametrize("damage", ["truncated model", "garbage statistics", "bad pointer", "missing pointer"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_newest_intact_one(
    tmp_path: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = trained(tmp_path)
    newest = run.latest_checkpoint()
    assert newest is not None and newest.name.endswith("256")
    if damage == "truncated model":
        data = (newest / "model.zip").read_bytes()
        (newest / "model.zip").write_bytes(data[: len(data) // 2])
    elif damage == "garbage statistics":
        (newest / "vecnormalize.json").write_bytes(os.urandom(64))
    elif damage == "bad pointer":
        (run.checkpoints / "latest.json").write_text("{not json")
    else:
        (run.checkpoints / "latest.json").unlink()
    ckpt = run.checkpoint()
    assert ckpt is not None
    if damage in ("truncated model", "garbage statistics"):
        assert ckpt.folder.name.endswith("128") and newest.name in ckpt.note
    else:  # the pointer alone was lost: the newest folder is intact and still used
        assert ckpt.folder == newest
    train(run.config(["total_timesteps=384"]), run, resume=True, progress=False)
    if ckpt.note:
        assert f"using {ckpt.folder.name}" in capsys.readouterr().err
    record = json.loads((run.path / "resumes.json").read_text())[-1]
    assert record["checkpoint"] == ckpt.folder.name


def test_a_run_folder_is_used_by_one_process_at_a_time(tmp_path: Path) -> None:
    run = trained(tmp_path)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); f.write('process test'); f.flush();"
            "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
            str(run.path / ".lock"),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"held"
        with pytest.raises(RunError, match="in use by"):
            train(run.config(["total_timesteps=384"]), run, resume=True, progress=False)
    finally:
        child.kill()
        child.wait()
    train(run.config(["total_timesteps=384"]), run, resume=True, progress=False)  # free again


# ---- clear errors, no tracebacks -------------------------------------------------------------


def test_unreadable_configs_are_named(tmp_path: Path) -> None:
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(ConfigError, match=r"(?s)binary\.yaml.*not UTF-8"):
        load_config(binary)
    twice = tmp_path / "twice.yaml"
    twice.write_text(resolve_config(SMOKE).read_text() + "seed: 3\n")
    with pytest.raises(ConfigError, match=r"(?s)twice\.yaml.*seed: given twice \(line \d+\)"):
        load_config(twice)


def test_cli_errors_name_the_problem_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert cli_main(["train", SMOKE, "--runs-dir", str(a_file), "--no-progress"]) == 2
    assert "is a file" in capsys.readouterr().err
    for name in ("../../x", str(tmp_path / "abs"), ".."):
        assert cli_main(["train", SMOKE, "--runs-dir", str(tmp_path / "runs"), "--name", name]) == 2
        assert "not a path" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "abs").exists()
    for argv in (
        ["evaluate", "r", "--episodes", "-3"],
        ["evaluate", "r", "--episodes", "0"],
        ["render", "r", "--out", "v.gif", "--episodes", "0"],
    ):
        with pytest.raises(SystemExit) as exit_:
            cli_main(argv)
        assert exit_.value.code == 2 and "must be at least 1" in capsys.readouterr().err
    run = trained(tmp_path)
    assert cli_main(["report", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    run.evaluation_path.write_text(json.dumps({"task": "Posture", "baselines": {}}))
    (run.path / "trajectory.npz").write_bytes(b"")
    assert cli_main(["report", str(run.path)]) == 2
    err = capsys.readouterr().err
    assert "lacks policy" in err and "neuroleg evaluate" in err and "Traceback" not in err


def test_a_second_sigterm_during_the_save_keeps_the_checkpoint_intact(cli_training) -> None:
    proc, run = cli_training("term")
    for _ in range(4):  # a burst: the first starts the save, the rest arrive during it
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.01)
    _, err = proc.communicate(timeout=60)
    # 130 when the burst ended during the save; a SIGTERM arriving after it may end the process as asked
    assert proc.returncode in (130, -signal.SIGTERM), err.decode()
    assert "Traceback" not in err.decode() and "interrupted at step" in err.decode()
    ckpt = run.checkpoint()
    assert ckpt is not None and not ckpt.skipped
    assert not list(run.checkpoints.glob(".*partial"))


def test_a_dead_worker_is_one_clear_error_and_the_checkpoint_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = smoke_cfg("total_timesteps=2048", "checkpoint_every=128", "n_envs=2", "subprocess=true")
    run = RunDir.create(cfg, tmp_path, "dies")
    original = EpisodeMetrics._on_step

    def kill_a_worker(self: EpisodeMetrics) -> bool:
        if self.num_timesteps >= 400:
            self.training_env.venv.processes[0].kill()
        return original(self)

    monkeypatch.setattr(EpisodeMetrics, "_on_step", kill_a_worker)
    with pytest.raises(WorkerDiedError, match=r"worker process died.*step_\d+, is intact.*--resume") as err:
        train(cfg, run, progress=False)
    ckpt = run.checkpoint()
    assert ckpt is not None and not ckpt.skipped and ckpt.folder.name in str(err.value)
    assert 0 < ckpt.num_timesteps <= 400


def test_normalisation_statistics_are_data_not_pickles(tmp_path: Path) -> None:
    run = trained(tmp_path)
    data = json.loads(run.vecnormalize_path.read_text())
    assert data["format"] == "neuroleg-vecnormalize-1"
    assert not list(run.path.rglob("vecnormalize.pkl"))
    obs_size = len(data["obs_rms"]["mean"])
    assert np.isfinite(data["obs_rms"]["var"]).all() and obs_size > 45
