"""Precision of a task by motor-unit size: a Posture policy trained in the rate mode (the packaged
reference, or a run given with --run) holding its targets with the same muscles made of fewer,
larger or more, smaller discharging units. The targets and starts are the same in every condition
(the same evaluation seeds); what changes is only how the force is made, so the spread of the hold
error is the units' doing."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from neuroleg.envs import CONTROL_DT_S
from neuroleg.envs.physiology import load_model

from ..reference import EVALUATION_SEED, card, load_reference
from .common import mean_sd, write_experiment

if TYPE_CHECKING:  # loading imports stable-baselines3: only where a policy runs, not for --help
    from ..loading import LoadedRun

NAME = "posture-unit-size"
HELP = "a Posture policy's hold error with fewer, larger or more, smaller motor units"

UNIT_COUNTS = (30, 120, 480)  # per muscle, the same maximal force (as the unit-size experiment)
FILE_POOLS = "discharge, the model file's pools"
EPISODES = 30
STEADY_STEPS = 25  # the last 0.5 s of the 2 s episode: the foot's jitter there is its steadiness
STEADY_MS = round(STEADY_STEPS * CONTROL_DT_S * 1000)
RATE_MODE = "rate mode (mean force)"


def hold_episodes(
    motor_units: bool | str, unit_count: int | None, episodes: int = EPISODES, policy: LoadedRun | None = None
) -> dict[str, list[float]]:
    """A Posture policy's episodes (`policy`; None: the packaged reference) at EVALUATION_SEED + i in
    this motor-unit condition: per episode the final foot error (m), the foot's jitter (SD of its error
    over the last STEADY_STEPS control steps, m), the time on target (fraction), and the metabolic
    energy (J)."""
    ref = load_reference("Posture") if policy is None else policy
    kwargs = {**ref.config.env.env_kwargs(), "motor_units": motor_units, "motor_unit_count": unit_count}
    env = gym.make(ref.config.env.env_id, **kwargs)
    out: dict[str, list[float]] = {"error_m": [], "jitter_m": [], "on_target": [], "energy_j": []}
    try:
        for i in range(episodes):
            obs, info = env.reset(seed=EVALUATION_SEED + i)
            done = False
            trace = []
            while not done:
                action, _ = ref.predict(obs)
                obs, _, term, trunc, info = env.step(action)
                trace.append(float(info["precision_m"]))
                done = term or trunc
            out["error_m"].append(float(info["precision_m"]))
            out["jitter_m"].append(float(np.std(trace[-STEADY_STEPS:])))
            out["on_target"].append(float(info["time_on_target_fraction"]))
            out["energy_j"].append(float(info["metabolic_energy_j"]))
    finally:
        env.close()
    return out


def policy_for(run: Path | None) -> tuple[LoadedRun, str]:
    """The policy the experiment holds targets with, and how the page names it: a trained Posture run
    at `run`, else the packaged reference."""
    if run is None:
        score = card("Posture")["evaluation"]["policy"]["task_score"]
        return load_reference("Posture"), (
            f"The packaged Posture reference policy (trained in the rate mode; precision score {score:.2f} in its card)"
        )
    from ..loading import load_run

    policy = load_run(run)
    cfg = policy.config
    if cfg.env.task != "Posture":
        raise ValueError(f"--run {run}: a {cfg.env.task} run; the experiment holds Posture's targets")
    if cfg.env.motor_units is not True:
        raise ValueError(
            f"--run {run}: trained with motor_units={cfg.env.motor_units!r}; the experiment needs a rate-mode policy"
        )
    what = f"{cfg.algo.name.upper()}, {cfg.total_timesteps:,} steps, seed {cfg.seed}"
    return policy, f"A Posture policy trained in the rate mode (`{run}`: {what})"


def posture_unit_size_experiment(out: Path, episodes: int = EPISODES, run: Path | None = None) -> list[dict[str, Any]]:
    policy, who = policy_for(run)
    counts = load_model().muscles.motor_unit_count.tolist()
    conditions: list[tuple[str, bool | str, int | None]] = [(RATE_MODE, True, None)]
    conditions += [(f"discharge, {n} units", "discharge", n) for n in UNIT_COUNTS]
    conditions.append((FILE_POOLS, "discharge", None))
    rows: list[dict[str, Any]] = []
    errors: dict[str, np.ndarray] = {}
    for label, mode, n in conditions:
        r = hold_episodes(mode, n, episodes, policy)
        errors[label] = np.asarray(r["error_m"])
        rows.append(
            {
                "motor units": label,
                "final foot error (mm)": mean_sd(r["error_m"], 1000.0),
                f"jitter, last {STEADY_MS} ms (mm)": mean_sd(r["jitter_m"], 1000.0),
                "time on target (fraction)": mean_sd(r["on_target"]),
                "metabolic energy (J)": mean_sd(r["energy_j"], digits=4),
            }
        )
    base = errors[RATE_MODE]
    for row, (label, _, _) in zip(rows, conditions, strict=True):
        # the same target in each episode: the change against the rate mode, paired by episode
        row["change against rate mode (mm)"] = mean_sd(list(errors[label] - base), 1000.0)

    def plot(ax: Any) -> None:
        # median and quartiles: the errors are skewed (most episodes near the target, a few far), so a
        # mean +- SD bar would reach below zero
        q = np.array([1000 * np.percentile(errors[f"discharge, {n} units"], (25, 50, 75)) for n in UNIT_COUNTS])
        spread = (q[:, 1] - q[:, 0], q[:, 2] - q[:, 1])
        ax.errorbar(UNIT_COUNTS, q[:, 1], yerr=spread, fmt="o-", capsize=3, label="discharge mode")
        ax.axhline(1000 * np.median(base), color="0.5", ls="--", label=f"{RATE_MODE}, median")
        ax.axhline(1000 * np.median(errors[FILE_POOLS]), color="C1", ls=":", label=f"{FILE_POOLS}, median")
        ax.set_xscale("log")
        ax.set_xticks(UNIT_COUNTS, [str(n) for n in UNIT_COUNTS])
        ax.minorticks_off()  # the log axis's minor labels overlap the counts'
        ax.set_xlabel("motor units per muscle (same maximal force)")
        ax.set_ylabel("final foot error (mm), median and quartiles")
        ax.legend(fontsize=7)

    intro = (
        f"{who} over {episodes} episodes, the same targets and starts "
        f"in every condition (seeds {EVALUATION_SEED} onward), deterministic actions; mean +- SD over "
        "episodes. The muscles keep their maximal forces; only the number (and so the size) of their "
        "units changes: the same count in every muscle, or each muscle's pool from the model file "
        f"({min(counts)}-{max(counts)} units). Jitter: the SD of the foot's error over the episode's last "
        f"{STEADY_MS} ms. The last column pairs each episode's final error with the rate mode's."
    )
    command = NAME if run is None else f"{NAME} --run {run}"
    write_experiment(out, "posture_unit_size", "Hold error by motor-unit size (Posture)", command, intro, rows, plot)
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--episodes", type=int, default=EPISODES, help="episodes per condition")
    parser.add_argument("--run", type=Path, help="a trained Posture run (rate mode); default: the packaged reference")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.episodes < 2:
        raise ValueError(f"--episodes must be at least 2 (a spread needs two), got {args.episodes}")
    return posture_unit_size_experiment(args.out, args.episodes, args.run)
