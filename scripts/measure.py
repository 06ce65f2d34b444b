"""The commands that measure and write results: validate, optimize, convergence, experiment, sweep,
learning. `neuroleg.scripts.cli` builds the parser with `add_commands`; each command imports the
agents modules it runs inside its own function, as the rest of the command line does."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from neuroleg.agents.ceilings import (
    Ceiling,
    ceiling_filename,
    is_per_target,
    optimizable,
    stored_ceiling,
    task_defaults,
)
from neuroleg.agents.config import parse_value
from neuroleg.agents.convergence import DEFAULT_ITERATIONS, DEFAULT_STEPS_MS, DEFAULT_TOLERANCE
from neuroleg.agents.experiments import EXPERIMENTS, markdown_table
from neuroleg.agents.learning import LEARNING_ROWS
from neuroleg.agents.optimize import ceiling_control, optimize
from neuroleg.envs.physiology.model import MUSCLE_NAMES


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default, unless its help already says it, it has none, or it is a flag."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default is None or action.nargs == 0 or "(default" in text:
            return text
        return super()._get_help_string(action)


def positive_int(text: str) -> int:
    """A count that must be at least 1 (argparse names the option with the error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def existing_folder(option: str, value: str | None) -> Path | None:
    """A folder argument that must exist when given (a typo would quietly find nothing in it)."""
    if value is None:
        return None
    if not Path(value).is_dir():
        raise FileNotFoundError(f"{option} {value}: no such folder (`neuroleg optimize --model` writes ceilings/)")
    return Path(value)


def cmd_validate(args: argparse.Namespace) -> int:
    from neuroleg.agents.validation import validate

    ceilings = existing_folder("--ceilings", args.ceilings)
    checks, page = validate(Path(args.out), args.model, ceilings)
    for c in checks:
        sim = "-" if c.simulated is None else f"{c.simulated:g}"
        print(f"{c.status:>8}  {c.quantity}: {sim} (published {c.published}; {c.source})")
        if c.status == "not run":
            print(f"{'':>10}{c.note}")  # what to run for it
    failed = [c for c in checks if c.status == "fail"]
    print(f"report: {page}\n{len(failed)} check(s) failed")
    return 1 if failed else 0


def task_arguments(task: str, pairs: list[str]) -> dict[str, Any]:
    """KEY=VALUE task arguments (values read as config overrides are), checked against the task's own."""
    allowed = task_defaults(task)
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in allowed:
            raise ValueError(f"--arg {pair!r}: expected KEY=VALUE, KEY one of {task}'s arguments {sorted(allowed)}")
        out[key] = parse_value(value)
    return out


def cmd_optimize(args: argparse.Namespace) -> int:

    kwargs = task_arguments(args.task, args.arg)
    if args.model:
        kwargs["model_path"] = args.model
    out = Path(args.out) if args.out else Path("ceilings") / ceiling_filename(args.task, kwargs)
    if is_per_target(args.task):
        return optimize_per_target(args, kwargs, out)
    if args.targets is not None:
        raise ValueError(f"--targets: only a task with a new target every episode takes it, not {args.task}")
    # the control only: a --start-from file may be another squat's or another model's ceiling
    known = starting_ceiling(args, kwargs, out)
    centre = None if known is None else ceiling_control(known)
    start = time.perf_counter()
    c = optimize(
        args.task,
        generations=args.generations,
        population=args.population,
        seed=args.seed,
        out=out,
        env_kwargs=kwargs,
        start=centre,
        restarts=args.restarts,
        polish=args.polish,
    )
    print(
        f"{args.task} ceiling: score {c.score:.4f}, energy per unit {c.energy_per_unit_j:.0f} J "
        f"({c.evaluations} evaluations, {time.perf_counter() - start:.0f} s) -> {out}"
    )
    unit = "cycles" if c.cyclic else "s"
    print(f"onsets ({unit}):  " + ", ".join(f"{m} {t:.3f}" for m, t in zip(MUSCLE_NAMES, c.onsets, strict=True)))
    print(f"windows ({unit}): " + ", ".join(f"{m} {w:.3f}" for m, w in zip(MUSCLE_NAMES, c.windows, strict=True)))
    print("levels:        " + ", ".join(f"{m} {v:.2f}" for m, v in zip(MUSCLE_NAMES, c.levels, strict=True)))
    return 0


def starting_ceiling(args: argparse.Namespace, kwargs: dict[str, Any], out: Path) -> Ceiling | None:
    """The ceiling a search starts from: the file `--start-from` names, the stored one `--from-stored`
    asks for (--out's folder first, then the packaged ones), else None."""
    if args.start_from:
        path = Path(args.start_from)
        if not path.is_file():
            raise FileNotFoundError(f"--start-from {path}: no such ceiling file")
        return Ceiling(**json.loads(path.read_text()))
    if not args.from_stored:
        return None
    known = stored_ceiling(args.task, kwargs, out.parent)
    if known is None:
        raise ValueError(
            f"--from-stored: no ceiling of {args.task} with {kwargs} is stored for this model file and "
            f"environment version (in {out.parent}/ or the packaged ones)"
        )
    return known


def optimize_per_target(args: argparse.Namespace, kwargs: dict[str, Any], out: Path) -> int:
    """`neuroleg optimize Posture`: one reach-and-hold control per evaluation target (target_ceiling)."""
    from neuroleg.agents.target_ceiling import TARGETS_DEFAULT, optimize_targets

    if args.polish:
        raise ValueError(f"--polish: {args.task}'s reach-and-hold controls have no grid to polish on; leave it out")
    start = starting_ceiling(args, kwargs, out)
    if start is not None and not start.targets:
        raise ValueError(f"{args.start_from or 'the stored ceiling'}: not a per-target ceiling of {args.task}")
    began = time.perf_counter()
    c = optimize_targets(
        args.task,
        targets=args.targets or TARGETS_DEFAULT,
        generations=args.generations,
        population=args.population,
        seed=args.seed,
        out=out,
        env_kwargs=kwargs,
        start=start,
        restarts=args.restarts,
        progress=True,
    )
    scores = [t["score"] for t in c.targets]
    print(
        f"{args.task} ceiling: mean score {c.score:.4f} over {len(scores)} targets (from {min(scores):.3f} to "
        f"{max(scores):.3f}), energy per unit {c.energy_per_unit_j:.0f} J ({c.evaluations} evaluations, "
        f"{time.perf_counter() - began:.0f} s) -> {out}"
    )
    return 0


def cmd_convergence(args: argparse.Namespace) -> int:
    from neuroleg.agents.convergence import study, write_page

    result = study(args.steps_ms, args.iterations, args.tolerance)
    command = "neuroleg convergence"  # the options given, for the page's stamp
    if list(args.steps_ms) != list(DEFAULT_STEPS_MS):
        command += " --steps-ms " + " ".join(f"{x:g}" for x in args.steps_ms)
    if list(args.iterations) != list(DEFAULT_ITERATIONS):
        command += " --iterations " + " ".join(str(x) for x in args.iterations)
    if args.tolerance != DEFAULT_TOLERANCE:
        command += f" --tolerance {args.tolerance:g}"
    page = write_page(result, Path(args.out), f"{command} --out {args.out}")
    dt, iterations = result.chosen()
    within = f"{100 * args.tolerance:g} %"
    print(f"chosen, the cheapest within {within} of the reference: {dt:g} ms, {iterations} iterations")
    print(f"page: {page}")
    return 0


def cmd_experiment(args: argparse.Namespace) -> int:

    args.out = Path(args.out)
    rows = EXPERIMENTS[args.name].run(args)
    print(markdown_table(rows))
    print(f"written to {args.out}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from neuroleg.agents.sweep import sweep

    path, out = _spec_and_out(args.sweep, "sweep", args.out, "sweeps")
    try:
        page = Path(args.page) if args.page else None
        records = sweep(path, out, address=args.address, retry_failed=args.retry_failed, page=page)
    except RuntimeError as err:  # Ray not installed
        print(f"error: {err}", file=sys.stderr)
        return 2
    failed = [r for r in records if r["status"] == "failed"]
    print(f"{len(records)} trials ({len(failed)} failed): {out / 'results.csv'}" + (f", {page}" if page else ""))
    for r in failed:
        print(f"  failed {r['trial']} (seed {r['seed']}): {r['error']}")
    return 1 if failed else 0


def cmd_tune(args: argparse.Namespace) -> int:
    from neuroleg.agents.tune import tune

    path, out = _spec_and_out(args.tune, "tune", args.out, "tunes")
    try:
        page = tune(path, out, storage=args.storage, address=args.address)
    except RuntimeError as err:  # Optuna or Ray not installed
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"study: {page}")
    return 0


def _spec_and_out(spec: str, kind: str, out: str | None, default_root: str) -> tuple[Path, Path]:
    """A sweep or tune file that must exist, and the output folder (default <root>/<file name>)."""
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such {kind} file")
    return path, Path(out) if out else Path(default_root) / path.stem


def cmd_learning(args: argparse.Namespace) -> int:
    from neuroleg.agents.learning import learning_table

    overrides = [f"env.model_path={args.model}"] if args.model else []
    if args.timesteps is not None:
        overrides.append(f"total_timesteps={args.timesteps}")
    ceilings = existing_folder("--ceilings", args.ceilings)  # before hours of training, not after
    out = Path(args.out) if args.out else None
    try:
        table = learning_table(Path(args.runs_dir), args.tasks, out, overrides, ceilings, args.seeds, args.address)
    except RuntimeError as err:  # a cluster named without Ray installed
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(table)
    return 1 if "\n\nFailed: " in table else 0


def add_commands(sub: Any) -> None:
    """Register the measuring commands on the command line's subparsers."""
    p = sub.add_parser("validate", help="the model against published figures; exits 1 when a check fails")
    p.add_argument("--out", default="validation", help="folder for validation.md and validation.json")
    p.add_argument("--model", help="a model file of one's own (default: the packaged leg9.yaml)")
    p.add_argument("--ceilings", help="folder of that model's ceilings (`neuroleg optimize --model` writes ceilings/)")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("optimize", help="the optimal open-loop stimulation (the ceiling) of a task")
    p.add_argument("task", choices=optimizable(), help="the task whose ceiling to search")
    p.add_argument("--generations", type=positive_int, default=60, help="CMA-ES generations")
    p.add_argument("--population", type=positive_int, default=16, help="CMA-ES population per generation")
    p.add_argument("--seed", type=int, default=0, help="seed of the first search")
    p.add_argument("--restarts", type=int, default=1, help="searches with seeds seed, seed+1, ...; the best is kept")
    p.add_argument(
        "--polish", type=int, default=0, help="coordinate passes on the control's grid after CMA-ES (see optimize)"
    )
    p.add_argument(
        "--targets",
        type=positive_int,
        help="Posture: the evaluation targets searched, one control each (default 30; episode seeds 10000, ...)",
    )
    start = p.add_mutually_exclusive_group()
    start.add_argument(
        "--from-stored",
        action="store_true",
        help="centre the search on the stored ceiling of this task, arguments and model file (--out's folder first)",
    )
    start.add_argument("--start-from", metavar="FILE", help="centre the search on the control in this ceiling file")
    p.add_argument("--out", help="JSON file (default ceilings/<model>_v<version>_<task>[_<arg>-<value>].json)")
    p.add_argument("--model", help="a model file of one's own (default: the packaged leg9.yaml)")
    p.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a task argument, e.g. start=standing (SquatJump's countermovement jump); repeatable",
    )
    p.set_defaults(func=cmd_optimize)
    p = sub.add_parser("experiment", help="a coordination experiment (its table, data and figure)")
    experiments = p.add_subparsers(dest="name", required=True, metavar="NAME", help="the experiment to run")
    for name, experiment in EXPERIMENTS.items():
        e = experiments.add_parser(name, help=experiment.HELP, formatter_class=DefaultsFormatter)
        e.add_argument("--out", default="experiments", help="folder for the table, data and figure")
        experiment.add_arguments(e)
        e.set_defaults(func=cmd_experiment)
    p = sub.add_parser("sweep", help="train and evaluate a sweep file's trials on Ray (this machine or a cluster)")
    p.add_argument("sweep", help="a sweep file: base config, seeds, grid of overrides, optional random samples")
    p.add_argument("--out", help="folder for results.csv, trial records and runs (default: sweeps/<file name>)")
    p.add_argument("--address", help="a Ray cluster's address (default: RAY_ADDRESS, else a local Ray on this machine)")
    p.add_argument("--retry-failed", action="store_true", help="run failed trials again (finished ones are skipped)")
    p.add_argument("--page", help="also write a results page of its trials (mean, 95%% CI over seeds per point)")
    p.set_defaults(func=cmd_sweep)
    p = sub.add_parser("tune", help="hyperparameter search with Optuna (parallel trials on Ray, pruning, Pareto front)")
    p.add_argument("tune", help="a tune file: base config, params (ranges or choices), trials, objective")
    p.add_argument("--out", help="folder for the study journal, runs and tune.md (default: tunes/<file name>)")
    p.add_argument("--storage", help="an Optuna database URL shared across machines (default: a journal file in --out)")
    p.add_argument("--address", help="a Ray cluster's address (default: RAY_ADDRESS, else a local Ray)")
    p.set_defaults(func=cmd_tune)
    p = sub.add_parser("learning", help="train each task's default config and tabulate it against baselines")
    p.add_argument("--runs-dir", default="runs/learning", help="folder for the trial records, results.csv and runs")
    p.add_argument(
        "--tasks",
        nargs="+",
        default=list(LEARNING_ROWS),
        choices=list(LEARNING_ROWS),
        help="rows to train: each task's default config (Posture's is SAC), CMJ the countermovement jump's",
    )
    p.add_argument("--out", help="also write the Markdown table here")
    p.add_argument("--model", help="a model file of one's own (default: the packaged leg9.yaml)")
    p.add_argument("--ceilings", help="folder of that model's ceilings (`neuroleg optimize --model` writes ceilings/)")
    p.add_argument("--timesteps", type=int, help="training steps per task (default: each config's own budget)")
    p.add_argument("--seeds", type=positive_int, default=1, help="training seeds per task (0, 1, ...), as Ray tasks")
    p.add_argument("--address", help="a Ray cluster's address (default: RAY_ADDRESS, else a local Ray)")
    p.set_defaults(func=cmd_learning)
    p = sub.add_parser("convergence", help="every task's figures at several physics steps and solver iterations")
    p.add_argument("--steps-ms", nargs="+", type=float, default=list(DEFAULT_STEPS_MS), help="physics steps (ms)")
    p.add_argument(
        "--iterations", nargs="+", type=positive_int, default=list(DEFAULT_ITERATIONS), help="solver iterations"
    )
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, help="relative deviation a setting may have")
    p.add_argument("--out", default="convergence.md", help="the results page to write")
    p.set_defaults(func=cmd_convergence)
