"""Benchmark: environment speed against its bare physics and against Gymnasium's Hopper-v5.

For each task, in one run on one core: env steps per second and simulated seconds per wall
second; the same for PyBullet's physics alone replaying the joint torques the environment applied
(the same 1 ms substeps, motion and contacts: the floor this design can reach); and Hopper-v5
(MuJoCo), which users would pick instead. Only time inside step() counts (resets excluded). Targets: env cost at
most 1.3x its bare physics; at least as many simulated seconds per wall second as Hopper-v5.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

import neuroleg.envs  # noqa: F401 - registers the ids
from neuroleg.envs import ENV_IDS, drive_to_action
from neuroleg.envs.leg_env import CONTROL_DT_S
from neuroleg.envs.physiology import MUSCLE_NAMES

TARGET_ENV_OVER_PHYSICS = 1.3


def time_env(env: gym.Env, policy: Callable[[], np.ndarray], seconds: float) -> tuple[int, float]:
    """(control steps, wall seconds spent inside step()) of `env` under `policy` for about `seconds`."""
    env.reset(seed=0)
    steps, wall, start = 0, 0.0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        action = policy()
        t0 = time.perf_counter()
        _, _, term, trunc, _ = env.step(action)
        wall += time.perf_counter() - t0
        steps += 1
        if term or trunc:
            env.reset()
    return steps, wall


def random_drive(seed: int = 0) -> Callable[[], np.ndarray]:
    """Actions for a random drive of 0 to 0.3 per muscle."""
    rng = np.random.default_rng(seed)
    return lambda: drive_to_action(rng.random(len(MUSCLE_NAMES)).astype(np.float32) * 0.3)


def bench_env(env_id: str, seconds: float) -> tuple[int, float]:
    env = gym.make(env_id)
    try:
        return time_env(env, random_drive(), seconds)
    finally:
        env.close()


def bench_bare_physics(env_id: str, steps: int) -> float:
    """Wall seconds PyBullet alone takes to replay the joint torques the environment applied over
    its first `steps` control steps: the same motion and contacts, with the same per-substep joint
    read, and no muscles, metabolics or task."""
    env = gym.make(env_id)
    body = env.unwrapped.body
    # What the environment did to the body, in order: ("step", torques, crank torque), ("lock",
    # locked) for the pelvis holds of a static start, ("reset",) between episodes.
    record: list[tuple[Any, ...]] = []
    apply, lock = body.step, body.lock_pelvis

    def recording_step(torques: np.ndarray, crank_torque: float = 0.0) -> None:
        record.append(("step", torques.copy(), crank_torque))
        apply(torques, crank_torque)

    def recording_lock(locked: bool, *args: Any, **kwargs: Any) -> None:
        record.append(("lock", locked, args, kwargs))
        lock(locked, *args, **kwargs)

    body.step, body.lock_pelvis = recording_step, recording_lock  # type: ignore[method-assign]
    policy = random_drive()
    env.reset(seed=0)
    for _ in range(steps):
        _, _, term, trunc, _ = env.step(policy())
        if term or trunc:
            record.append(("reset",))
            env.reset()
    recorded_end = body.read_joints()[0]
    body.step, body.lock_pelvis = apply, lock  # type: ignore[method-assign]
    env.reset(seed=0)  # the same initial states, in the same order, as the recording
    read = body.read_joints
    crank = body.crank_id is not None
    wall, i = 0.0, 0
    while i < len(record):
        t0 = time.perf_counter()
        while i < len(record) and record[i][0] == "step":
            read()  # the one read any controller needs
            if crank:
                body.crank_state()
            apply(record[i][1], record[i][2])
            i += 1
        wall += time.perf_counter() - t0
        if i < len(record):
            event = record[i]
            if event[0] == "reset":
                env.reset()
            else:
                lock(event[1], *event[2], **event[3])
            i += 1
    replayed_end = read()[0]
    env.close()
    if not np.allclose(replayed_end, recorded_end, atol=1e-9):
        raise RuntimeError(f"{env_id}: the replay drifted from the recorded motion; the comparison is void")
    return wall


def bench_hopper(seconds: float) -> tuple[float, float] | None:
    try:
        env = gym.make("Hopper-v5")
    except Exception as err:  # mujoco missing: say so rather than fail
        print(f"Hopper-v5 unavailable ({type(err).__name__}: {err}); install the 'bench' extra")
        return None
    env.action_space.seed(0)
    steps, wall = time_env(env, env.action_space.sample, seconds)
    dt = env.unwrapped.dt
    env.close()
    return steps / wall, steps * dt / wall


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
        steps, wall = bench_env(env_id, args.seconds)
        bare_wall = bench_bare_physics(env_id, steps)
        simulated = steps * CONTROL_DT_S
        sim, bare = simulated / wall, simulated / bare_wall
        vs = f"{sim / hopper[1]:.2f}x" if hopper else "n/a"
        print(f"{task:<24}{steps / wall:>10.0f}{sim:>10.2f}{bare:>17.2f}{wall / bare_wall:>17.2f}x{vs:>14}")
    print(f"targets: env/physics cost <= {TARGET_ENV_OVER_PHYSICS}x; sim s/s >= Hopper-v5's (1.00x)")


if __name__ == "__main__":
    main()
