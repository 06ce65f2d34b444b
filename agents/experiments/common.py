"""What the experiments share: their Markdown tables, and running searches side by side in spawned
workers that stop with the command (Ctrl-C, SIGTERM)."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """Rows as a Markdown table; the columns are every row's keys in first-seen order (a row without
    one leaves its cell empty)."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        cells = (r.get(k, "") for k in keys)
        lines.append("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in cells) + " |")
    return "\n".join(lines)


def mean_sd(values: list[float], scale: float = 1.0, digits: int = 3) -> str:
    """'mean +- SD' (SD over the values, ddof 1) of values times `scale`; one value alone as it is."""
    a = np.asarray(values, dtype=float) * scale
    return f"{a.mean():.{digits}g}" + (f" +- {a.std(ddof=1):.2g}" if a.size > 1 else "")


def write_experiment(
    out: Path,
    stem: str,
    title: str,
    name: str,
    intro: str,
    rows: list[dict[str, Any]],
    plot: Callable[[Any], None],
    extra: str = "",
) -> None:
    """An experiment's outputs in `out`: <stem>.json (its rows), <stem>.md (stamped page: intro, table
    and any `extra` Markdown after it) and <stem>.png (one panel drawn by `plot`)."""
    from ..provenance import results_page  # deferred: matplotlib and the stamp only when writing
    from ..report import pyplot, save_figure
    from ..runs import write_json_atomic, write_text_atomic

    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / f"{stem}.json", rows)
    body = f"{intro}\n\n{markdown_table(rows)}\n" + (f"\n{extra}\n" if extra else "")
    write_text_atomic(out / f"{stem}.md", results_page(title, f"neuroleg experiment {name}", body, out))
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    plot(ax)
    save_figure(fig, out / f"{stem}.png")


def check_workers(workers: int) -> None:
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")


def run_all(
    fn: Callable[..., Any],
    calls: list[tuple[Any, ...]],
    workers: int,
    keep: Callable[[Any], None],
    failures: list[str] | None = None,
) -> None:
    """fn(*args) for each of `calls`, in `workers` spawned processes when more than one, each result
    handed to `keep` in the order of `calls`. With `failures`, a call's ValueError is noted there and
    the rest go on; otherwise it propagates."""

    def take(result: Callable[[], Any]) -> None:
        try:
            keep(result())
        except ValueError as err:
            if failures is None:
                raise
            failures.append(str(err))

    if workers == 1 or len(calls) <= 1:
        for args in calls:
            take(lambda args=args: fn(*args))
        return
    # spawn: a forked PyBullet or BLAS state is not safe to inherit. Leaving the pool's block terminates
    # its workers, so on Ctrl-C or SIGTERM none outlives the parent.
    with _sigterm_as_interrupt(), get_context("spawn").Pool(min(workers, len(calls)), _ignore_sigint) as pool:
        for pending in [pool.apply_async(fn, args) for args in calls]:
            take(pending.get)


def _ignore_sigint() -> None:
    """A worker leaves Ctrl-C to its parent, which terminates the pool (a worker raising
    KeyboardInterrupt inside the pool's machinery can hang it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C (a scheduler's kill reaches the parent only, not its workers)."""
    if threading.current_thread() is not threading.main_thread():  # signal handlers are main-thread only
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def add_search_arguments(parser: argparse.ArgumentParser, workers_help: str) -> None:
    """The options of an experiment that runs ceiling searches."""
    parser.add_argument("--generations", type=int, default=160, help="CMA-ES generations per search")
    parser.add_argument("--polish", type=int, default=0, help="coordinate passes after each search")
    parser.add_argument("--workers", type=int, default=1, help=f"processes: {workers_help}")


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="a model file of one's own (default: the packaged leg9.yaml)")
