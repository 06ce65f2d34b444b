"""Discharging motor units: every unit of a pool fires impulses, and each impulse adds its twitch.
This module also holds the compiled rate-mode recruitment (`recruit`), which shares the units' rate
coding (`unit_rate_and_gain`): numba caches a kernel by its own file, so the kernels that call each
other live in one.

The rate mode (`motor_units.MotorUnitPool.recruit`) maps drive to the mean force of the recruited
units. In discharge mode each recruited unit fires at the same mean rate, with intervals that vary
about it (Gaussian, coefficient of variation falling with rate: 0.3 just above recruitment to 0.1,
as Moritz, Barry, Pascoe & Enoka 2005 measured in human units), and each impulse adds the unit's
twitch, f(t) = P (t / T) exp(1 - t / T) (Fuglevand, Winter & Patla 1993), summed at the physics rate.
The twitch is the impulse response of two first-order stages with time constant T, stepped exactly.
Each unit's twitch is scaled by its force-frequency gain at its rate, so that the mean force equals
the rate mode's (tested): what discharge adds is the fluctuation about it, larger for fewer, larger
units and at low forces, where few units fire at low rates.

Synchronization, as Yao, Fuglevand & Enoka 2000 simulated it: a share of each unit's discharges is
moved to coincide with a discharge of a unit of similar recruitment threshold. Here a unit whose
next discharge is due within SYNC_WINDOW_S fires now, with probability `synchronization`, when a
neighbour (within SYNC_NEIGHBOURS_FRACTION of the pool) fires now; the interval after it is
lengthened by as much, so the unit's rate, and so the mean force, stay as they were.

The kernel is compiled (numba), with no Python loop over units. Its random numbers come from a seed
the caller draws from the environment's generator at every control step, so a seed gives the same
discharges, also in a reused environment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from . import motor_units as mu
from .baking import fingerprint, require_baked
from .motor_units import MotorUnitPool

# Moritz et al. 2005 (J Neurophysiol 93:2449): the interval CV of human units is 0.1-0.3, highest
# just above recruitment and falling as the rate rises. The form and the decay rate are this model's
# estimate of that description: CV = floor + (at recruitment - floor) exp(-(rate - MFR) / decay).
ISI_CV_AT_RECRUITMENT = 0.3
ISI_CV_FLOOR = 0.1
ISI_CV_DECAY_HZ = 4.0  # estimate: the CV is within 0.01 of its floor 12 Hz above the minimum rate
ISI_REFRACTORY_S = 0.005  # estimate: no interval shorter than a motoneuron's refractory period
# Yao, Fuglevand & Enoka 2000 synchronized discharges of units of similar threshold; the window and
# the neighbourhood are this model's choices (estimates).
SYNC_WINDOW_S = 0.025
SYNC_NEIGHBOURS_FRACTION = 0.1


# Rows of the per-unit matrix (rows, muscles, units): one array, so that a kernel call has few
# arguments (numba's dispatch cost grows with their number).
U_RATE, U_AMP, U_TYPE1, U_DECAY, U_STEP, U_X1, U_X2, U_NEXT, U_FIRED = range(9)
N_UNIT_ROWS = 9


@dataclass
class DischargeUnits:
    """The per-unit constants and state of discharging pools (`units`, rows U_*) and the per-muscle
    output (`out`: force fraction of F_max, its type I part, its type II part)."""

    units: np.ndarray  # (N_UNIT_ROWS, muscles, units)
    synchronization: np.ndarray  # (muscles,)
    counts: np.ndarray  # (muscles,) units in each pool
    out: np.ndarray  # (3, muscles)
    dt: float

    @classmethod
    def create(cls, pool: MotorUnitPool, dt: float) -> DischargeUnits:
        n, count = pool.peak_rate.shape
        units = np.zeros((N_UNIT_ROWS, n, count))
        t = pool.contraction_time
        units[U_DECAY] = np.exp(-dt / t)  # one physics step of each twitch stage
        units[U_STEP] = dt / t
        units[U_TYPE1] = pool.type1
        units[U_NEXT] = np.inf
        return cls(units, pool.synchronization.astype(float).copy(), pool.counts.copy(), np.zeros((3, n)), dt)

    def reset(self) -> None:
        for row in (U_RATE, U_AMP, U_X1, U_X2, U_FIRED):
            self.units[row] = 0.0
        self.units[U_NEXT] = np.inf
        self.out[...] = 0.0

    def set_contraction_time(self, contraction_time: np.ndarray) -> None:
        """Each unit's twitch time constant (s; fatigue lengthens it): the exact one-step decay of its
        two stages."""
        np.exp(-self.dt / contraction_time, out=self.units[U_DECAY])
        np.divide(self.dt, contraction_time, out=self.units[U_STEP])

    def set_drive(
        self, pool: MotorUnitPool, drive: np.ndarray, capacity: np.ndarray, contraction_time: np.ndarray | None = None
    ) -> None:
        """Each unit's rate and twitch amplitude at this drive and force capacity (compiled;
        `set_drive_reference` is the numpy statement of the same), so that the mean force is the rate
        mode's. `contraction_time`: each unit's, when fatigue has lengthened it (None: the rested)."""
        d = np.clip(np.asarray(drive, dtype=float), 0.0, 1.0)
        if contraction_time is not None:
            self.set_contraction_time(contraction_time)
        set_drive_kernel(
            d,
            pool.threshold,
            pool.twitch,
            pool.contraction_time if contraction_time is None else contraction_time,
            pool.peak_rate,
            pool.availability,
            capacity,
            pool.max_excitation,
            pool.normaliser,
            self.units,
            self.dt,
        )

    def set_drive_reference(
        self, pool: MotorUnitPool, drive: np.ndarray, capacity: np.ndarray, contraction_time: np.ndarray | None = None
    ) -> None:
        """amplitude = P h(T r) w c / (r S) / (normaliser max(total, 1)), with S = dt sum_k x2_k, one
        twitch's discrete area, w the recruited share of the unit, c its force capacity and total the
        rate mode's force."""
        ct = pool.contraction_time if contraction_time is None else contraction_time
        self.set_contraction_time(ct)
        rate, weight, scale = pool.unit_rates(drive, capacity, ct)
        gain = pool.force_frequency_gain(ct * rate)
        q = self.units[U_DECAY]
        area = self.dt * self.units[U_STEP] * q / (1.0 - q) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            amp = np.where(rate > 0.0, pool.twitch * gain * weight * capacity / (rate * area), 0.0)
        self.units[U_AMP] = amp * scale[:, None]
        self.units[U_RATE] = rate
        self.units[U_FIRED] = 0.0

    def discharging(self) -> np.ndarray:
        """(muscles,) units that discharged at least once since the last `set_drive`."""
        return (self.units[U_FIRED] > 0.0).sum(axis=1).astype(float)

    def step(self, seed: int) -> np.ndarray:
        """One physics step; `seed` >= 0 reseeds the kernel's generator (first step of a control step).
        Returns `out`."""
        discharge_step(self.units, self.synchronization, self.counts, self.out, self.dt, seed)
        return self.out


