"""What Posture policies follow of their targets: trained policies and the per-target ceiling reach the
same targets, and for each axis of the target (the ankle's horizontal and vertical offset from the hip,
the foot's angle) the final pose is regressed on the target. A slope of 1 follows the target along that
axis; 0 ends in the same pose whatever the target asks. Where a policy's precision falls short of the
ceiling's, this says along which axis."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..ceilings import EVALUATION_SEED, stored_ceiling
from ..runs import RunDir
from .common import mean_sd, write_experiment

NAME = "posture-following"
HELP = "per axis of the target, how far trained Posture policies (and the ceiling) follow it"

EPISODES = 30  # the packaged ceiling's targets: episode seeds EVALUATION_SEED to EVALUATION_SEED + 29
AXES = {  # label -> (info key of the target, of the final pose, the error's unit, scale from SI to it)
    "ankle forward": ("target_x_m", "foot_x_m", "cm", 100.0),
    "ankle height": ("target_z_m", "foot_z_m", "cm", 100.0),
    "foot angle": ("target_foot_angle_rad", "foot_angle_rad", "deg", float(np.degrees(1.0))),
}
CEILING = "ceiling (one control per target)"


def following(infos: list[dict[str, Any]]) -> dict[str, float]:
    """Per axis, from the final infos of episodes with different targets: the slope of the final pose
    on the target (least squares) and the mean absolute error (the axis's unit);
    and the mean precision score."""
    out = {"score": float(np.mean([i["task_score"] for i in infos]))}
    for axis, (target_key, pose_key, _, scale) in AXES.items():
        target = np.array([i[target_key] for i in infos])
        pose = np.array([i[pose_key] for i in infos])
        out[f"{axis}: slope"] = float(np.polyfit(target, pose, 1)[0])
        out[f"{axis}: error"] = float(np.mean(np.abs(pose - target)) * scale)
    return out


def policy_infos(run: RunDir, episodes: int) -> list[dict[str, Any]]:
    """The run's deterministic Posture episodes from EVALUATION_SEED on: their final infos."""
    from ..evaluate import model_policy, run_episodes

    cfg = run.config()
    if cfg.env.task != "Posture":
        raise ValueError(f"{run.path}: a {cfg.env.task} run; posture-following takes Posture runs")
    return [r.info for r in run_episodes(cfg, model_policy(run, cfg), episodes, EVALUATION_SEED)]


def ceiling_infos(episodes: int) -> list[dict[str, Any]]:
    """The packaged Posture ceiling's controls replayed on the first `episodes` evaluation targets."""
    from ..target_ceiling import replay_targets

    ceiling = stored_ceiling("Posture")
    seeds = range(EVALUATION_SEED, EVALUATION_SEED + episodes)
    if ceiling is None or not set(seeds) <= {t["episode_seed"] for t in ceiling.targets}:
        raise ValueError(f"--episodes {episodes}: the packaged Posture ceiling does not hold all of seeds {seeds}")
    return replay_targets(replace(ceiling, targets=[t for t in ceiling.targets if t["episode_seed"] in seeds]))


def label(run: RunDir) -> str:
    cfg = run.config()
    return f"{cfg.algo.name.upper()}, {cfg.total_timesteps:,} steps"


def posture_following_experiment(out: Path, runs: list[Path], episodes: int = EPISODES) -> list[dict[str, Any]]:
    if episodes < 3:
        raise ValueError(f"--episodes must be at least 3 (a slope over targets), got {episodes}")
    groups: dict[str, list[dict[str, float]]] = {}
    for path in runs:
        run = RunDir(path)
        groups.setdefault(label(run), []).append(following(policy_infos(run, episodes)))
    groups[CEILING] = [following(ceiling_infos(episodes))]
    rows = []
    for name, results in groups.items():
        row: dict[str, Any] = {"policy": name, "runs": len(results) if name != CEILING else "-"}
        row["precision score"] = mean_sd([r["score"] for r in results])
        for axis, (_, _, unit, _) in AXES.items():
            row[f"{axis}: slope"] = mean_sd([r[f"{axis}: slope"] for r in results])
            row[f"{axis}: mean error ({unit})"] = mean_sd([r[f"{axis}: error"] for r in results])
        rows.append(row)

    def plot(ax: Any) -> None:
        width = 0.8 / len(groups)
        for k, (name, results) in enumerate(groups.items()):
            slopes = np.array([[r[f"{axis}: slope"] for axis in AXES] for r in results])
            x = np.arange(len(AXES)) + (k - (len(groups) - 1) / 2) * width
            sd = slopes.std(axis=0, ddof=1) if len(slopes) > 1 else None
            ax.bar(x, slopes.mean(axis=0), width, yerr=sd, capsize=3, label=name)
        ax.axhline(1.0, color="0.5", ls="--", lw=0.8)
        ax.set_xticks(np.arange(len(AXES)), list(AXES))
        ax.set_ylabel("slope of final pose on target")
        ax.legend(fontsize=7)

    where = ", ".join(f"`{p}`" for p in runs)
    intro = (
        f"Deterministic episodes on the same {episodes} targets (seeds {EVALUATION_SEED} onward) for each "
        f"policy and for the packaged ceiling's controls. Per axis of the target, over the targets: the slope "
        "of the final pose on the target (1: follows it; 0: the same pose whatever the target) and the mean "
        "absolute final error along the axis. Policies are grouped by algorithm "
        f"and budget, mean +- SD over the runs of a group. Runs: {where}."
    )
    write_experiment(out, "posture_following", "What Posture policies follow of their targets", NAME, intro, rows, plot)
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", nargs="+", type=Path, required=True, help="trained Posture run folders")
    parser.add_argument("--episodes", type=int, default=EPISODES, help="targets per policy (at most the ceiling's)")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    return posture_following_experiment(args.out, args.runs, args.episodes)
