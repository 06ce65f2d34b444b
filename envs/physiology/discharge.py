"""Discharging motor units: every unit of a pool fires impulses, and each impulse adds its twitch.

The rate mode (`motor_units.MotorUnitPool.recruit`) maps drive to the mean force of the recruited
units. In discharge mode each recruited unit fires at the same mean rate, with intervals that vary
about it (Gaussian, coefficient of variation falling with rate: 0.3 just above recruitment to 0.1,
as Moritz, Barry, Pascoe & Enoka 2005 measured in human units), and each impulse adds the unit's
twitch, f(t) = P (t / T) exp(1 - t / T) (Fuglevand, Winter & Patla 1993), summed at the physics rate.
The twitch is the impulse response of two first-order stages with time constant T, stepped exactly;
units within 4 % in T share those stages (kernels.BIN_RATIO). Each unit's twitch is scaled by its
force-frequency gain at its rate, so that the mean force equals the rate mode's (tested): what
discharge adds is the fluctuation about it, larger for fewer, larger units and at low forces, where
few units fire at low rates.

Common input: the motoneurons of a pool share most of their low-frequency synaptic input, and it is
this shared part, not the units' independent interval variability (which a pool of hundreds of units
averages out), that sets the force fluctuation above a few % of maximal force (Dideriksen, Negro,
Enoka & Farina 2012, J Neurophysiol 107:3357; Farina & Negro 2015, Exerc Sport Sci Rev 43:23). Each
active pool's drive gets a shared fluctuation: first-order low-pass Gaussian noise with a corner of
COMMON_INPUT_CORNER_HZ (an estimate: the common input that reaches force lies below about 5 Hz) and an
SD of COMMON_INPUT_SD of maximal drive, fitted so that the vasti's force CV at 30 % of maximal force is
1.5 %, the middle of the 1-2 % measured at moderate forces (`agents.validation.units.fit_common_input`).

Synchronization, as Yao, Fuglevand & Enoka 2000 simulated it: a share of each unit's discharges is
moved to coincide with a discharge of a unit of similar recruitment threshold. Here a unit whose
next discharge is due within SYNC_WINDOW_S fires now, with probability `synchronization`, when a
neighbour (within SYNC_NEIGHBOURS_FRACTION of the pool) fires now; the interval after it is
lengthened by as much, so the unit's rate, and so the mean force, stay as they were.

The kernel (`kernels.discharge_steps`) is compiled, with no Python loop over units, and its cost
follows the discharges: a control step's are drawn in one call, since they depend on the drive and not
on the body. Its random numbers come from a seed the caller draws from the environment's generator at
every control step, so a seed gives the same discharges, also in a reused environment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import kernels as k
from .kernels import (
    ISI_CV_AT_RECRUITMENT,
    ISI_CV_DECAY_HZ,
    ISI_CV_FLOOR,
    ISI_REFRACTORY_S,
    SYNC_NEIGHBOURS_FRACTION,
    SYNC_WINDOW_S,
)
from .motor_units import MIN_FIRING_RATE_HZ, MotorUnitPool

# Estimate: the common synaptic input that shapes force lies below ~5 Hz (Farina & Negro 2015).
COMMON_INPUT_CORNER_HZ = 2.5
# Fitted (agents/validation/units.py, fit_common_input): the vasti's force CV at 30 % of maximal force
# is 1.5 % (Galganski, Fuglevand & Enoka 1993; Moritz et al. 2005: 1-2 % at moderate forces).
COMMON_INPUT_SD = 0.00546  # fraction of maximal drive

__all__ = [
    "COMMON_INPUT_CORNER_HZ",
    "COMMON_INPUT_SD",
    "ISI_CV_AT_RECRUITMENT",
    "ISI_CV_FLOOR",
    "ISI_REFRACTORY_S",
    "SYNC_NEIGHBOURS_FRACTION",
    "SYNC_WINDOW_S",
    "DischargeUnits",
    "bin_contraction_times",
    "isi_cv",
]


def bin_contraction_times() -> np.ndarray:
    """Each twitch bin's contraction time (s): the geometric middle of its 4 % span."""
    return k.BIN_SHORTEST_S * k.BIN_RATIO ** (np.arange(k.N_BINS) + 0.5)


def bins_of(contraction_time: np.ndarray) -> np.ndarray:
    """The twitch bin of each contraction time (s); kernels.bin_of's statement in numpy."""
    b = (np.log(contraction_time / k.BIN_SHORTEST_S) / math.log(k.BIN_RATIO)).astype(int)
    return np.clip(b, 0, k.N_BINS - 1)


