"""The environments' arguments, declared once: type, default, allowed range, unit and meaning.

`BodyArgs` holds what every environment takes (the body, its muscles and motor units, the reward's
energy term); each task declares its own in a class of the same kind (`Task.Args`). The environment
validates with them, the run config embeds them, the ceiling search reads their defaults and the
manual's reference pages are generated from them. Validation is strict: a value of the wrong type is
refused by name (`elastic_tendon="false"` is not taken as true), never coerced.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from .physiology.model import MUSCLE_NAMES
from .physiology.motor_units import DRIVE_RISE_MAX_S, UNIT_COUNT_RANGE
from .tasks.base import ArgumentError, Arguments, argument_error

# The control step every environment takes decisions at (s): 50 Hz, see leg_env.
CONTROL_DT_S = 0.02
# The physics step: the convergence study (docs/results/convergence.md, `neuroleg convergence`) shows
# what each step and solver iteration count changes in every task's figures.
PHYSICS_DT_DEFAULT_S = 0.001
PHYSICS_DT_RANGE_S = (0.00025, 0.0025)  # above 2.5 ms the elastic tendon's fiber solve is no longer stable
SOLVER_ITERATIONS_DEFAULT = 50
SOLVER_ITERATIONS_RANGE = (5, 200)
ENERGY_WEIGHT_MAX = 100.0  # reward per J/kg: far beyond any task term (a bound on typos, not physiology)

__all__ = ["ArgumentError", "Arguments", "BodyArgs", "argument_error", "reference_rows"]

METABOLIC_MODELS = ("umberger2010", "umberger2003", "bhargava2004")
# Allowed values of the per-muscle motor-unit settings (a number for every muscle, or one per muscle).
PER_MUSCLE_RANGES = {
    "recruitment_limit": (0.5, 1.0),
    "rate_scale": (0.5, 2.0),
    "synchronization": (0.0, 1.0),
    "motor_unit_count": UNIT_COUNT_RANGE,
}
PerMuscle = float | dict[Literal[MUSCLE_NAMES], float]  # type: ignore[valid-type]
PerMuscleCount = int | dict[Literal[MUSCLE_NAMES], int]  # type: ignore[valid-type]


class BodyArgs(Arguments):
    """What every neuroleg environment takes besides its task's own arguments."""

    energy_weight: float | None = Field(
        None,
        ge=0.0,
        le=ENERGY_WEIGHT_MAX,
        description="reward per J/kg of muscle metabolic energy, subtracted each step; None: the task's default",
    )
    metabolic_model: Literal[METABOLIC_MODELS] = Field(  # type: ignore[valid-type]
        "umberger2010", description="muscle energy model: Umberger 2010, Umberger 2003 or Bhargava 2004"
    )
    motor_units: bool | Literal["discharge"] = Field(
        True,
        description=(
            "True: motor-unit pools by recruitment and rate coding; 'discharge': every unit fires impulses "
            "that add twitches (force fluctuates; compiled only); False: the lumped drive, drive = excitation"
        ),
    )
    recruitment_limit: PerMuscle = Field(
        1.0, description="fraction of the pool's force that can be recruited (untrained ~0.85-0.9, trained 0.97-1)"
    )
    rate_scale: PerMuscle = Field(1.0, description="multiplies every motor unit's peak discharge rate")
    motor_unit_count: PerMuscleCount | None = Field(
        None,
        description=(
            "units in each motor-unit pool, the same maximal force (fewer: larger units); "
            "None: discharge mode, the model file's counts (120 where it names none); the rate mode, 120 "
            "(its mean force is within 1 % of the file's pools')"
        ),
    )
    synchronization: PerMuscle = Field(
        0.0,
        description=(
            "motor-unit synchronization: with 'discharge', the share of discharges made coincident with "
            "those of units of similar threshold; otherwise it shortens the activation time constant (size assumed)"
        ),
    )
    drive_rise_s: float = Field(
        0.0,
        ge=0.0,
        le=DRIVE_RISE_MAX_S,
        description="shortest time (s) the drive may take to rise from 0 to 1; 0: a step",
    )
    fatigue: bool = Field(
        False,
        description=(
            "motor units tire with their own activity and recover at rest (type II fastest); needs motor-unit "
            "pools (motor_units True or 'discharge')"
        ),
    )
    elastic_tendon: bool = Field(True, description="elastic tendon with the fiber-tendon balance solved each step")
    model_path: str | Path | None = Field(None, description="a model file of one's own; None: the packaged leg9.yaml")
    compiled: bool = Field(True, description="the numba-compiled substep (False: the numpy reference, same equations)")
    physics_dt: float = Field(
        PHYSICS_DT_DEFAULT_S,
        ge=PHYSICS_DT_RANGE_S[0],
        le=PHYSICS_DT_RANGE_S[1],
        description="physics (and muscle) time step, s; must divide the 20 ms control step (docs: convergence)",
    )
    solver_iterations: int = Field(
        SOLVER_ITERATIONS_DEFAULT,
        ge=SOLVER_ITERATIONS_RANGE[0],
        le=SOLVER_ITERATIONS_RANGE[1],
        description="PyBullet's constraint-solver iterations per physics step (docs: convergence)",
    )

    @field_validator("recruitment_limit", "rate_scale", "synchronization", "motor_unit_count")
    @classmethod
    def _per_muscle_range(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:  # motor_unit_count: the model file's
            return None
        lo, hi = PER_MUSCLE_RANGES[info.field_name or ""]
        values = value.values() if isinstance(value, dict) else [value]
        if any(not (lo <= v <= hi) for v in values):
            raise ValueError(f"must lie in [{lo}, {hi}] (a number or a value per muscle)")
        if isinstance(value, dict) and set(value) != set(MUSCLE_NAMES):
            raise ValueError(f"a per-muscle mapping must name every muscle {list(MUSCLE_NAMES)}")
        return value

    @field_validator("motor_units", mode="before")
    @classmethod
    def _motor_unit_mode(cls, value: object) -> object:
        if not (isinstance(value, bool) or value == "discharge"):
            # the error message adds the value given
            raise ValueError("must be True (rate coding), 'discharge' (units that fire) or False (lumped drive)")
        return value

    @field_validator("fatigue")
    @classmethod
    def _fatigue_needs_units(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("motor_units") is False:
            raise ValueError("fatigue lives in the motor units: it needs motor_units=True or 'discharge'")
        return value

    @field_validator("compiled")
    @classmethod
    def _discharge_is_compiled(cls, value: bool, info: ValidationInfo) -> bool:
        if info.data.get("motor_units") == "discharge" and not value:
            raise ValueError("motor_units='discharge' runs in the compiled kernel only: it needs compiled=True")
        return value

    @field_validator("physics_dt")
    @classmethod
    def _divides_control_step(cls, value: float) -> float:
        substeps = CONTROL_DT_S / value
        if abs(substeps - round(substeps)) > 1e-9 * substeps:
            raise ValueError(f"must divide the {CONTROL_DT_S * 1000:g} ms control step (e.g. 0.0005, 0.001, 0.002)")
        return value

    @field_validator("model_path")
    @classmethod
    def _path_text(cls, value: str | Path | None) -> str | None:
        return None if value is None else str(value)


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    text = str(annotation).replace("typing.", "").replace("pathlib.", "")
    return re.sub(r"<class '([\w.]+)'>", r"\1", text)


def reference_rows(args: type[BaseModel]) -> list[tuple[str, str, str, str, str]]:
    """(name, type, default, allowed, meaning) per field of an argument or config declaration: the
    manual's reference tables."""
    rows = []
    for name, field in args.model_fields.items():
        lo = hi = None
        for meta in field.metadata:
            lo = getattr(meta, "ge", getattr(meta, "gt", lo))
            hi = getattr(meta, "le", hi)
        kind = _type_name(field.annotation)
        allowed = f"{lo} to {hi}" if lo is not None and hi is not None else ""
        if name in PER_MUSCLE_RANGES:
            a, b = PER_MUSCLE_RANGES[name]
            allowed = f"{a} to {b}, or a mapping naming all nine muscles"
            kind = "int | dict[muscle, int] | None" if name == "motor_unit_count" else "float | dict[muscle, float]"
        if kind.startswith("Literal["):
            allowed, kind = kind[len("Literal[") : -1], "str"
        value = None if field.is_required() else field.get_default(call_default_factory=True)
        default = "required" if field.is_required() else "(below)" if isinstance(value, BaseModel) else repr(value)
        rows.append((name, kind, default, allowed, field.description or ""))
    return rows
