"""What every task provides (the dm_control split: the task owns targets, reward terms, the
episode's end and its unit of work; LegEnv owns body, muscles and energy)."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from ..body.kinematics import forward_kinematics
from ..body.leg import LegBody
from ..body.spec import GRAVITY_M_S2, BodySpec
from ..physiology.model import LegModel


class ArgumentError(TypeError, ValueError):
    """Arguments an environment or task does not take; the message names each one and what is allowed.
    Both a TypeError (a wrong or unknown keyword) and a ValueError (a value out of range)."""


class Arguments(BaseModel):
    """Base of every argument declaration: unknown names refused, types strict, no NaN or infinity."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True, allow_inf_nan=False)


def argument_error(owner: str, err: ValidationError | list[ValidationError], allowed: list[str]) -> ArgumentError:
    """One error naming every bad argument of `err` (one validation or several) and what is allowed."""
    lines = []
    for e in [e for one in (err if isinstance(err, list) else [err]) for e in one.errors()]:
        name = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            lines.append(f"{name}: unknown argument; allowed: {', '.join(allowed)}")
        else:
            lines.append(f"{name}: {e['msg']}, got {e['input']!r}")
    return ArgumentError(f"{owner}: " + "; ".join(lines))


# Ceiling search defaults (our choices): the weight of the dense reward against the score, and the
# (onset, window, level) of a muscle a seed leaves almost silent.
CEILING_PROGRESS_WEIGHT = 1e-3
CEILING_SEED_OFF = (0.0, 0.05, 0.05)


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
    Args: ClassVar[type[Arguments]] = Arguments  # the task's own arguments (none by default)
    # Names of the task's observation values, in the order `observation` returns them (LegEnv's
    # observation_structure lists them as "task.<name>").
    observation_fields: ClassVar[tuple[str, ...]] = ()
    # What the score is and the task's own info figures (name -> meaning, with its unit): evaluation
    # summarises these, the manual lists them.
    score_meaning: ClassVar[str] = ""
    score_unit: ClassVar[str] = ""
    metric_info: ClassVar[dict[str, str]] = {}
    # Those of metric_info that describe an episode (what it drew, where it ended) rather than grade
    # it: their mean over episodes and seeds says little, so summaries over runs (sweep pages) leave
    # them out.
    descriptive_metrics: ClassVar[frozenset[str]] = frozenset()
    # The ceiling search's parameterisation (agents/optimize.py): None, no ceiling; "once", each muscle's
    # onset and window in s over the episode; "cyclic", in cycles (`cycle_position`), every cycle;
    # "per_target", a reach level and a hold level per muscle, searched for each evaluation episode's
    # target (agents/target_ceiling.py).
    ceiling: ClassVar[str | None] = None
    # cyclic tasks: info figures the search counts between the first and the last completed unit (the
    # same phase of the cycle, so that stored potential and elastic energy cancel), as cycle_<name>
    ceiling_unit_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, model: LegModel, args: Arguments | None = None) -> None:
        """`args`: validated `Args` (LegEnv validates them); None gives every default."""
        self.model = model
        self.args: Any = type(self).Args() if args is None else args

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
    def observation_size(self) -> int:
        return len(self.observation_fields)

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

    def ceiling_seed(self) -> dict[str, tuple[float, float, float]]:
        """The obvious open-loop control the ceiling search starts from: (onset, window, level) per muscle
        (s, or cycles for a cyclic task); a muscle not named stays almost silent (CEILING_SEED_OFF)."""
        raise NotImplementedError(f"{self.name} has no ceiling search")

    def cycle_position(self, info: dict[str, Any], t: float) -> float:
        """Cyclic tasks: how many cycles (periods, revolutions) have passed at time t (s), given the info."""
        raise NotImplementedError(f"{self.name} is not cyclic")

    @classmethod
    def ceiling_cost(cls, info: dict[str, Any]) -> float:
        """What the ceiling search minimises for one episode's final info: the score, and the task's dense
        reward terms as a tie-breaker (most early candidates score 0, a flat landscape)."""
        return -float(info["task_score"]) - CEILING_PROGRESS_WEIGHT * float(info["task_return"])

    def render_target(self) -> tuple[float, float] | None:
        """Where the task's target is, relative to the hip (x, z in m), for rendering; None: no target."""
        return None

    def metrics(self) -> dict[str, float]:
        """Task-specific figures for info (stable names, each explained in `metric_info`)."""
        return {}


def ballistic_apex(z: float, vz: float) -> float:
    """Height a point reaches moving up at vz from z under gravity alone (m)."""
    return z + max(vz, 0.0) ** 2 / (2.0 * GRAVITY_M_S2)


def standing_com_height(body: LegBody, q: np.ndarray, pelvis_pitch: float = 0.0) -> tuple[float, float]:
    """(hip height with the sole on the ground, CoM height) for a flat-footed pose q."""
    hip_z, com = standing_com(body, q, pelvis_pitch)
    return hip_z, float(com[1])


def standing_com(body: LegBody, q: np.ndarray, pelvis_pitch: float = 0.0) -> tuple[float, np.ndarray]:
    """(hip height with the sole on the ground, CoM (x, z) with the hip at x = 0) for pose q."""
    pts = forward_kinematics(body.model, q, (0.0, 0.0), pelvis_pitch)
    hip_z = -min(pts["heel"][1], pts["toe"][1])
    body.reset(q, pelvis_z=hip_z, pelvis_pitch=pelvis_pitch)
    com, _ = body.center_of_mass()
    return hip_z, com