def isi_cv(rate_hz: np.ndarray | float) -> np.ndarray:
    """Coefficient of variation of the discharge intervals at a rate (Moritz et al. 2005's shape)."""
    return ISI_CV_FLOOR + (ISI_CV_AT_RECRUITMENT - ISI_CV_FLOOR) * np.exp(
        -np.maximum(np.asarray(rate_hz) - _MFR, 0.0) / ISI_CV_DECAY_HZ
    )


_MFR, _GE = mu.MIN_FIRING_RATE_HZ, mu.EXCITATORY_GAIN
_FFL, _FFS = mu.FF_LINEAR_LIMIT, mu.FF_LINEAR_SLOPE
_CV0, _CVF, _CVD = ISI_CV_AT_RECRUITMENT, ISI_CV_FLOOR, ISI_CV_DECAY_HZ
_REFR, _SYNCW, _SYNCN = ISI_REFRACTORY_S, SYNC_WINDOW_S, SYNC_NEIGHBOURS_FRACTION
_RELAXED = 1e-12  # a twitch stage below this is zero: a silent unit costs no arithmetic

# The fingerprint of motor_units' constants the kernels bake in (baking says why).
BAKED_CONSTANTS_SHA256 = "56cb052f6e106219eb4ca93a2d9bde788829d429f469eb6036739c2ed33c6474"


def baked_constants_sha256() -> str:
    return fingerprint(tuple(float(x) for x in (_MFR, _GE, _FFL, _FFS)))


require_baked(baked_constants_sha256(), BAKED_CONSTANTS_SHA256, __file__, "a motor-unit constant")


@njit(cache=True)
def _interval(rate: float) -> float:  # pragma: no cover - compiled
    cv = _CVF + (_CV0 - _CVF) * math.exp(-max(rate - _MFR, 0.0) / _CVD)
    return max((1.0 + cv * np.random.standard_normal()) / rate, _REFR)  # noqa: NPY002


