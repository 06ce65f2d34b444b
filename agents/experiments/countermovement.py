"""Countermovement and drive rise: the optimised countermovement jump against the optimised squat jump
from its lowest posture, as the neural drive's rate of rise slows (Bobbert & Casius 2005)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from neuroleg.envs.physiology.motor_units import DRIVE_RISE_MAX_S
from neuroleg.envs.tasks.squat_jump import SQUAT_ANKLE_RANGE_DEG, SQUAT_KNEE_RANGE_DEG

from ..optimize import ceiling_control, delayed, optimize, release_delay_s, seed_control
from ..provenance import results_page
from ..report import pyplot, save_figure
from ..runs import write_json_atomic, write_text_atomic
from ..validation import COUNTERMOVEMENT_GAIN_M, COUNTERMOVEMENT_START, ModelSource, countermovement_depth
from .common import add_model_argument, add_search_arguments, check_workers, markdown_table, run_all

NAME = "countermovement"
HELP = "countermovement minus squat jump against the drive rise time (Bobbert & Casius 2005)"

DRIVE_RISES_S = (0.0, 0.1, 0.2)


def _countermovement_pair(
    rise: float, generations: int, population: int, restarts: int, model_path: str | None, polish: int = 0
) -> dict[str, Any]:
    """One drive rise: the countermovement jump's ceiling, then the squat jump's from its lowest posture.
    Each search is centred on the stored step-drive ceiling of its jump, its onsets delayed by the
    longer hold so that it keeps its timing after release (re-tuning a known pattern, as
    the recruitment experiment does; for a squat depth with none stored, the default squat's), with the
    seed control evaluated too; with no stored ceiling at all, on the seed control."""

    source = ModelSource(model_path)

    def search(args: dict[str, Any], fallback: dict[str, Any]) -> Any:
        known = source.ceiling("SquatJump", args) or source.ceiling("SquatJump", fallback)
        kw = source.env_kwargs(**args, drive_rise_s=rise)
        if known is None:
            return optimize("SquatJump", generations, population, env_kwargs=kw, restarts=restarts, polish=polish)
        seed = [seed_control("SquatJump", kw)]
        return optimize(
            "SquatJump",
            generations,
            population,
            env_kwargs=kw,
            start=delayed(ceiling_control(known), release_delay_s(kw)),  # same timing after release
            candidates=seed,
            restarts=restarts,
            polish=polish,
        )

    jump = search(dict(COUNTERMOVEMENT_START), dict(COUNTERMOVEMENT_START))
    depth = countermovement_depth(jump)
    for key, (lo, hi) in (("squat_knee_deg", SQUAT_KNEE_RANGE_DEG), ("squat_ankle_deg", SQUAT_ANKLE_RANGE_DEG)):
        if not lo <= depth[key] <= hi:  # name the rise time (SquatJump's own error would not)
            raise ValueError(
                f"drive_rise_s={rise:g}: the countermovement jump's lowest posture has {key}={depth[key]:g}, "
                f"outside the squats SquatJump allows ({lo:g}-{hi:g}), so no squat jump can start there"
            )
    squat = search(depth, {})  # no stored squat at this depth: the default squat's pattern
    # Score 0: every squat jump the search tried sank past the dip allowance (or fell); a slow drive
    # that cannot hold the body by the stool's release does that. No squat jump, no gain.
    jumped = squat.score > 0.0
    return {
        "drive_rise_s": rise,
        "countermovement_jump_m": jump.score,
        "squat_jump_m": squat.score,
        "gain_cm": 100.0 * (jump.score - squat.score) if jumped else None,
        "dip_m": jump.metrics["dip_m"],
        "squat_knee_deg": depth["squat_knee_deg"],
        "squat_ankle_deg": depth["squat_ankle_deg"],
        "countermovement_energy_j": jump.energy_per_unit_j,
        "squat_energy_j": squat.energy_per_unit_j,
    }


def countermovement_experiment(
    out: Path,
    rises: tuple[float, ...] = DRIVE_RISES_S,
    generations: int = 160,
    population: int = 16,
    restarts: int = 1,
    workers: int = 1,
    model_path: str | None = None,
    polish: int = 0,
) -> list[dict[str, Any]]:
    """Bobbert & Casius 2005 repeated: at each drive rise time, the optimised countermovement jump
    minus the optimised squat jump from the countermovement's lowest posture. `workers` processes
    search the rise times side by side (each search is seeded, so the result does not depend on it).
    Their squat jump starts in static equilibrium; ours starts relaxed on the stool, held as long as
    the drive takes to rise (at least 0.1 s), so the muscles can take the body's weight before release.
    When no squat jump stays within the dip allowance the row's gain is None. `polish`: coordinate
    passes after each search (`optimize`), the same for both jumps."""
    check_workers(workers)
    out.mkdir(parents=True, exist_ok=True)
    args = [(r, generations, population, restarts, model_path, polish) for r in rises]
    rows: list[dict[str, Any]] = []

    def keep(row: dict[str, Any]) -> None:
        """Each rise's row is written as it completes: an hour-long run that fails late keeps the rest."""
        rows.append(row)
        write_json_atomic(out / "countermovement.json", rows)
        gain = "no valid squat jump" if row["gain_cm"] is None else f"gain {row['gain_cm']:.2f} cm"
        print(f"drive rise {row['drive_rise_s']:g} s: {gain}", flush=True)

    failures: list[str] = []
    run_all(_countermovement_pair, args, workers, keep, failures)
    if not rows:
        raise ValueError("; ".join(failures))
    write_text_atomic(
        out / "countermovement.md",
        results_page(
            "Countermovement minus squat jump against the drive's rise time",
            f"neuroleg experiment countermovement --generations {generations} --restarts {restarts} --polish {polish}",
            markdown_table(rows),
            out,
        ),
    )
    plot_countermovement(rows, out / "countermovement.png")
    if failures:
        raise ValueError("; ".join(failures) + f" (the other rise times are in {out})")
    return rows


def plot_countermovement(rows: list[dict[str, Any]], path: Path) -> None:
    """Both jumps and the gain against the drive's rise time, the validation's range shaded."""

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
    x = [r["drive_rise_s"] * 1000 for r in rows]
    left.plot(x, [r["countermovement_jump_m"] * 100 for r in rows], "o-", label="countermovement jump")
    squat = [(xi, r["squat_jump_m"] * 100) for xi, r in zip(x, rows, strict=True) if r["gain_cm"] is not None]
    left.plot([v[0] for v in squat], [v[1] for v in squat], "s--", label="squat jump, same depth")
    for xi, r in zip(x, rows, strict=True):
        if r["gain_cm"] is None:
            jump = r["countermovement_jump_m"] * 100
            left.annotate(
                "no valid\nsquat jump", (xi, jump), xytext=(0, 8), textcoords="offset points", ha="center", fontsize=7
            )
    left.set_ylabel("jump height (cm)")
    left.margins(x=0.1, y=0.2)  # room for the label above a point
    left.legend(fontsize=8)
    lo, hi = COUNTERMOVEMENT_GAIN_M
    right.axhspan(lo * 100, hi * 100, color="0.9", label=f"checked range, {lo * 100:g}-{hi * 100:g} cm")
    right.axhline(0.0, color="0.5", lw=0.8)
    valid = [(xi, r["gain_cm"]) for xi, r in zip(x, rows, strict=True) if r["gain_cm"] is not None]
    right.plot([v[0] for v in valid], [v[1] for v in valid], "o-", label="this model")
    right.set_ylabel("countermovement gain (cm)")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.set_xlabel("drive rise time, 0 to 1 (ms)")
    fig.suptitle("Bobbert & Casius 2005 models: +0.4 cm at a step, ~2.5 cm at their slowest rise", fontsize=9)
    save_figure(fig, path)


def _rise_time(text: str) -> float:
    """A --rises value: seconds in [0, DRIVE_RISE_MAX_S] (argparse names the option with the error)."""

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= DRIVE_RISE_MAX_S:
        raise argparse.ArgumentTypeError(f"{value:g} s is outside [0, {DRIVE_RISE_MAX_S:g}] s")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_search_arguments(parser, workers_help="rise times searched side by side")
    parser.add_argument(
        "--rises", type=_rise_time, nargs="+", default=list(DRIVE_RISES_S), help="drive rise times from 0 to 1 (s)"
    )
    parser.add_argument("--restarts", type=int, default=1, help="seeded searches per jump, the best kept")
    add_model_argument(parser)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    return countermovement_experiment(
        args.out,
        tuple(args.rises),
        generations=args.generations,
        restarts=args.restarts,
        workers=args.workers,
        model_path=args.model,
        polish=args.polish,
    )
