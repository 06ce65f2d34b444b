"""Checks that run the tasks: the squat jump (a maximal push and the stored ceiling), the
countermovement gain, pedalling efficiency and hopping cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from neuroleg.envs import ENV_IDS, drive_to_action
from neuroleg.envs.tasks.squat_jump import EXTENSORS

from ..optimize import ceiling_control, rollout
from ..report import pyplot, save_figure
from .common import (
    COUNTERMOVEMENT_GAIN_M,
    COUNTERMOVEMENT_START,
    CYCLING_DELTA_EFFICIENCY_PCT,
    CYCLING_GROSS_EFFICIENCY_PCT,
    HOP_FREQUENCIES_HZ,
    HOP_IMPULSE_R2,
    HOP_IMPULSE_R2_MIN,
    HOP_MIN_HOPS,
    PACKAGED,
    SQUAT_JUMP_HEIGHT_M,
    SQUAT_JUMP_HEIGHT_METHOD,
    Check,
    ModelSource,
)


def squat_jump_check(source: ModelSource = PACKAGED) -> Check:
    """Jump height from a maximal extensor push (all extensors fully on from the start)."""

    env = gym.make(ENV_IDS["SquatJump"], **source.env_kwargs())
    env.reset(seed=0)
    names = env.unwrapped.muscle_params.names
    push = np.array([1.0 if n in EXTENSORS else 0.0 for n in names], np.float32)
    info: dict[str, Any] = {}
    for _ in range(60):
        _, _, term, trunc, info = env.step(drive_to_action(push))
        if term or trunc:
            break
    env.close()
    lo, hi = SQUAT_JUMP_HEIGHT_M
    return Check(
        "squat jump height, maximal extensor push",
        round(info["jump_height_m"], 3),
        f"{lo}-{hi} m",
        "human (shared reference: unverified)",
        "pass" if lo <= info["jump_height_m"] <= hi else "fail",
        f"open-loop push, not optimised stimulation; height: {SQUAT_JUMP_HEIGHT_METHOD}",
    )


def ceiling_check(source: ModelSource = PACKAGED) -> Check:
    """Squat jump height with the optimised open-loop stimulation (the stored ceiling)."""
    lo, hi = SQUAT_JUMP_HEIGHT_M
    c = source.ceiling("SquatJump")
    if c is None:
        return Check(
            "squat jump height, optimised stimulation",
            None,
            f"{lo}-{hi} m",
            "human (shared reference: unverified)",
            "not run",
            f"no ceiling stored for this model file: {source.missing('SquatJump')}",
        )
    return Check(
        "squat jump height, optimised stimulation",
        round(c.score, 4),
        f"{lo}-{hi} m",
        "human (shared reference: unverified)",
        "pass" if lo <= c.score <= hi else "fail",
        f"CMA-ES over onsets, windows and levels as Bobbert & van Soest 1994 optimised onsets, "
        f"{c.evaluations} evaluations; height: {SQUAT_JUMP_HEIGHT_METHOD}",
    )


def countermovement_depth(countermovement: Any) -> dict[str, float]:
    """SquatJump arguments for a squat at a countermovement ceiling's lowest posture (to the degree)."""
    return {
        f"squat_{joint}_deg": float(round(countermovement.metrics[f"dip_{joint}_deg"])) for joint in ("knee", "ankle")
    }


def countermovement_check(source: ModelSource = PACKAGED) -> Check:
    """Optimised countermovement jump (SquatJump, start="standing") minus the optimised squat jump
    from the countermovement's lowest posture (its knee and ankle angles, to the degree; the trunk
    leans to balance as in every squat), so that both push off from the same depth."""
    lo, hi = COUNTERMOVEMENT_GAIN_M
    quantity = "countermovement minus squat jump height from the same depth, optimised stimulation"
    published = f"{lo}-{hi} m"
    cite = "Bobbert & Casius 2005 (models 0.4-2.5 cm); Bobbert 1996 (volleyball players, 3.4 cm)"
    standing = source.ceiling("SquatJump", COUNTERMOVEMENT_START)
    if standing is None:
        note = source.missing("SquatJump", " --arg start=standing")
        return Check(quantity, None, published, cite, "not run", note)
    depth = countermovement_depth(standing)
    squat = source.ceiling("SquatJump", depth)
    args = "".join(f" --arg {k}={v:g}" for k, v in depth.items())
    if squat is None:
        note = f"{source.missing('SquatJump', args)} (the countermovement's lowest posture)"
        return Check(quantity, None, published, cite, "not run", note)
    gain = standing.score - squat.score
    note = (
        f"countermovement jump {standing.score:.4f} m, dipping {standing.metrics['dip_m']:.3f} m to knee "
        f"{depth['squat_knee_deg']:g} deg, ankle {depth['squat_ankle_deg']:g} deg; squat jump from there "
        f"{squat.score:.4f} m"
    )
    return Check(quantity, round(gain, 4), published, cite, "pass" if lo <= gain <= hi else "fail", note)


