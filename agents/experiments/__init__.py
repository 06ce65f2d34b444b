"""Coordination experiments: scripted, reproducible, each writing a table (JSON, Markdown, stamped) and a
plot. One module per experiment, each with NAME, HELP, `add_arguments` (its command-line options) and
`run`; `neuroleg experiment NAME` is built from EXPERIMENTS.

- recruitment: squat-jump height and energy per jump against the recruitment limit (Bobbert & van Soest 1994)
- rate-coding: the rate of force development in a rapid isometric contraction
- cocontraction: energy per unit of a trained policy with added antagonist co-activation
- energy-weight: task score against energy per unit as the reward's energy weight varies
- countermovement: countermovement minus squat jump as the drive's rise slows (Bobbert & Casius 2005)
- unit-size: force steadiness by motor-unit size and force level (discharge mode)
- synchronization: the rate of force development against synchronization (discharge mode)
- posture-unit-size: a Posture policy's hold error by motor-unit size (discharge mode; the reference or --run)
- posture-following: per axis of the target, how far trained Posture policies and the ceiling follow it
- slow-component: metabolic drift over minutes of heavy pedalling with fatiguing motor units (Poole & Jones 2012)
- discharge-training: Posture policies trained in the rate mode and in discharge mode, each evaluated in both
"""

from __future__ import annotations

from types import ModuleType

from . import (
    cocontraction,
    countermovement,
    discharge_training,
    energy_weight,
    posture_following,
    posture_unit_size,
    rate_coding,
    recruitment,
    slow_component,
    synchronization,
    unit_size,
)
from .cocontraction import cocontraction_experiment
from .common import markdown_table
from .countermovement import DRIVE_RISES_S, countermovement_experiment
from .energy_weight import energy_weight_experiment
from .rate_coding import rate_coding_experiment
from .recruitment import RECRUITMENT_LIMITS, recruitment_limit_experiment

EXPERIMENTS: dict[str, ModuleType] = {
    module.NAME: module
    for module in (
        recruitment,
        rate_coding,
        cocontraction,
        energy_weight,
        countermovement,
        unit_size,
        posture_unit_size,
        posture_following,
        synchronization,
        slow_component,
        discharge_training,
    )
}

__all__ = [
    "DRIVE_RISES_S",
    "EXPERIMENTS",
    "RECRUITMENT_LIMITS",
    "cocontraction_experiment",
    "countermovement_experiment",
    "energy_weight_experiment",
    "markdown_table",
    "rate_coding_experiment",
    "recruitment_limit_experiment",
]
