"""Figures of a run and one Markdown page that shows them; and rollout videos."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from neuroleg.envs.leg_env import CONTROL_DT_S
from neuroleg.envs.physiology import MUSCLE_NAMES, MotorUnitPool, load_model
from neuroleg.envs.physiology import muscle as mus
from neuroleg.envs.physiology.motor_units import RATE_MODE_UNITS
from neuroleg.envs.tasks import TASKS

from .ceilings import EVALUATION_SEED
from .runs import RunDir, atomic_path, write_text_atomic

# Legends beside the axes, never over the data.
LEGEND_OUTSIDE: dict[str, Any] = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0}
JOINT_ACTION_PAIRS = (
    ("hip", "hip_flexion", "hip_extension"),
    ("knee", "knee_flexion", "knee_extension"),
    ("ankle", "ankle_dorsiflexion", "ankle_plantarflexion"),
)


def pyplot() -> Any:
    """matplotlib.pyplot on the headless Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> None:
    """Write `fig` as a PNG atomically and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)


def learning_curves(run: RunDir) -> dict[str, np.ndarray]:
    path = run.logs / "progress.csv"
    if not path.is_file():
        return {}
    with path.open() as f:
        rows = list(csv.DictReader(f))
    out: dict[str, list[float]] = {}
    for key in ("time/total_timesteps", "task/score", "energy/per_unit_j"):
        out[key] = [float(r[key]) if r.get(key) not in (None, "") else np.nan for r in rows]
    return {k: np.array(v) for k, v in out.items()}


def time_series(t: np.ndarray, series: list[tuple[str, np.ndarray]], ylabel: str, path: Path) -> None:
    """Lines over time (s), one per (label, values), the legend beside the axes."""
    fig, ax = pyplot().subplots(figsize=(8, 3))
    for label, values in series:
        ax.plot(t, values, label=label)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, **LEGEND_OUTSIDE)
    save_figure(fig, path)


def make_report(run: RunDir) -> Path:
    """Write report/*.png and report/report.md from evaluation.json, trajectory.npz and the logs."""

    cfg = run.config()  # first: a folder that is not a run is named as such
    again = f"run `neuroleg evaluate {run.path}` (again)"
    if not run.evaluation_path.is_file() or not (run.path / "trajectory.npz").is_file():
        raise FileNotFoundError(f"{run.path} has no evaluation.json and trajectory.npz: {again}")
    try:
        result = json.loads(run.evaluation_path.read_text())
        missing = [k for k in ("task", "policy", "baselines") if k not in result]
    except (ValueError, TypeError):
        missing = ["valid JSON"]
    if missing:
        raise ValueError(f"{run.evaluation_path} lacks {', '.join(missing)}: {again}")
    plt = pyplot()
    model = load_model(cfg.env.model_path)  # the run's body: its file may set other roles
    traj = np.load(run.path / "trajectory.npz")
    out = run.path / "report"
    out.mkdir(exist_ok=True)
    idx = {n: i for i, n in enumerate(MUSCLE_NAMES)}
    t = np.arange(len(traj["activation"])) * float(traj["dt"])
    figures: list[tuple[str, str, str]] = []  # (title, file, what it shows)

    # 1. EMG-like activation grouped by joint and role
    fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    for ax, (joint, pos, neg) in zip(axes, JOINT_ACTION_PAIRS, strict=True):
        for action, style in ((pos, "-"), (neg, "--")):
            for m in model.roles[action]["agonists"] + model.roles[action]["synergists"]:
                role = "agonist" if m in model.roles[action]["agonists"] else "synergist"
                ax.plot(t, traj["activation"][:, idx[m]], style, label=f"{m} ({action.split('_')[1]}, {role})")
        ax.set_ylabel(f"{joint}\nactivation")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7, **LEGEND_OUTSIDE)
    axes[-1].set_xlabel("time (s)")
    fig.suptitle("Muscle activation by joint (solid: flexion/dorsiflexion movers, dashed: extension movers)")
    save_figure(fig, out / "activation.png")
    figures.append(
        (
            "Muscle activation (EMG-like), grouped by joint and role",
            "activation.png",
            "Each muscle's activation (0..1) over the first evaluation episode, by the joint it moves: solid "
            "lines are the flexion (or dorsiflexion) movers, dashed lines the extension movers, so overlap "
            "between solid and dashed lines is co-contraction.",
        )
    )

    # 2. joint angles, and the task's own observation fields (its targets and errors, phase, cadence...)
    angles = [
        (name, np.degrees(traj["q"][:, j]))
        for j, name in enumerate(("hip flexion", "knee flexion", "ankle dorsiflexion"))
    ]
    time_series(t, angles, "angle (deg)", out / "joint_angles.png")
    figures.append(
        (
            "Joint angles",
            "joint_angles.png",
            "Hip and knee flexion and ankle dorsiflexion (positive) over the same episode.",
        )
    )
    names = [str(n) for n in traj["task_fields"]] if "task_fields" in traj else []
    if names and traj["task_obs"].size:
        fields = [(name, traj["task_obs"][:, k]) for k, name in enumerate(names)]
        time_series(t, fields, "value (observation units)", out / "task_fields.png")
        figures.append(
            (
                "The task's own observation fields",
                "task_fields.png",
                "What the policy sees of its task over the episode (Posture: the target relative to the hip "
                "and the foot's error from it, m and rad; see the manual's Environments page for each task).",
            )
        )

    # 3. motor units and metabolic power per muscle over the episode (trajectories since 8.2.0)
    if "recruited" in traj:
        fatigued = bool(np.any(traj["capacity_type2"] < 1.0))
        panels = [
            ("recruited", "units recruited\n(fraction)"),
            ("type2", "type II share\nof force"),
            ("muscle_power", "metabolic\npower (W)"),
        ]
        panels += [("capacity_type2", "type II capacity\nleft")] if fatigued else []
        fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2 * len(panels) + 1), sharex=True)
        for ax, (key, label) in zip(axes, panels, strict=True):
            for m in MUSCLE_NAMES:
                ax.plot(t, traj[key][:, idx[m]], label=m)
            ax.set_ylabel(label, fontsize=8)
        axes[0].legend(fontsize=7, ncol=2, **LEGEND_OUTSIDE)
        axes[-1].set_xlabel("time (s)")
        save_figure(fig, out / "motor_units.png")
        figures.append(
            (
                "Motor units and metabolic power per muscle",
                "motor_units.png",
                "Over the same episode, per muscle: the fraction of its motor-unit pool recruited, the share of "
                "its force made by type II units, its metabolic power"
                + (", and the force capacity its type II units have left (the run has fatigue)." if fatigued else "."),
            )
        )

    # 4. energy split by muscle and by component
    e = result["policy"]["energy_by_muscle_j"]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    bottom = np.zeros(len(MUSCLE_NAMES))
    for comp, label in (
        ("am", "activation + maintenance heat"),
        ("sl", "shortening/lengthening heat"),
        ("work_pos", "positive work"),
    ):
        vals = np.array([e[comp][m] for m in MUSCLE_NAMES])
        ax.bar(MUSCLE_NAMES, vals, bottom=bottom, label=label)
        bottom += vals
    ax.set_ylabel("energy per episode (J)")
    ax.legend(fontsize=8, **LEGEND_OUTSIDE)
    save_figure(fig, out / "energy_by_muscle.png")
    figures.append(
        (
            "Energy split by muscle and by heat/work component",
            "energy_by_muscle.png",
            "Metabolic energy per evaluation episode (mean) of each muscle, split into activation and "
            "maintenance heat, shortening heat and positive mechanical work (the metabolic model's terms).",
        )
    )

    # 5. learning curves
    curves = learning_curves(run)
    if curves and np.any(np.isfinite(curves["task/score"])):
        fig, ax1 = plt.subplots(figsize=(8, 3.5))
        steps = curves["time/total_timesteps"]
        ok = np.isfinite(curves["task/score"])
        ax1.plot(steps[ok], curves["task/score"][ok], color="C0")
        ax1.set_xlabel("environment steps")
        ax1.set_ylabel("task score", color="C0")
        ax2 = ax1.twinx()
        ok2 = np.isfinite(curves["energy/per_unit_j"])
        ax2.plot(steps[ok2], curves["energy/per_unit_j"][ok2], color="C3")
        ax2.set_ylabel("energy per unit (J)", color="C3")
        save_figure(fig, out / "learning_curves.png")
        figures.append(
            (
                "Learning curves: task score and energy per unit of task",
                "learning_curves.png",
                "The training episodes' task score (blue, left axis) and metabolic energy per unit of work "
                "(red, right axis) as training went on; economy learned shows as the red curve falling while "
                "the blue one holds.",
            )
        )

    # 6. co-contraction per pair, policy against baselines
    fig, ax = plt.subplots(figsize=(8, 3.5))
    pairs = list(result["policy"]["cci"])
    width = 0.8 / (1 + len(result["baselines"]))
    for k, (name, summary) in enumerate([("policy", result["policy"]), *result["baselines"].items()]):
        ax.bar(np.arange(len(pairs)) + k * width, [summary["cci"][p] for p in pairs], width, label=name)
    ax.set_xticks(np.arange(len(pairs)) + 0.4 - width / 2, pairs, rotation=20, fontsize=8)
    ax.set_ylabel("co-contraction index (%)")
    ax.legend(fontsize=8, **LEGEND_OUTSIDE)
    save_figure(fig, out / "cocontraction.png")
    figures.append(
        (
            "Co-contraction index per agonist/antagonist pair (Falconer & Winter 1985)",
            "cocontraction.png",
            "How much each antagonist pair is active together (0: never, 100: always equally), for the policy "
            "and the baselines.",
        )
    )

    from .evaluate import format_table  # deferred: loads torch and stable-baselines3

    task = TASKS[cfg.env.task]
    lines = [
        f"# Run report: {run.path.name}",
        "",
        f"{cfg.env.task} trained with {cfg.algo.name}, evaluated over {result['policy']['episodes']} deterministic "
        f"episodes against constant-drive baselines. **Score**: {task.score_meaning} ({task.score_unit}). "
        f"**Energy per unit**: metabolic energy (muscles and basal) per {task.unit} (J; per kg; as mL of oxygen "
        "per kg). **Efficiency**: positive muscle work / muscle energy. **Synergies**: components of the "
        "activations needed for 90 % of their variance. The ceiling, where shown, is the best open-loop "
        "stimulation found for the task.",
        "",
        "```",
        format_table(result),
        "```",
        "",
    ]
    for title, fname, caption in figures:
        lines += [f"## {title}", "", caption, "", f"![{title}]({fname})", ""]
    page = out / "report.md"
    write_text_atomic(page, "\n".join(lines))
    return page


def render_video(run: RunDir, out: Path, episodes: int = 1, seed: int = EVALUATION_SEED) -> Path:
    """A video of the policy (muscles coloured by activation): .mp4 (imageio-ffmpeg) or .gif."""
    import imageio.v2 as imageio  # the [video] extra

    from .evaluate import model_policy, run_episodes  # deferred: loads torch and stable-baselines3

    suffix = out.suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise ValueError(f"--out must end in .mp4 or .gif, got {out.name!r}")
    cfg = run.config()
    frames: list[np.ndarray] = []
    run_episodes(cfg, model_policy(run, cfg), episodes, seed, on_frame=frames.append)
    fps = round(1 / CONTROL_DT_S)  # one frame per control step: real time
    with atomic_path(out) as tmp:
        if suffix == ".gif":
            imageio.mimsave(tmp, frames, format="GIF", duration=1000 / fps, loop=0)
        else:
            try:
                imageio.mimsave(tmp, frames, format="FFMPEG", fps=fps, codec="libx264", macro_block_size=8)
            except (ImportError, ValueError) as err:
                raise RuntimeError(f"mp4 needs imageio-ffmpeg (pip install 'neuroleg[video]'): {err}") from None
    return out


def plot_physiology_curves(path: Path, model_path: str | None = None) -> Path:
    """The model's curves (of the model file `model_path`, default packaged): force-length,
    force-velocity, tendon, recruitment and force vs drive."""

    plt = pyplot()
    model = load_model(model_path)
    p = model.muscles
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    ln = np.linspace(0.3, 1.8, 300)
    ax = axes[0, 0]
    ax.plot(ln, mus.force_length(ln), label="active f_L")
    ax.plot(ln, mus.parallel_elastic(ln), label="passive")
    ax.set_xlabel("fiber length / l_opt")
    ax.set_ylabel("force / F_max")
    ax.set_ylim(0, 1.6)
    ax.legend(fontsize=8)
    ax.set_title("Force-length (Geyer & Herr 2010)", fontsize=9)
    v = np.linspace(-1, 1, 300)
    ax = axes[0, 1]
    for k in np.unique(p.fv_k):  # one curve per curvature the model file gives its muscles
        names = ", ".join(n for n, kn in zip(p.names, p.fv_k, strict=True) if kn == k)
        ax.plot(v, mus.force_velocity(v, k), label=f"a/F0 {1 / k:.2f}: {names}")
    ax.legend(fontsize=6)
    ax.set_xlabel("fiber velocity / v_max (shortening < 0)")
    ax.set_title("Force-velocity", fontsize=9)
    strain = np.linspace(-0.01, 0.05, 200)
    ax = axes[0, 2]
    ax.plot(strain * 100, mus.tendon_force(strain))
    ax.set_xlabel("tendon strain (%)")
    ax.set_title("Tendon (F_max at 4 %)", fontsize=9)
    drive = np.linspace(0, 1, 201)
    vas = p.names.index("VAS")
    pool = MotorUnitPool.create(p, n_units=RATE_MODE_UNITS)  # the rate mode's pools, as the run's
    recs = [pool.recruit(np.full(p.n, d)) for d in drive]
    ax = axes[1, 0]
    ax.plot(drive, [r.recruited_fraction[vas] for r in recs], label="units recruited")
    ax.plot(drive, [r.type2_share[vas] for r in recs], label="type II share of force")
    ax.plot(drive, [r.mean_rate_hz[vas] / 40 for r in recs], label="mean discharge rate / 40 Hz")
    ax.set_xlabel("neural drive")
    ax.legend(fontsize=8)
    ax.set_title("VAS motor-unit pool (Fuglevand 1993)", fontsize=9)
    for ax, field, values, title in (
        (axes[1, 1], "recruitment_limit", (0.85, 0.9, 1.0), "Recruitment limit (untrained to trained)"),
        (axes[1, 2], "rate_scale", (0.8, 1.0, 1.3), "Peak discharge-rate scale"),
    ):
        for value in values:
            pl = MotorUnitPool.create(p, n_units=RATE_MODE_UNITS, **{field: value})
            ax.plot(drive, [pl.recruit(np.full(p.n, d)).force_fraction[vas] for d in drive], label=f"{value}")
        ax.set_xlabel("neural drive")
        ax.set_ylabel("active force / F_max")
        ax.legend(fontsize=8, title=field, title_fontsize=8)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    return path
