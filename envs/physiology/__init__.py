"""Physiology layer: numpy only (no PyBullet, Gymnasium or torch; a test enforces it).

Hill-type muscles (`muscle`), moment-arm geometry (`geometry`), motor-unit pools (`motor_units`),
metabolic energy (`metabolics`), agonist/antagonist/synergist roles (`roles`) and the model file
(`model`). Parameters are frozen dataclasses; state is numpy arrays over muscles.
"""

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
    "load_model",
    "model_from_dict",
    "muscle_mass",
    "role_of",
]
