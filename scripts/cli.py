"""`neuroleg` command line: thin entry points over neuroleg.agents.

Each command imports the agents modules it runs inside its own function: `neuroleg --help`, `configs`
and argument errors answer without loading torch, stable-baselines3 or matplotlib."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from neuroleg import __version__
from neuroleg.agents.config import TASK_CONFIG, ConfigError, load_config, packaged_configs, resolve_config
from neuroleg.agents.pipeline import smoke, train_and_evaluate
from neuroleg.agents.runs import RunDir

from .measure import DefaultsFormatter, add_commands, existing_folder, positive_int

# The demo: 100k PPO steps jump about 26 cm, over 90 % of the ceiling, in about 2 min of training on 2 cores.
DEMO_CONFIG = "squatjump_ppo"
DEMO_TIMESTEPS = 100_000


def cmd_train(args: argparse.Namespace) -> int:
    if args.resume:
        if args.config and "=" in args.config:  # argparse takes the first override for the CONFIG slot
            args.overrides, args.config = [args.config, *args.overrides], None
        if args.config:
            raise ValueError(
                f"--resume takes no CONFIG (got {args.config!r}): a run continues with its own config.yaml; "
                "give a larger budget as total_timesteps=N"
            )
        if args.name:
            raise ValueError("--name does not apply with --resume: the run keeps its folder")
        run = RunDir(args.resume)
        cfg = run.config(args.overrides)  # overrides are checked against the checkpoint when training resumes
        path = train_and_evaluate(cfg, run.path, True, not args.no_progress, not args.no_eval, run.path.parent, None)
    else:
        if not args.config:
            print("error: give a CONFIG (or --resume RUN)", file=sys.stderr)
            return 2
        cfg = load_config(resolve_config(args.config), args.overrides)
        path = train_and_evaluate(
            cfg, None, False, not args.no_progress, not args.no_eval, Path(args.runs_dir), args.name
        )
    print(f"run folder: {path}")
    return 0


def cmd_configs(args: argparse.Namespace) -> int:
    """The packaged configs, one a line, with the task and algorithm each trains."""
    for name in packaged_configs():
        cfg = load_config(resolve_config(name))
        print(f"{name:<26}{cfg.env.task:<11}{cfg.algo.name:<15}{cfg.total_timesteps:>10} steps")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from neuroleg.agents.evaluate import evaluate_run, format_table

    ceilings = existing_folder("--ceilings", args.ceilings)
    print(format_table(evaluate_run(RunDir(args.run), episodes=args.episodes, ceilings=ceilings)))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from neuroleg.agents.report import make_report

    print(f"report: {make_report(RunDir(args.run))}")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from neuroleg.agents.report import render_video

    try:
        print(f"video: {render_video(RunDir(args.run), Path(args.out), episodes=args.episodes)}")
    except RuntimeError as err:  # a missing video extra
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def cmd_smoke(args: argparse.Namespace) -> int:
    problems = smoke(Path(args.runs_dir), args.tasks)
    for p in problems:
        print(f"SMOKE FAIL {p}", file=sys.stderr)
    print("smoke: ok" if not problems else f"smoke: {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The README's main job: a short SquatJump training, its evaluation against baselines and the
    ceiling, and its report."""
    from neuroleg.agents.report import make_report, plot_physiology_curves

    cfg = load_config(resolve_config(DEMO_CONFIG), [f"total_timesteps={args.timesteps}"])
    name = f"demo_{time.strftime('%Y%m%d_%H%M%S')}"
    start = time.perf_counter()
    path = train_and_evaluate(cfg, None, False, True, True, Path(args.runs_dir), name)
    run = RunDir(path)
    print(f"physiology curves: {plot_physiology_curves(run.path / 'physiology_curves.png')}")
    page = make_report(run)
    result = json.loads(run.evaluation_path.read_text())
    first, last = learning_span(run)
    print(f"\n{demo_summary(result, args.timesteps, first, last, time.perf_counter() - start)}\nreport: {page}")
    return 0


def demo_summary(result: dict[str, Any], steps: int, first: float, last: float, seconds: float) -> str:
    """What the demo learned, in the task's own terms: jump height, share of the ceiling, energy per jump."""
    rows = [("trained policy", result["policy"])]
    rows += [(f"{name} drive", result["baselines"][name]) for name in ("zero", "random") if name in result["baselines"]]
    ceiling = result.get("ceiling")
    lines = [
        f"SquatJump after {steps} steps of PPO ({seconds / 60:.1f} min with evaluation); jump height during "
        f"training {first * 100:.1f} cm (first episodes) -> {last * 100:.1f} cm (last)",
        f"{'controller':<16}{'jump (cm)':>10}{'of ceiling':>12}{'energy per jump (J)':>21}",
    ]
    for label, s in rows:
        of = f"{s['fraction_of_ceiling']:.0%}" if "fraction_of_ceiling" in s else "-"
        lines.append(
            f"{label:<16}{s['task_score']['mean'] * 100:>10.1f}{of:>12}{s['energy_per_unit_j']['mean']:>21.0f}"
        )
    if ceiling is not None:
        lines.append(
            f"{'ceiling':<16}{ceiling['score'] * 100:>10.1f}{'100%':>12}{ceiling['energy_per_unit_j']:>21.0f}"
            "   (optimal open-loop stimulation)"
        )
    return "\n".join(lines)