def pedalling_checks(source: ModelSource = PACKAGED) -> list[Check]:
    """Gross efficiency of the optimised pedalling pattern (the stored Pedal ceiling)."""
    quantity = "pedalling gross efficiency at submaximal power, optimised stimulation"
    lo, hi = CYCLING_GROSS_EFFICIENCY_PCT
    c = source.ceiling("Pedal")
    if c is None:
        note = f"no ceiling stored for this model file: {source.missing('Pedal')}"
        return [Check(quantity, None, f"{lo}-{hi} %", "Moseley & Jeukendrup 2001", "not run", note)]
    m = c.metrics
    if "cycle_pedal_work_j" not in m:
        note = "the stored pattern completed fewer than two revolutions"
        return [Check(quantity, None, f"{lo}-{hi} %", "Moseley & Jeukendrup 2001", "not run", note)]
    # over whole revolutions (the same crank angle at both ends): the foot's work on the crank
    work, muscle = m["cycle_pedal_work_j"], m["cycle_muscle_energy_j"]
    basal = m["cycle_metabolic_energy_j"] - muscle
    # One leg pedals here and a person pedals with two, while the resting metabolism is the whole
    # body's: this leg is charged half of it, as it would be beside an identical other leg.
    gross = 100.0 * work / (muscle + basal / 2.0)
    note = (
        f"one leg, counterweight {c.task_args.get('counterweight_kg', 0.0):g} kg, "
        f"{work / m['cycle_revolutions']:.0f} J per revolution at {m['cadence_rpm']:.0f} rpm over "
        f"{m['cycle_revolutions']:.0f} whole revolutions, time at cadence {c.score:.2f}; half the body's "
        "resting metabolism"
    )
    return [
        Check(
            quantity,
            round(gross, 2),
            f"{lo}-{hi} %",
            "Moseley & Jeukendrup 2001",
            "pass" if lo <= gross <= hi else "fail",
            note,
        ),
        Check(
            "pedalling muscle efficiency (pedal work / muscle energy), optimised stimulation",
            round(100.0 * work / muscle, 2),
            f"delta efficiency {CYCLING_DELTA_EFFICIENCY_PCT} %",
            "Moseley & Jeukendrup 2001",
            "report",
            "delta efficiency removes the baseline as this ratio does, but between two power outputs",
        ),
    ]


def hopping_check(figure: Path | None = None, source: ModelSource = PACKAGED) -> Check:
    """Cost per hop against the muscles' force impulse per hop, across hopping frequencies: the stored
    Hop ceiling's pattern (timed in cycles) replayed at each frequency; `figure` gets the scatter."""

    quantity = "hopping: variance of energy per hop explained by force impulse per hop (R^2)"
    published = f"{HOP_IMPULSE_R2} (muscle force impulse explains 92 %)"
    c = source.ceiling("Hop")
    if c is None:
        note = f"no ceiling stored for this model file: {source.missing('Hop')}"
        return Check(quantity, None, published, "Gutmann & Bertram 2017", "not run", note)
    energy, impulse = [], []
    for f in HOP_FREQUENCIES_HZ:
        info = rollout("Hop", ceiling_control(c), env_kwargs=source.env_kwargs(target_frequency_hz=f))
        if info["hop_count"] >= HOP_MIN_HOPS:
            energy.append(info["muscle_energy_j"] / info["hop_count"])
            impulse.append(info["force_impulse_n_s"] / info["hop_count"])
    if len(energy) < 3:
        note = f"the pattern hopped steadily at {len(energy)} of the frequencies {HOP_FREQUENCIES_HZ} Hz"
        return Check(quantity, None, published, "Gutmann & Bertram 2017", "not run", note)
    r2 = float(np.corrcoef(impulse, energy)[0, 1] ** 2)
    if figure is not None:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(4.5, 3.4))
        ax.plot(impulse, energy, "o")
        slope, intercept = np.polyfit(impulse, energy, 1)
        xs = np.linspace(min(impulse), max(impulse), 2)
        ax.plot(xs, slope * xs + intercept, "-", lw=0.8, label=f"R^2 = {r2:.3f} (Gutmann & Bertram: 0.92)")
        ax.set_xlabel("muscle force impulse per hop (N s)")
        ax.set_ylabel("muscle energy per hop (J)")
        ax.set_title("optimised hopping at 2.0-2.6 Hz", fontsize=9)
        ax.legend(fontsize=8)
        save_figure(fig, figure)
    note = (
        f"{len(energy)} frequencies in {HOP_FREQUENCIES_HZ[0]}-{HOP_FREQUENCIES_HZ[-1]} Hz, "
        f"{min(energy):.0f}-{max(energy):.0f} J per hop; pass at R^2 >= {HOP_IMPULSE_R2_MIN}"
    )
    return Check(
        quantity,
        round(r2, 3),
        published,
        "Gutmann & Bertram 2017",
        "pass" if r2 >= HOP_IMPULSE_R2_MIN else "fail",
        note,
    )
