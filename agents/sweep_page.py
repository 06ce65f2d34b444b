"""A sweep's results page (`neuroleg sweep FILE --page PAGE`): per point of the sweep file, the mean and
95 % confidence interval over its seeds of the task score, the fraction of the ceiling, the energy per
unit and the task's own figures, with the file itself and the figure of score against energy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .experiments.common import markdown_table
from .provenance import results_page
from .report import pyplot, save_figure
from .runs import write_text_atomic
from .summary import CONFIDENCE, format_ci, values


def sweep_rows(
    records: list[dict[str, Any]], axes: list[str], leave_out: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """One row per point (the axes' values, in the order the records first show them), with every task
    figure the records hold but those named in `leave_out` (the tasks' descriptive_metrics)."""
    rows = []
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(json.dumps([r.get(a) for a in axes]), []).append(r)
    named = {k for r in records for k in r if k.startswith("metric_")}
    metrics = sorted(k for k in named if k[len("metric_") :] not in leave_out)
    for key, group in groups.items():
        ok = [r for r in group if r["status"] == "ok"]
        row: dict[str, Any] = dict(zip(axes, json.loads(key), strict=True))
        row.update(
            {
                "seeds (ok of run)": f"{len(ok)} of {len(group)}",
                "train time (min)": format_ci(values(ok, "train_time_s", 1 / 60), ".0f"),
                "score": format_ci(values(ok, "task_score"), ".3f"),
                "score by seed": ", ".join(f"{r['seed']}: {float(r['task_score']):.3f}" for r in ok),
                "of ceiling": format_ci(values(ok, "fraction_of_ceiling"), ".0f", percent=True),
                "energy per unit (J)": format_ci(values(ok, "energy_per_unit_j"), ".0f"),
                "energy / ceiling's": format_ci(values(ok, "energy_to_ceiling"), ".2f"),
            }
        )
        row.update({m[len("metric_") :]: format_ci(values(ok, m), ".3g") for m in metrics})
        rows.append(row)
    return rows


def write_sweep_page(
    path: Path,
    page: Path,
    records: list[dict[str, Any]],
    axes: list[str],
    where: str,
    leave_out: frozenset[str] = frozenset(),
) -> None:
    """The page for the sweep file at `path` from its trials' `records`, and its figure beside it
    (`page` with .png); `where`: how the trials ran (trials_at_once); `leave_out`: task figures that
    describe episodes rather than grade them (Task.descriptive_metrics), not averaged on the page."""
    page.parent.mkdir(parents=True, exist_ok=True)
    figure = page.with_suffix(".png")
    drawn = bool(axes) and any(r["status"] == "ok" for r in records)
    if drawn:
        plot_sweep(records, axes, figure)
    failed = [r for r in records if r["status"] != "ok"]
    left = f" Left out, as they describe episodes rather than grade them: {', '.join(sorted(leave_out))}."
    body = (
        f"The sweep file (`{path}`):\n\n```yaml\n{path.read_text().rstrip()}\n```\n\n"
        f"Mean +- half-width of the {CONFIDENCE:.0%} confidence interval over seeds (Student's t); "
        f"train times are wall-clock, trials {where}, with whatever else the machine ran beside them."
        + (left if leave_out else "")
        + f"\n\n{markdown_table(sweep_rows(records, axes, leave_out))}\n\n"
        + "".join(f"Failed: {r['trial']} (seed {r['seed']}): {r['error']}\n\n" for r in failed)
        + (f"![task score against energy per unit]({figure.name})\n" if drawn else "")
    )
    command = f"neuroleg sweep {path} --page {page}"
    write_text_atomic(page, results_page(f"Sweep: {path.stem}", command, body, page.parent))


def plot_sweep(records: list[dict[str, Any]], axes: list[str], path: Path) -> None:
    """Task score against energy per unit per value of each axis: mean and standard deviation over seeds."""
    ok = [r for r in records if r["status"] == "ok"]
    if not ok or not axes:
        return
    plt = pyplot()
    fig, panels = plt.subplots(1, len(axes), figsize=(4.5 * len(axes), 3.5), squeeze=False)
    for ax, axis in zip(panels[0], axes, strict=True):
        for value in sorted({json.dumps(r[axis]) for r in ok}):
            group = [r for r in ok if json.dumps(r[axis]) == value]
            e = np.array([r["energy_per_unit_j"] for r in group], dtype=float)
            s = np.array([r["task_score"] for r in group], dtype=float)
            ax.errorbar(
                e.mean(), s.mean(), xerr=e.std(), yerr=s.std(), fmt="o", capsize=3, label=f"{value} (n={len(group)})"
            )
        ax.set_xlabel("energy per unit (J)")
        ax.set_ylabel("task score")
        ax.set_title(axis, fontsize=9)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    save_figure(fig, path)
