"""Motor-unit pools: neural drive (0..1) -> active force fraction, by recruitment and rate coding.

Fuglevand, Winter & Patla 1993 (J Neurophysiol 70:2470): exponentially distributed recruitment
thresholds and twitch forces, linear rate coding from a minimum to a threshold-dependent peak
rate, contraction times shorter for larger units, and a force-frequency gain. Size principle
(Henneman 1965): units are ordered small/slow (type I) to large/fast (type II).

Every call is vectorised over (muscles, units): no Python loop over units.

Three user parameters per muscle (or for the whole body):
- recruitment_limit: the fraction of the pool's force capacity a person can recruit voluntarily
  (interpolated-twitch voluntary activation: untrained ~0.85-0.9, trained ~0.97-1.0; Kooistra 2007).
  The highest-threshold (type II) units past the limit are never recruited.
- rate_scale: multiplies every unit's peak discharge rate (training raises peak rates).
- synchronization: 0..1; in the rate mode it shortens the activation time constant (raises the rate
  of force development; Semmler 2002 reports the effect but not its size: SYNC_TAU_GAIN is an
  assumption). Discharging units (`discharge`) synchronize their discharges instead.

Each muscle's pool has its own size and range of twitch forces, RP (the model file's, else
N_UNITS_DEFAULT and Fuglevand's 100-fold); the arrays are padded to the largest pool. The rate mode's
pools have RATE_MODE_UNITS each unless asked otherwise (`unit_counts_for`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .metabolics import bhargava_slow_fast
from .model import MOTOR_UNITS_DEFAULT, UNIT_COUNT_RANGE, MuscleParams

# A finite rate of rise of the neural drive (Bobbert & Casius 2005, MSSE 37:440: after switching on,
# stimulation rises to its maximum at a fixed dSTIM/dt; their countermovement jump's advantage over
# the squat jump grew from 0.4 cm at an infinite rate to ~2.5 cm at their lowest). The drive may rise
# from 0 to 1 in no less than `drive_rise_s`, at the control step's resolution; falling is not limited
# (deactivation is the muscles' own). 0 = a step, as before. Up to 1 s: slower is not a rapid movement.
DRIVE_RISE_MAX_S = 1.0

# --- Fuglevand, Winter & Patla 1993 ---
N_UNITS_DEFAULT = MOTOR_UNITS_DEFAULT  # units per pool when the model file names none (Fuglevand's)
# The rate mode's pools, unless n_units names others: Fuglevand's 120 units each, whatever the model
# file's counts (which discharge mode uses). The rate mode computes a pool's mean force, a sum over its
# units that converges as they grow; at 120 it is within 1 % of maximal force of a pool of 445-1678
# units at every drive (tests/test_motor_units.py), at a cost per control step that grows with the
# units. Only the fluctuation about the
# mean, which only discharge mode has, needs the real numbers.
RATE_MODE_UNITS = MOTOR_UNITS_DEFAULT
RECRUITMENT_RANGE = 30.0  # RR, largest / smallest recruitment threshold
CONTRACTION_TIME_LONGEST_S = 0.090  # T_L
CONTRACTION_TIME_RANGE = 3.0  # RT
MIN_FIRING_RATE_HZ = 8.0  # MFR
PEAK_FIRING_RATE_FIRST_HZ = 35.0  # PFR_1
PEAK_FIRING_RATE_DROP_HZ = 10.0  # PFRD
EXCITATORY_GAIN = 1.0  # g_e, Hz per excitation unit
# Force-frequency gain of Fuglevand 1993 normalised to a unit's tetanic force:
# h(x) = 0.3 x for x = T * FR <= 0.4, else 1 - exp(-2 x^3) (continuous at 0.4).
FF_LINEAR_LIMIT = 0.4
FF_LINEAR_SLOPE = 0.3
# --- assumption (Semmler 2002 gives the direction, not the size) ---
SYNC_TAU_GAIN = 0.5  # activation time constant divided by (1 + SYNC_TAU_GAIN * synchronization)

# Seeds of the discharge kernel's generator, drawn from the caller's every control step (numba's
# np.random.seed takes 32-bit seeds).
DISCHARGE_SEED_LIMIT = 2**31 - 1
# The period at which the benches outside an environment reseed discharges and update fatigue: the
# environments' control step (s), so that a bench is what an environment step does.
BENCH_CONTROL_PERIOD_S = 0.02

RECRUITMENT_LIMIT_RANGE = (0.5, 1.0)
RATE_SCALE_RANGE = (0.5, 2.0)
SYNCHRONIZATION_RANGE = (0.0, 1.0)


class Recruitment(NamedTuple):
    """What a pool does at a given drive; arrays over muscles."""

    force_fraction: np.ndarray  # active force / F_max, the excitation of the Hill model, 0..1
    slow_force: np.ndarray  # part of force_fraction produced by type I units
    fast_force: np.ndarray  # part produced by type II units
    recruited_fraction: np.ndarray  # recruited units / pool size
    mean_rate_hz: np.ndarray  # mean discharge rate of recruited units (0 when none)
    at_limit: np.ndarray  # bool: every unit the recruitment limit allows is recruited

    @property
    def type2_share(self) -> np.ndarray:
        """Share of the active force from type II units (0 where no force)."""
        total = self.slow_force + self.fast_force
        return np.divide(self.fast_force, total, out=np.zeros_like(total), where=total > 0)


def _per_muscle(
    value: float | Mapping[str, float], names: tuple[str, ...], field: str, allowed: tuple[float, float]
) -> np.ndarray:
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"{field}: unknown muscle(s) {unknown}; known: {list(names)}")
        missing = sorted(set(names) - set(value))
        if missing:
            raise ValueError(f"{field}: a per-muscle mapping must name every muscle; missing {missing}")
        arr = np.array([float(value[n]) for n in names])
    else:
        arr = np.full(len(names), float(value))
    lo, hi = allowed
    bad = [names[i] for i in np.flatnonzero(~((arr >= lo) & (arr <= hi)))]
    if bad:
        raise ValueError(f"{field} must lie in [{lo}, {hi}]; bad for {bad}: {arr.tolist()}")
    return arr


def _unit_counts(value: int | Mapping[str, int], names: tuple[str, ...]) -> np.ndarray:
    """Units per pool: one whole number for every muscle or one per muscle, each in UNIT_COUNT_RANGE."""
    values = value.values() if isinstance(value, Mapping) else [value]
    if any(isinstance(n, bool) or not isinstance(n, int | np.integer) for n in values):
        raise ValueError(f"n_units must be whole numbers, got {value!r}")
    return _per_muscle(value, names, "n_units", UNIT_COUNT_RANGE).astype(int)


def unit_counts_for(discharge: bool, n_units: int | Mapping[str, int] | None) -> int | Mapping[str, int] | None:
    """The `n_units` to build a pool with: what was asked, else the model file's counts (None) for
    discharging units and RATE_MODE_UNITS for the rate mode."""
    if n_units is not None:
        return n_units
    return None if discharge else RATE_MODE_UNITS


def _validate_drive(drive: np.ndarray, n: int) -> np.ndarray:
    d = np.asarray(drive, dtype=float)
    if d.shape != (n,):
        raise ValueError(f"drive must have shape ({n},), got {d.shape}")
    if not np.all(np.isfinite(d)):
        raise ValueError(f"drive must be finite; got {d.tolist()}")
    return np.clip(d, 0.0, 1.0)


@dataclass(frozen=True)
class MotorUnitPool:
    """Fuglevand pools for every muscle, each of its own size. Build with `MotorUnitPool.create`.

    Arrays are (muscles, units) with `units` the largest pool's size: a smaller pool's extra columns are
    padding that is never recruited (threshold infinite, availability 0, no twitch)."""

    names: tuple[str, ...]
    threshold: np.ndarray  # (muscles, units) recruitment threshold excitation
    twitch: np.ndarray  # (muscles, units) twitch force, arbitrary units
    contraction_time: np.ndarray  # (muscles, units) s
    peak_rate: np.ndarray  # (muscles, units) Hz, after rate_scale
    availability: np.ndarray  # (muscles, units) 0..1, fraction of the unit inside the limit
    type1: np.ndarray  # (muscles, units) 0..1, fraction of the unit that is type I
    max_excitation: float  # excitation at drive 1
    normaliser: np.ndarray  # (muscles,) force at full drive, full pool, rate_scale 1
    counts: np.ndarray  # (muscles,) units in each pool
    recruitment_limit: np.ndarray
    rate_scale: np.ndarray
    synchronization: np.ndarray

    @classmethod
    def create(
        cls,
        muscles: MuscleParams,
        recruitment_limit: float | Mapping[str, float] = 1.0,
        rate_scale: float | Mapping[str, float] = 1.0,
        synchronization: float | Mapping[str, float] = 0.0,
        n_units: int | Mapping[str, int] | None = None,
    ) -> MotorUnitPool:
        """n_units: units per pool, one number or one per muscle; None: the model file's counts."""
        names = muscles.names
        limit = _per_muscle(recruitment_limit, names, "recruitment_limit", RECRUITMENT_LIMIT_RANGE)
        scale = _per_muscle(rate_scale, names, "rate_scale", RATE_SCALE_RANGE)
        sync = _per_muscle(synchronization, names, "synchronization", SYNCHRONIZATION_RANGE)
        counts = muscles.motor_unit_count if n_units is None else _unit_counts(n_units, names)
        assert counts is not None  # MuscleParams fills it
        width = int(counts.max())
        shape = (len(names), width)
        threshold, twitch = np.full(shape, np.inf), np.zeros(shape)
        contraction_time, base_peak = np.ones(shape), np.full(shape, MIN_FIRING_RATE_HZ)
        availability, type1, normaliser = np.zeros(shape), np.zeros(shape), np.zeros(len(names))
        ranges = muscles.twitch_force_range
        assert ranges is not None  # MuscleParams fills it
        for m, n in enumerate(counts):
            i = np.arange(1, n + 1)
            # contraction times span RT whatever the twitch range: T = T_L (1 / P)^(1 / c)
            c = math.log(ranges[m]) / math.log(CONTRACTION_TIME_RANGE)
            threshold[m, :n] = np.exp(i * math.log(RECRUITMENT_RANGE) / n)
            twitch[m, :n] = np.exp(i * math.log(ranges[m]) / n)
            contraction_time[m, :n] = CONTRACTION_TIME_LONGEST_S * (1.0 / twitch[m, :n]) ** (1.0 / c)
            base_peak[m, :n] = (
                PEAK_FIRING_RATE_FIRST_HZ - PEAK_FIRING_RATE_DROP_HZ * threshold[m, :n] / threshold[m, n - 1]
            )
            # Share of the pool's maximal force held by units 1..i at their peak rates, so that the
            # recruitment limit equals voluntary activation as the interpolated twitch measures it (a
            # force fraction) and the type I share of maximal force equals the slow-twitch fraction.
            unscaled = cls._unit_force(base_peak[m, :n], contraction_time[m, :n], twitch[m, :n])
            cum = np.concatenate(([0.0], np.cumsum(unscaled))) / unscaled.sum()
            lower, upper = cum[:-1], cum[1:]
            # Fraction of each unit below a boundary; the unit straddling it counts in part.
            availability[m, :n] = np.clip((limit[m] - lower) / (upper - lower), 0.0, 1.0)
            type1[m, :n] = np.clip((muscles.slow_twitch_fraction[m] - lower) / (upper - lower), 0.0, 1.0)
            normaliser[m] = unscaled.sum()
        # The last unit reaches its (unscaled) peak rate exactly at drive 1; RR and PFR are common to
        # every pool, so that excitation (RR + PFR_1 - PFRD - MFR, up to rounding) is the same for all.
        last = counts[0] - 1
        max_excitation = float(threshold[0, last] + (base_peak[0, last] - MIN_FIRING_RATE_HZ) / EXCITATORY_GAIN)
        return cls(
            names=names,
            threshold=threshold,
            twitch=twitch,
            contraction_time=contraction_time,
            peak_rate=base_peak * scale[:, None],
            availability=availability,
            type1=type1,
            max_excitation=max_excitation,
            normaliser=normaliser,
            counts=counts.astype(float),
            recruitment_limit=limit,
            rate_scale=scale,
            synchronization=sync,
        )

    @staticmethod
    def force_frequency_gain(x: np.ndarray) -> np.ndarray:
        """A unit's mean force over its tetanic force at x = contraction time x rate (Fuglevand 1993)."""
        return np.where(x <= FF_LINEAR_LIMIT, FF_LINEAR_SLOPE * x, 1.0 - np.exp(-2.0 * x**3))

    @classmethod
    def _unit_force(cls, rate: np.ndarray, contraction_time: np.ndarray, twitch: np.ndarray) -> np.ndarray:
        return twitch * cls.force_frequency_gain(contraction_time * rate)

    @property
    def n_units(self) -> int:
        """The largest pool's size (the arrays' width)."""
        return self.threshold.shape[1]

    def _unit_forces(
        self, drive: np.ndarray, capacity: np.ndarray | None, contraction_time: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per unit at this drive: (rate in Hz, 0 where not recruited; the recruited share of the unit,
        0..1; its mean force, arbitrary units, times its capacity when given). `contraction_time`:
        each unit's (s; fatigue lengthens it), the rested one when None."""
        d = _validate_drive(drive, len(self.names))
        excitation = d[:, None] * self.max_excitation
        weight = (excitation >= self.threshold) * self.availability  # padding never is (threshold infinite)
        rate = np.where(
            weight > 0,
            np.minimum(EXCITATORY_GAIN * (excitation - self.threshold) + MIN_FIRING_RATE_HZ, self.peak_rate),
            0.0,
        )
        ct = self.contraction_time if contraction_time is None else contraction_time
        force = self._unit_force(rate, ct, self.twitch) * weight
        return rate, weight, force if capacity is None else force * capacity

    def recruit(
        self, drive: np.ndarray, capacity: np.ndarray | None = None, contraction_time: np.ndarray | None = None
    ) -> Recruitment:
        """Map neural drive (muscles,) in [0, 1] to force and recruitment. NaN raises ValueError.
        `capacity`: each unit's force capacity left (muscles, units; `fatigue`), 1 when None;
        `contraction_time`: each unit's, lengthened by fatigue (the rested ones when None)."""
        rate, weight, force = self._unit_forces(drive, capacity, contraction_time)
        fraction_of = 1.0 / self.normaliser
        slow = (force * self.type1).sum(axis=1) * fraction_of
        fast = (force * (1.0 - self.type1)).sum(axis=1) * fraction_of
        total = slow + fast
        # rate_scale > 1 can exceed the normal maximum; F_max stays the ceiling.
        over = np.maximum(total, 1.0)
        recruited = weight.sum(axis=1)
        mean_rate = np.divide(
            (rate * weight).sum(axis=1), recruited, out=np.zeros(len(self.names)), where=recruited > 0
        )
        allowed = self.availability.sum(axis=1)
        return Recruitment(
            force_fraction=total / over,
            slow_force=slow / over,
            fast_force=fast / over,
            recruited_fraction=recruited / self.counts,
            mean_rate_hz=mean_rate,
            at_limit=recruited >= allowed - 1e-9,
        )

    def unit_rates(
        self, drive: np.ndarray, capacity: np.ndarray | None = None, contraction_time: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per unit at this drive: (rate in Hz, 0 where not recruited; the recruited share of the unit,
        0..1; per muscle, the factor from summed unit force to the force fraction `recruit` gives)."""
        rate, weight, force = self._unit_forces(drive, capacity, contraction_time)
        total = force.sum(axis=1) / self.normaliser
        return rate, weight, 1.0 / (self.normaliser * np.maximum(total, 1.0))

    def active_units(self, drive: np.ndarray) -> np.ndarray:
        """(muscles, units) bool: which units discharge at this drive (for analysis and plots)."""
        d = _validate_drive(drive, len(self.names))
        return (d[:, None] * self.max_excitation >= self.threshold) & (self.availability > 0)


@dataclass(frozen=True)
class LumpedDrive:
    """The simpler option: drive is the excitation (times the recruitment limit).

    The slow/fast split is Bhargava et al. 2004's recruitment estimate, r sin(pi u / 2) and
    (1 - r)(1 - cos(pi u / 2)), unscaled, so that both metabolic models reproduce their published
    formulas exactly in this mode (the two parts need not sum to the force fraction here).
    """

    names: tuple[str, ...]
    slow_twitch_fraction: np.ndarray
    recruitment_limit: np.ndarray
    synchronization: np.ndarray

    @classmethod
    def create(
        cls,
        muscles: MuscleParams,
        recruitment_limit: float | Mapping[str, float] = 1.0,
        synchronization: float | Mapping[str, float] = 0.0,
    ) -> LumpedDrive:
        names = muscles.names
        return cls(
            names=names,
            slow_twitch_fraction=muscles.slow_twitch_fraction,
            recruitment_limit=_per_muscle(recruitment_limit, names, "recruitment_limit", RECRUITMENT_LIMIT_RANGE),
            synchronization=_per_muscle(synchronization, names, "synchronization", SYNCHRONIZATION_RANGE),
        )

    def recruit(self, drive: np.ndarray) -> Recruitment:
        d = _validate_drive(drive, len(self.names))
        u = d * self.recruitment_limit
        slow, fast = bhargava_slow_fast(u, self.slow_twitch_fraction)
        return Recruitment(
            force_fraction=u,
            slow_force=slow,
            fast_force=fast,
            recruited_fraction=u,
            mean_rate_hz=np.zeros_like(u),
            at_limit=d >= 1.0,
        )
