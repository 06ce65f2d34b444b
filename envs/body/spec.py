"""What a body is built as (pelvis mode, legs, crank) and what it reports, with no simulator: tasks
declare their body with these, and LegBody (leg.py) builds it in PyBullet."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np

GRAVITY_M_S2 = 9.81  # standard gravity, rounded
# Ergometer crank: 0.17 m arm (standard crank length). Flywheel inertia reflected to the crank
# (kg m^2): a Monark-type flywheel (~0.7 kg m^2) geared 52:14 reflects ~9 kg m^2; 6 is an
# estimate inside that range (assumption, not a measured figure).
CRANK_LENGTH_M = 0.17
CRANK_INERTIA_KG_M2 = 6.0
CRANK_MASS_KG = 1.0


class PelvisMode(enum.Enum):
    FIXED = "fixed"  # pelvis welded to the world (reaching, seated pedalling)
    RAIL = "rail"  # pelvis slides vertically only (jumping, hopping in place)
    FREE = "free"  # pelvis free in the sagittal plane (x, z, pitch)


@dataclass(frozen=True)
class CrankSpec:
    """A crank ergometer the foot is clipped to. Positions relative to the hip (m)."""

    center_x: float = 0.10
    center_z: float = -0.78
    length: float = CRANK_LENGTH_M
    inertia: float = CRANK_INERTIA_KG_M2
    pedal_x: float = 0.12  # pedal spindle along the foot from the ankle (m), under the ball
    damping_nms: float = 0.0  # resistance torque -damping * omega
    counterweight_kg: float = 0.0  # a point mass on the opposite crank arm, at crank length

    @property
    def total_inertia(self) -> float:
        """Flywheel plus counterweight about the axle (kg m^2)."""
        return self.inertia + self.counterweight_kg * self.length**2

    def counterweight_torque(self, angle: float) -> float:
        """Gravity's torque (N m, + = pedalling direction) of the counterweight at crank angle
        `angle` (rad from top dead centre): it sits at -length (sin, cos), potential -m g L cos."""
        return -self.counterweight_kg * GRAVITY_M_S2 * self.length * math.sin(angle)

    def energy(self, angle: float, omega: float) -> float:
        """Kinetic energy of the crank plus the counterweight's potential energy (J)."""
        return 0.5 * self.total_inertia * omega**2 - self.counterweight_kg * GRAVITY_M_S2 * self.length * math.cos(
            angle
        )


@dataclass(frozen=True)
class BodySpec:
    pelvis: PelvisMode
    physics_dt: float = 0.001
    solver_iterations: int = 50  # PyBullet's constraint-solver iterations per physics step
    legs: int = 1  # 2: one planar leg stands for both (masses doubled), as in Bobbert & van Soest 1994
    carry_trunk: bool = False  # trunk (HAT) mass rides on the pelvis
    hip_height: float = 1.2  # m, initial (and, when fixed, permanent) hip height
    crank: CrankSpec | None = None


@dataclass
class BodyState:
    """Joint-level state read back from the simulator."""

    q: np.ndarray  # (3,) rad
    qd: np.ndarray  # (3,) rad/s
    pelvis: np.ndarray  # (3,) x, z (m), pitch (rad, negative = trunk leaning forward)
    pelvis_velocity: np.ndarray  # (3,)