def learning_span(run: RunDir, window: int = 5) -> tuple[float, float]:
    """Mean task score of the first and the last `window` logged points of training."""
    from neuroleg.agents.report import learning_curves

    scores = learning_curves(run).get("task/score")
    if scores is None or not scores.size:
        return float("nan"), float("nan")
    scores = scores[~np.isnan(scores)]
    return float(scores[:window].mean()), float(scores[-window:].mean())


def cmd_reference(args: argparse.Namespace) -> int:
    """A packaged reference policy, copied into a run folder of one's own."""
    from neuroleg.agents.reference import card_text, reference_run

    out = Path(args.out) if args.out else Path("runs") / f"reference_{args.task.lower()}"
    path = reference_run(args.task, out)
    print(card_text(args.task))
    print(f"run folder: {path}\n  neuroleg evaluate {path}\n  neuroleg render {path} --out {args.task.lower()}.gif")
    return 0


def cmd_curves(args: argparse.Namespace) -> int:
    from neuroleg.agents.report import plot_physiology_curves

    print(f"physiology curves: {plot_physiology_curves(Path(args.out), args.model)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neuroleg", description="Train, evaluate and analyse neuromuscular coordination on a musculoskeletal leg."
    )
    parser.add_argument("--version", action="version", version=f"neuroleg {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    # every subcommand's help shows each option's default, where it has one
    _add = sub.add_parser
    sub.add_parser = lambda *a, **k: _add(*a, formatter_class=DefaultsFormatter, **k)  # type: ignore[method-assign]
    p = sub.add_parser("configs", help="list the packaged configs (train one by its name)")
    p.set_defaults(func=cmd_configs)
    p = sub.add_parser("train", help="train a policy from a config (path or packaged name, e.g. hop_ppo)")
    p.add_argument("config", nargs="?", help="config file or packaged config name")
    p.add_argument("overrides", nargs="*", help="key.sub=value overrides, validated like the file")
    p.add_argument("--resume", metavar="RUN", help="continue an interrupted run folder")
    p.add_argument("--name", help="run folder name (default from task, algorithm and seed)")
    p.add_argument("--runs-dir", default="runs", help="folder the run folder is created in")
    p.add_argument(
        "--no-progress", action="store_true", help="no progress bar (plain lines are printed off a terminal)"
    )
    p.add_argument("--no-eval", action="store_true", help="skip the evaluation after training")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("evaluate", help="deterministic rollouts of a run against baselines")
    p.add_argument("run", help="a run folder (runs/<name>)")
    p.add_argument(
        "--episodes",
        type=positive_int,
        default=None,
        help="deterministic episodes (default: the config's eval_episodes)",
    )
    p.add_argument("--ceilings", help="folder of the ceilings of the run's own model file (`optimize --model`)")
    p.set_defaults(func=cmd_evaluate)
    p = sub.add_parser("report", help="figures and a Markdown page of an evaluated run")
    p.add_argument("run", help="an evaluated run folder")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("render", help="a video of the policy with muscles coloured by activation")
    p.add_argument("run", help="a trained run folder")
    p.add_argument("--out", required=True, help="FILE.mp4 or FILE.gif")
    p.add_argument("--episodes", type=positive_int, default=1, help="episodes in the video")
    p.set_defaults(func=cmd_render)
    p = sub.add_parser("smoke", help="train every task briefly and check the run folders")
    p.add_argument("--runs-dir", default="runs/smoke", help="folder for the smoke runs")
    p.add_argument("--tasks", nargs="+", default=list(TASK_CONFIG), choices=list(TASK_CONFIG), help="tasks to train")
    p.set_defaults(func=cmd_smoke)
    p = sub.add_parser("demo", help="the README's main job: a short SquatJump training, evaluation and report")
    p.add_argument("--runs-dir", default="runs", help="folder the demo's run folder is created in")
    p.add_argument("--timesteps", type=positive_int, default=DEMO_TIMESTEPS, help="training steps")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("reference", help="copy a task's packaged reference policy into a run folder")
    p.add_argument("task", choices=list(TASK_CONFIG), help="the task whose reference policy to copy")
    p.add_argument("--out", help="a new folder (default runs/reference_<task>)")
    p.set_defaults(func=cmd_reference)
    p = sub.add_parser("curves", help="plot the muscle and motor-unit curves of the model")
    p.add_argument("--out", default="physiology_curves.png", help="PNG file to write")
    p.add_argument("--model", help="a model file of one's own (default: the packaged leg9.yaml)")
    p.set_defaults(func=cmd_curves)
    add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # Overrides may follow options too (`train hop_ppo --name x seed=3`): argparse stops its
    # positional list at the first option, so gather the key=value leftovers here.
    overrides = [a for a in extra if "=" in a and not a.startswith("-")]
    if len(overrides) != len(extra) or (overrides and args.command != "train"):
        parser.error(f"unrecognized arguments: {' '.join(a for a in extra if a not in overrides) or ' '.join(extra)}")
    if overrides:
        args.overrides = [*args.overrides, *overrides]
    try:
        return int(args.func(args))
    except (ConfigError, FileNotFoundError, FileExistsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
