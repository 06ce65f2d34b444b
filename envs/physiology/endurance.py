"""Sustained contractions with fatiguing motor units: the bench behind the fatigue checks.

`sustained_contraction` holds one muscle isometric (at l_opt, steady, as `isometric_contraction` does)
at a fraction of its fresh maximal force, the drive raised every control step to whatever holds the
force with the units' capacity left, as a person raises effort; it ends when even full drive falls
short (the endurance time). With `target_fraction=1.0` it is a sustained maximal contraction: full
drive throughout, force falling as the units tire. Rate mode (mean force): what tires is the units.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .fatigue import FATIGUE_RATE_PER_S, RECOVERY_RATE_PER_S, UnitFatigue
from .kernels import N_RECRUIT_ROWS, R_FORCE, R_SLOW, recruit_pool
from .model import MUSCLE_NAMES, load_model
from .motor_units import BENCH_CONTROL_PERIOD_S, RATE_MODE_UNITS, MotorUnitPool

DRIVE_TOLERANCE = 1e-5  # bisection on the drive that holds the target


def sustained_contraction(
    muscle: str,
    target_fraction: float,
    max_duration_s: float,
    model_path: str | None = None,
    fatigue_rate: float = FATIGUE_RATE_PER_S,
    recovery_rate: float = RECOVERY_RATE_PER_S,
    rest_after_s: float = 0.0,
) -> dict[str, Any]:
    """Hold `target_fraction` (0, 1] of `muscle`'s fresh maximal force until full drive cannot, or for
    `max_duration_s`; then rest `rest_after_s` (drive 0) and test the maximal force again.

    Returns time_s, force_fraction, drive, type2_share (of the force) and capacity_type1/2 at every
    control step, endurance_s (None if it held to the end) and, after a rest, recovered_max_fraction."""
    if muscle not in MUSCLE_NAMES:
        raise ValueError(f"muscle must be one of {list(MUSCLE_NAMES)}, got {muscle!r}")
    if not 0.0 < target_fraction <= 1.0:
        raise ValueError(f"target_fraction must lie in (0, 1], got {target_fraction!r}")
    if not 0.0 < max_duration_s <= 3600.0 or not 0.0 <= rest_after_s <= 3600.0:
        raise ValueError("max_duration_s must lie in (0, 3600] s and rest_after_s in [0, 3600] s")
    p = load_model(model_path).muscles
    m = MUSCLE_NAMES.index(muscle)
    pool = MotorUnitPool.create(p, n_units=RATE_MODE_UNITS)  # the rate mode's pools, which fatigue is fitted on
    tired = UnitFatigue.create(pool, fatigue_rate, recovery_rate)
    out = np.empty((N_RECRUIT_ROWS, p.n))
    drive = np.zeros(p.n)

    def force_at(d: float) -> np.ndarray:
        drive[m] = d
        return recruit_pool(pool, drive, tired.capacity, out, tired.contraction_time)

    rows: list[tuple[float, ...]] = []
    endurance = None
    steps = round(max_duration_s / BENCH_CONTROL_PERIOD_S)
    for k in range(steps):
        if force_at(1.0)[R_FORCE, m] < target_fraction - 1e-9:
            if target_fraction < 1.0:  # full drive no longer holds it
                endurance = k * BENCH_CONTROL_PERIOD_S
                break
            d = 1.0
        else:
            lo, hi = 0.0, 1.0
            while hi - lo > DRIVE_TOLERANCE:
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if force_at(mid)[R_FORCE, m] < target_fraction else (lo, mid)
            d = hi
        f = force_at(d)
        force, slow = float(f[R_FORCE, m]), float(f[R_SLOW, m])
        t1, t2 = tired.left()
        rows.append((k * BENCH_CONTROL_PERIOD_S, force, d, 1.0 - slow / force if force > 0 else 0.0, t1[m], t2[m]))
        tired.update(pool, drive, BENCH_CONTROL_PERIOD_S)
    result: dict[str, Any] = dict(
        zip(
            ("time_s", "force_fraction", "drive", "type2_share", "capacity_type1", "capacity_type2"),
            (np.array(c) for c in zip(*rows, strict=True)),
            strict=True,
        )
    )
    result["endurance_s"] = endurance
    if rest_after_s > 0.0:
        drive[:] = 0.0
        for _ in range(round(rest_after_s / BENCH_CONTROL_PERIOD_S)):
            tired.update(pool, drive, BENCH_CONTROL_PERIOD_S)
        result["recovered_max_fraction"] = float(force_at(1.0)[R_FORCE, m])
    return result


def endurance_time(target_fraction: float, fatigue_rate: float, muscle: str = "VAS", limit_s: float = 1200.0) -> float:
    """Seconds `muscle` holds `target_fraction` of its maximal force (limit_s if longer)."""
    r = sustained_contraction(muscle, target_fraction, limit_s, fatigue_rate=fatigue_rate)
    return limit_s if r["endurance_s"] is None else float(r["endurance_s"])
