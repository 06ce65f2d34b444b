"""The slow component: minutes of pedalling at a heavy constant power with motor units that tire.

Pedal with `duration_s` of minutes at a heavy `target_power_w`, driven by the stored Pedal ceiling's
pattern with every level scaled by one gain (clipped at full drive). A controller sets the gain once per
revolution to hold the target cadence, as a rider raises effort to hold a power: the brake's torque is
-c omega, so a held cadence is a held external power. With `fatigue=True` the drive that held the
cadence no longer does, more and larger units are recruited, and what that costs is the result; the
same ride without fatigue is the control. Reported per minute: cadence, external and metabolic power,
oxygen uptake, gross efficiency, the gain; per muscle: recruited fraction, type II share of the force,
metabolic power and the force capacity left (`constant_power_ride`).

Poole & Jones 2012 (Compr Physiol 2:933): in heavy exercise at a constant power, oxygen uptake rises
after 2-3 min above what the power alone predicts (the slow component), linked to the progressive
recruitment of type II fibres as others fatigue. The drift here is metabolic power from minute
SLOW_COMPONENT_FROM_S on.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from neuroleg.envs import CONTROL_DT_S, ENV_IDS, drive_to_action
from neuroleg.envs.physiology import MUSCLE_NAMES, energy_to_oxygen_ml
from neuroleg.envs.tasks.pedal import CADENCE_BAND

from ..ceilings import stored_ceiling
from ..optimize import Stimulation, ceiling_control
from .common import add_model_argument, markdown_table, mean_sd, write_experiment

NAME = "slow-component"
HELP = "metabolic drift over 20 min of pedalling at three constant powers, with and without fatigue"

# Three intensities for the one leg (1.4x, 2x and 2.8x the Pedal task's 25 W), chosen by probing the
# model (with fatigue, 20 min rides) to fall in the domains Poole & Jones describe: moderate (metabolic
# power nearly steady), heavy (it drifts upward, then levels off, the power held) and severe (it drifts
# until the power can no longer be held: 60 W gave out at 12 min, 70 W at 8, 85 W at 5).
POWERS_W = (35.0, 50.0, 70.0)
POWER_W = 50.0  # a single ride's default: the heavy one
DURATION_S = 1200.0
WARMUP_S = 30.0  # the cadence settles from the start; exhaustion is looked for after this
CADENCE_HELD = 1.0 - CADENCE_BAND  # exhaustion: the first revolution below Pedal's band (90 % of the target)
WINDOW_S = 60.0  # figures are means over each minute
SLOW_COMPONENT_FROM_S = 180.0  # Poole & Jones 2012: the slow component appears after 2-3 min
# The controller (our choice): per revolution, gain *= exp(GAIN_RATE x relative cadence error); the
# ride starts at the gain that scales the ceiling's power (the power it was found at) to the target.
GAIN_RATE = 1.0
SEEDS = (0, 1, 2)  # each seed starts the crank at another angle
TABLE_MINUTES = (1, 3, 6, 10, 15, 20)  # the main table's rows (the figure has every minute), and the last
MUSCLE_MINUTES = (1, 3, 10, 20)  # the per-muscle table: start, onset of the slow component, on, end
LIMITS = (
    "What the model cannot show: oxygen uptake here is metabolic energy at a fixed energy equivalent, "
    "with no oxygen kinetics (the fast component's time constant, the delay before the slow one); a "
    "tired unit costs energy in proportion to the force it still gives (no loss of efficiency within a "
    "fatigued fibre, one of the slow component's proposed causes); the drift comes only from recruiting "
    "more, larger units whose heat rates are higher; no central fatigue, no rise in ventilation, heart or "
    "temperature, and one leg on a fixed seat."
)


def constant_power_ride(
    power_w: float = POWER_W,
    duration_s: float = DURATION_S,
    fatigue: bool = True,
    seed: int = 0,
    model_path: str | None = None,
    window_s: float = WINDOW_S,
) -> dict[str, Any]:
    """One ride at `power_w` for `duration_s`; `windows`: one dict per `window_s` with the whole leg's
    figures and per-muscle arrays (MUSCLE_NAMES order; the type II share is each step's, weighted by
    the muscle's force); `exhausted_s`: the end of the first revolution
    after WARMUP_S slower than CADENCE_HELD of the target (None if the power was held throughout);
    `ended_s`: when the episode ended (early if the simulation went unstable: `unstable`)."""
    kwargs: dict[str, Any] = {"target_power_w": power_w, "duration_s": duration_s, "fatigue": fatigue}
    if model_path is not None:
        kwargs["model_path"] = model_path
    ceiling = stored_ceiling("Pedal", {"model_path": model_path} if model_path else None)
    if ceiling is None:
        raise ValueError("no stored Pedal ceiling for this model: run `neuroleg optimize Pedal --model FILE` first")
    pattern = ceiling_control(ceiling)
    env = gym.make(ENV_IDS["Pedal"], **kwargs)
    try:
        return _ride(env, pattern, power_w / float(ceiling.task_args["target_power_w"]), window_s, seed)
    finally:
        env.close()


def _ride(env: gym.Env, pattern: Stimulation, gain: float, window_s: float, seed: int) -> dict[str, Any]:
    leg = env.unwrapped
    target_rpm = float(leg.task.args.target_cadence_rpm)
    _, info = env.reset(seed=seed)
    gain_max = 1.0 / float(pattern.levels[pattern.levels > 0].min())  # every muscle at full drive
    exhausted: float | None = None
    rev_units, rev_t = info["task_units"], 0.0
    n = len(MUSCLE_NAMES)
    steps_per_window = round(window_s / CONTROL_DT_S)
    windows: list[dict[str, Any]] = []
    start = {"t": 0.0, "e": 0.0, "w": 0.0, "u": 0.0, "muscle_e": np.zeros(n)}
    recruited, force, type2_force = np.zeros(n), np.zeros(n), np.zeros(n)
    gains: list[float] = []
    k = 0
    done = False
    while not done:
        cycles = leg.task.cycle_position(info, k * CONTROL_DT_S)
        drive = np.clip(pattern.drive(k * CONTROL_DT_S, cycles) * gain, 0.0, 1.0)
        _, _, term, trunc, info = env.step(drive_to_action(drive))
        k += 1
        done = term or trunc
        recruited += info["motor_units_recruited"]
        f = np.maximum(info["muscle_force_n"], 0.0)
        force += f
        type2_force += f * info["type2_share"]
        gains.append(gain)
        if info["task_units"] > rev_units:  # a revolution completed: set the gain for the next
            rpm = 60.0 / (info["time_s"] - rev_t)
            gain = min(gain * math.exp(GAIN_RATE * (1.0 - rpm / target_rpm)), gain_max)
            if exhausted is None and info["time_s"] > WARMUP_S and rpm < CADENCE_HELD * target_rpm:
                exhausted = float(info["time_s"])
            rev_units, rev_t = info["task_units"], info["time_s"]
        if k % steps_per_window == 0 or done:
            t, e, w, u = info["time_s"], info["metabolic_energy_j"], info["external_work_j"], info["task_units"]
            muscle_e = leg.energy_breakdown()["total"]
            span = t - start["t"]
            steps = len(gains)
            windows.append(
                {
                    "until_s": t,
                    "cadence_rpm": (u - start["u"]) / span * 60.0,
                    "external_power_w": (w - start["w"]) / span,
                    "metabolic_power_w": (e - start["e"]) / span,
                    "oxygen_ml_per_min": float(energy_to_oxygen_ml(e - start["e"])) / span * 60.0,
                    "gain": float(np.mean(gains)),
                    "recruited": recruited / steps,
                    "type2_share": np.divide(type2_force, force, out=np.zeros(n), where=force > 0),
                    "muscle_power_w": (muscle_e - start["muscle_e"]) / span,
                    "capacity_type1": info["fatigue_capacity_type1"].copy(),
                    "capacity_type2": info["fatigue_capacity_type2"].copy(),
                    "leg_type2_share": float(type2_force.sum() / force.sum()) if force.sum() > 0 else 0.0,
                }
            )
            start = {"t": t, "e": e, "w": w, "u": u, "muscle_e": muscle_e}
            recruited, force, type2_force = np.zeros(n), np.zeros(n), np.zeros(n)
            gains = []
    return {
        "windows": windows,
        "exhausted_s": exhausted,
        "ended_s": float(info["time_s"]),
        "unstable": bool(info["unstable"]),
    }


def drift_w(ride: dict[str, Any], from_s: float = SLOW_COMPONENT_FROM_S) -> float:
    """Metabolic power of the last window minus that of the window ending at `from_s` (W)."""
    w = ride["windows"]
    at = next((x for x in w if x["until_s"] >= from_s - 1e-9), w[-1])
    return float(w[-1]["metabolic_power_w"] - at["metabolic_power_w"])


def slow_component_experiment(
    out: Path,
    model_path: str | None = None,
    seeds: tuple[int, ...] = SEEDS,
    powers_w: tuple[float, ...] = POWERS_W,
    duration_s: float = DURATION_S,
) -> list[dict[str, Any]]:
    rides = {
        (p, f): [constant_power_ride(p, duration_s, f, s, model_path) for s in seeds]
        for p in powers_w
        for f in (False, True)
    }
    broken = [r["ended_s"] for rs in rides.values() for r in rs if r["unstable"]]
    if broken:
        raise RuntimeError(f"a ride went unstable (at {min(broken):.0f} s): valid input should not")
    rows: list[dict[str, Any]] = []
    summary = []
    for p in powers_w:
        off, on = rides[(p, False)], rides[(p, True)]
        for i in shown_windows(len(on[0]["windows"]), TABLE_MINUTES):

            def col(rs: list[dict[str, Any]], key: str, i: int = i) -> list[float]:
                return [float(r["windows"][i][key]) for r in rs]

            rows.append(
                {
                    "power (W)": p,
                    "minute": i + 1,
                    "cadence (rpm)": mean_sd(col(on, "cadence_rpm")),
                    "external power (W)": mean_sd(col(on, "external_power_w")),
                    "metabolic power (W), no fatigue": mean_sd(col(off, "metabolic_power_w")),
                    "metabolic power (W), fatigue": mean_sd(col(on, "metabolic_power_w")),
                    "VO2 (mL/min), fatigue": mean_sd(col(on, "oxygen_ml_per_min"), digits=4),
                    "type II share of force, fatigue": mean_sd(col(on, "leg_type2_share"), digits=2),
                    "drive gain, fatigue": mean_sd(col(on, "gain")),
                }
            )
        exhausted = [r["exhausted_s"] for r in on if r["exhausted_s"] is not None]
        held = (
            f"the power was lost at {mean_sd([x / 60 for x in exhausted], digits=2)} min in {len(exhausted)} of "
            f"{len(on)} rides (cadence below {CADENCE_HELD:.0%} of the target), so its drift is not a steady "
            "state's"
            if exhausted
            else "the power was held throughout"
        )
        summary.append(
            f"- {p:g} W: drift {mean_sd([drift_w(r) for r in on], digits=2)} W with fatigue, "
            f"{mean_sd([drift_w(r) for r in off], digits=2)} W without; {held}."
        )

    def plot(ax: Any) -> None:
        for n, p in enumerate(powers_w):
            for fatigue, style in ((False, "--"), (True, "-")):
                rs = rides[(p, fatigue)]
                t = [w["until_s"] / 60.0 for w in rs[0]["windows"]]
                y = np.mean([[w["metabolic_power_w"] for w in r["windows"]] for r in rs], axis=0)
                label = f"{p:g} W, " + ("fatigue" if fatigue else "no fatigue")
                ax.plot(t, y, "o" + style, color=f"C{n}", label=label, ms=3)
        ax.axvline(SLOW_COMPONENT_FROM_S / 60.0, color="0.6", lw=0.8)
        ax.set_xlabel("time (min, end of each minute)")
        ax.set_ylabel("metabolic power (W)")
        ax.legend(fontsize=6, ncol=2)

    heavy = next((p for p in powers_w if p == POWER_W), powers_w[0])
    intro = (
        f"Pedal at 60 rpm for {duration_s / 60:g} min at {', '.join(f'{p:g}' for p in powers_w)} W, the stored "
        "Pedal ceiling's pattern scaled by one drive gain that a controller sets every revolution to hold "
        f"the cadence (so the power), with `fatigue=True` and without; mean +- SD over {len(seeds)} seeds "
        f"(start angles). Drift: metabolic power of the last minute minus minute {SLOW_COMPONENT_FROM_S / 60:g} "
        "(Poole & Jones 2012: the slow component appears after 2-3 min).\n\n" + "\n".join(summary)
    )
    extra = (
        f"Per muscle at {heavy:g} W with fatigue, seed {seeds[0]} (means over the minute; the muscles that "
        "did work): recruited fraction of the pool, type II share of the force, metabolic power, and the "
        f"type I / type II force capacity left at the minute's end.\n\n{_muscle_table(rides[(heavy, True)])}"
        f"\n\n{LIMITS}"
    )
    title = "The slow component: heavy pedalling with fatigue"
    write_experiment(out, "slow_component", title, NAME, intro, rows, plot, extra)
    return rows


def shown_windows(count: int, minutes: tuple[int, ...]) -> list[int]:
    """Indices of the windows a table shows: those of `minutes` that the ride reached, and its last."""
    return sorted({m - 1 for m in minutes if m <= count} | {count - 1})


def _muscle_table(rides: list[dict[str, Any]]) -> str:
    w = rides[0]["windows"]
    active = [m for m in range(len(MUSCLE_NAMES)) if max(x["muscle_power_w"][m] for x in w) > 1.0]
    rows = []
    for i in shown_windows(len(w), MUSCLE_MINUTES):
        x = w[i]
        for m in active:
            rows.append(
                {
                    "minute": i + 1,
                    "muscle": MUSCLE_NAMES[m],
                    "recruited": f"{x['recruited'][m]:.2f}",
                    "type II share": f"{x['type2_share'][m]:.3f}",
                    "metabolic power (W)": f"{x['muscle_power_w'][m]:.1f}",
                    "capacity I / II": f"{x['capacity_type1'][m]:.3f} / {x['capacity_type2'][m]:.3f}",
                }
            )
    return markdown_table(rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_argument(parser)
    parser.add_argument("--powers", type=float, nargs="+", default=list(POWERS_W), help="external powers (W)")
    parser.add_argument("--minutes", type=float, default=DURATION_S / 60.0, help="ride length (min)")


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    return slow_component_experiment(args.out, args.model, powers_w=tuple(args.powers), duration_s=args.minutes * 60.0)
