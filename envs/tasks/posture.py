"""Posture (skill): the pelvis is fixed; reach and hold a target ankle position and foot angle."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from ..body.kinematics import forward_kinematics
from ..body.leg import LegBody
from ..body.spec import BodySpec, PelvisMode
from .base import Arguments, InitialPose, Snapshot, Task

# Target joint configurations are drawn from this box (rad): comfortable, reachable, and away from
# the range-of-motion limits so that every target can be held without the soft limits.
TARGET_Q_LOW = np.radians([-10.0, 10.0, -25.0])
TARGET_Q_HIGH = np.radians([70.0, 90.0, 15.0])
START_Q = np.radians([5.0, 10.0, 0.0])
# A foot-angle error of 1 rad counts like this many metres of ankle-position error.
PITCH_ERROR_M_PER_RAD = 0.05
ERROR_SCALE_M = 0.10  # tracking reward is -error / ERROR_SCALE_M
ON_TARGET_BONUS = 1.0  # reward design: per step held within the tolerance
TOLERANCE_RANGE_M = (0.005, 0.2)  # allowed tolerance_m: from a fine reach to a coarse one
HANG_HEIGHT_M = 1.2  # hip height: the foot hangs clear of the ground


class PostureArgs(Arguments):
    tolerance_m: float = Field(
        0.03,
        ge=TOLERANCE_RANGE_M[0],
        le=TOLERANCE_RANGE_M[1],
        description="distance (m) from the target within which the foot counts as on target",
    )


class PostureTask(Task):
    """Reach and hold; unit = one reach (the first entry into the tolerance band).

    Score: precision, the mean over the episode of 1 - error / 0.10 m (clipped at 0), so that it
    grades approach as well as holding; time on target (within `tolerance_m`) is in info.
    """

    name = "Posture"
    unit = "reach"
    episode_seconds = 2.0
    default_energy_weight = 0.05
    observation_fields = ("target_x", "target_z", "target_foot_angle", "error_x", "error_z", "error_foot_angle")
    score_meaning = "precision: the mean over the episode of 1 - error / 0.10 m (clipped at 0)"
    score_unit = "0..1"
    ceiling = "per_target"  # a new target every episode: the ceiling is searched target by target
    metric_info: ClassVar[dict[str, str]] = {
        "precision_m": "the foot's error from its target at the last step (m; foot angle at 0.05 m per rad)",
        "time_on_target_s": "time within tolerance_m of the target (s)",
        "time_on_target_fraction": "that time as a fraction of the episode",
        "target_x_m": "the ankle's target: horizontal offset from the hip (m), as target_x observes",
        "target_z_m": "the ankle's target: vertical offset from the hip (m, below it negative)",
        "target_foot_angle_rad": "the foot's target angle (rad), as target_foot_angle observes",
        "foot_x_m": "the ankle's horizontal offset from the hip at the last step (m)",
        "foot_z_m": "the ankle's vertical offset from the hip at the last step (m)",
        "foot_angle_rad": "the foot's angle at the last step (rad)",
    }
    descriptive_metrics = frozenset(
        ("target_x_m", "target_z_m", "target_foot_angle_rad", "foot_x_m", "foot_z_m", "foot_angle_rad")
    )

    Args = PostureArgs

    def __init__(self, model, args: PostureArgs | None = None) -> None:  # noqa: ANN001
        super().__init__(model, args)
        self.tolerance = self.args.tolerance_m
        self.target = np.zeros(3)
        self._cached: tuple[Snapshot, np.ndarray] | None = None

    def body_spec(self, physics_dt: float) -> BodySpec:
        return BodySpec(pelvis=PelvisMode.FIXED, physics_dt=physics_dt, legs=1, hip_height=HANG_HEIGHT_M)

    def _pose(self, q: np.ndarray) -> np.ndarray:
        pts = forward_kinematics(self.model, q)
        return np.array([pts["ankle"][0], pts["ankle"][1], q[0] - q[1] + q[2]])

    def initialize_episode(self, body: LegBody, rng: np.random.Generator) -> InitialPose:
        self.target = self._pose(rng.uniform(TARGET_Q_LOW, TARGET_Q_HIGH))
        self._on_time = 0.0
        self._reached = False
        self._error = float("inf")
        self._elapsed = 0.0
        self._precision_sum = 0.0
        self._steps = 0
        self._cached = None
        return InitialPose(q=START_Q + rng.uniform(-0.05, 0.05, 3))

    def _error_vector(self, snap: Snapshot) -> np.ndarray:
        # update() and observation() see the same snapshot each step: compute its pose once.
        if self._cached is None or self._cached[0] is not snap:
            self._cached = (snap, self._pose(snap.q) - self.target)
        return self._cached[1]

    def observation(self, snap: Snapshot) -> np.ndarray:
        return np.concatenate([self.target, self._error_vector(snap)])

    def update(self, snap: Snapshot) -> tuple[dict[str, float], bool]:
        e = self._error_vector(snap)
        self._error = float(np.hypot(e[0], e[1]) + PITCH_ERROR_M_PER_RAD * abs(e[2]))
        on = self._error < self.tolerance
        dt = snap.t - self._elapsed
        self._elapsed = snap.t
        if on:
            self._on_time += dt
            self._reached = True
        self._precision_sum += max(0.0, 1.0 - self._error / ERROR_SCALE_M)
        self._steps += 1
        return {"tracking": -self._error / ERROR_SCALE_M, "on_target": ON_TARGET_BONUS * on}, False

    def units_completed(self) -> float:
        return 1.0 if self._reached else 0.0

    def score(self) -> float:
        return self._precision_sum / self._steps if self._steps else 0.0

    def render_target(self) -> tuple[float, float] | None:
        return float(self.target[0]), float(self.target[1])  # the ankle's target, relative to the hip

    def metrics(self) -> dict[str, float]:
        pose = self.target + self._cached[1] if self._cached is not None else self.target
        return {
            "precision_m": self._error if np.isfinite(self._error) else 0.0,
            "time_on_target_s": self._on_time,
            "time_on_target_fraction": self._on_time / self._elapsed if self._elapsed > 0 else 0.0,
            **dict(zip(("target_x_m", "target_z_m", "target_foot_angle_rad"), map(float, self.target), strict=True)),
            **dict(zip(("foot_x_m", "foot_z_m", "foot_angle_rad"), map(float, pose), strict=True)),
        }
