"""Precision by motor-unit size: the same muscle force made by fewer, larger or more, smaller units,
held isometric in discharge mode (`isometric_contraction`), force CV and SD over seeds."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from neuroleg.envs.physiology import isometric_contraction
from neuroleg.envs.physiology.discharge import COMMON_INPUT_SD

from ..validation.units import drive_for
from .common import add_model_argument, mean_sd, write_experiment

NAME = "unit-size"
HELP = "force steadiness of one muscle by motor-unit size and force level (discharge mode)"

MUSCLE = "VAS"
# the same maximal force in fewer, larger or more, smaller units; 1678 is the model file's vasti
UNIT_COUNTS = (30, 120, 480, 1678)
FORCE_LEVELS = (0.1, 0.3, 0.6)  # fractions of maximal force
HOLD_S = 6.0
SETTLE_S = 1.0  # the rise after the step of drive is left out
SEEDS = (0, 1, 2, 3, 4)
# with the pool's common input (discharge.COMMON_INPUT_SD) and with the units' own variability alone
COMMON_INPUT = ((COMMON_INPUT_SD, "yes"), (0.0, "no"))
CV_TICKS_PCT = (0.2, 0.5, 1.0, 2.0, 5.0)  # the figure's CV axis (log)


def unit_size_experiment(out: Path, model_path: str | None = None, seeds: tuple[int, ...] = SEEDS) -> list[dict]:
    rows: list[dict[str, Any]] = []
    curves: dict[tuple[float, int, str], float] = {}
    for level in FORCE_LEVELS:
        drive = drive_for(level, model_path, MUSCLE)
        for sd, label in COMMON_INPUT:
            for n in UNIT_COUNTS:
                cvs, sds = [], []
                for seed in seeds:
                    r = isometric_contraction(
                        MUSCLE, drive, HOLD_S, seed=seed, model_path=model_path, n_units=n, common_input_sd=sd
                    )
                    f = r["force_n"][r["time_s"] > SETTLE_S]
                    cvs.append(float(f.std() / f.mean()))
                    sds.append(float(f.std()))
                curves[(level, n, label)] = float(np.mean(cvs))
                rows.append(
                    {
                        "force (of max)": level,
                        "common input": label,
                        "units": n,
                        "force CV (%)": mean_sd(cvs, 100.0),
                        "force SD (N)": mean_sd(sds),
                    }
                )

    def plot(ax: Any) -> None:
        for i, level in enumerate(FORCE_LEVELS):
            for _, label in COMMON_INPUT:
                ax.plot(
                    UNIT_COUNTS,
                    [100 * curves[(level, n, label)] for n in UNIT_COUNTS],
                    "o-" if label == "yes" else "o--",
                    color=f"C{i}",
                    label=f"{level:g} of max, common input {label}",
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.minorticks_off()  # the log axes' minor labels crowd the counts' and the CVs'
        ax.set_xticks(UNIT_COUNTS, [str(n) for n in UNIT_COUNTS])
        ax.set_yticks(CV_TICKS_PCT, [f"{v:g}" for v in CV_TICKS_PCT])
        ax.set_xlabel("motor units in the pool (same maximal force)")
        ax.set_ylabel(f"{MUSCLE} force CV (%)")
        ax.legend(fontsize=6)

    intro = (
        f"{MUSCLE} held isometric at its optimal length in discharge mode: {HOLD_S - SETTLE_S:g} s of steady "
        f"holding after {SETTLE_S:g} s of rise, mean +- SD over {len(seeds)} seeds, with the pool's common "
        f"input (SD {100 * COMMON_INPUT_SD:.2f} % of maximal drive) and without it (the units' own interval "
        f"variability alone). {UNIT_COUNTS[-1]} units is the model file's pool."
    )
    write_experiment(out, "unit_size", f"Precision by motor-unit size ({MUSCLE})", NAME, intro, rows, plot)
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    return unit_size_experiment(args.out, model_path=args.model)
