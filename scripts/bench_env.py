"""Benchmark: environment speed against its bare physics and against Gymnasium's Hopper-v5.

For each task, in one run on one core: env steps per second and simulated seconds per wall
second; the same for PyBullet's physics alone replaying the joint torques the environment applied
(the same 1 ms substeps, motion and contacts: the floor this design can reach); and Hopper-v5
(MuJoCo), which users would pick instead. Only time inside step() counts (resets excluded). Then
PPO's training throughput (rollouts and updates, stable-baselines3 defaults but for the rollout
length) on each task and on Hopper-v5, in simulated seconds per wall second; and each task in
discharge mode and with fatigue against rate mode. Targets: env cost at most 1.3x its bare physics;
at least as many simulated seconds per wall second as Hopper-v5; discharge mode at most 1.5x rate
mode; fatigue at most 1.2x.
`--out PAGE` writes the results page (docs/results/speed.md).
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import neuroleg.envs  # noqa: F401 - registers the ids
from neuroleg.envs import ENV_IDS, drive_to_action
from neuroleg.envs.leg_env import CONTROL_DT_S
from neuroleg.envs.physiology import MUSCLE_NAMES

TARGET_ENV_OVER_PHYSICS = 1.3
TARGET_DISCHARGE_OVER_RATE = 1.5
TARGET_FATIGUE_OVER_NONE = 1.2
SIDE_BY_SIDE_ROUNDS = 5  # turns of each option in the side-by-side table (the median counts)
BENCH_DRIVE_MAX = 0.3  # the random drive of every measurement but the one that says otherwise
PPO_ROLLOUT_STEPS = 1024  # short enough that a few rollouts fit the budget; updates as in SB3's defaults


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


def random_drive(seed: int = 0, most: float = BENCH_DRIVE_MAX) -> Callable[[], np.ndarray]:
    """Actions for a random drive of 0 to `most` per muscle."""
    rng = np.random.default_rng(seed)
    return lambda: drive_to_action(rng.random(len(MUSCLE_NAMES)).astype(np.float32) * most)


def _cost(per_step: dict[str, float], name: str, against: str = "rate") -> str:
    """An option's cost per step over another's."""
    return f"{per_step[name] / per_step[against]:.2f}x"


def bench_env(env_id: str, seconds: float, most: float = BENCH_DRIVE_MAX, **kwargs: Any) -> tuple[int, float]:
    env = gym.make(env_id, **kwargs)
    try:
        return time_env(env, random_drive(most=most), seconds)
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


def bench_ppo(env_id: str, steps: int) -> float | None:
    """Simulated seconds per wall second while PPO trains `steps` steps on `env_id` (one env, torch
    on one thread); None when the id cannot be made (Hopper-v5 without mujoco)."""
    import torch
    from stable_baselines3 import PPO

    try:
        env = gym.make(env_id)
    except Exception:  # mujoco missing: bench_hopper has said so
        return None
    torch.set_num_threads(1)
    dt = float(env.unwrapped.dt)
    model = PPO("MlpPolicy", env, n_steps=PPO_ROLLOUT_STEPS, seed=0, device="cpu")
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    wall = time.perf_counter() - start
    env.close()
    return model.num_timesteps * dt / wall


def measure(seconds: float, ppo_steps: int) -> tuple[list[dict[str, str]], ...]:
    """(environment rows, discharge-mode rows, PPO rows) of the results page, printed as measured."""
    # Hopper, each task and its physics replay in rounds of short turns, each one's median turn
    # counting (as in the side-by-side table below): a slow spell falls on all of them alike
    hopper_turns: list[tuple[float, float]] = []
    env_turns: dict[str, list[float]] = {task: [] for task in ENV_IDS}
    bare_turns: dict[str, list[float]] = {task: [] for task in ENV_IDS}
    for _ in range(SIDE_BY_SIDE_ROUNDS):
        turn = bench_hopper(seconds / SIDE_BY_SIDE_ROUNDS)
        if turn:
            hopper_turns.append(turn)
        for task, env_id in ENV_IDS.items():
            steps, wall = bench_env(env_id, seconds / SIDE_BY_SIDE_ROUNDS)
            env_turns[task].append(wall / steps)
            bare_turns[task].append(bench_bare_physics(env_id, steps) / steps)
    hopper = tuple(float(np.median(x)) for x in zip(*hopper_turns, strict=True)) if hopper_turns else None
    rows = []
    if hopper:
        rows.append(
            {
                "environment": "Hopper-v5 (MuJoCo)",
                "steps/s": f"{hopper[0]:.0f}",
                "sim s/s": f"{hopper[1]:.1f}",
                "physics alone, sim s/s": "",
                "env / physics cost": "",
                "vs Hopper-v5": "1.00x",
            }
        )
    for task in ENV_IDS:
        per_step, bare_per_step = float(np.median(env_turns[task])), float(np.median(bare_turns[task]))
        sim, bare = CONTROL_DT_S / per_step, CONTROL_DT_S / bare_per_step
        rows.append(
            {
                "environment": task,
                "steps/s": f"{1.0 / per_step:.0f}",
                "sim s/s": f"{sim:.1f}",
                "physics alone, sim s/s": f"{bare:.1f}",
                "env / physics cost": f"{per_step / bare_per_step:.2f}x",
                "vs Hopper-v5": f"{sim / hopper[1]:.2f}x" if hopper else "n/a",
            }
        )
        print(rows[-1], flush=True)
    discharge_rows = []
    for task, env_id in ENV_IDS.items():
        # the options side by side, in rounds of short turns: a slow spell of a shared machine falls
        # on every option alike, and each one's median turn is what counts
        options: dict[str, dict[str, Any]] = {
            "rate": {},
            "discharge": {"motor_units": "discharge"},
            "fatigue": {"fatigue": True},
            "both": {"motor_units": "discharge", "fatigue": True},
            "rate, drive 0-1": {"most": 1.0},
            "discharge, drive 0-1": {"most": 1.0, "motor_units": "discharge"},
        }
        turns: dict[str, list[float]] = {name: [] for name in options}
        for _ in range(SIDE_BY_SIDE_ROUNDS):
            for name, kwargs in options.items():
                steps, wall = bench_env(env_id, seconds / SIDE_BY_SIDE_ROUNDS, **kwargs)
                turns[name].append(wall / steps)
        per_step = {name: float(np.median(t)) for name, t in turns.items()}
        cost = functools.partial(_cost, per_step)
        discharge_rows.append(
            {
                "environment": task,
                "rate mode, steps/s": f"{1.0 / per_step['rate']:.0f}",
                "discharge mode, steps/s": f"{1.0 / per_step['discharge']:.0f}",
                "discharge / rate cost": cost("discharge"),
                "with fatigue, steps/s": f"{1.0 / per_step['fatigue']:.0f}",
                "fatigue / none cost": cost("fatigue"),
                "discharge and fatigue / rate cost": cost("both"),
                "discharge / rate cost, drive 0-1": cost("discharge, drive 0-1", "rate, drive 0-1"),
            }
        )
        print(discharge_rows[-1], flush=True)
    ppo_rows = []
    hopper_ppo = bench_ppo("Hopper-v5", ppo_steps) if hopper else None
    if hopper_ppo:
        ppo_rows.append(
            {"environment": "Hopper-v5 (MuJoCo)", "training, sim s/s": f"{hopper_ppo:.1f}", "vs Hopper-v5": "1.00x"}
        )
    for task, env_id in ENV_IDS.items():
        sim = bench_ppo(env_id, ppo_steps)
        assert sim is not None
        vs = f"{sim / hopper_ppo:.2f}x" if hopper_ppo else "n/a"
        ppo_rows.append({"environment": task, "training, sim s/s": f"{sim:.1f}", "vs Hopper-v5": vs})
        print(ppo_rows[-1], flush=True)
    return rows, discharge_rows, ppo_rows


def page(
    rows: list[dict[str, str]],
    discharge_rows: list[dict[str, str]],
    ppo_rows: list[dict[str, str]],
    ppo_steps: int,
    command: str,
    out: Path | None = None,
) -> str:
    from neuroleg.agents.experiments import markdown_table
    from neuroleg.agents.provenance import results_page
    from neuroleg.envs.physiology import load_model

    units = int(load_model().muscles.motor_unit_count.sum())

    body = f"""One core, random drive (0 to 0.3 per muscle), time inside `step()` only; every figure is
