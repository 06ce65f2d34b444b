"""Benchmark: environment speed against its bare physics and against Gymnasium's Hopper-v5.

For each task, in one run on one core: env steps per second and simulated seconds per wall
second; the same for PyBullet's physics alone over the same 1 ms substeps (the floor this
design can reach); and Hopper-v5 (MuJoCo), which users would pick instead. Targets: env cost at
most 1.3x its bare physics; at least as many simulated seconds per wall second as Hopper-v5.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

import neuroleg.envs  # noqa: F401 - registers the ids
from neuroleg.envs import ENV_IDS
from neuroleg.envs.leg_env import PHYSICS_DT_S

TARGET_ENV_OVER_PHYSICS = 1.3


def time_env(env: gym.Env, policy: Callable[[], np.ndarray], seconds: float) -> tuple[float, float]:
    """(env steps per wall second, simulated seconds per wall second) of `env` under `policy`."""
    env.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, term, trunc, _ = env.step(policy())
        steps += 1
        if term or trunc:
            env.reset()
    wall = time.perf_counter() - start
    dt = env.unwrapped.dt
    env.close()
    return steps / wall, steps * dt / wall


def bench_env(env_id: str, seconds: float) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    return time_env(gym.make(env_id), lambda: rng.random(9).astype(np.float32) * 0.3, seconds)


def bench_bare_physics(env_id: str, seconds: float) -> float:
    """Simulated s per wall s of the same body stepping with fixed torques (no muscles, no task)."""
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    body = env.body
    torques = np.zeros(3)
    crank = body.crank_id is not None
    substeps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(env.frame_skip):
            body.read_joints()  # the one read any controller needs
            if crank:
                body.crank_state()
            body.step(torques)
        substeps += env.frame_skip
        if substeps % 2000 == 0:
            env.reset()
    wall = time.perf_counter() - start
    env.close()
    return substeps * PHYSICS_DT_S / wall


def bench_hopper(seconds: float) -> tuple[float, float] | None:
    try:
        env = gym.make("Hopper-v5")
    except Exception as err:  # mujoco missing: say so rather than fail
        print(f"Hopper-v5 unavailable ({type(err).__name__}: {err}); install the 'bench' extra")
        return None
    return time_env(env, env.action_space.sample, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="wall seconds per measurement")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the issue asks
    hopper = bench_hopper(args.seconds)
    print(
        f"{'environment':<24}{'steps/s':>10}{'sim s/s':>10}{'physics sim s/s':>17}{'env/physics cost':>18}"
        f"{'vs Hopper-v5':>14}"
    )
    if hopper:
        print(f"{'Hopper-v5 (MuJoCo)':<24}{hopper[0]:>10.0f}{hopper[1]:>10.1f}")
    for task, env_id in ENV_IDS.items():
        sps, sim = bench_env(env_id, args.seconds)
        bare = bench_bare_physics(env_id, args.seconds)
        ratio = bare / sim
        vs = f"{sim / hopper[1]:.2f}x" if hopper else "n/a"
        print(f"{task:<24}{sps:>10.0f}{sim:>10.2f}{bare:>17.2f}{ratio:>17.2f}x{vs:>14}")
    print(f"targets: env/physics cost <= {TARGET_ENV_OVER_PHYSICS}x; sim s/s >= Hopper-v5's (1.00x)")


if __name__ == "__main__":
    main()
