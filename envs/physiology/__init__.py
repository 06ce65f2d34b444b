"""Physiology layer: numpy, and numba for discharging units (no PyBullet, Gymnasium or torch; a test
enforces it).

Hill-type muscles (`muscle`), moment-arm geometry (`geometry`), motor-unit pools (`motor_units`),
discharging motor units (`discharge`), metabolic energy (`metabolics`), agonist/antagonist/synergist
roles (`roles`), the model file (`model`) and the isometric bench experiment (`isometric`:
`isometric_contraction`, loaded on first use because it compiles the discharge kernel). Parameters
are frozen dataclasses; state is numpy arrays over muscles.
"""

from typing import Any

from .geometry import MuscleGeometry
from .metabolics import (
    MetabolicModel,
    MetabolicRate,
    Metabolics,
    basal_rate,
    energy_to_oxygen_ml,
    muscle_mass,
)
from .model import JOINT_NAMES, MUSCLE_NAMES, LegModel, ModelFileError, load_model, model_from_dict
from .motor_units import LumpedDrive, MotorUnitPool, Recruitment
from .muscle import MuscleModel, MuscleOutput, MuscleState
from .roles import antagonist_pairs, derive_roles, role_of


def __getattr__(name: str) -> Any:
    if name == "isometric_contraction":  # numba loads only when the bench experiment is asked for
        from .isometric import isometric_contraction

        return isometric_contraction
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "JOINT_NAMES",
    "MUSCLE_NAMES",
    "LegModel",
    "LumpedDrive",
    "MetabolicModel",
    "MetabolicRate",
    "Metabolics",
    "ModelFileError",
    "MotorUnitPool",
    "MuscleGeometry",
    "MuscleModel",
    "MuscleOutput",
    "MuscleState",
    "Recruitment",
    "antagonist_pairs",
    "basal_rate",
    "derive_roles",
    "energy_to_oxygen_ml",
    "isometric_contraction",
    "load_model",
    "model_from_dict",
    "muscle_mass",
    "role_of",
]
