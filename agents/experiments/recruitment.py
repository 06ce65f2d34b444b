"""Recruitment limit: squat-jump height and energy per jump for untrained to elite motor-unit profiles,
with control re-optimised for each (the search centred on the untrained control, as one re-tunes a known
pattern), against the untrained control kept as it was (Bobbert & van Soest 1994: stronger muscles jump
lower until control is re-optimised)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..ceilings import Ceiling
from ..optimize import Stimulation, ceiling_control, optimize, rollout
from ..provenance import results_page
from ..report import pyplot, save_figure
from ..runs import write_json_atomic, write_text_atomic
from .common import add_model_argument, add_search_arguments, check_workers, markdown_table, run_all

NAME = "recruitment"
HELP = "squat jump against the recruitment limit, control re-optimised and kept (Bobbert & van Soest 1994)"

RECRUITMENT_LIMITS = (0.85, 0.90, 0.95, 1.0)


def _reoptimise(
    env_kwargs: dict[str, Any], generations: int, population: int, start: Stimulation, polish: int
) -> Ceiling:
    return optimize("SquatJump", generations, population, env_kwargs=env_kwargs, start=start, polish=polish)


def recruitment_limit_experiment(
    out: Path,
    limits: tuple[float, ...] = RECRUITMENT_LIMITS,
    generations: int = 160,
    population: int = 12,
    model_path: str | None = None,
    polish: int = 0,
    workers: int = 1,
) -> list[dict[str, Any]]:
    """Squat jump ceilings at each recruitment limit (of the model file `model_path`, default packaged):
    the untrained body's control kept, and re-optimised from it. `polish`: coordinate passes after
    each search (`optimize`). `workers` processes re-optimise the stronger bodies side by side (each
    search is seeded, so the result does not depend on it)."""
    check_workers(workers)
    out.mkdir(parents=True, exist_ok=True)
    body = {"model_path": model_path} if model_path else {}
    untrained = optimize(
        "SquatJump", generations, population, env_kwargs={**body, "recruitment_limit": limits[0]}, polish=polish
    )
    old = ceiling_control(untrained)
    searches = [({**body, "recruitment_limit": limit}, generations, population, old, polish) for limit in limits[1:]]
    best = [untrained]
    run_all(_reoptimise, searches, workers, best.append)
    rows = []
    for limit, ceiling in zip(limits, best, strict=True):
        kept = rollout("SquatJump", old, env_kwargs={**body, "recruitment_limit": limit})
        rows.append(
            {
                "recruitment_limit": limit,
                "jump_m_reoptimised": ceiling.score,
                "energy_per_jump_j_reoptimised": ceiling.energy_per_unit_j,
                "jump_m_untrained_control": float(kept["task_score"]),
                "energy_per_jump_j_untrained_control": float(kept["energy_per_unit_j"]),
            }
        )
    write_json_atomic(out / "recruitment_limit.json", rows)
    write_text_atomic(
        out / "recruitment_limit.md",
        results_page(
            "Recruitment limit and squat jump",
            f"neuroleg experiment recruitment --generations {generations} --polish {polish}",
            markdown_table(rows),
            out,
        ),
    )
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    x = [r["recruitment_limit"] for r in rows]
    ax.plot(x, [r["jump_m_reoptimised"] * 100 for r in rows], "o-", label="control re-optimised")
    ax.plot(x, [r["jump_m_untrained_control"] * 100 for r in rows], "s--", label="untrained control kept")
    ax.set_xlabel("recruitment limit (voluntary activation)")
    ax.set_ylabel("squat jump height (cm)")
    ax.legend(fontsize=8)
    save_figure(fig, out / "recruitment_limit.png")
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_search_arguments(parser, workers_help="stronger bodies re-optimised side by side")
    add_model_argument(parser)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    return recruitment_limit_experiment(
        args.out, generations=args.generations, model_path=args.model, polish=args.polish, workers=args.workers
    )
