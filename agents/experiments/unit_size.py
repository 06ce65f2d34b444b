"""Precision by motor-unit size: the same muscle force made by fewer, larger or more, smaller units,
held isometric in discharge mode (`isometric_contraction`), force CV and SD over seeds."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from neuroleg.envs.physiology import isometric_contraction

from ..validation.units import drive_for
from .common import add_model_argument, mean_sd, write_experiment

NAME = "unit-size"
HELP = "force steadiness of one muscle by motor-unit size and force level (discharge mode)"

MUSCLE = "VAS"
UNIT_COUNTS = (30, 60, 120, 240, 480)  # the same maximal force in fewer, larger or more, smaller units
FORCE_LEVELS = (0.1, 0.3, 0.6)  # fractions of maximal force
HOLD_S = 6.0
SETTLE_S = 1.0  # the rise after the step of drive is left out
SEEDS = (0, 1, 2, 3, 4)


def unit_size_experiment(out: Path, model_path: str | None = None, seeds: tuple[int, ...] = SEEDS) -> list[dict]:
    rows: list[dict[str, Any]] = []
    curves: dict[tuple[float, int], float] = {}
    for level in FORCE_LEVELS:
        drive = drive_for(level, model_path, MUSCLE)
        for n in UNIT_COUNTS:
            cvs, sds = [], []
            for seed in seeds:
                r = isometric_contraction(MUSCLE, drive, HOLD_S, seed=seed, model_path=model_path, n_units=n)
                f = r["force_n"][r["time_s"] > SETTLE_S]
                cvs.append(float(f.std() / f.mean()))
                sds.append(float(f.std()))
            curves[(level, n)] = float(np.mean(cvs))
            rows.append(
                {
                    "force (of max)": level,
                    "units": n,
                    "force CV (%)": mean_sd(cvs, 100.0),
                    "force SD (N)": mean_sd(sds),
                }
            )

    def plot(ax: Any) -> None:
        for level in FORCE_LEVELS:
            ax.plot(UNIT_COUNTS, [100 * curves[(level, n)] for n in UNIT_COUNTS], "o-", label=f"{level:g} of max")
        ax.set_xscale("log")
        ax.set_xlabel("motor units in the pool (same maximal force)")
        ax.set_ylabel(f"{MUSCLE} force CV (%)")
        ax.legend(fontsize=7)

    intro = (
        f"{MUSCLE} held isometric at its optimal length in discharge mode: {HOLD_S - SETTLE_S:g} s of steady "
        f"holding after {SETTLE_S:g} s of rise, mean +- SD over {len(seeds)} seeds."
    )
    write_experiment(out, "unit_size", f"Precision by motor-unit size ({MUSCLE})", NAME, intro, rows, plot)
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    return unit_size_experiment(args.out, model_path=args.model)
