"""The compiled motor-unit kernels: rate-mode recruitment (`recruit`), fatigue (`fatigue_step`) and a
control step of discharging units (`discharge_steps`). numba caches a kernel by its own file, so the
kernels that call each other, and the constants they bake in, live in this one; `discharge` and
`motor_units` hold the models these kernels compute (their docstrings say what and from where).

Layout of the arrays the kernels share (rows of one matrix each, so that a call has few arguments):
- U_* rows of the per-unit matrix (rows, muscles, units) of discharging pools;
- B_* rows of the per-bin constants and S_* rows of the per-bin twitch states (muscles, bins);
- P_* rows of the per-muscle pool arrays passed to `discharge_steps`;
- R_* rows of the recruitment output (the fields of motor_units.Recruitment).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import motor_units as mu
from .baking import fingerprint, require_baked
from .fatigue import (
    C_LEFT1,
    C_LEFT2,
    C_TOTAL1,
    C_TOTAL2,
    CAPACITY_MIN,
    CONTRACTION_TIME_LENGTHENING,
    F_CAPACITY,
    F_CT,
    F_FATIGABILITY,
    F_FRESH1,
    F_FRESH2,
    F_RESTED_CT,
)

# --- discharge statistics (discharge.py's docstring gives the sources) ---
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
# Units whose contraction times lie within this ratio share one twitch state (the twitch is linear in
# its input): a unit's twitch time is off by at most half of it, 2 %, and its mean force is exact
# (its amplitude is scaled by its bin's twitch area). The bins cover the rested pool's contraction
# times (T_L / RT to T_L) and their lengthening by fatigue (fatigue.py: at most by the capacity lost,
# 1 - CAPACITY_MIN, times CONTRACTION_TIME_LENGTHENING).
BIN_RATIO = 1.04
BIN_SHORTEST_S = mu.CONTRACTION_TIME_LONGEST_S / mu.CONTRACTION_TIME_RANGE
BIN_LONGEST_S = mu.CONTRACTION_TIME_LONGEST_S * (1.0 + CONTRACTION_TIME_LENGTHENING * (1.0 - CAPACITY_MIN))
N_BINS = math.ceil(math.log(BIN_LONGEST_S / BIN_SHORTEST_S) / math.log(BIN_RATIO))

U_RATE, U_AMP, U_TYPE1, U_BIN, U_NEXT, U_FIRED = range(6)
N_UNIT_ROWS = 6
B_DECAY, B_STEP, B_AREA = range(3)  # one physics step of a bin's two stages; the area of its twitch
N_BIN_ROWS = 3
S_X1, S_X2, S_Y1, S_Y2 = range(4)  # the bin's two stages: all units' (X), type I units' (Y)
N_STATE_ROWS = 4
# per muscle: drive, common input state, its SD, its decay per call, synchronization, units, units
# inside the recruitment limit, units recruited last call, units that discharged this call
P_DRIVE, P_COMMON, P_COMMON_SD, P_COMMON_DECAY, P_SYNC, P_COUNT, P_AVAILABLE, P_RECRUITED, P_ACTIVE = range(9)
N_POOL_ROWS = 9
# Rows of the recruitment output matrix (the fields of motor_units.Recruitment).
# R_ACTIVE: units recruited (any share of them), what info reports as discharging in the rate mode.
R_FORCE, R_SLOW, R_FAST, R_RECRUITED, R_RATE, R_AT_LIMIT, R_ACTIVE = range(7)
N_RECRUIT_ROWS = 7

_MFR, _GE = mu.MIN_FIRING_RATE_HZ, mu.EXCITATORY_GAIN
_FFL, _FFS = mu.FF_LINEAR_LIMIT, mu.FF_LINEAR_SLOPE
_CV0, _CVF, _CVD = ISI_CV_AT_RECRUITMENT, ISI_CV_FLOOR, ISI_CV_DECAY_HZ
_REFR, _SYNCW, _SYNCN = ISI_REFRACTORY_S, SYNC_WINDOW_S, SYNC_NEIGHBOURS_FRACTION
_LOG_BIN, _BIN0 = math.log(BIN_RATIO), BIN_SHORTEST_S

# The fingerprint of the other modules' constants the kernels bake in (baking says why).
BAKED_CONSTANTS_SHA256 = "03d8e3fc39aed0d31b94ea1868a20ed0623bb7b034b99c3ae0eb9e194d650703"


def baked_constants_sha256() -> str:
    return fingerprint(tuple(float(x) for x in (_MFR, _GE, _FFL, _FFS, _BIN0, BIN_LONGEST_S)))


require_baked(baked_constants_sha256(), BAKED_CONSTANTS_SHA256, __file__, "a motor-unit or fatigue constant")


@njit(cache=True)
def bin_of(contraction_time: float) -> int:  # pragma: no cover - compiled
    """The twitch bin of a contraction time (s), clamped to the grid."""
    b = int(math.log(contraction_time / _BIN0) / _LOG_BIN)
    return min(max(b, 0), N_BINS - 1)


@njit(cache=True)
def unit_rate_and_gain(
    excitation: float, threshold: float, peak_rate: float, contraction_time: float
) -> tuple[float, float]:  # pragma: no cover - compiled
    """A recruited unit's rate (Hz) and force-frequency gain at an excitation (Fuglevand 1993; the
    compiled statement of MotorUnitPool's rate coding, shared by every compiled kernel)."""
    rate = min(_GE * (excitation - threshold) + _MFR, peak_rate)
    x = contraction_time * rate
    return rate, (_FFS * x if x <= _FFL else 1.0 - math.exp(-2.0 * x * x * x))


