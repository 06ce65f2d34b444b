"""The energy weight's rise during training (`energy_ramp`) and the environment's handle on it."""

from __future__ import annotations

import itertools
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.callbacks import BaseCallback

from neuroleg.agents.config import ConfigError, EnergyRamp, load_config, resolve_config
from neuroleg.agents.runs import RunDir
from neuroleg.agents.train import train
from neuroleg.envs import ENV_IDS

RAMP = "energy_ramp={start_weight: 0.0, hold: 0.25, ramp: 0.5}"


def test_the_weight_holds_rises_linearly_and_stays_at_the_final_one() -> None:
    ramp = EnergyRamp(start_weight=0.1, hold=0.25, ramp=0.5)
    assert ramp.weight(3.0, 0.0) == ramp.weight(3.0, 0.2) == 0.1
    assert ramp.weight(3.0, 0.5) == pytest.approx(0.1 + 2.9 * 0.5)
    assert ramp.weight(3.0, 0.75) == ramp.weight(3.0, 1.0) == 3.0
    step = EnergyRamp(start_weight=0.0, hold=0.5, ramp=0.0)  # a step at half the budget
    assert step.weight(2.0, 0.49) == 0.0 and step.weight(2.0, 0.5) == 2.0


@pytest.mark.parametrize(
    "value,field,message",
    [
        ("{start_weight: 0.1, hold: 0.6, ramp: 0.5}", "energy_ramp", "hold + ramp must be at most 1"),
        ("{start_weight: '0.1', hold: 0.2, ramp: 0.5}", "energy_ramp.start_weight", "valid number"),
        ("{start_weight: 0.1, hold: 1.0, ramp: 0.0}", "energy_ramp.hold", "less than 1"),
        ("{start_weight: 0.1, hold: 0.2}", "energy_ramp.ramp", "required"),
        ("{start_weight: 0.1, hold: 0.2, ramp: 0.5, end: 1}", "energy_ramp.end", "not permitted"),
    ],
)
def test_a_bad_ramp_is_refused_by_field(value: str, field: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(resolve_config("pedal_smoke"), [f"energy_ramp={value}"])
    assert any(path == field and message in msg for path, msg in err.value.problems), err.value.problems


def test_the_environment_takes_a_new_weight_and_refuses_a_bad_one() -> None:
    def energy_term(weight: float | None) -> float:
        env = gym.make(ENV_IDS["Pedal"]).unwrapped
        env.reset(seed=0)
        if weight is not None:
            env.set_energy_weight(weight)
        _, _, _, _, info = env.step(np.full(env.action_space.shape, 0.5, dtype=np.float32))
        env.close()
        return info["reward_energy"]

    default, doubled = energy_term(None), energy_term(0.1)  # Pedal's default weight is 0.05
    assert default < 0 and doubled == pytest.approx(2 * default)
    env = gym.make(ENV_IDS["Pedal"]).unwrapped
    for bad, error in [(True, TypeError), ("1", TypeError), (-0.1, ValueError), (1000.0, ValueError)]:
        with pytest.raises(error, match="energy_weight"):
            env.set_energy_weight(bad)
    env.close()


class _Weights(BaseCallback):
    """The environments' energy weight seen at every rollout's start."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[int, float]] = []

    def _on_rollout_start(self) -> None:
        self.seen.append((self.num_timesteps, self.training_env.get_attr("energy_weight")[0]))

    def _on_step(self) -> bool:
        return True


def test_training_raises_the_weight_over_the_budget_and_evaluates_at_the_final_one(tmp_path: Path) -> None:
    cfg = load_config(resolve_config("pedal_smoke"), [RAMP, "env.energy_weight=2.0", "total_timesteps=2048"])
    spy = _Weights()
    train(cfg, RunDir.create(cfg, tmp_path, "ramp"), progress=False, callbacks=[spy])
    steps, weights = zip(*spy.seen, strict=True)
    progress = np.array(steps) / cfg.total_timesteps
    expected = [cfg.energy_ramp.weight(2.0, p) for p in progress]
    assert weights == pytest.approx(expected)
    assert weights[0] == 0.0 and weights[-1] == 2.0 and 0.0 < weights[len(weights) // 2] < 2.0


def test_an_off_policy_learner_follows_the_ramp_too(tmp_path: Path) -> None:
    algo = "algo={name: sac, batch_size: 32, learning_starts: 64, buffer_size: 1000, policy: {net_arch: [16, 16]}}"
    cfg = load_config(resolve_config("pedal_smoke"), [RAMP, algo, "env.energy_weight=2.0", "total_timesteps=1200"])
    spy = _Weights()
    train(cfg, RunDir.create(cfg, tmp_path, "sac"), progress=False, callbacks=[spy])
    weights = [w for _, w in spy.seen]
    assert weights[0] == 0.0 and weights[-1] == 2.0  # updated every EnergySchedule.OFF_POLICY_EVERY steps
    assert all(a <= b for a, b in itertools.pairwise(weights))
