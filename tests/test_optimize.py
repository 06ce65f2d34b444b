"""The optimal-control ceiling and the squat jump's no-countermovement rule."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import neuroleg.envs  # noqa: F401
from neuroleg.agents.optimize import applies_to, model_fingerprint, optimize, rollout, stored_ceiling
from neuroleg.envs.physiology import MUSCLE_NAMES

EXTENSORS = np.array([1.0 if m in ("GLU", "HAM", "VAS", "GAS", "SOL") else 0.0 for m in MUSCLE_NAMES])


def test_a_short_optimisation_never_does_worse_than_its_seed(tmp_path: Path) -> None:
    seed_info = rollout("SquatJump", np.full(9, 0.012), np.clip(EXTENSORS, 0.05, 0.95))
    out = tmp_path / "ceiling.json"
    c = optimize("SquatJump", generations=2, population=4, out=out)
    assert c.score >= seed_info["task_score"] - 1e-12
    stored = json.loads(out.read_text())
    assert stored["score"] == c.score and stored["model_sha256"] == model_fingerprint()[2]
    again = rollout("SquatJump", np.array(c.onsets_s), np.array(c.levels))
    assert again["task_score"] == pytest.approx(c.score, abs=1e-9)  # the stored control reproduces it
    with pytest.raises(ValueError, match="SquatJump"):
        optimize("Hop", generations=1, population=4)


def test_the_packaged_ceiling_is_for_this_model_and_reproduces() -> None:
    c = stored_ceiling("SquatJump")
    assert c is not None, "run `neuroleg optimize SquatJump` and store it under envs/models/ceilings/"
    info = rollout("SquatJump", np.array(c.onsets_s), np.array(c.levels))
    assert info["task_score"] == pytest.approx(c.score, abs=1e-9)
    assert info["countermovement"] == 0.0
    assert applies_to({"recruitment_limit": 1.0}) and not applies_to({"recruitment_limit": 0.85})


def test_a_countermovement_is_not_a_squat_jump() -> None:
    env = gym.make("neuroleg/SquatJump-v0")
    env.reset(seed=0)
    for _ in range(60):  # no drive: the jumper sinks out of the squat
        _, _, term, trunc, info = env.step(np.zeros(9, np.float32))
        if term or trunc:
            break
    assert term and info["countermovement"] == 1.0 and info["task_score"] == 0.0
