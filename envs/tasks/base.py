"""What every task provides (the dm_control split: the task owns targets, reward terms, the
episode's end and its unit of work; LegEnv owns body, muscles and energy)."""

from __future__ import annotations

import abc
import numbers
from dataclasses import dataclass, field

import numpy as np

from ..body.leg import GRAVITY_M_S2, BodySpec, LegBody
from ..physiology.model import LegModel


@dataclass
class Snapshot:
    """The state a task sees after each control step (read once by LegEnv)."""

    t: float  # s since the episode started
    q: np.ndarray  # hip, knee, ankle (rad)
    qd: np.ndarray  # rad/s
    pelvis: np.ndarray  # x, z (m), pitch (rad)
    pelvis_velocity: np.ndarray
    com: np.ndarray  # (x, z) m
    com_velocity: np.ndarray  # (x, z) m/s
    contact_force: float  # N, ground on foot
    crank_angle: float = 0.0  # rad, unwrapped
    crank_velocity: float = 0.0  # rad/s
    external_work: float = 0.0  # J done on the crank resistance this episode
    body_weight: float = 0.0  # N


@dataclass
class InitialPose:
    q: np.ndarray
    qd: np.ndarray = field(default_factory=lambda: np.zeros(3))
    pelvis_z: float | None = None
    pelvis_pitch: float = 0.0  # rad, negative = trunk leaning forward (free pelvis only)
    crank_angle: float = 0.0
    crank_velocity: float = 0.0
    lock_pelvis_s: float = 0.0  # hold the pelvis still this long (a static start)
    floor_only: bool = False  # the hold is a stool under the pelvis, not a lock (LegBody.lock_pelvis)


class Task(abc.ABC):
    """One task: a unit of work, rewards, observations and the episode's end."""

    name: str = ""
    unit: str = ""  # what one unit of work is ("jump", "hop", ...)
    episode_seconds: float = 5.0
    default_energy_weight: float = 0.1

    def __init__(self, model: LegModel) -> None:
        self.model = model

    def use_drive_rise(self, drive_rise_s: float) -> None:  # noqa: B027 (a hook most tasks need not use)
        """The environment's `drive_rise_s`, told once after construction; a task whose start depends
        on how fast the drive can rise overrides this."""

    def time_limit_s(self) -> float:
        """This episode's length (the environment truncates it there): `episode_seconds` unless the
        task's start depends on its arguments."""
        return self.episode_seconds

    @classmethod
    def longest_episode_s(cls) -> float:
        """The longest `time_limit_s` any arguments give: the registered ids' time limit."""
        return cls.episode_seconds

    @abc.abstractmethod
    def body_spec(self, physics_dt: float) -> BodySpec: ...

    @property
    @abc.abstractmethod
    def observation_size(self) -> int: ...

    @abc.abstractmethod
    def initialize_episode(self, body: LegBody, rng: np.random.Generator) -> InitialPose:
        """Choose targets and the starting pose; reset the task's episode counters."""

    def start(self, snap: Snapshot) -> None:  # noqa: B027 - optional hook
        """Called once with the first snapshot of the episode."""

    @abc.abstractmethod
    def observation(self, snap: Snapshot) -> np.ndarray: ...

    @abc.abstractmethod
    def update(self, snap: Snapshot) -> tuple[dict[str, float], bool]:
        """Advance the task by one control step: (reward terms, terminated)."""

    @abc.abstractmethod
    def units_completed(self) -> float:
        """Units of work completed this episode."""

    @abc.abstractmethod
    def score(self) -> float:
        """The task's own measure of success this episode (documented per task)."""

    def metrics(self) -> dict[str, float]:
        """Task-specific figures for info (stable names, documented in the README)."""
        return {}


def check_range(name: str, value: float, allowed: tuple[float, float], unit: str = "") -> float:
    """`value` if it lies in `allowed`, else a ValueError naming the argument and its range."""
    lo, hi = allowed
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number in [{lo}, {hi}]{' ' + unit if unit else ''}, got {value!r}")
    if not (lo <= value <= hi):
        raise ValueError(f"{name} must be in [{lo}, {hi}]{' ' + unit if unit else ''}, got {value}")
    return value


def ballistic_apex(z: float, vz: float) -> float:
    """Height a point reaches moving up at vz from z under gravity alone (m)."""
    return z + max(vz, 0.0) ** 2 / (2.0 * GRAVITY_M_S2)


def standing_com_height(body: LegBody, q: np.ndarray, pelvis_pitch: float = 0.0) -> tuple[float, float]:
    """(hip height with the sole on the ground, CoM height) for a flat-footed pose q."""
    hip_z, com = standing_com(body, q, pelvis_pitch)
    return hip_z, float(com[1])


def standing_com(body: LegBody, q: np.ndarray, pelvis_pitch: float = 0.0) -> tuple[float, np.ndarray]:
    """(hip height with the sole on the ground, CoM (x, z) with the hip at x = 0) for pose q."""
    from ..body.leg import forward_kinematics

    pts = forward_kinematics(body.model, q, (0.0, 0.0), pelvis_pitch)
    hip_z = -min(pts["heel"][1], pts["toe"][1])
    body.reset(q, pelvis_z=hip_z, pelvis_pitch=pelvis_pitch)
    com, _ = body.center_of_mass()
    return hip_z, com
