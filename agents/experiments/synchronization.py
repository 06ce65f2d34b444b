"""Synchronization and the rate of force development: a step of drive from rest in discharge mode,
synchronization 0 to 1, RFD over 0-50 and 0-100 ms over seeds (`isometric_contraction`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from neuroleg.envs.physiology import isometric_contraction

from .common import add_model_argument, mean_sd, write_experiment

NAME = "synchronization"
HELP = "rate of force development against motor-unit synchronization (discharge mode)"

MUSCLE = "VAS"
SYNCHRONIZATIONS = (0.0, 0.25, 0.5, 0.75, 1.0)
DRIVES = (0.7, 1.0)  # a submaximal and a maximal rapid contraction
RFD_WINDOWS_S = (0.05, 0.1)  # RFD over 0-50 and 0-100 ms, as explosive-strength studies measure it
DURATION_S = 0.3
SEEDS = (0, 1, 2, 3, 4)


def synchronization_experiment(out: Path, model_path: str | None = None, seeds: tuple[int, ...] = SEEDS) -> list[dict]:
    rows: list[dict[str, Any]] = []
    curves: dict[tuple[float, float], tuple[np.ndarray, np.ndarray]] = {}
    for drive in DRIVES:
        for sync in SYNCHRONIZATIONS:
            rfd: dict[float, list[float]] = {w: [] for w in RFD_WINDOWS_S}
            traces = []
            for seed in seeds:
                r = isometric_contraction(
                    MUSCLE, drive, DURATION_S, seed=seed, model_path=model_path, synchronization=sync
                )
                t, f = r["time_s"], r["force_n"]
                traces.append(f)
                for w in RFD_WINDOWS_S:
                    rfd[w].append(float(np.interp(w, t, f) / w))
            curves[(drive, sync)] = (t, np.mean(traces, axis=0))
            row: dict[str, Any] = {"drive": drive, "synchronization": sync}
            for w in RFD_WINDOWS_S:
                row[f"RFD 0-{round(w * 1000)} ms (N/s)"] = mean_sd(rfd[w], digits=4)
            rows.append(row)

    def plot(ax: Any) -> None:
        for (drive, sync), (t, f) in curves.items():
            if drive == DRIVES[-1]:
                ax.plot(t * 1000, f, label=f"synchronization {sync:g}")
        ax.set_xlabel("time (ms)")
        ax.set_ylabel(f"{MUSCLE} force (N), drive {DRIVES[-1]:g}, mean of seeds")
        ax.legend(fontsize=7)

    intro = (
        f"{MUSCLE} held isometric at its optimal length in discharge mode, a step of drive at t = 0 from "
        f"rest; mean +- SD over {len(seeds)} seeds."
    )
    title = f"Synchronization and the rate of force development ({MUSCLE})"
    write_experiment(out, "synchronization", title, NAME, intro, rows, plot)
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    return synchronization_experiment(args.out, model_path=args.model)
