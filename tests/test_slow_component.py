"""The endurance Pedal (minutes with `duration_s`) and the constant-power ride behind the slow-component
experiment: with fatigue, holding the power takes ever more drive and the leg gives out at a severe
power; without, the same ride is a steady state."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from neuroleg.agents.ceilings import stored_ceiling
from neuroleg.agents.experiments.slow_component import constant_power_ride, drift_w
from neuroleg.envs import CONTROL_DT_S, ENV_IDS
from neuroleg.envs.arguments import ArgumentError


def test_pedal_lasts_its_duration_and_refuses_bad_ones() -> None:
    env = gym.make(ENV_IDS["Pedal"], duration_s=1.5)
    env.reset(seed=0)
    steps, trunc = 0, False
    while not trunc:
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        assert not term
        steps += 1
    assert steps == round(1.5 / CONTROL_DT_S)
    env.close()
    for bad in (0.5, 4000.0, "60"):
        with pytest.raises(ArgumentError, match="duration_s"):
            gym.make(ENV_IDS["Pedal"], duration_s=bad)
    assert stored_ceiling("Pedal") is not None  # the 5 s default is the ceiling's task
    assert stored_ceiling("Pedal", {"duration_s": 60.0}) is None


def test_without_fatigue_a_constant_power_ride_is_steady() -> None:
    ride = constant_power_ride(power_w=100.0, duration_s=40.0, fatigue=False, window_s=10.0)
    w = ride["windows"]
    assert len(w) == 4 and ride["exhausted_s"] is None and not ride["unstable"]
    assert all(abs(x["cadence_rpm"] - 60.0) < 1.5 for x in w[1:])
    assert all(abs(x["external_power_w"] - 100.0) < 5.0 for x in w[1:])
    gains = [x["gain"] for x in w[1:]]
    assert max(gains) / min(gains) < 1.02
    assert np.all(w[-1]["capacity_type2"] == 1.0)


@pytest.mark.slow
def test_with_fatigue_holding_a_severe_power_costs_ever_more_until_it_fails() -> None:
    ride = constant_power_ride(power_w=100.0, duration_s=240.0, fatigue=True)
    w = ride["windows"]
    gains = [x["gain"] for x in w]
    assert gains[1] > 1.1 * gains[0] and gains[2] > 1.1 * gains[1]  # more drive to hold the power
    assert w[2]["metabolic_power_w"] > w[0]["metabolic_power_w"] + 20.0  # the upward drift
    assert w[2]["leg_type2_share"] > w[0]["leg_type2_share"]  # larger units recruited
    assert np.all(w[2]["capacity_type2"] <= w[0]["capacity_type2"])
    assert ride["exhausted_s"] is not None and 120.0 < ride["exhausted_s"] < 240.0
    assert np.isfinite(drift_w(ride))