@njit(cache=True)
def discharge_step(
    u: np.ndarray, sync: np.ndarray, counts: np.ndarray, out: np.ndarray, dt: float, seed: int
) -> None:  # pragma: no cover - compiled
    """One physics step of every unit (rows U_* of `u`): twitch stages, discharges, synchronization;
    the muscles' summed force fractions into `out`. Numba's generator (np.random inside the kernel)
    is reseeded from `seed` when it is >= 0."""
    if seed >= 0:
        np.random.seed(seed)  # noqa: NPY002 - numba's kernels have only the legacy generator
    n, units = u.shape[1], u.shape[2]
    spike = np.zeros(units, dtype=np.bool_)
    tried = np.zeros(units, dtype=np.bool_)
    for m in range(n):
        for i in range(units):
            spike[i] = False
            r = u[U_RATE, m, i]
            if r <= 0.0:
                u[U_NEXT, m, i] = np.inf
                continue
            if u[U_NEXT, m, i] == np.inf:  # newly recruited: first discharge at a random phase
                u[U_NEXT, m, i] = np.random.random() / r  # noqa: NPY002
            u[U_NEXT, m, i] -= dt
            spike[i] = u[U_NEXT, m, i] <= 0.0
        s = sync[m]
        reach = max(int(_SYNCN * counts[m]), 1)
        if s > 0.0:
            # A unit due within the window fires with a neighbour that fires now, with probability s:
            # one draw per unit and step, neighbours pulled in count too (a forward, then a backward
            # pass), so that a higher s makes larger synchronous groups.
            for i in range(units):
                tried[i] = spike[i] or u[U_RATE, m, i] <= 0.0 or u[U_NEXT, m, i] > _SYNCW
            for sweep in range(2):
                for j in range(units):
                    i = j if sweep == 0 else units - 1 - j
                    if tried[i]:
                        continue
                    for k in range(max(i - reach, 0), min(i + reach + 1, units)):
                        if spike[k]:
                            tried[i] = True
                            spike[i] = np.random.random() < s  # noqa: NPY002
                            break
        force = slow = 0.0
        for i in range(units):
            x1 = u[U_X1, m, i]
            if x1 == 0.0 and u[U_X2, m, i] == 0.0 and not spike[i]:
                continue  # silent and relaxed
            q = u[U_DECAY, m, i]
            x2 = (u[U_X2, m, i] + x1 * u[U_STEP, m, i]) * q
            x1 *= q
            if x2 < _RELAXED and x1 < _RELAXED:
                x1 = x2 = 0.0
            if spike[i]:
                x1 += 1.0
                u[U_FIRED, m, i] += 1.0
                # the next interval follows this discharge; a discharge pulled early by t_next keeps
                # its place in the train (the rate stays)
                u[U_NEXT, m, i] += _interval(u[U_RATE, m, i])
            u[U_X1, m, i] = x1
            u[U_X2, m, i] = x2
            f = u[U_AMP, m, i] * x2
            force += f
            slow += f * u[U_TYPE1, m, i]
        out[0, m] = force
        out[1, m] = slow
        out[2, m] = force - slow


@njit(cache=True)
def unit_rate_and_gain(
    excitation: float, threshold: float, peak_rate: float, contraction_time: float
) -> tuple[float, float]:  # pragma: no cover - compiled
    """A recruited unit's rate (Hz) and force-frequency gain at an excitation (Fuglevand 1993; the
    compiled statement of MotorUnitPool's rate coding, shared by both compiled pools)."""
    rate = min(_GE * (excitation - threshold) + _MFR, peak_rate)
    x = contraction_time * rate
    return rate, (_FFS * x if x <= _FFL else 1.0 - math.exp(-2.0 * x * x * x))


@njit(cache=True)
def set_drive_kernel(
    drive: np.ndarray,
    threshold: np.ndarray,
    twitch: np.ndarray,
    contraction_time: np.ndarray,
    peak_rate: np.ndarray,
    availability: np.ndarray,
    capacity: np.ndarray,
    max_excitation: float,
    normaliser: np.ndarray,
    u: np.ndarray,
    dt: float,
) -> None:  # pragma: no cover - compiled
    """DischargeUnits.set_drive_reference as one loop: rows U_RATE and U_AMP, U_FIRED zeroed."""
    n, units = availability.shape
    for m in range(n):
        e = drive[m] * max_excitation
        total = 0.0
        for i in range(units):
            u[U_FIRED, m, i] = 0.0
            w = availability[m, i]
            if e < threshold[m, i] or w <= 0.0:
                u[U_RATE, m, i] = 0.0
                u[U_AMP, m, i] = 0.0
                continue
            rate, gain = unit_rate_and_gain(e, threshold[m, i], peak_rate[m, i], contraction_time[m, i])
            f = twitch[m, i] * gain * w * capacity[m, i]
            total += f
            q = u[U_DECAY, m, i]
            area = dt * u[U_STEP, m, i] * q / ((1.0 - q) * (1.0 - q))
            u[U_RATE, m, i] = rate
            u[U_AMP, m, i] = f / (rate * area)
        scale = 1.0 / (normaliser[m] * max(total / normaliser[m], 1.0))
        for i in range(units):
            u[U_AMP, m, i] *= scale


