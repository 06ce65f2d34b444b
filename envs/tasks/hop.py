"""Hop (endurance, stretch-shortening): hop in place at a target frequency and height."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from ..body.leg import LegBody
from ..body.spec import BodySpec, PelvisMode
from .base import Arguments, InitialPose, Snapshot, Task, standing_com_height

START_Q = np.radians([8.0, 15.0, 7.0])  # slightly flexed stance, foot flat
# Allowed targets; Grabowski & Herr 2009 report preferred hopping at 2.0-2.6 Hz.
FREQUENCY_RANGE_HZ = (1.0, 4.0)
HEIGHT_RANGE_M = (0.02, 0.4)
# Reward design (not physiology): a bonus per hop scaled by its quality, and a dense term for
# following a sinusoidal CoM reference at the target frequency, in height and in vertical velocity
# (weight, widths in m and m/s). Tracking the height alone paid a policy for standing still on its toes
# at the reference's mean height; the velocity term pays only for moving with the reference.
# A learner that tracked the reference bounced 8 cm on its toes at 2.2 Hz without ever leaving the
# ground (the toe follows a rising body as the ankle plantarflexes): flight itself is paid per
# control step airborne.
HOP_BONUS = 5.0
TRACK_WEIGHT = 0.5
TRACK_SCALE_M = 0.05
TRACK_SCALE_M_S = 0.25
FLIGHT_WEIGHT = 0.5
HEIGHT_TOLERANCE = 0.3  # relative; hop quality exp(-(err / tol)^2)
PERIOD_TOLERANCE = 0.2  # relative, likewise for the hop period
FALL_HIP_HEIGHT_FRACTION = 0.6
# The ceiling search's seed, (onset, window, level) per muscle in hop periods (our choice): ankle and knee
# extensors push through the first part of the cycle, the tibialis lifts the toes in flight.
CEILING_SEED = {
    "SOL": (0.0, 0.4, 0.8),
    "GAS": (0.0, 0.4, 0.8),
    "VAS": (0.9, 0.5, 0.5),
    "GLU": (0.9, 0.5, 0.3),
    "TA": (0.45, 0.4, 0.3),
}  # hip below this fraction of its standing height = fallen


class HopArgs(Arguments):
    target_frequency_hz: float = Field(
        2.2, ge=FREQUENCY_RANGE_HZ[0], le=FREQUENCY_RANGE_HZ[1], description="hopping frequency to hold (Hz)"
    )
    target_height_m: float = Field(
        0.08, ge=HEIGHT_RANGE_M[0], le=HEIGHT_RANGE_M[1], description="CoM rise per hop, stance low to apex (m)"
    )


class HopTask(Task):
    """Unit = one hop (a flight, counted at landing). Score: sum of hop qualities / target hops so
    far, hop quality exp(-(dh/(0.3 h*))^2 - (dT/(0.2 T*))^2) with h the CoM's rise from the lowest
    point of the stance before takeoff to the flight's apex, T the time between takeoffs."""

    name = "Hop"
    unit = "hop"
    episode_seconds = 5.0
    default_energy_weight = 0.02
    observation_fields = ("phase_sin", "phase_cos", "com_height", "airborne", "ground_force", "target_height")
    score_meaning = "hop quality per target hop: each hop exp(-(dh / 0.3 h*)^2 - (dT / 0.2 T*)^2)"
    score_unit = "0..1"
    metric_info: ClassVar[dict[str, str]] = {
        "hop_count": "hops completed (landings after a flight)",
        "hop_height_m": "the last hop's CoM rise from the stance's lowest point to the apex (m)",
        "hop_flight_height_m": "the last hop's CoM rise in flight alone (m)",
        "hop_period_s": "time between the last two takeoffs (s)",
        "vertical_travel_m": "the CoM's summed vertical excursion (m)",
        "energy_per_vertical_m_j": "metabolic energy per metre of vertical travel (J/m)",
    }
    ceiling = "cyclic"

    Args = HopArgs

    def __init__(self, model, args: HopArgs | None = None) -> None:  # noqa: ANN001
        super().__init__(model, args)
        self.frequency = self.args.target_frequency_hz
        self.height = self.args.target_height_m

    def body_spec(self, physics_dt: float) -> BodySpec:
        return BodySpec(pelvis=PelvisMode.RAIL, physics_dt=physics_dt, legs=2, carry_trunk=True)

    def initialize_episode(self, body: LegBody, rng: np.random.Generator) -> InitialPose:
        q = START_Q + rng.uniform(-0.02, 0.02, 3)
        q[2] = q[1] - q[0]
        self._stand_hip, self._stand_com = standing_com_height(body, q)
        self._airborne = False
        self._takeoff_t: float | None = None
        self._takeoff_z = 0.0
        self._apex = 0.0
        self._low = self._stand_com
        self._hops = 0
        self._quality = 0.0
        self._travel = 0.0
        self._last_height = 0.0
        self._last_flight = 0.0
        self._last_period = 0.0
        self._t = 0.0
        return InitialPose(q=q, pelvis_z=self._stand_hip + 1e-4)

    def _reference(self, t: float) -> tuple[float, float]:
        """CoM height (m) and vertical velocity (m/s) of the sinusoidal reference at time t."""
        omega = 2 * math.pi * self.frequency
        z = self._stand_com + 0.5 * self.height * (1.0 - math.cos(omega * t))
        return z, 0.5 * self.height * omega * math.sin(omega * t)

    def observation(self, snap: Snapshot) -> np.ndarray:
        phase = 2 * math.pi * self.frequency * snap.t
        return np.array(
            [
                math.sin(phase),
                math.cos(phase),
                snap.com[1] - self._stand_com,
                float(self._airborne),
                snap.contact_force / snap.body_weight,
                self.height,
            ]
        )

    def update(self, snap: Snapshot) -> tuple[dict[str, float], bool]:
        self._t = snap.t
        z, vz = snap.com[1], snap.com_velocity[1]
        hop_reward = 0.0
        if not self._airborne:
            self._low = min(self._low, z)
            if snap.contact_force <= 0.0 and vz > 0.0:
                self._airborne = True
                if self._takeoff_t is not None:
                    self._last_period = snap.t - self._takeoff_t
                self._takeoff_t = snap.t
                self._takeoff_z = z
                self._apex = z
        else:
            self._apex = max(self._apex, z)
            if snap.contact_force > 0.0:
                self._airborne = False
                self._hops += 1
                # The hop's height is the CoM's rise from the lowest point of its stance to the apex,
                # the peak-to-peak excursion the reference asks for; most of it happens in contact,
                # while the ankle plantarflexes (flight alone is hop_flight_height_m).
                self._last_height = self._apex - self._low
                self._last_flight = self._apex - self._takeoff_z
                self._travel += self._last_height
                self._low = z
                period = self._last_period if self._last_period > 0 else 1.0 / self.frequency
                quality = math.exp(
                    -(((self._last_height - self.height) / (HEIGHT_TOLERANCE * self.height)) ** 2)
                    - ((period * self.frequency - 1.0) / PERIOD_TOLERANCE) ** 2
                )
                self._quality += quality
                hop_reward = HOP_BONUS * quality
        z_ref, vz_ref = self._reference(snap.t)
        track = TRACK_WEIGHT * math.exp(
            -(((z - z_ref) / TRACK_SCALE_M) ** 2) - (((vz - vz_ref) / TRACK_SCALE_M_S) ** 2)
        )
        flight = FLIGHT_WEIGHT if self._airborne else 0.0
        fallen = snap.pelvis[1] < FALL_HIP_HEIGHT_FRACTION * self._stand_hip
        return {"hop": hop_reward, "track": track, "flight": flight}, fallen

    def units_completed(self) -> float:
        return float(self._hops)

    def score(self) -> float:
        return self._quality / max(self._t * self.frequency, 1.0)

    def ceiling_seed(self) -> dict[str, tuple[float, float, float]]:
        return dict(CEILING_SEED)

    def cycle_position(self, info: dict[str, Any], t: float) -> float:
        return t * self.frequency

    def metrics(self) -> dict[str, float]:
        return {
            "hop_count": float(self._hops),
            "hop_height_m": self._last_height,
            "hop_flight_height_m": self._last_flight,
            "hop_period_s": self._last_period,
            "vertical_travel_m": self._travel,
        }