@dataclass
class DischargeUnits:
    """Discharging pools: per-unit constants and state (`units`, rows kernels.U_*), the twitch bins'
    constants and states, per-pool state (`pools`, rows P_*), and the output of the last call: `out`
    (physics steps, [force fraction of F_max, its type I part, its type II part], muscles) and `rec`
    (the recruitment at the drive applied, rows R_*)."""

    pool: MotorUnitPool
    units: np.ndarray
    bins: np.ndarray
    states: np.ndarray
    pools: np.ndarray
    inputs: np.ndarray
    out: np.ndarray
    rec: np.ndarray
    dt: float
    capacity: np.ndarray
    contraction_time: np.ndarray
    rebin: bool = False
    recorded: int = 0  # discharges written to the last call's `record`
    common_decay_steps: int = field(default=-1)
    _no_record: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int64))

    @classmethod
    def create(
        cls, pool: MotorUnitPool, dt: float, steps: int, common_input_sd: float = COMMON_INPUT_SD
    ) -> DischargeUnits:
        """Pools for up to `steps` physics steps of `dt` s per call."""
        n, width = pool.peak_rate.shape
        units = np.zeros((k.N_UNIT_ROWS, n, width))
        units[k.U_TYPE1] = pool.type1
        units[k.U_BIN] = bins_of(pool.contraction_time)
        units[k.U_NEXT] = np.inf
        t = bin_contraction_times()
        q = np.exp(-dt / t)
        bins = np.zeros((k.N_BIN_ROWS, n, k.N_BINS))
        bins[k.B_DECAY] = q
        bins[k.B_STEP] = dt / t
        bins[k.B_AREA] = dt * (dt / t) * q / (1.0 - q) ** 2  # dt x the sum of a unit twitch's second stage
        pools = np.zeros((k.N_POOL_ROWS, n))
        pools[k.P_COMMON_SD] = common_input_sd
        pools[k.P_SYNC] = pool.synchronization
        pools[k.P_COUNT] = pool.counts
        pools[k.P_AVAILABLE] = (pool.availability > 0.0).sum(axis=1)
        return cls(
            pool=pool,
            units=units,
            bins=bins,
            states=np.zeros((k.N_STATE_ROWS, n, k.N_BINS)),
            pools=pools,
            inputs=np.zeros((steps, 2, n, k.N_BINS)),
            out=np.zeros((steps, 3, n)),
            rec=np.zeros((k.N_RECRUIT_ROWS, n)),
            dt=dt,
            capacity=np.ones((n, width)),
            contraction_time=pool.contraction_time,
        )

    def reset(self) -> None:
        for row in (k.U_RATE, k.U_AMP, k.U_FIRED):
            self.units[row] = 0.0
        self.units[k.U_NEXT] = np.inf
        self.states[...] = 0.0
        for row in (k.P_DRIVE, k.P_COMMON, k.P_RECRUITED, k.P_ACTIVE):
            self.pools[row] = 0.0
        self.out[...] = 0.0
        self.rec[...] = 0.0

    def set_drive(
        self, drive: np.ndarray, capacity: np.ndarray | None = None, contraction_time: np.ndarray | None = None
    ) -> None:
        """The drive (muscles,) for the next call, each unit's force capacity (fatigue; None: fresh)
        and contraction time (lengthened by fatigue; None: the rested)."""
        self.pools[k.P_DRIVE] = np.clip(np.asarray(drive, dtype=float), 0.0, 1.0)
        if capacity is not None:
            self.capacity = capacity
        if contraction_time is not None:
            self.contraction_time = contraction_time
            self.rebin = True

    def step(self, seed: int, steps: int | None = None, record: np.ndarray | None = None) -> np.ndarray:
        """`steps` physics steps (default: as many as `create` was given) at the drive set; `seed`
        seeds the kernel's generator. Returns out[:steps]. `record` (rows of muscle, unit, step),
        where given, receives the discharges; `self.recorded` says how many."""
        steps = self.out.shape[0] if steps is None else steps
        if not 0 < steps <= self.out.shape[0]:
            raise ValueError(f"steps must lie in [1, {self.out.shape[0]}], got {steps}")
        if steps != self.common_decay_steps:
            self.pools[k.P_COMMON_DECAY] = math.exp(-2.0 * math.pi * COMMON_INPUT_CORNER_HZ * steps * self.dt)
            self.common_decay_steps = steps
        p = self.pool
        self.recorded = k.discharge_steps(
            p.threshold, p.twitch, self.contraction_time, p.peak_rate, p.availability, self.capacity,
            p.max_excitation, p.normaliser, self.units, self.bins, self.states, self.pools, self.inputs,
            self.out, self.rec, self.dt, steps, seed, self.rebin,
            self._no_record if record is None else record,
        )  # fmt: skip
        return self.out[:steps]

    def discharging(self) -> np.ndarray:
        """(muscles,) units that discharged at least once in the last call."""
        return self.pools[k.P_ACTIVE].copy()

    def reference_rates(self, drive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rate Hz, twitch amplitude) of every unit at `drive` without common input, the numpy
        statement of what the kernel sets: amplitude = P h(T r) w c / (r S) / (normaliser max(total, 1)),
        with S the twitch area of the unit's bin, w its recruited share, c its force capacity and
        total the rate mode's force."""
        p, ct = self.pool, self.contraction_time
        rate, weight, scale = p.unit_rates(drive, self.capacity, ct)
        gain = p.force_frequency_gain(ct * rate)
        area = self.bins[k.B_AREA][np.arange(len(p.names))[:, None], bins_of(ct)]
        with np.errstate(divide="ignore", invalid="ignore"):
            amp = np.where(rate > 0.0, p.twitch * gain * weight * self.capacity / (rate * area), 0.0)
        return rate, amp * scale[:, None]


def isi_cv(rate_hz: np.ndarray | float) -> np.ndarray:
    """Coefficient of variation of the discharge intervals at a rate (Moritz et al. 2005's shape)."""
    return ISI_CV_FLOOR + (ISI_CV_AT_RECRUITMENT - ISI_CV_FLOOR) * np.exp(
        -np.maximum(np.asarray(rate_hz) - MIN_FIRING_RATE_HZ, 0.0) / ISI_CV_DECAY_HZ
    )
