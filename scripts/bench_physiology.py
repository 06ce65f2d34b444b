"""Benchmark: cost of one physiology update for the nine muscles, per physics substep.

Prints microseconds per substep for the parts that run at 1 kHz (geometry, muscle step,
metabolics) and per control step (motor-unit recruitment), lumped and motor-unit modes, elastic
and rigid tendon, measured side by side in one run. Target: < 15 us per substep for the leg.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from neuroleg.envs.physiology import (
    LumpedDrive,
    Metabolics,
    MotorUnitPool,
    MuscleGeometry,
    MuscleModel,
    load_model,
)
from neuroleg.envs.physiology.motor_units import RATE_MODE_UNITS

TARGET_US = 15.0


def per_call_us(fn: Callable[[], object], repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(5):  # best of 5 blocks: the machine is shared
        t = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - t) / repeats)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=2000)
    args = parser.parse_args()
    model = load_model()
    p = model.muscles
    geo = MuscleGeometry.from_params(model.geometry, p)
    q, qd = np.radians([30.0, 45.0, 5.0]), np.array([0.5, -1.0, 0.3])
    metab = Metabolics(p)
    l_mtu, v_mtu, _ = geo.lengths_velocities(q, qd)
    rows = []
    for mode, pool in (
        ("motor units", MotorUnitPool.create(p, n_units=RATE_MODE_UNITS)),
        ("lumped", LumpedDrive.create(p)),
    ):
        rec = pool.recruit(np.full(p.n, 0.4))
        for elastic in (True, False):
            mm = MuscleModel(p, 0.001, elastic_tendon=elastic)
            state = mm.equilibrium_state(np.full(p.n, 0.4), l_mtu)

            def substep(mm: MuscleModel = mm, state=state, rec=rec) -> None:  # noqa: ANN001
                l_now, v_now, arm = geo.lengths_velocities(q, qd)
                s, out = mm.step(state, rec.force_fraction, l_now, v_now)
                geo.joint_torques(arm, out.force)
                metab.rate_for(rec, s.activation, out)

            parts = {
                "geometry": per_call_us(lambda: geo.lengths_velocities(q, qd), args.repeats),
                "muscle": per_call_us(
                    lambda mm=mm, state=state, rec=rec: mm.step(state, rec.force_fraction, l_mtu, v_mtu), args.repeats
                ),
                "metabolics": per_call_us(
                    lambda s=state, rec=rec: metab.rate(
                        rec.force_fraction,
                        s.activation,
                        rec.slow_force,
                        rec.fast_force,
                        np.ones(p.n),
                        v_mtu,
                        p.f_max * 0.3,
                        np.ones(p.n),
                    ),
                    args.repeats,
                ),
                "substep total": per_call_us(substep, args.repeats),
                "recruit (per control step)": per_call_us(
                    lambda pool=pool: pool.recruit(np.full(p.n, 0.4)), args.repeats // 4
                ),
            }
            rows.append((mode, "elastic" if elastic else "rigid", parts))
    compiled = compiled_rows(args.repeats)
    print(f"physiology cost for {p.n} muscles (us, best of 5 blocks; target < {TARGET_US:.0f} us per substep)")
    header = f"{'drive':<12}{'tendon':<9}" + "".join(f"{k:>28}" for k in rows[0][2])
    print(header)
    for mode, tendon, parts in rows:
        print(f"{mode:<12}{tendon:<9}" + "".join(f"{v:>28.1f}" for v in parts.values()))
    best = min(r[2]["substep total"] for r in rows)
    print(f"numpy reference, fastest substep: {best:.1f} us ({best / TARGET_US:.2f}x the {TARGET_US:.0f} us target)")
    print("compiled fused substep (what LegEnv runs; geometry + muscles + torques + limits + metabolics):")
    for label, us in compiled:
        print(f"  {label:<40}{us:>8.2f} us  ({us / TARGET_US:.2f}x the target)")
    from neuroleg.envs.physiology.discharge import DischargeUnits  # numba: compiled on first use

    pool = MotorUnitPool.create(p)  # the model file's pools
    steps = 20  # one control step of 1 ms substeps, drawn in one call
    units = DischargeUnits.create(pool, 0.001, steps)
    units.set_drive(np.full(p.n, 0.4))
    for seed in range(10):  # past the first discharges
        units.step(seed)
    us = per_call_us(lambda: units.step(0), args.repeats) / steps
    total = int(pool.counts.sum())
    print(f"discharge mode, per substep ({total} units, drive 0.4): {us:.2f} us (added to the above)")


def compiled_rows(repeats: int) -> list[tuple[str, float]]:
    import gymnasium as gym

    from neuroleg.envs import ENV_IDS
    from neuroleg.envs.fast_step import substep

    rows = []
    q, qd = np.radians([30.0, 45.0, 5.0]), np.array([0.5, -1.0, 0.3])
    out, acc, eff, tau = np.zeros((5, 9)), np.zeros((5, 9)), np.zeros(2), np.zeros(3)
    for elastic in (True, False):
        for mu in (True, False):
            env = gym.make(ENV_IDS["Hop"], elastic_tendon=elastic, motor_units=mu).unwrapped
            env.reset(seed=0)
            mus = env.musculature
            cp = mus.compiled
            rec = mus.pool.recruit(np.full(9, 0.4))
            drive = np.vstack([rec.force_fraction, rec.slow_force, rec.fast_force])
            state = np.vstack([mus.state.activation, mus.state.fiber_length])

            def call(state=state, drive=drive, cp=cp) -> None:  # noqa: ANN001
                substep(q, qd, drive, state, cp.mp, cp.pp, cp.sc, cp.joints, out, acc, eff, tau)

            label = f"{'motor units' if mu else 'lumped'}, {'elastic' if elastic else 'rigid'} tendon"
            rows.append((label, per_call_us(call, repeats)))
            env.close()
    return rows


if __name__ == "__main__":
    main()
