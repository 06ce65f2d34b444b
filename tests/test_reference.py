"""The packaged reference policies: loadable, usable as run folders, and still giving their card's
figures (a change to the simulator that moves them fails here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neuroleg.agents.config import TASK_CONFIG
from neuroleg.agents.evaluate import evaluate_run
from neuroleg.agents.reference import (
    EVALUATION_SEED,
    card,
    evaluation_figures,
    load_reference,
    packaged,
    reference_run,
)
from neuroleg.agents.runs import RunDir
from neuroleg.envs import ENV_VERSION
from neuroleg.scripts.cli import main as cli_main

TASKS = sorted(TASK_CONFIG)


@pytest.mark.parametrize("task", TASKS)
def test_each_task_has_a_small_reference_on_this_environment_version(task: str) -> None:
    folder = packaged(task)
    c = card(task)
    assert c["task"] == task and c["env_version"] == ENV_VERSION
    assert sum(f.stat().st_size for f in folder.iterdir()) < 1_000_000  # small enough to ship
    ref = load_reference(task)
    env = ref.make_env()
    obs, _ = env.reset(seed=0)
    action, _ = ref.predict(obs)
    assert action.shape == env.action_space.shape and env.action_space.contains(action)
    env.close()


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_a_reference_still_gives_its_cards_figures(task: str, tmp_path: Path) -> None:
    """Deterministic evaluation on this simulator against the figures stored when it was packaged."""
    stored = card(task)["evaluation"]
    run = reference_run(task, tmp_path / task)
    now = evaluation_figures(evaluate_run(RunDir(run), episodes=stored["episodes"], seed=EVALUATION_SEED))
    for who in ("policy", *stored["baselines"]):
        before = stored["policy"] if who == "policy" else stored["baselines"][who]
        after = now["policy"] if who == "policy" else now["baselines"][who]
        for key, value in before.items():
            assert np.isclose(after[key], value, rtol=1e-6, atol=1e-9), f"{task} {who} {key}: {value} -> {after[key]}"


def test_the_command_copies_a_reference_into_a_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "hop_ref"
    assert cli_main(["reference", "Hop", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Hop reference policy" in printed and f"neuroleg evaluate {out}" in printed
    assert RunDir(out).config().env.task == "Hop" and (out / "model.zip").is_file()
    assert cli_main(["reference", "Hop", "--out", str(out)]) == 2  # not over a folder with a run in it
    assert "exists and is not an empty folder" in capsys.readouterr().err


def test_a_trained_run_is_packaged_with_its_card_and_listed(tmp_path: Path) -> None:
    from neuroleg.agents.config import load_config, resolve_config
    from neuroleg.agents.reference import CARD, FILES, references_page
    from neuroleg.agents.train import train

    cfg = load_config(resolve_config("hop_smoke"), ["total_timesteps=128", "eval_episodes=1"])
    run = RunDir.create(cfg, tmp_path / "runs", "hop")
    train(cfg, run, progress=False)
    dest = tmp_path / "references"
    from neuroleg.agents.reference import package_reference

    folder = package_reference(run.path, dest, train_seconds=12.0)
    assert folder == dest / "hop" and sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    import json

    c = json.loads((folder / CARD).read_text())
    assert c["task"] == "Hop" and c["total_timesteps"] == 128 and c["train_seconds"] == 12.0
    assert set(c["evaluation"]["baselines"]) >= {"zero", "random"} and c["evaluation"]["episodes"] == 1
    assert not list(dest.glob(".*"))  # the evaluation's scratch copy is gone
    page = references_page(dest, "python -m neuroleg.scripts.package_reference RUN")
    assert "| Hop | custom | 128 | 0 | 0 |" in page  # the smoke config with another budget is no packaged one