def recruit_pool(
    pool: MotorUnitPool,
    drive: np.ndarray,
    capacity: np.ndarray,
    out: np.ndarray,
    contraction_time: np.ndarray | None = None,
) -> np.ndarray:
    """The compiled `recruit` of a pool at a validated drive and each unit's force capacity (and
    contraction time, when fatigue has lengthened it); `out`'s rows R_*."""
    recruit(
        drive,
        pool.threshold,
        pool.twitch,
        pool.contraction_time if contraction_time is None else contraction_time,
        pool.peak_rate,
        pool.availability,
        pool.type1,
        capacity,
        pool.max_excitation,
        pool.normaliser,
        pool.counts,
        out,
    )
    return out


# Rows of the recruitment output matrix (the fields of motor_units.Recruitment).
# R_ACTIVE: units recruited (any share of them), what info reports as discharging in the rate mode.
R_FORCE, R_SLOW, R_FAST, R_RECRUITED, R_RATE, R_AT_LIMIT, R_ACTIVE = range(7)
N_RECRUIT_ROWS = 7


@njit(cache=True)
def recruit(
    drive: np.ndarray,
    threshold: np.ndarray,
    twitch: np.ndarray,
    contraction_time: np.ndarray,
    peak_rate: np.ndarray,
    availability: np.ndarray,
    type1: np.ndarray,
    capacity: np.ndarray,
    max_excitation: float,
    normaliser: np.ndarray,
    counts: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """MotorUnitPool.recruit (the rate mode) as one loop, the drive validated and clipped; writes rows R_*."""
    n, units = availability.shape
    for m in range(n):
        e = drive[m] * max_excitation
        slow = fast = recruited = rate_sum = allowed = active = 0.0
        for i in range(units):
            allowed += availability[m, i]
            if e < threshold[m, i]:
                continue
            w = availability[m, i]
            rate, gain = unit_rate_and_gain(e, threshold[m, i], peak_rate[m, i], contraction_time[m, i])
            f = twitch[m, i] * gain * w * capacity[m, i]
            slow += f * type1[m, i]
            fast += f * (1.0 - type1[m, i])
            recruited += w
            active += 1.0 if w > 0.0 else 0.0
            rate_sum += rate * w
        slow /= normaliser[m]
        fast /= normaliser[m]
        over = max(slow + fast, 1.0)
        out[R_FORCE, m] = (slow + fast) / over
        out[R_SLOW, m] = slow / over
        out[R_FAST, m] = fast / over
        out[R_RECRUITED, m] = recruited / counts[m]
        out[R_RATE, m] = rate_sum / recruited if recruited > 0 else 0.0
        out[R_AT_LIMIT, m] = 1.0 if recruited >= allowed - 1e-9 else 0.0
        out[R_ACTIVE, m] = active


@njit(cache=True)
def fatigue_step(
    drive: np.ndarray,
    threshold: np.ndarray,
    peak_rate: np.ndarray,
    contraction_time: np.ndarray,
    availability: np.ndarray,
    max_excitation: float,
    fatigability: np.ndarray,
    capacity: np.ndarray,
    fatigue_rate: float,
    recovery_rate: float,
    capacity_min: float,
    dt: float,
) -> None:  # pragma: no cover - compiled
    """fatigue.UnitFatigue.update as one loop: every unit's capacity over `dt` at `drive`, in place."""
    n, units = availability.shape
    for m in range(n):
        e = drive[m] * max_excitation
        for i in range(units):
            c = capacity[m, i]
            if e >= threshold[m, i] and availability[m, i] > 0.0:
                _, activity = unit_rate_and_gain(e, threshold[m, i], peak_rate[m, i], contraction_time[m, i])
                dc = -fatigue_rate * fatigability[m, i] * activity * c
            else:
                dc = recovery_rate * (1.0 - c)
            capacity[m, i] = min(max(c + dc * dt, capacity_min), 1.0)
