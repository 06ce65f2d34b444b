"""Coordination experiments: scripted, reproducible, each writing a table (JSON, Markdown) and a plot.

1. Recruitment limit: squat-jump height and energy per jump for untrained to elite motor-unit
   profiles, with control re-optimised for each (the search centred on the untrained control, as
   one re-tunes a known pattern), against the untrained control kept as it was
   (Bobbert & van Soest 1994: stronger muscles jump lower until control is re-optimised).
2. Energy weight: task score against energy per unit as the reward's energy weight varies.
3. Rate coding and synchronization: rate of force development in a rapid isometric contraction.
4. Co-contraction: energy per unit of a trained policy with added antagonist co-activation.
5. Countermovement and drive rise: the optimised countermovement jump against the optimised squat
   jump from its lowest posture, as the neural drive's rate of rise slows (Bobbert & Casius 2005).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from .optimize import (
    Ceiling,
    Stimulation,
    ceiling_control,
    delayed,
    optimize,
    release_delay_s,
    rollout,
    seed_control,
)
from .provenance import results_page
from .report import pyplot, save_figure
from .runs import write_json_atomic, write_text_atomic

# Voluntary activation: untrained ~0.85-0.9, trained/exceptional 0.97 +- 0.023 (Kooistra et al. 2007).
RECRUITMENT_LIMITS = (0.85, 0.90, 0.95, 1.0)
RATE_SCALES = (0.8, 1.0, 1.3)
SYNCHRONIZATIONS = (0.0, 0.5, 1.0)
RFD_WINDOWS_S = (0.05, 0.1)  # RFD over 0-50 and 0-100 ms, as measured in explosive-strength studies
RFD_DURATION_S = 0.3
RFD_DRIVES = (0.7, 1.0)  # a submaximal and a maximal rapid contraction
RFD_MUSCLE = "VAS"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        lines.append("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in r.values()) + " |")
    return "\n".join(lines)


def _check_workers(workers: int) -> None:
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")


def _run_all(
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
    _check_workers(workers)
    out.mkdir(parents=True, exist_ok=True)
    body = {"model_path": model_path} if model_path else {}
    untrained = optimize(
        "SquatJump", generations, population, env_kwargs={**body, "recruitment_limit": limits[0]}, polish=polish
    )
    old = ceiling_control(untrained)
    searches = [({**body, "recruitment_limit": limit}, generations, population, old, polish) for limit in limits[1:]]
    best = [untrained]
    _run_all(_reoptimise, searches, workers, best.append)
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


def isometric_force_rise(
    rate_scale: float,
    synchronization: float,
    drive: float,
    duration_s: float = RFD_DURATION_S,
    model_path: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(time s, force N) of the RFD muscle in a rapid isometric contraction at optimal length."""
    from neuroleg.envs.physiology import MotorUnitPool, MuscleModel, load_model

    p = load_model(model_path).muscles
    i = p.names.index(RFD_MUSCLE)
    pool = MotorUnitPool.create(p, rate_scale=rate_scale, synchronization=synchronization)
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


COACTIVATION_LEVELS = (0.0, 0.1, 0.2, 0.3)  # drive added to every muscle of an agonist/antagonist pair