the median of {SIDE_BY_SIDE_ROUNDS} turns, taken in rounds over every environment. "Physics alone"
replays the joint torques the environment applied through PyBullet with no muscles, metabolics or
task (the benchmark checks that the replay reproduces the joint angles exactly). Targets: env /
physics cost at most {TARGET_ENV_OVER_PHYSICS}x; at least Hopper-v5's simulated seconds per wall second.

{markdown_table(rows)}

Discharge mode (`motor_units="discharge"`: every unit of the model file's pools, {units} in all,
fires impulses) and fatigue (`fatigue=True`, rate mode) against the default rate mode without
fatigue, the same random drive, side by side in the same rounds of turns (targets: at most
{TARGET_DISCHARGE_OVER_RATE}x and {TARGET_FATIGUE_OVER_NONE}x). The last two columns have no target:
both options at once, and discharge mode under a random policy's drive (0 to 1), where more units
fire:

{markdown_table(discharge_rows)}

PPO training throughput: stable-baselines3's `PPO("MlpPolicy", env)` with its defaults but
`n_steps={PPO_ROLLOUT_STEPS}`, one environment, torch on one thread, {ppo_steps} steps (rollouts and
updates), in simulated seconds per wall second:

{markdown_table(ppo_rows)}
"""
    return results_page("Speed", command, body, None if out is None else out.parent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="wall seconds per measurement")
    parser.add_argument("--ppo-steps", type=int, default=8192, help="PPO training steps per environment")
    parser.add_argument("--out", help="write the results page here (e.g. docs/results/speed.md)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the issue asks
    rows, discharge_rows, ppo_rows = measure(args.seconds, args.ppo_steps)
    command = "python scripts/bench_env.py" + (f" --out {args.out}" if args.out else "")
    text = page(rows, discharge_rows, ppo_rows, args.ppo_steps, command, Path(args.out) if args.out else None)
    print(text)
    if args.out:
        from neuroleg.agents.runs import write_text_atomic

        write_text_atomic(Path(args.out), text)
        print(f"written to {args.out}")


if __name__ == "__main__":
    main()
