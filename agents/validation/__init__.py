"""`neuroleg validate`: the model against published figures (the fast checks).

Each check gives the simulated value, the published value or range, its source and pass/fail.
The squat jump, pedalling and hopping checks read the stored optimal-control ceilings (`neuroleg
optimize`) and are "not run" when none is stored for the current model file; the squat jump is also
reported from a maximal extensor push, and the hopping pattern is replayed at 2.0-2.6 Hz.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

from neuroleg.envs.physiology import load_model

from ..provenance import results_page
from ..runs import write_json_atomic, write_text_atomic
from .calibration import (
    fit_hip_extensor_references,
    fit_vasti_strength,
    knee_extension_fit_error,
    passive_fit_error,
    with_f_max,
    with_hip_references,
)
from .common import (
    COUNTERMOVEMENT_GAIN_M,
    COUNTERMOVEMENT_START,
    MUSCLE_EFFICIENCY_MAX,
    PACKAGED,
    PASSIVE_FIT_HIP_DEG,
    PASSIVE_FIT_MUSCLES,
    PASSIVE_FIT_START_DEG,
    STRENGTH_FIT_MUSCLE,
    UMBERGER_FIG1_MUSCLES,
    Check,
    ModelSource,
    isometric_torque,
)
from .fatigue import fatigue_checks, fit_fatigue_rate
from .muscles import (
    EFFICIENCY_SPEEDS,
    curve_checks,
    metabolic_checks,
    passive_work_check,
    peak_efficiency,
    umberger_figure1,
    umberger_figure1_checks,
)
from .tasks import (
    ceiling_check,
    countermovement_check,
    countermovement_depth,
    hopping_check,
    pedalling_checks,
    squat_jump_check,
)
from .torques import (
    hip_pair,
    knee_torque_figure,
    passive_moment_checks,
    riener_edrich_hip_nm,
    riener_edrich_knee_nm,
    torque_checks,
)
from .units import motor_unit_checks

__all__ = [
    "COUNTERMOVEMENT_GAIN_M",
    "COUNTERMOVEMENT_START",
    "EFFICIENCY_SPEEDS",
    "MUSCLE_EFFICIENCY_MAX",
    "PACKAGED",
    "PASSIVE_FIT_HIP_DEG",
    "PASSIVE_FIT_MUSCLES",
    "PASSIVE_FIT_START_DEG",
    "STRENGTH_FIT_MUSCLE",
    "UMBERGER_FIG1_MUSCLES",
    "Check",
    "ModelSource",
    "ceiling_check",
    "countermovement_check",
    "countermovement_depth",
    "curve_checks",
    "fatigue_checks",
    "fit_fatigue_rate",
    "fit_hip_extensor_references",
    "fit_vasti_strength",
    "hip_pair",
    "hopping_check",
    "isometric_torque",
    "knee_extension_fit_error",
    "knee_torque_figure",
    "metabolic_checks",
    "motor_unit_checks",
    "passive_fit_error",
    "passive_moment_checks",
    "passive_work_check",
    "peak_efficiency",
    "pedalling_checks",
    "riener_edrich_hip_nm",
    "riener_edrich_knee_nm",
    "squat_jump_check",
    "torque_checks",
    "umberger_figure1",
    "umberger_figure1_checks",
    "validate",
    "with_f_max",
    "with_hip_references",
]


def validate(out: Path, model_path: str | None = None, ceilings: Path | None = None) -> tuple[list[Check], Path]:
    """Run every check on the model file `model_path` (default: the packaged one; `ceilings`: a
    folder of its ceilings), write out/validation.json and out/validation.md; return (checks, page)."""

    model = load_model(model_path)
    source = ModelSource(model_path, ceilings)
    out.mkdir(parents=True, exist_ok=True)
    knee_torque_figure(model, out / "knee_torque.png")
    hop = hopping_check(out / "hopping_cost.png", source)
    checks = (
        curve_checks()
        + torque_checks(model)
        + passive_moment_checks(model)
        + metabolic_checks(model)
        + motor_unit_checks(model_path)
        + fatigue_checks()
        + umberger_figure1_checks()
        + [passive_work_check(model), passive_work_check(model, elastic_tendon=False)]
        + [squat_jump_check(source), ceiling_check(source), countermovement_check(source)]
        + pedalling_checks(source)
        + [hop]
    )
    write_json_atomic(out / "validation.json", [asdict(c) for c in checks])
    lines = [
        f"Model file: {model_path or 'the packaged leg9.yaml'} (version {model.version}).",
        "",
        "| quantity | simulated | published | source | result | note |",
        "|---|---|---|---|---|---|",
    ]
    for c in checks:
        sim = "-" if c.simulated is None or not math.isfinite(c.simulated) else f"{c.simulated:g}"
        lines.append(f"| {c.quantity} | {sim} | {c.published} | {c.source} | {c.status} | {c.note} |")
    failed = sum(c.status == "fail" for c in checks)
    lines += ["", f"{failed} check(s) failed; the manual's validation page says why each misses."]
    lines += ["", "![knee torque against knee angle](knee_torque.png)"]
    if hop.status != "not run":
        lines += ["", "![hopping cost against force impulse](hopping_cost.png)"]
    page = out / "validation.md"
    write_text_atomic(page, results_page("Model validation", "neuroleg validate", "\n".join(lines), out))
    return checks, page
