"""The classic bench experiment: one muscle held isometric at its optimal length, driven at a level.

`isometric_contraction` is what the validation checks, the tests and users run to see what the
motor-unit modes do to force: its mean, its fluctuation, its rise. The fiber is held at l_opt with
no velocity (force-length and force-velocity factors 1, rigid tendon), so that force = activation x
F_max: in the rate mode the activation follows the pool's force fraction through the activation
dynamics; in discharge mode it is the units' summed twitches.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .discharge import COMMON_INPUT_SD, DischargeUnits
from .kernels import ISI_REFRACTORY_S
from .model import MUSCLE_NAMES, load_model
from .motor_units import BENCH_CONTROL_PERIOD_S, DISCHARGE_SEED_LIMIT, LumpedDrive, MotorUnitPool, unit_counts_for
from .muscle import MuscleModel

MAX_DURATION_S = 600.0
MAX_DT_S = 0.005  # the muscle model's stable step


def isometric_contraction(
    muscle: str,
    drive: float | np.ndarray,
    duration_s: float,
    motor_units: bool | str = "discharge",
    synchronization: float = 0.0,
    seed: int = 0,
    model_path: str | None = None,
    n_units: int | None = None,
    recruitment_limit: float = 1.0,
    rate_scale: float = 1.0,
    dt: float = 0.001,
    discharge_times: bool = False,
    common_input_sd: float = COMMON_INPUT_SD,
) -> dict[str, Any]:
    """Force of `muscle` (one of MUSCLE_NAMES) held isometric at l_opt for `duration_s`.

    drive: 0..1, a number (held from t = 0, a step) or one value per physics step (dt).
    motor_units: "discharge" (units fire impulses), True (rate coding) or False (lumped drive).
    n_units: units in the pool (default: discharge mode, the model file's count for the muscle, else
    N_UNITS_DEFAULT; rate mode, RATE_MODE_UNITS, as in the environments); fewer units are larger units,
    the same maximal force.
    common_input_sd: SD of the input the pool's units share (discharge mode), a fraction of maximal
    drive (`discharge.COMMON_INPUT_SD`; 0: the units' own variability only).
    Returns time_s and force_n (N) at every physics step, the drive applied and f_max_n, and with
    `discharge_times` (discharge mode) discharge_times_s, one array of times (s) per unit of the pool,
    smallest unit first. The same seed gives the same discharges. Unlike the environments, no
    activation floor is applied (they keep activation at 1 % or more for the fiber-tendon solve)."""
    if muscle not in MUSCLE_NAMES:
        raise ValueError(f"muscle must be one of {list(MUSCLE_NAMES)}, got {muscle!r}")
    if not (isinstance(motor_units, bool) or motor_units == "discharge"):
        raise ValueError(f"motor_units must be 'discharge', True (rate coding) or False (lumped), got {motor_units!r}")
    if isinstance(duration_s, bool) or not isinstance(duration_s, int | float) or not 0 < duration_s <= MAX_DURATION_S:
        raise ValueError(f"duration_s must be a number in (0, {MAX_DURATION_S:g}] s, got {duration_s!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if isinstance(dt, bool) or not isinstance(dt, float) or not 0.0 < dt <= MAX_DT_S:
        raise ValueError(f"dt must be a number of seconds in (0, {MAX_DT_S:g}], got {dt!r}")
    if (
        isinstance(common_input_sd, bool)
        or not isinstance(common_input_sd, int | float)
        or not 0 <= common_input_sd <= 1
    ):
        raise ValueError(
            f"common_input_sd must be a number in [0, 1] (a fraction of maximal drive), got {common_input_sd!r}"
        )
    if discharge_times and motor_units != "discharge":
        raise ValueError("discharge_times needs motor_units='discharge' (the other modes have no discharges)")
    steps = round(duration_s / dt)
    drives = _drive_series(drive, steps)
    model = load_model(model_path)
    p = model.muscles
    m = MUSCLE_NAMES.index(muscle)
    pool: MotorUnitPool | LumpedDrive
    if motor_units is False:
        pool = LumpedDrive.create(p, recruitment_limit, synchronization)
    else:
        counts = unit_counts_for(motor_units == "discharge", n_units)
        pool = MotorUnitPool.create(p, recruitment_limit, rate_scale, synchronization, n_units=counts)
    force = np.empty(steps)
    full = np.zeros(p.n)
    if motor_units == "discharge":
        assert isinstance(pool, MotorUnitPool)
        per_call = max(round(BENCH_CONTROL_PERIOD_S / dt), 1)
        du = DischargeUnits.create(pool, dt, per_call, common_input_sd=float(common_input_sd))
        rng = np.random.default_rng(seed)
        count = int(pool.counts[m])
        times: list[list[float]] = [[] for _ in range(count)]
        # at most one discharge per refractory period and unit in a call, and one more
        record = np.zeros((count * (int(per_call * dt / ISI_REFRACTORY_S) + 2), 3), dtype=np.int64)
        k = 0
        while k < steps:
            # a call holds one drive: it lasts an environment's control step or until the drive changes
            end = min(k + per_call, steps)
            changed = np.flatnonzero(drives[k + 1 : end] != drives[k])
            end = k + 1 + int(changed[0]) if changed.size else end
            full[m] = drives[k]
            du.set_drive(full)
            out = du.step(int(rng.integers(DISCHARGE_SEED_LIMIT)), end - k, record if discharge_times else None)
            force[k:end] = out[:, 0, m] * p.f_max[m]
            for _, i, s in record[: du.recorded]:
                times[i].append((k + s + 1) * dt)
            k = end
        result: dict[str, Any] = {}
        if discharge_times:
            result["discharge_times_s"] = [np.array(t) for t in times]
    else:
        sync = np.zeros(p.n) if motor_units is False else pool.synchronization
        mm = MuscleModel(p, dt, elastic_tendon=False, synchronization=sync)
        a = np.zeros(p.n)
        last = None
        u = np.zeros(p.n)
        for k in range(steps):
            if drives[k] != last:
                full[m] = last = drives[k]
                u = pool.recruit(full).force_fraction
            a = mm.activate(a, u)
            force[k] = a[m] * p.f_max[m]
        result = {}
    time_s = np.arange(1, steps + 1) * dt
    return {"time_s": time_s, "force_n": force, "drive": drives, "f_max_n": float(p.f_max[m]), **result}


def _drive_series(drive: float | np.ndarray, steps: int) -> np.ndarray:
    if isinstance(drive, bool):
        raise ValueError(f"drive must be a number in [0, 1] or an array of them, got {drive!r}")
    if isinstance(drive, int | float):
        series = np.full(steps, float(drive))
    else:
        series = np.asarray(drive, dtype=float)
        if series.shape != (steps,):
            raise ValueError(f"a drive series needs one value per physics step: shape ({steps},), got {series.shape}")
    if not np.all(np.isfinite(series)) or series.min() < 0.0 or series.max() > 1.0:
        raise ValueError("drive must lie in [0, 1]")
    return series