def cocontraction_experiment(
    run_path: Path, out: Path, levels: tuple[float, ...] = COACTIVATION_LEVELS, episodes: int = 3, seed: int = 10_000
) -> list[dict[str, Any]]:
    """A trained policy with extra co-activation of its antagonist pairs: what it costs per unit of task."""
    from neuroleg.envs.physiology import MUSCLE_NAMES, antagonist_pairs, load_model
    from neuroleg.envs.tasks import TASKS

    from .evaluate import model_policy, run_episodes, summarise
    from .runs import RunDir

    run = RunDir(run_path)
    cfg = run.config()
    policy = model_policy(run, cfg)
    paired = {m for _, a, b in antagonist_pairs(load_model(cfg.env.model_path)) for m in (a, b)}  # the run's body
    mask = np.array([1.0 if m in paired else 0.0 for m in MUSCLE_NAMES])
    rows = []
    for level in levels:

        def with_coactivation(obs: np.ndarray, start: bool, level: float = level) -> np.ndarray:
            return np.clip(policy(obs, start) + level * mask, 0.0, 1.0)

        s = summarise(run_episodes(cfg, with_coactivation, episodes, seed), cfg)
        rows.append(
            {
                "added_coactivation": level,
                "task_score": s["task_score"]["mean"],
                "energy_per_unit_j": s["energy_per_unit_j"]["mean"],
                "metabolic_energy_j": s["metabolic_energy_j"]["mean"],
                "mean_cci": float(np.mean(list(s["cci"].values()))),
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "cocontraction.json", rows)
    write_text_atomic(
        out / "cocontraction.md",
        results_page(
            f"Added co-contraction: {cfg.env.task} policy of {run.path.name}",
            "neuroleg experiment cocontraction",
            markdown_table(rows),
        ),
    )
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
    x = [r["added_coactivation"] for r in rows]
    left.plot(x, [r["energy_per_unit_j"] for r in rows], "o-")
    left.set_ylabel(f"energy per {TASKS[cfg.env.task].unit} (J)")
    right.plot(x, [r["task_score"] for r in rows], "o-", label="task score")
    right.plot(x, [r["mean_cci"] / 100.0 for r in rows], "s--", label="mean CCI / 100")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.set_xlabel("added co-activation of antagonist pairs")
    fig.suptitle(f"{cfg.env.task} policy with added co-contraction", fontsize=9)
    save_figure(fig, out / "cocontraction.png")
    return rows


ENERGY_WEIGHTS = (0.0, 0.05, 0.2)


def plot_energy_weight(task: str, rows: list[dict[str, Any]], runs: list[dict[str, Any]], path: Path) -> None:
    """Task score against energy per unit: each weight's mean +- sd over seeds, and every run in grey."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.errorbar(
        [r["energy_per_unit_j"] for r in rows],
        [r["task_score"] for r in rows],
        xerr=[r["energy_per_unit_j_sd"] for r in rows],
        yerr=[r["task_score_sd"] for r in rows],
        fmt="o-",
        capsize=3,
    )
    seeds = max((r["seeds"] for r in rows), default=1)
    if seeds > 1:
        ax.plot([r["energy_per_unit_j"] for r in runs], [r["task_score"] for r in runs], ".", color="0.6")
    for i, r in enumerate(rows):  # labels stacked: weights can land on the same point
        ax.annotate(
            f"w={r['energy_weight']:g}",
            (r["energy_per_unit_j"], r["task_score"]),
            xytext=(0, 6 + 9 * i),
            textcoords="offset points",
            ha="center",
            fontsize=8,
        )
    ax.margins(x=0.12, y=0.15)  # room for the labels at the ends
    ax.set_xlabel("energy per unit of task (J)")
    ax.set_ylabel("task score")
    ax.set_title(f"{task} (mean +- sd over {seeds} seeds)" if seeds > 1 else task, fontsize=9)
    save_figure(fig, path)


def energy_weight_experiment(
    task: str,
    out: Path,
    weights: tuple[float, ...] = ENERGY_WEIGHTS,
    timesteps: int = 150_000,
    episodes: int = 5,
    seeds: int = 1,
    model_path: str | None = None,
) -> list[dict[str, Any]]:
    """Train the task's default PPO config at each energy weight (with training seeds 0..seeds-1): task
    score against energy per unit, the mean over seeds and its standard deviation (per run in the JSON)."""
    from .config import TASK_CONFIG, load_config, resolve_config
    from .evaluate import evaluate_run
    from .runs import RunDir
    from .train import train

    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    rows, runs = [], []
    for w in weights:
        per_seed = []
        for seed in range(seeds):
            cfg = load_config(
                resolve_config(f"{TASK_CONFIG[task]}_ppo"),
                [f"env.energy_weight={w}", f"total_timesteps={timesteps}", f"eval_episodes={episodes}", f"seed={seed}"]
                + ([f"env.model_path={model_path}"] if model_path else []),
            )
            suffix = f"_s{seed}" if seeds > 1 else ""
            run = RunDir.create(cfg, out / "runs", f"{TASK_CONFIG[task]}_ew{w:g}{suffix}")
            train(cfg, run, progress=False)
            p = evaluate_run(run, baselines=())["policy"]
            per_seed.append(
                {
                    "energy_weight": w,
                    "seed": seed,
                    "task_score": p["task_score"]["mean"],
                    "energy_per_unit_j": p["energy_per_unit_j"]["mean"],
                    "metabolic_energy_j": p["metabolic_energy_j"]["mean"],
                }
            )
        runs += per_seed
        row: dict[str, Any] = {"energy_weight": w, "seeds": seeds}
        for key in ("task_score", "energy_per_unit_j", "metabolic_energy_j"):
            values = np.array([r[key] for r in per_seed])
            row[key] = float(values.mean())
            row[f"{key}_sd"] = float(values.std(ddof=1)) if seeds > 1 else 0.0
        rows.append(row)
    name = f"energy_weight_{TASK_CONFIG[task]}"
    write_json_atomic(out / f"{name}.json", {"rows": rows, "runs": runs})
    write_text_atomic(
        out / f"{name}.md",
        results_page(
            f"Energy weight: {task}, PPO, {timesteps} steps each, {seeds} seed(s)",
            f"neuroleg experiment energy-weight --task {task} --timesteps {timesteps} --seeds {seeds}",
            markdown_table(rows),
        ),
    )
    plot_energy_weight(task, rows, runs, out / f"{name}.png")
    return rows


# Rise times of the drive from 0 to 1 (s): 0 is a step (Bobbert & Casius 2005's infinite dSTIM/dt);
# 0.1 and 0.2 s are our choice of slower rises, not their values (which we did not check).
DRIVE_RISES_S = (0.0, 0.1, 0.2)


def _countermovement_pair(
    rise: float, generations: int, population: int, restarts: int, model_path: str | None, polish: int = 0
) -> dict[str, Any]:
    """One drive rise: the countermovement jump's ceiling, then the squat jump's from its lowest posture.
    Each search is centred on the stored step-drive ceiling of its jump, its onsets delayed by the
    longer hold so that it keeps its timing after release (re-tuning a known pattern, as
    the recruitment experiment does; for a squat depth with none stored, the default squat's), with the
    seed control evaluated too; with no stored ceiling at all, on the seed control."""
    from neuroleg.envs.tasks.squat_jump import SQUAT_ANKLE_RANGE_DEG, SQUAT_KNEE_RANGE_DEG

    from .validation import COUNTERMOVEMENT_START, ModelSource, countermovement_depth

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
    _check_workers(workers)
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
    _run_all(_countermovement_pair, args, workers, keep, failures)
    if not rows:
        raise ValueError("; ".join(failures))
    write_text_atomic(
        out / "countermovement.md",
        results_page(
            "Countermovement minus squat jump against the drive's rise time",
            f"neuroleg experiment countermovement --generations {generations} --restarts {restarts} --polish {polish}",
            markdown_table(rows),
        ),
    )
    plot_countermovement(rows, out / "countermovement.png")
    if failures:
        raise ValueError("; ".join(failures) + f" (the other rise times are in {out})")
    return rows


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


def plot_countermovement(rows: list[dict[str, Any]], path: Path) -> None:
    """Both jumps and the gain against the drive's rise time, the validation's range shaded."""
    from .validation import COUNTERMOVEMENT_GAIN_M

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
