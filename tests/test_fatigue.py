"""Motor-unit fatigue: units tire with their own activity, type II fastest, and recover at rest; the
environments carry it when asked and are unchanged when not."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from neuroleg.envs import ENV_IDS
from neuroleg.envs.arguments import ArgumentError
from neuroleg.envs.physiology import MotorUnitPool, load_model
from neuroleg.envs.physiology.endurance import endurance_time, sustained_contraction
from neuroleg.envs.physiology.fatigue import FATIGUE_RATE_PER_S, UnitFatigue


def test_units_tire_by_their_own_activity_largest_fastest_and_recover_at_rest() -> None:
    pool = MotorUnitPool.create(load_model().muscles)
    tired = UnitFatigue.create(pool)
    drive = np.full(9, 0.3)
    for _ in range(500):  # 10 s at 30 % drive
        tired.update(pool, drive, 0.02)
    _, weight, _ = pool.unit_rates(drive)
    active, silent = weight[0] > 0, weight[0] == 0
    assert np.all(tired.capacity[0, silent] == 1.0) and np.all(tired.capacity[0, active] < 1.0)
    loss = 1.0 - tired.capacity[0, active]
    assert loss[-1] > loss[0]  # among the recruited, the largest tired most
    t1, t2 = tired.left()
    assert np.all(t1 < 1.0) and np.all(t2 > t1)  # at low drive the type II units are hardly recruited
    strong = UnitFatigue.create(pool)
    for _ in range(500):  # 10 s near maximal drive: the type II units work and tire faster
        strong.update(pool, np.full(9, 0.9), 0.02)
    s1, s2 = strong.left()
    assert np.all(s2 < s1)
    before = tired.capacity.copy()
    for _ in range(500):
        tired.update(pool, np.zeros(9), 0.02)
    assert np.all(tired.capacity[0, active] > before[0, active])  # recovering at rest
    tired.reset()
    assert np.all(tired.capacity == 1.0)


def test_a_tired_pool_gives_less_force_for_the_same_drive_in_both_modes() -> None:
    from neuroleg.envs.physiology.discharge import DischargeUnits
    from neuroleg.envs.physiology.kernels import R_FORCE, U_AMP

    pool = MotorUnitPool.create(load_model().muscles)
    capacity = np.full(pool.threshold.shape, 0.5)
    fresh, tired = pool.recruit(np.full(9, 0.6)), pool.recruit(np.full(9, 0.6), capacity)
    np.testing.assert_allclose(tired.force_fraction, 0.5 * fresh.force_fraction, rtol=1e-12)
    units = DischargeUnits.create(pool, 0.001, 20, common_input_sd=0.0)
    units.set_drive(np.full(9, 0.6))
    units.step(0)
    full = units.units[U_AMP].copy()
    units.set_drive(np.full(9, 0.6), capacity)
    units.step(0)
    np.testing.assert_allclose(units.units[U_AMP], 0.5 * full, rtol=1e-12)
    np.testing.assert_allclose(units.rec[R_FORCE], tired.force_fraction, rtol=1e-12)


def test_tired_units_twitch_slower_and_so_fuse_more_at_the_same_rate() -> None:
    """Contraction times lengthen with the capacity lost (Potvin & Fuglevand's 0.379): a tired pool at
    a moderate drive keeps more force than its capacity alone gives; reset restores them."""
    from neuroleg.envs.physiology.discharge import DischargeUnits, bin_contraction_times
    from neuroleg.envs.physiology.fatigue import CONTRACTION_TIME_LENGTHENING
    from neuroleg.envs.physiology.kernels import U_BIN, U_RATE

    pool = MotorUnitPool.create(load_model().muscles)
    tired = UnitFatigue.create(pool)
    for _ in range(1500):  # 30 s at 70 % drive
        tired.update(pool, np.full(9, 0.7), 0.02)
    lost = 1.0 - tired.capacity
    real = np.arange(pool.n_units) < pool.counts[:, None]  # the pools are padded to the largest
    assert lost.max() > 0.4 and lost[real].min() > 0.0  # every unit recruited, the largest tired most
    expected = pool.contraction_time * (1.0 + CONTRACTION_TIME_LENGTHENING * lost)
    np.testing.assert_allclose(tired.contraction_time, expected, rtol=1e-12)
    drive = np.full(9, 0.4)
    capacity_only = pool.recruit(drive, tired.capacity).force_fraction
    slowed = pool.recruit(drive, tired.capacity, tired.contraction_time).force_fraction
    assert np.all(slowed > capacity_only * 1.01)
    # discharging units twitch in the bin of their lengthened contraction time, within 2 % of it
    units = DischargeUnits.create(pool, 0.001, 20, common_input_sd=0.0)
    units.set_drive(drive, tired.capacity, tired.contraction_time)
    units.step(0)
    recruited = units.units[U_RATE] > 0
    binned = bin_contraction_times()[units.units[U_BIN].astype(int)]
    assert recruited.sum() > 1000
    assert np.all(np.abs(binned / tired.contraction_time - 1.0)[recruited] <= 0.0201)
    tired.reset()
    assert np.array_equal(tired.contraction_time, pool.contraction_time) and np.all(tired.capacity == 1.0)


def test_endurance_time_falls_with_force_and_matches_the_fit() -> None:
    """The fatigue rate is fitted to Frey-Law & Avin's 71 s at 50 %; the curve falls with force."""
    assert endurance_time(0.5, FATIGUE_RATE_PER_S) == pytest.approx(71.0, abs=0.5)
    assert (
        endurance_time(0.3, FATIGUE_RATE_PER_S)
        > endurance_time(0.5, FATIGUE_RATE_PER_S)
        > endurance_time(0.7, FATIGUE_RATE_PER_S)
    )
    r = sustained_contraction("VAS", 0.5, 120.0)
    held = r["force_fraction"]
    assert np.allclose(held, 0.5, atol=0.005)  # held by raising the drive (to within a unit joining)...
    assert np.all(np.diff(r["drive"]) >= -1e-6) and r["drive"][-1] > r["drive"][0] + 0.2  # ...which rises
    assert r["type2_share"][-1] > r["type2_share"][0]  # larger units join as smaller ones tire
    with pytest.raises(ValueError, match="target_fraction"):
        sustained_contraction("VAS", 1.5, 10.0)


def test_environments_with_fatigue() -> None:
    env = gym.make(ENV_IDS["Posture"], fatigue=True)
    action = np.full(9, 0.2, dtype=np.float32)  # drive 0.6 in every muscle, held

    def run(seed: int) -> tuple[np.ndarray, np.ndarray]:
        env.reset(seed=seed)
        forces, left = [], []
        for _ in range(100):
            *_, info = env.step(action)
            forces.append(info["muscle_force_n"].copy())
            left.append(info["fatigue_capacity_type2"].copy())
        return np.array(forces), np.array(left)

    forces, left = run(0)
    assert np.all(left[-1] < left[0]) and np.all(left[-1] < 1.0)  # type II capacity falls over 2 s
    again, left_again = run(0)
    assert np.array_equal(forces, again) and np.array_equal(left, left_again)  # reset restores it
    env.close()
    fresh = gym.make(ENV_IDS["Posture"])
    fresh.reset(seed=0)
    *_, info = fresh.step(action)
    assert np.all(info["fatigue_capacity_type1"] == 1.0) and np.all(info["fatigue_capacity_type2"] == 1.0)
    fresh.close()
    with pytest.raises(ArgumentError, match="fatigue"):
        gym.make(ENV_IDS["Posture"], fatigue=True, motor_units=False)
    with pytest.raises(ArgumentError, match="fatigue"):
        gym.make(ENV_IDS["Posture"], fatigue="yes")


def test_fatigue_in_discharge_mode_and_the_env_checkers() -> None:
    from gymnasium.utils.env_checker import check_env

    env = gym.make(ENV_IDS["Hop"], fatigue=True, motor_units="discharge")
    check_env(env.unwrapped, skip_render_check=True)
    env.reset(seed=1)
    for _ in range(50):
        obs, reward, term, trunc, info = env.step(np.full(9, 0.4, dtype=np.float32))
        assert np.all(np.isfinite(obs)) and np.isfinite(reward) and not info["unstable"]
        if term or trunc:
            break
    assert np.all(info["fatigue_capacity_type2"] < 1.0)
    env.close()


def test_compiled_fatigue_update_matches_its_numpy_statement() -> None:
    pool = MotorUnitPool.create(load_model().muscles, recruitment_limit=0.9)
    compiled, reference = UnitFatigue.create(pool), UnitFatigue.create(pool)
    rng = np.random.default_rng(2)
    for _ in range(200):
        drive = rng.random(9) * (rng.random(9) > 0.3)  # some muscles resting, recovering
        compiled.update(pool, drive, 0.02)
        reference.update_reference(pool, drive, 0.02)
    assert np.all(compiled.capacity <= 1.0) and compiled.capacity.min() < 0.99  # some tired, none above fresh
    np.testing.assert_allclose(compiled.capacity, reference.capacity, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(compiled.contraction_time, reference.contraction_time, rtol=1e-12)
    np.testing.assert_allclose(compiled.left(), reference.left_reference(), rtol=1e-12)
