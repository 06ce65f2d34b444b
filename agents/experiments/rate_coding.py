"""Rate coding and synchronization: the rate of force development in a rapid isometric contraction."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from neuroleg.envs.physiology import MotorUnitPool, MuscleModel, load_model
from neuroleg.envs.physiology.motor_units import RATE_MODE_UNITS

from ..provenance import results_page
from ..report import pyplot, save_figure
from ..runs import write_json_atomic, write_text_atomic
from .common import add_model_argument, markdown_table

NAME = "rate-coding"
HELP = "rate of force development against peak discharge rate and synchronization"

RATE_SCALES = (0.8, 1.0, 1.3)
SYNCHRONIZATIONS = (0.0, 0.5, 1.0)
RFD_WINDOWS_S = (0.05, 0.1)  # RFD over 0-50 and 0-100 ms, as measured in explosive-strength studies
RFD_DURATION_S = 0.3
RFD_DRIVES = (0.7, 1.0)  # a submaximal and a maximal rapid contraction
RFD_MUSCLE = "VAS"


def isometric_force_rise(
    rate_scale: float,
    synchronization: float,
    drive: float,
    duration_s: float = RFD_DURATION_S,
    model_path: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(time s, force N) of the RFD muscle in a rapid isometric contraction at optimal length."""

    p = load_model(model_path).muscles
    i = p.names.index(RFD_MUSCLE)
    pool = MotorUnitPool.create(p, rate_scale=rate_scale, synchronization=synchronization, n_units=RATE_MODE_UNITS)
    mm = MuscleModel(p, 0.001, synchronization=pool.synchronization)
    l_mtu = p.l_opt + p.l_slack * 1.04  # fiber at l_opt when the tendon carries F_max
    state = mm.equilibrium_state(np.zeros(p.n), l_mtu)
    u = pool.recruit(np.full(p.n, drive)).force_fraction
    steps = round(duration_s / mm.dt)
    force = np.empty(steps + 1)
    force[0] = 0.0
    v = np.zeros(p.n)
    for k in range(steps):
        state, out = mm.step(state, u, l_mtu, v)
        force[k + 1] = out.force[i]
    force -= force[0]
    return np.arange(steps + 1) * mm.dt, force


def rate_coding_experiment(out: Path, model_path: str | None = None) -> list[dict[str, Any]]:
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    curves = {}
    for drive in RFD_DRIVES:
        for scale in RATE_SCALES:
            for sync in SYNCHRONIZATIONS:
                t, f = isometric_force_rise(scale, sync, drive, model_path=model_path)
                row: dict[str, Any] = {"drive": drive, "rate_scale": scale, "synchronization": sync}
                for w in RFD_WINDOWS_S:
                    row[f"rfd_0_{round(w * 1000)}ms_n_per_s"] = float(np.interp(w, t, f) / w)
                row["peak_force_n"] = float(f.max())
                rows.append(row)
                curves[(drive, scale, sync)] = (t, f)
    write_json_atomic(out / "rate_coding.json", rows)
    write_text_atomic(
        out / "rate_coding.md",
        results_page(
            f"Rate coding, synchronization and RFD ({RFD_MUSCLE})",
            "neuroleg experiment rate-coding",
            markdown_table(rows),
            out,
        ),
    )
    plt = pyplot()
    fig, axes = plt.subplots(1, len(RFD_DRIVES), figsize=(10, 3.5), sharey=True)
    for ax, drive in zip(np.atleast_1d(axes), RFD_DRIVES, strict=True):
        for (d, scale, sync), (t, f) in curves.items():
            if d == drive and (scale == 1.0 or sync == 0.0):
                ax.plot(t * 1000, f, label=f"rate x{scale}, sync {sync}")
        ax.set_title(f"drive {drive}", fontsize=9)
        ax.set_xlabel("time (ms)")
    np.atleast_1d(axes)[0].set_ylabel(f"{RFD_MUSCLE} force (N)")
    np.atleast_1d(axes)[-1].legend(fontsize=7)
    save_figure(fig, out / "rate_coding.png")
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    return rate_coding_experiment(args.out, model_path=args.model)
