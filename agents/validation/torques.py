"""Joint torques against human strength (Sarabon et al. 2021) and passive moments (Riener & Edrich
1999), and the figure of the knee's torque-angle curves."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from neuroleg.envs.physiology import JOINT_NAMES

from ..report import pyplot, save_figure
from .common import (
    KNEE_EXTENSION_NM_PER_KG,
    KNEE_FLEXION_NM_PER_KG,
    PASSIVE_FIT_HIP_DEG,
    PASSIVE_FIT_HIP_POSTURES_DEG,
    PASSIVE_FIT_KNEE_DEG,
    RE1999_HIP,
    RE1999_KNEE,
    RELAXED_ANKLE_DEG,
    SEATED_HIP_FLEXION_DEG,
    STRENGTH_FIT_MUSCLE,
    Check,
    _range_check,
    isometric_torque,
)

KNEE_ACTIONS = (("extension", -1.0, KNEE_EXTENSION_NM_PER_KG), ("flexion", 1.0, KNEE_FLEXION_NM_PER_KG))


def movers(model: Any, action: str) -> tuple[str, ...]:
    """The muscles a joint action's strength test drives: its agonists and synergists."""
    return model.roles[action]["agonists"] + model.roles[action]["synergists"]


def knee_torque_per_kg(
    model: Any, action: str, sign: float, hip_deg: float, knee_deg: float, ankle_deg: float = 0.0
) -> float:
    """Isometric knee torque (N m/kg, + in the action's direction) with the action's movers fully active."""
    tau = isometric_torque(model, (hip_deg, knee_deg, ankle_deg), movers(model, f"knee_{action}"))[1]
    return sign * tau / model.body.mass


def knee_torque_shares(model: Any, action: str, sign: float, q_deg: tuple[float, float, float]) -> str:
    """Who makes a knee strength figure: each mover's active share and the passive rest, N m/kg (the
    muscles act independently, so the shares add up to the figure)."""
    passive = isometric_torque(model, q_deg, ())[1]
    shares = [
        f"{m} {sign * (isometric_torque(model, q_deg, (m,))[1] - passive) / model.body.mass:.2f}"
        for m in movers(model, f"knee_{action}")
    ]
    return f"shares (N m/kg): {', '.join(shares)}, passive {sign * passive / model.body.mass:.2f}"


def torque_checks(model: Any) -> list[Check]:
    checks = []
    for action, sign, ranges in KNEE_ACTIONS:
        for angle, (lo, hi) in ranges.items():
            tau = knee_torque_per_kg(model, action, sign, SEATED_HIP_FLEXION_DEG, angle)
            name = f"isometric knee {action} at {angle:.0f} deg flexion"
            check = _range_check(name + ", seated", tau, lo, hi, "Sarabon et al. 2021", "N m/kg")
            if action == "extension":
                check.note = f"{STRENGTH_FIT_MUSCLE} F_max fitted to the three ranges' middles: checks the shape"
            checks.append(check)
            if action == "flexion":
                check.note = knee_torque_shares(model, action, sign, (SEATED_HIP_FLEXION_DEG, angle, 0.0))
                relaxed_q = (SEATED_HIP_FLEXION_DEG, angle, RELAXED_ANKLE_DEG)
                relaxed = knee_torque_per_kg(model, action, sign, *relaxed_q)
                checks.append(
                    Check(
                        name + f", seated, ankle plantarflexed {-RELAXED_ANKLE_DEG:.0f} deg",
                        round(relaxed, 4),
                        f"{lo}-{hi} N m/kg",
                        "Sarabon et al. 2021",
                        "report",
                        "a relaxed foot: the gastrocnemius shorter (the studies' ankle posture not checked); "
                        + knee_torque_shares(model, action, sign, relaxed_q),
                    )
                )
            checks.append(
                Check(
                    name + ", hip extended",
                    round(knee_torque_per_kg(model, action, sign, 0.0, angle), 4),
                    f"{lo}-{hi} N m/kg (seated)",
                    "Sarabon et al. 2021",
                    "report",
                    "for comparison: prone or supine testing",
                )
            )
    for action, joint, q in (
        ("hip_extension", 0, (30.0, 0.0, 0.0)),
        ("hip_flexion", 0, (30.0, 0.0, 0.0)),
        ("ankle_plantarflexion", 2, (0.0, 0.0, 0.0)),
        ("ankle_dorsiflexion", 2, (0.0, 0.0, 0.0)),
    ):
        tau = abs(isometric_torque(model, q, movers(model, action))[joint]) / model.body.mass
        checks.append(
            Check(
                f"isometric {action.replace('_', ' ')} at {q}",
                round(tau, 3),
                "no range in the shared reference",
                "-",
                "report",
            )
        )
    return checks


def riener_edrich_knee_nm(hip_deg: float, knee_deg: float, ankle_deg: float = 0.0) -> float:
    """Passive knee moment (N m, + flexing) of Riener & Edrich 1999 at the given angles (deg)."""
    (a0, aa, ak, ah), (b0, ba, bk, bh), c, (d0, dk) = RE1999_KNEE
    return float(
        math.exp(a0 + aa * ankle_deg + ak * knee_deg + ah * hip_deg)
        - math.exp(b0 + ba * ankle_deg + bk * knee_deg + bh * hip_deg)
        + c
        + math.exp(d0 + dk * knee_deg)
    )