@njit(cache=True)
def _interval(rate: float) -> float:  # pragma: no cover - compiled
    cv = _CVF + (_CV0 - _CVF) * math.exp(-max(rate - _MFR, 0.0) / _CVD)
    return max((1.0 + cv * np.random.standard_normal()) / rate, _REFR)  # noqa: NPY002


@njit(cache=True)
def _set_rates(
    m: int,
    excitation: float,
    threshold: np.ndarray,
    twitch: np.ndarray,
    contraction_time: np.ndarray,
    peak_rate: np.ndarray,
    availability: np.ndarray,
    capacity: np.ndarray,
    normaliser: np.ndarray,
    u: np.ndarray,
    bins: np.ndarray,
    pools: np.ndarray,
    rebin: bool,
    rec: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Rows U_RATE and U_AMP of muscle m's recruited units (a prefix: thresholds rise along the pool
    and the recruitment limit cuts its top), units no longer recruited silenced; the recruitment rows
    R_* of muscle m. Returns the number recruited."""
    count = int(pools[P_COUNT, m])
    k = 0
    total = slow = rate_sum = weight = 0.0
    while k < count and excitation >= threshold[m, k] and availability[m, k] > 0.0:
        w = availability[m, k]
        ct = contraction_time[m, k]
        rate, gain = unit_rate_and_gain(excitation, threshold[m, k], peak_rate[m, k], ct)
        f = twitch[m, k] * gain * w * capacity[m, k]
        total += f
        slow += f * u[U_TYPE1, m, k]
        rate_sum += rate * w
        weight += w
        if rebin:
            u[U_BIN, m, k] = bin_of(ct)
        u[U_RATE, m, k] = rate
        u[U_AMP, m, k] = f / (rate * bins[B_AREA, m, int(u[U_BIN, m, k])])
        k += 1
    for i in range(k, int(pools[P_RECRUITED, m])):
        u[U_RATE, m, i] = 0.0
        u[U_NEXT, m, i] = np.inf
    pools[P_RECRUITED, m] = k
    fraction = total / normaliser[m]
    over = max(fraction, 1.0)
    # rate_scale > 1 can exceed the normal maximum; F_max stays the ceiling
    scale = 1.0 / (normaliser[m] * over)
    for i in range(k):
        u[U_AMP, m, i] *= scale
    rec[R_FORCE, m] = fraction / over
    rec[R_SLOW, m] = slow / normaliser[m] / over
    rec[R_FAST, m] = (total - slow) / normaliser[m] / over
    rec[R_RECRUITED, m] = weight / count
    rec[R_RATE, m] = rate_sum / weight if weight > 0.0 else 0.0
    rec[R_AT_LIMIT, m] = 1.0 if k >= pools[P_AVAILABLE, m] else 0.0
    rec[R_ACTIVE, m] = k
    return k


@njit(cache=True)
def _fire(
    m: int, i: int, s: int, u: np.ndarray, inputs: np.ndarray, record: np.ndarray, n_record: int
) -> int:  # pragma: no cover - compiled
    """Unit i of muscle m discharges in physics step s: its twitch enters its bin; the discharge is
    recorded where asked (rows: muscle, unit, step). Returns the number recorded."""
    b = int(u[U_BIN, m, i])
    a = u[U_AMP, m, i]
    inputs[s, 0, m, b] += a
    inputs[s, 1, m, b] += a * u[U_TYPE1, m, i]
    u[U_FIRED, m, i] += 1.0
    if n_record < record.shape[0]:
        record[n_record, 0] = m
        record[n_record, 1] = i
        record[n_record, 2] = s
        return n_record + 1
    return n_record


@njit(cache=True)
def discharge_steps(
    threshold: np.ndarray,
    twitch: np.ndarray,
    contraction_time: np.ndarray,
    peak_rate: np.ndarray,
    availability: np.ndarray,
    capacity: np.ndarray,
    max_excitation: float,
    normaliser: np.ndarray,
    u: np.ndarray,
    bins: np.ndarray,
    states: np.ndarray,
    pools: np.ndarray,
    inputs: np.ndarray,
    out: np.ndarray,
    rec: np.ndarray,
    dt: float,
    steps: int,
    seed: int,
    rebin: bool,
    record: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """`steps` physics steps of every discharging pool at the drive in pools[P_DRIVE] (held over them):
    the common input, every recruited unit's rate and twitch amplitude, its discharges (with
    synchronization where asked), and the twitches summed per bin into out[step] (rows: force fraction
    of F_max, its type I and its type II part). Numba's generator is seeded from `seed`. `rebin`:
    contraction times have changed (fatigue), so each recruited unit's bin is found again. Returns the
    number of discharges written to `record`."""
    np.random.seed(seed)  # noqa: NPY002 - numba's kernels have only the legacy generator
    n, width = u.shape[1], u.shape[2]
    period = steps * dt
    inputs[:steps] = 0.0
    n_record = 0
    spike = np.zeros(width, dtype=np.bool_)
    tried = np.zeros(width, dtype=np.bool_)
    for m in range(n):
        # the pool's common input: a first-order low-pass Gaussian process, one value per call
        a = pools[P_COMMON_DECAY, m]
        noise = np.random.standard_normal()  # noqa: NPY002
        pools[P_COMMON, m] = a * pools[P_COMMON, m] + math.sqrt(1.0 - a * a) * pools[P_COMMON_SD, m] * noise
        d = pools[P_DRIVE, m]
        if d > 0.0:
            d = min(max(d + pools[P_COMMON, m], 0.0), 1.0)
        k = _set_rates(
            m, d * max_excitation, threshold, twitch, contraction_time, peak_rate, availability, capacity,
            normaliser, u, bins, pools, rebin, rec,
        )  # fmt: skip
        for i in range(k):
            u[U_FIRED, m, i] = 0.0
            if u[U_NEXT, m, i] == np.inf:  # newly recruited: first discharge at a random phase
                u[U_NEXT, m, i] = np.random.random() / u[U_RATE, m, i]  # noqa: NPY002
        s_prob = pools[P_SYNC, m]
        if s_prob <= 0.0:
            # independent units: each unit's discharges this call, unit by unit
            for i in range(k):
                t = u[U_NEXT, m, i]
                while t <= period:
                    s = min(max(math.ceil(t / dt) - 1, 0), steps - 1)
                    n_record = _fire(m, i, s, u, inputs, record, n_record)
                    t += _interval(u[U_RATE, m, i])
                u[U_NEXT, m, i] = t - period
        else:
            # A unit due within the window fires with a neighbour that fires now, with probability s:
            # one draw per unit and step, neighbours pulled in count too (a forward, then a backward
            # pass, a running count of the spikes within reach), so that a higher s makes larger
            # synchronous groups. A discharge pulled early keeps its place in the train (the rate stays).
            reach = max(int(_SYNCN * pools[P_COUNT, m]), 1)
            for s in range(steps):
                due = (s + 1) * dt
                for i in range(k):
                    spike[i] = u[U_NEXT, m, i] <= due
                    tried[i] = spike[i] or u[U_NEXT, m, i] - due > _SYNCW
                for sweep in range(2):
                    near = 0
                    for j in range(min(reach, k)):  # the window of the first unit visited
                        near += spike[j if sweep == 0 else k - 1 - j]
                    for j in range(k):
                        i = j if sweep == 0 else k - 1 - j
                        ahead = i + reach if sweep == 0 else i - reach
                        if 0 <= ahead < k:
                            near += spike[ahead]
                        if not tried[i] and near > 0:
                            tried[i] = True
                            if np.random.random() < s_prob:  # noqa: NPY002
                                spike[i] = True
                                near += 1
                        behind = i - reach if sweep == 0 else i + reach
                        if 0 <= behind < k:
                            near -= spike[behind]
                for i in range(k):
                    if spike[i]:
                        n_record = _fire(m, i, s, u, inputs, record, n_record)
                        u[U_NEXT, m, i] += _interval(u[U_RATE, m, i])
            for i in range(k):
                u[U_NEXT, m, i] -= period
        active = 0
        for i in range(k):
            active += u[U_FIRED, m, i] > 0.0
        pools[P_ACTIVE, m] = active
        # the bins' twitches: two first-order stages each, stepped exactly; a discharge enters the
        # first stage after its step's decay, so that it shows in the force from the next step on
        out[:steps, :, m] = 0.0
        for b in range(bins.shape[2]):
            q, h = bins[B_DECAY, m, b], bins[B_STEP, m, b]
            x1, x2 = states[S_X1, m, b], states[S_X2, m, b]
            y1, y2 = states[S_Y1, m, b], states[S_Y2, m, b]
            if x1 == 0.0 and x2 == 0.0 and not inputs[:steps, 0, m, b].any():
                continue
            for s in range(steps):
                x2 = (x2 + x1 * h) * q
                x1 = x1 * q + inputs[s, 0, m, b]
                y2 = (y2 + y1 * h) * q
                y1 = y1 * q + inputs[s, 1, m, b]
                out[s, 0, m] += x2
                out[s, 1, m] += y2
            states[S_X1, m, b], states[S_X2, m, b] = x1, x2
            states[S_Y1, m, b], states[S_Y2, m, b] = y1, y2
        for s in range(steps):
            out[s, 2, m] = out[s, 0, m] - out[s, 1, m]
    return n_record


def recruit_pool(
    pool: mu.MotorUnitPool,
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
    n = availability.shape[0]
    for m in range(n):
        e = drive[m] * max_excitation
        slow = fast = recruited = rate_sum = allowed = active = 0.0
        for i in range(int(counts[m])):
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
    availability: np.ndarray,
    counts: np.ndarray,
    max_excitation: float,
    units: np.ndarray,
    left: np.ndarray,
    rates: np.ndarray,
    dt: float,
) -> None:  # pragma: no cover - compiled
    """fatigue.UnitFatigue.update as one loop over each pool's units (rows F_* of `units`): every
    unit's capacity over `dt` at `drive` and its contraction time, in place; the type I and type II
    capacity left per muscle into `left` (rows C_*). `rates`: fatigue, recovery (1/s), capacity floor,
    contraction-time lengthening."""
    fatigue_rate, recovery_rate, capacity_min, lengthening = rates[0], rates[1], rates[2], rates[3]
    for m in range(availability.shape[0]):
        e = drive[m] * max_excitation
        kept1 = kept2 = 0.0
        for i in range(int(counts[m])):
            c = units[F_CAPACITY, m, i]
            if e >= threshold[m, i] and availability[m, i] > 0.0:
                _, activity = unit_rate_and_gain(e, threshold[m, i], peak_rate[m, i], units[F_CT, m, i])
                dc = -fatigue_rate * units[F_FATIGABILITY, m, i] * activity * c
                c = min(max(c + dc * dt, capacity_min), 1.0)
            elif c < 1.0:
                dc = recovery_rate * (1.0 - c)
                c = min(max(c + dc * dt, capacity_min), 1.0)
            units[F_CAPACITY, m, i] = c
            units[F_CT, m, i] = units[F_RESTED_CT, m, i] * (1.0 + lengthening * (1.0 - c))
            kept1 += c * units[F_FRESH1, m, i]
            kept2 += c * units[F_FRESH2, m, i]
        # (at most 1: the totals are numpy's sums, in another order than these)
        left[C_LEFT1, m] = min(kept1 / left[C_TOTAL1, m], 1.0) if left[C_TOTAL1, m] > 0.0 else 1.0
        left[C_LEFT2, m] = min(kept2 / left[C_TOTAL2, m], 1.0) if left[C_TOTAL2, m] > 0.0 else 1.0
