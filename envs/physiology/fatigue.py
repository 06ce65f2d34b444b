"""Motor-unit fatigue: each unit's force capacity falls with its own activity and recovers at rest.

After Potvin & Fuglevand 2017 (PLoS Comput Biol 13:e1005581): fatigue lives in the motor units, and
their fatigability is spread across the pool, exponentially from the smallest (type I, most resistant)
to the largest (type II) unit over FATIGABILITY_RANGE (their 180-fold). Here, per unit and per control
step,

    dc/dt = -FATIGUE_RATE_PER_S * phi * a * c + RECOVERY_RATE_PER_S * [a = 0] * (1 - c)

with c its force capacity (1 fresh), phi its fatigability (1 for the largest unit), and a its activity:
its mean force at its current rate over its tetanic force (Fuglevand's force-frequency gain), 0 when
not recruited. A unit recovers only while it is not recruited (an assumption: a contracting muscle
restricts its own blood flow). A unit's force is its fresh force times c, in the rate and the discharge
modes alike. A tiring unit's twitch also slows: its contraction time lengthens in proportion to the
capacity it has lost,

    T = T_rested (1 + CONTRACTION_TIME_LENGTHENING (1 - c)),

as in Potvin & Fuglevand's model (their published code, after Shields et al. 1997), so that at the
same discharge rate its twitches fuse more (Fuglevand's force-frequency gain of T x rate rises) and a
tired unit at a low rate loses less force than its capacity alone says; at full fusion nothing changes.
Because the drive that held a force no longer does, holding it takes more drive: more units, larger
ones, which tire faster. FATIGUE_RATE_PER_S is fitted to one published endurance time (Frey-Law &
Avin 2010, knee, 50 % of maximal force: 71 s); the other endurance times and the decline of a
sustained maximal contraction are checks (`neuroleg validate`). Not modelled: the fall of discharge
rates during a sustained contraction that Potvin & Fuglevand also describe (after Revill & Fuglevand
2011), and central (neural) fatigue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .motor_units import MotorUnitPool

FATIGABILITY_RANGE = 180.0  # largest / smallest unit's fatigue rate (Potvin & Fuglevand 2017)
# Fitted (agents/validation/fatigue.py, fit_fatigue_rate) so that a sustained knee-extensor contraction
# at 50 % of maximal force, held by raising the drive, ends at Frey-Law & Avin 2010's 71 s.
FATIGUE_RATE_PER_S = 0.0607  # 1/s, for the largest unit at full activity
# Estimate: Sih, Ng & Stuhmiller 2012 (Int J Sports Med 33:376) fitted 0.3 % per s of recovery to
# quadriceps contractions with a whole-muscle model; here every resting unit recovers at that rate.
RECOVERY_RATE_PER_S = 0.003
# Potvin & Fuglevand 2017's code (ctSF = 0.379, "based on Shields et al (1997)"): a unit's contraction
# time grows by this share of it for all of its force capacity lost (dimensionless).
CONTRACTION_TIME_LENGTHENING = 0.379
# Assumption: a unit keeps at least 1 % of its fresh force; without a floor the largest units of a
# two-minute maximal contraction fall to about 0.07 % (exp(-0.061 x 120)).
CAPACITY_MIN = 0.01

# Rows of the per-unit matrix (rows, muscles, units): capacity, contraction time, rested contraction time,
# fatigability, fresh type I and type II force; of the per-muscle totals: the type I and type II capacity
# left, and the pool's fresh type I and type II force (what the compiled kernels.fatigue_step reads).
F_CAPACITY, F_CT, F_RESTED_CT, F_FATIGABILITY, F_FRESH1, F_FRESH2 = range(6)
N_FATIGUE_ROWS = 6
C_LEFT1, C_LEFT2, C_TOTAL1, C_TOTAL2 = range(4)


@dataclass
class UnitFatigue:
    """Per unit (muscles, units): force capacity, contraction time and their constants, as rows of one
    matrix (F_*; `capacity` and `contraction_time` are views of it, updated in place), and the
    type I and type II capacity left per muscle (`left`)."""

    units: np.ndarray  # (N_FATIGUE_ROWS, muscles, units)
    totals: np.ndarray  # (4, muscles): rows C_LEFT1, C_LEFT2 (what is left), C_TOTAL1, C_TOTAL2 (fresh)
    counts: np.ndarray
    fatigue_rate: float = FATIGUE_RATE_PER_S
    recovery_rate: float = RECOVERY_RATE_PER_S

    def __post_init__(self) -> None:
        # what kernels.fatigue_step reads as its `rates`, built once rather than every control step
        self._rates = np.array([self.fatigue_rate, self.recovery_rate, CAPACITY_MIN, CONTRACTION_TIME_LENGTHENING])

    @classmethod
    def create(
        cls, pool: MotorUnitPool, fatigue_rate: float = FATIGUE_RATE_PER_S, recovery_rate: float = RECOVERY_RATE_PER_S
    ) -> UnitFatigue:
        n, width = pool.threshold.shape
        units = np.zeros((N_FATIGUE_ROWS, n, width))
        for m, count in enumerate(pool.counts.astype(int)):
            i = np.arange(count)
            units[F_FATIGABILITY, m, :count] = FATIGABILITY_RANGE ** (i / max(count - 1, 1)) / FATIGABILITY_RANGE
        # each unit's tetanic force share at full capacity (its weight in what is left)
        fresh = pool.twitch * pool.force_frequency_gain(pool.contraction_time * pool.peak_rate) * pool.availability
        units[F_FRESH1] = fresh * pool.type1
        units[F_FRESH2] = fresh - units[F_FRESH1]
        units[F_RESTED_CT] = pool.contraction_time
        totals = np.zeros((4, n))
        totals[C_TOTAL1] = units[F_FRESH1].sum(axis=1)
        totals[C_TOTAL2] = units[F_FRESH2].sum(axis=1)
        f = cls(units, totals, pool.counts.copy(), fatigue_rate, recovery_rate)
        f.reset()
        return f

    @property
    def capacity(self) -> np.ndarray:
        return self.units[F_CAPACITY]

    @property
    def contraction_time(self) -> np.ndarray:
        return self.units[F_CT]

    @property
    def rested_contraction_time(self) -> np.ndarray:
        return self.units[F_RESTED_CT]

    def reset(self) -> None:
        self.capacity[...] = 1.0
        self.contraction_time[...] = self.rested_contraction_time
        self.totals[[C_LEFT1, C_LEFT2]] = 1.0

    def update(self, pool: MotorUnitPool, drive: np.ndarray, dt: float) -> None:
        """`dt` seconds at `drive`: every unit's capacity falls with its activity and recovers, and
        its contraction time follows (compiled; `update_reference` is the numpy statement of the same)."""
        from .kernels import fatigue_step  # numba: loaded when fatigue is asked for

        fatigue_step(
            np.clip(np.asarray(drive, dtype=float), 0.0, 1.0),
            pool.threshold,
            pool.peak_rate,
            pool.availability,
            self.counts,
            pool.max_excitation,
            self.units,
            self.totals,
            self._rates,
            dt,
        )

    def update_reference(self, pool: MotorUnitPool, drive: np.ndarray, dt: float) -> None:
        rate, weight, _ = pool.unit_rates(drive)
        activity = np.where(weight > 0.0, pool.force_frequency_gain(self.contraction_time * rate), 0.0)
        c = self.capacity
        resting = activity <= 0.0
        dc = -self.fatigue_rate * self._fatigability * activity * c + self.recovery_rate * resting * (1.0 - c)
        np.clip(c + dc * dt, CAPACITY_MIN, 1.0, out=c)
        np.multiply(
            self.rested_contraction_time, 1.0 + CONTRACTION_TIME_LENGTHENING * (1.0 - c), out=self.contraction_time
        )

    @property
    def _fatigability(self) -> np.ndarray:
        return self.units[F_FATIGABILITY]

    def left(self) -> tuple[np.ndarray, np.ndarray]:
        """(type I, type II) force capacity left per muscle, 0..1, weighted by each unit's fresh force
        (as of the last `update`; `left_reference` after `update_reference`)."""
        return self.totals[C_LEFT1].copy(), self.totals[C_LEFT2].copy()

    def left_reference(self) -> tuple[np.ndarray, np.ndarray]:
        """`left` computed afresh from every unit's capacity (numpy)."""
        f1, f2 = self.units[F_FRESH1], self.units[F_FRESH2]
        total1, total2 = f1.sum(axis=1), f2.sum(axis=1)
        t1 = (self.capacity * f1).sum(axis=1) / np.where(total1 > 0, total1, 1.0)
        t2 = (self.capacity * f2).sum(axis=1) / np.where(total2 > 0, total2, 1.0)
        return np.where(total1 > 0, t1, 1.0), np.where(total2 > 0, t2, 1.0)
