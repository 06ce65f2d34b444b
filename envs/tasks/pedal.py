"""Pedal (endurance, economy): drive a crank against a resistance at a target cadence and power."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from ..body.kinematics import leg_inverse_kinematics
from ..body.leg import LegBody
from ..body.spec import BodySpec, CrankSpec, PelvisMode
from .base import Arguments, InitialPose, Snapshot, Task

SEAT_HIP_HEIGHT_M = 1.2  # hip above the floor; the crank sits 0.78 m below it (CrankSpec)
FOOT_PITCH_ON_PEDAL_RAD = math.radians(-15.0)  # slight toe-down, typical of seated pedalling
CADENCE_RANGE_RPM = (30.0, 130.0)
POWER_RANGE_W = (5.0, 400.0)
CADENCE_BAND = 0.10  # score counts time within +-10 % of the target cadence
# Counterweighted single-leg cycling: a mass on the opposite crank arm stands in for the other leg.
# Asmussen et al. 2024 (PLoS One 19:e0304136) tested 0-13.6 kg (0-30 lb); heavier counterweights brought
# single-leg cycling closer to double-leg cycling. Without one the hip flexors must lift the leg through
# every upstroke. The default is their heaviest (env v1 shipped none: its tendon's free work let an
# undriven leg hold the cadence against 13.6 kg).
COUNTERWEIGHT_KG = 13.6
COUNTERWEIGHT_RANGE_KG = (0.0, 30.0)
# Episode length: 5 s is the learning and ceiling task; minutes make it an endurance task (with
# `fatigue=True`: the slow-component experiment). 30 min is the longest the registered ids allow.
DURATION_S = 5.0
DURATION_RANGE_S = (1.0, 1800.0)
CADENCE_REWARD_SCALE = 0.15  # reward design: relative cadence error at which the reward falls to 1/e
RPM_PER_RAD_S = 60.0 / (2.0 * math.pi)
# The ceiling search (our choices): the seed, (onset, window, level) per muscle in revolutions from top
# dead centre (the downstroke's hip and knee extensors, the upstroke's hip flexor); the weight of the
# inverse gross efficiency (metabolic energy / the foot's work, ~5-10) against the score, small enough
# that holding cadence always comes first; the inverse efficiency charged when the foot did no work.
CEILING_SEED = {"GLU": (0.0, 0.4, 0.3), "VAS": (0.95, 0.4, 0.3), "HFL": (0.55, 0.35, 0.3)}
CEILING_INVERSE_EFFICIENCY_WEIGHT = 0.01
CEILING_WORKLESS_RATIO = 1e3


class PedalArgs(Arguments):
    target_cadence_rpm: float = Field(
        60.0, ge=CADENCE_RANGE_RPM[0], le=CADENCE_RANGE_RPM[1], description="crank cadence to hold (rpm)"
    )
    target_power_w: float = Field(
        25.0, ge=POWER_RANGE_W[0], le=POWER_RANGE_W[1], description="brake power at the target cadence (W)"
    )
    counterweight_kg: float = Field(
        COUNTERWEIGHT_KG,
        ge=COUNTERWEIGHT_RANGE_KG[0],
        le=COUNTERWEIGHT_RANGE_KG[1],
        description="mass on the opposite crank arm, standing in for the other leg (kg)",
    )
    duration_s: float = Field(
        DURATION_S,
        ge=DURATION_RANGE_S[0],
        le=DURATION_RANGE_S[1],
        description="episode length (s): minutes make an endurance task (with fatigue=True)",
    )


class PedalTask(Task):
    """Unit = one crank revolution. Resistance torque -c omega with c = P* / omega*^2, so the
    target power is delivered at the target cadence. Score: fraction of time within +-10 % of the
    target cadence."""

    name = "Pedal"
    unit = "revolution"
    episode_seconds = DURATION_S
    default_energy_weight = 0.05
    observation_fields = ("crank_sin", "crank_cos", "cadence_ratio", "target_omega", "power_ratio")
    score_meaning = "the fraction of time within 10 % of the target cadence"
    score_unit = "0..1"
    metric_info: ClassVar[dict[str, str]] = {
        "cadence_rpm": "crank cadence (rpm)",
        "external_work_j": "work done on the brake (J)",
        "pedal_work_j": "work done by the foot on the crank: the brake's plus the crank's gain in energy (J)",
        "external_power_w": "power into the brake this step (W)",
        "gross_efficiency": "pedal work / metabolic energy",
        "crank_angle_rad": "crank angle from top dead centre (rad)",
    }
    ceiling = "cyclic"
    ceiling_unit_keys = ("pedal_work_j", "muscle_energy_j", "metabolic_energy_j")

    Args = PedalArgs

    def __init__(self, model, args: PedalArgs | None = None) -> None:  # noqa: ANN001
        super().__init__(model, args)
        a = self.args
        self.omega = a.target_cadence_rpm / RPM_PER_RAD_S
        self.power = a.target_power_w
        self.crank = CrankSpec(damping_nms=a.target_power_w / self.omega**2, counterweight_kg=a.counterweight_kg)

    def time_limit_s(self) -> float:
        return float(self.args.duration_s)

    @classmethod
    def longest_episode_s(cls) -> float:
        return DURATION_RANGE_S[1]

    def body_spec(self, physics_dt: float) -> BodySpec:
        return BodySpec(
            pelvis=PelvisMode.FIXED, physics_dt=physics_dt, legs=1, hip_height=SEAT_HIP_HEIGHT_M, crank=self.crank
        )

    def pose_on_pedal(self, angle: float) -> np.ndarray:
        c = self.crank
        pedal = np.array([c.center_x + c.length * math.sin(angle), c.center_z + c.length * math.cos(angle)])
        p = FOOT_PITCH_ON_PEDAL_RAD
        # the pedal spindle sits under the sole at pedal_x (LegBody.attach_pedal)
        fx, fz = c.pedal_x, -self.model.body.ankle_height
        offset = np.array([fx * math.cos(p) - fz * math.sin(p), fx * math.sin(p) + fz * math.cos(p)])
        return leg_inverse_kinematics(self.model, pedal - offset, p)

    def initialize_episode(self, body: LegBody, rng: np.random.Generator) -> InitialPose:
        angle = float(rng.uniform(0.0, 2.0 * math.pi))
        eps = 1e-5
        q = self.pose_on_pedal(angle)
        qd = (self.pose_on_pedal(angle + eps) - q) / eps * self.omega
        self._start_angle = angle
        self._angle = angle
        self._on_time = 0.0
        self._elapsed = 0.0
        self._work = 0.0
        self._power = 0.0
        self._crank_energy_start = self.crank.energy(angle, self.omega)
        self._crank_energy_now = self._crank_energy_start
        return InitialPose(q=q, qd=qd, crank_angle=angle, crank_velocity=self.omega)

    def observation(self, snap: Snapshot) -> np.ndarray:
        return np.array(
            [
                math.sin(snap.crank_angle),
                math.cos(snap.crank_angle),
                snap.crank_velocity / self.omega,
                self.omega / 10.0,
                self._power / self.power,
            ]
        )

    def update(self, snap: Snapshot) -> tuple[dict[str, float], bool]:
        dt = snap.t - self._elapsed
        self._elapsed = snap.t
        self._power = (snap.external_work - self._work) / dt if dt > 0 else 0.0
        self._work = snap.external_work
        self._angle = snap.crank_angle
        self._crank_energy_now = self.crank.energy(snap.crank_angle, snap.crank_velocity)
        err = snap.crank_velocity / self.omega - 1.0
        if abs(err) <= CADENCE_BAND:
            self._on_time += dt
        return {"cadence": math.exp(-((err / CADENCE_REWARD_SCALE) ** 2))}, False

    def units_completed(self) -> float:
        return float(max(math.floor((self._angle - self._start_angle) / (2 * math.pi)), 0))

    def score(self) -> float:
        return self._on_time / self._elapsed if self._elapsed > 0 else 0.0

    def ceiling_seed(self) -> dict[str, tuple[float, float, float]]:
        return dict(CEILING_SEED)

    def cycle_position(self, info: dict[str, Any], t: float) -> float:
        return float(info["crank_angle_rad"]) / (2 * math.pi)

    @classmethod
    def ceiling_cost(cls, info: dict[str, Any]) -> float:
        """Hold cadence first, then the best gross efficiency over whole revolutions (cycle_<key> from
        ceiling_unit_keys): within an unfinished one, the leg's falling weight and stretched tendons
        lend work the search would learn to borrow; energy per revolution alone rewarded coasting."""
        work = float(info.get("cycle_pedal_work_j", 0.0))
        ratio = float(info["cycle_metabolic_energy_j"]) / work if work > 0 else CEILING_WORKLESS_RATIO
        return -float(info["task_score"]) + CEILING_INVERSE_EFFICIENCY_WEIGHT * ratio

    def metrics(self) -> dict[str, float]:
        return {
            "cadence_rpm": self._cadence_rpm(),
            "external_work_j": self._work,
            # what the foot did on the crank: the brake's work plus the crank's gain in energy (over
            # 5 s the flywheel's store is as large as the brake's work, so it cannot be left out)
            "pedal_work_j": self._work + self._crank_energy_now - self._crank_energy_start,
            "external_power_w": self._power,
            "crank_angle_rad": self._angle % (2 * math.pi),  # from top dead centre, in the pedalling direction
        }

    def _cadence_rpm(self) -> float:
        return (self._angle - self._start_angle) / self._elapsed * RPM_PER_RAD_S if self._elapsed > 0 else 0.0