def riener_edrich_hip_nm(hip_deg: float, knee_deg: float) -> float:
    """Passive hip moment (N m, + flexing) of Riener & Edrich 1999 at the given angles (deg)."""
    (a0, ak, ah), (b0, bk, bh), c = RE1999_HIP
    return float(math.exp(a0 + ak * knee_deg + ah * hip_deg) - math.exp(b0 + bk * knee_deg + bh * hip_deg) + c)


def hip_pair(model: Any, name: str) -> np.ndarray:
    """Mask of the geometry pair attaching muscle `name` to the hip."""

    g = model.geometry
    return (g.muscle_index == model.muscle_index(name)) & (g.joint_index == JOINT_NAMES.index("hip"))


def passive_moment_checks(model: Any) -> list[Check]:
    """Passive knee and hip moments (every muscle at its activation floor) against Riener & Edrich 1999.
    The postures the hip extensors were fitted at are reported as the calibration they are, not judged;
    the rest show what the fit leaves."""
    checks = []
    for joint, hip, knee in (
        ("knee", PASSIVE_FIT_HIP_DEG, 20.0),
        ("knee", PASSIVE_FIT_HIP_DEG, 40.0),
        ("knee", 0.0, 20.0),
        ("knee", 0.0, 60.0),
        ("hip", 90.0, 0.0),
        ("hip", 90.0, 60.0),
        ("hip", 60.0, 0.0),
        ("hip", 0.0, 0.0),
        ("hip", 120.0, 90.0),
    ):
        if joint == "knee":
            sim = isometric_torque(model, (hip, knee, 0.0), ())[1]
            ref = riener_edrich_knee_nm(hip, knee)
            fitted = hip == PASSIVE_FIT_HIP_DEG and knee in PASSIVE_FIT_KNEE_DEG
        else:
            sim = isometric_torque(model, (hip, knee, 0.0), ())[0]
            ref = riener_edrich_hip_nm(hip, knee)
            fitted = (hip, knee) in PASSIVE_FIT_HIP_POSTURES_DEG
        checks.append(
            Check(
                f"passive {joint} moment at hip {hip:.0f}, knee {knee:.0f} deg",
                round(float(sim), 2),
                f"{ref:.2f} N m",
                "Riener & Edrich 1999",
                "report",
                "calibration target (hip extensors' reference angles)" if fitted else "not fitted",
            )
        )
    return checks


KNEE_FIGURE_ANGLES_DEG = np.arange(0.0, 111.0, 5.0)


def knee_torque_figure(model: Any, path: Path) -> None:
    """Knee extension and flexion torque against knee angle, seated and hip extended, with the
    Sarabon et al. 2021 confidence intervals at the angles the checks read them; and the passive knee
    moment against Riener & Edrich 1999 in both postures."""

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    axes[1].sharey(axes[0])
    for ax, (action, sign, ranges) in zip(axes[:2], KNEE_ACTIONS, strict=True):
        for hip, style, label in ((SEATED_HIP_FLEXION_DEG, "-", "seated (hip 90 deg)"), (0.0, "--", "hip extended")):
            tau = [knee_torque_per_kg(model, action, sign, hip, k) for k in KNEE_FIGURE_ANGLES_DEG]
            ax.plot(KNEE_FIGURE_ANGLES_DEG, tau, style, label=label)
        angles = list(ranges)
        lo = np.array([ranges[a][0] for a in angles])
        hi = np.array([ranges[a][1] for a in angles])
        ax.errorbar(angles, (lo + hi) / 2, yerr=(hi - lo) / 2, fmt="none", ecolor="k", capsize=4, label="Sarabon 2021")
        ax.set_title(f"knee {action} ({' + '.join(movers(model, f'knee_{action}'))} fully active)", fontsize=9)
        ax.set_xlabel("knee flexion (deg)")
        ax.axhline(0.0, color="0.8", lw=0.8)
    axes[0].set_ylabel("isometric torque (N m/kg)")
    axes[0].legend(fontsize=8)
    ax = axes[2]
    for hip, color in ((SEATED_HIP_FLEXION_DEG, "C0"), (0.0, "C1")):
        sim = [isometric_torque(model, (hip, k, 0.0), ())[1] for k in KNEE_FIGURE_ANGLES_DEG]
        ax.plot(KNEE_FIGURE_ANGLES_DEG, sim, "-", color=color, label=f"model, hip {hip:.0f} deg")
        ref = [riener_edrich_knee_nm(hip, k) for k in KNEE_FIGURE_ANGLES_DEG]
        ax.plot(KNEE_FIGURE_ANGLES_DEG, ref, ":", color=color, label=f"Riener & Edrich 1999, hip {hip:.0f} deg")
    ax.axvspan(min(PASSIVE_FIT_KNEE_DEG), max(PASSIVE_FIT_KNEE_DEG), color="0.92", label="fitted here (hip 90 deg)")
    ax.set_title("passive knee moment (muscles at rest)", fontsize=9)
    ax.set_xlabel("knee flexion (deg)")
    ax.set_ylabel("knee flexion moment (N m)")
    ax.axhline(0.0, color="0.8", lw=0.8)
    ax.legend(fontsize=7)
    save_figure(fig, path)
