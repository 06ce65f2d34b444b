"""Posture's ceiling: one reach-and-hold control per evaluation target, and grading against it."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from neuroleg.agents.carry_over import CarryOverError, carry_over_ceiling
from neuroleg.agents.ceilings import EVALUATION_SEED, Ceiling, ceiling_filename, stored_ceiling
from neuroleg.agents.config import load_config, resolve_config
from neuroleg.agents.evaluate import evaluate_run
from neuroleg.agents.learning import graded, learning_trials
from neuroleg.agents.optimize import ceiling_control, optimize, rollout, search_cost
from neuroleg.agents.runs import RunDir
from neuroleg.agents.target_ceiling import ReachHold, optimize_targets, replay_targets
from neuroleg.agents.train import train
from neuroleg.envs import ENV_VERSION
from neuroleg.scripts.cli import main as cli_main

NAME = ceiling_filename("Posture")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Ceiling, Path]:
    """A two-target ceiling from a very short search, written where a folder lookup finds it."""
    out = tmp_path_factory.mktemp("ceilings") / NAME
    return optimize_targets("Posture", targets=2, generations=2, population=4, out=out), out


def test_each_target_gets_its_own_control_that_replays_its_figures(small: tuple[Ceiling, Path]) -> None:
    c, out = small
    assert [t["episode_seed"] for t in c.targets] == [EVALUATION_SEED, EVALUATION_SEED + 1]
    assert json.loads(out.read_text())["targets"] == c.targets
    assert c.score == pytest.approx(np.mean([t["score"] for t in c.targets]))
    for target, info in zip(c.targets, replay_targets(c), strict=True):
        assert info["task_score"] == target["score"] and info["energy_per_unit_j"] == target["energy_per_unit_j"]
        # never worse than the common start, by the search's own cost
        start = rollout("Posture", ReachHold.start(2.0), seed=target["episode_seed"])
        assert search_cost("Posture", info) <= search_cost("Posture", start)
    # the two targets are different episodes: their controls differ; the second's search tried the
    # first's control too, so it is no worse than that on the second target
    first, second = (ReachHold.stored(t) for t in c.targets)
    assert not np.array_equal(first.hold, second.hold)
    borrowed = rollout("Posture", first, seed=c.targets[1]["episode_seed"])
    assert search_cost("Posture", rollout("Posture", second, seed=c.targets[1]["episode_seed"])) <= search_cost(
        "Posture", borrowed
    )


def test_a_per_target_ceiling_holds_only_for_the_episodes_it_has(small: tuple[Ceiling, Path]) -> None:
    c, _ = small
    assert c.over(EVALUATION_SEED, 2) == pytest.approx((c.score, c.energy_per_unit_j))
    second = c.targets[1]
    assert c.over(EVALUATION_SEED + 1, 1) == pytest.approx((second["score"], second["energy_per_unit_j"]))
    assert c.over(EVALUATION_SEED, 3) is None and c.over(0, 1) is None
    with pytest.raises(ValueError, match="one control per target"):
        ceiling_control(c)


def test_searches_refuse_what_they_cannot_do(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="target by target"):
        optimize("Posture", generations=1, population=4)
    with pytest.raises(ValueError, match="not searched target by target"):
        optimize_targets("SquatJump", targets=1, generations=1, population=4)
    with pytest.raises(ValueError, match=r"targets must be 1\.\.1000, got 0"):
        optimize_targets("Posture", targets=0)
    assert cli_main(["optimize", "Posture", "--polish", "1", "--out", "/nonexistent/x.json"]) == 2
    assert "--polish" in capsys.readouterr().err
    assert cli_main(["optimize", "SquatJump", "--targets", "2", "--out", "/nonexistent/x.json"]) == 2
    assert "--targets: only a task with a new target every episode" in capsys.readouterr().err


def test_the_command_searches_from_a_stored_ceiling(small: tuple[Ceiling, Path], tmp_path: Path) -> None:
    c, source = small
    out = tmp_path / NAME
    args = ["optimize", "Posture", "--targets", "2", "--generations", "1", "--population", "4", "--out", str(out)]
    assert cli_main([*args, "--start-from", str(source)]) == 0
    again = Ceiling(**json.loads(out.read_text()))
    for before, after in zip(c.targets, again.targets, strict=True):
        assert after["score"] >= before["score"] - 1e-12  # each target's search starts from its stored control


@pytest.mark.slow
def test_an_evaluation_is_graded_against_the_ceiling_of_its_own_targets(
    small: tuple[Ceiling, Path], tmp_path: Path
) -> None:
    c, out = small
    cfg = load_config(resolve_config("posture_smoke"), ["total_timesteps=128"])
    run = RunDir.create(cfg, tmp_path, "posture")
    train(cfg, run, progress=False)
    result = evaluate_run(run, episodes=2, baselines=(), ceilings=out.parent)
    assert result["ceiling"]["score"] == pytest.approx(c.score)
    assert result["policy"]["fraction_of_ceiling"] == pytest.approx(result["policy"]["task_score"]["mean"] / c.score)
    # three episodes: the third target is not in the ceiling, so it grades nothing
    result = evaluate_run(run, episodes=3, baselines=(), ceilings=out.parent)
    assert "ceiling" not in result and "fraction_of_ceiling" not in result["policy"]


def test_the_learning_page_grades_records_from_before_the_ceiling(small: tuple[Ceiling, Path]) -> None:
    c, _ = small
    (trial,) = learning_trials(["Posture"], [0], ["eval_episodes=2"], None)
    record = {"trial": trial["id"], "task": "Posture", "status": "ok", "task_score": 0.05, "energy_per_unit_j": 300.0}
    blank = {**record, "fraction_of_ceiling": "", "energy_to_ceiling": ""}
    (done,) = graded([blank], [trial], {"Posture": c})
    assert done["fraction_of_ceiling"] == pytest.approx(0.05 / c.score)
    assert done["energy_to_ceiling"] == pytest.approx(300.0 / c.energy_per_unit_j)
    # graded already, failed, or evaluated on episodes the ceiling lacks: left as they are
    kept = {**record, "fraction_of_ceiling": 0.5}
    assert graded([kept], [trial], {"Posture": c}) == [kept]
    (more,) = learning_trials(["Posture"], [0], ["eval_episodes=3"], None)
    assert graded([{**blank, "trial": more["id"]}], [more], {"Posture": c}) == [{**blank, "trial": more["id"]}]


def test_a_per_target_ceiling_carries_over_target_by_target(small: tuple[Ceiling, Path], tmp_path: Path) -> None:
    c, _ = small
    good, moved = tmp_path / "good" / NAME, tmp_path / "moved" / NAME
    for path, shift in ((good, 0.0), (moved, 0.01)):
        path.parent.mkdir()
        data = asdict(c)
        data["env_version"] = ENV_VERSION - 1
        data["targets"][1]["score"] += shift
        path.write_text(json.dumps(data))
    done = carry_over_ceiling(good)
    assert (done.env_version, done.found_at_env_version) == (ENV_VERSION, ENV_VERSION - 1)
    assert stored_ceiling("Posture", folder=good.parent) is not None
    before = moved.read_bytes()
    with pytest.raises(CarryOverError, match=f"target of episode {EVALUATION_SEED + 1}: score"):
        carry_over_ceiling(moved)
    assert moved.read_bytes() == before


def test_the_packaged_posture_ceiling_is_for_this_model_and_reproduces() -> None:
    c = stored_ceiling("Posture")
    assert c is not None, "run `neuroleg optimize Posture` and store it under envs/models/ceilings/"
    evaluated = load_config(resolve_config("posture_ppo")).eval_episodes
    assert c.over(EVALUATION_SEED, evaluated) is not None  # it grades the default config's evaluation
    for target, info in zip(c.targets, replay_targets(c), strict=True):
        assert info["task_score"] == pytest.approx(target["score"], abs=1e-9)
        assert info["energy_per_unit_j"] == pytest.approx(target["energy_per_unit_j"])
