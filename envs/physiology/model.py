"""The leg model file: schema, validation and the frozen arrays the simulator runs on.

The YAML file is data only (no code, no eval). `load_model` validates it with pydantic, so a bad
value is reported by its path (``muscles.SOL.f_max_n: ...``), then turns it into `LegModel`: frozen
dataclasses holding numpy arrays ordered by `MUSCLE_NAMES` / `JOINT_NAMES`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

JOINT_NAMES: tuple[str, ...] = ("hip", "knee", "ankle")
MUSCLE_NAMES: tuple[str, ...] = ("HFL", "GLU", "HAM", "RF", "VAS", "BFSH", "GAS", "SOL", "TA")
SEGMENT_NAMES: tuple[str, ...] = ("trunk", "thigh", "shank", "foot")
JOINT_ACTIONS: dict[str, tuple[str, str]] = {
    # joint -> (action of positive torque, action of negative torque) in simulator coordinates
    "hip": ("hip_flexion", "hip_extension"),
    "knee": ("knee_flexion", "knee_extension"),
    "ankle": ("ankle_dorsiflexion", "ankle_plantarflexion"),
}
# Internal (Geyer & Herr 2010) angle phi = offset - q, q the simulator's joint coordinate (rad).
PHI_OFFSET_RAD: dict[str, float] = {"hip": math.pi, "knee": math.pi, "ankle": math.pi / 2}
# kappa standing in for "constant moment arm": sin(kappa x) / kappa == x to ~1e-13 relative error.
CONSTANT_ARM_KAPPA = 1e-6

DEFAULT_MODEL = "leg9"
# Shape factor K of the force-velocity curve (Geyer & Herr 2010), where a muscle's file gives no
# curvature: K = 1 / (a/F0), Hill's curvature a/F0 = 0.2.
GEYER_HERR_FV_K = 5.0
# Units per motor-unit pool when the model file names none: Fuglevand, Winter & Patla 1993's pool.
MOTOR_UNITS_DEFAULT = 120
# Units a pool may have (our bounds): the vasti's three heads hold about 1700 (the model file's estimate).
UNIT_COUNT_RANGE = (10, 2000)
# Largest over smallest twitch force in a pool (RP) when the model file names none: Fuglevand, Winter &
# Patla 1993's 100-fold (a unit's twitch grows with its innervation ratio: Enoka & Fuglevand 2001).
# Allowed: 2- to 1000-fold (our bounds).
TWITCH_FORCE_RANGE_DEFAULT = 100.0
TWITCH_FORCE_RANGE_LIMITS = (2.0, 1000.0)


class ModelFileError(ValueError):
    """A model file that does not validate; the message names every bad field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _JointAttachment(_Strict):
    sign: Literal[-1, 1]
    r_max_m: float = Field(gt=0, le=0.3)
    r_min_m: float | None = Field(default=None, gt=0, le=0.3)
    phi_max_deg: float | None = Field(default=None, ge=0, le=360)
    phi_min_deg: float | None = Field(default=None, ge=0, le=360)
    phi_ref_deg: float = Field(ge=0, le=360)
    rho: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _varying_arm_complete(self) -> _JointAttachment:
        if (self.r_min_m is None) != (self.phi_min_deg is None):
            raise ValueError("r_min_m and phi_min_deg go together (Song & Geyer 2015 varying arm)")
        if self.r_min_m is not None:
            if self.phi_max_deg is None:
                raise ValueError("r_min_m needs phi_max_deg")
            if self.r_min_m >= self.r_max_m:
                raise ValueError("r_min_m must be below r_max_m")
            if self.phi_min_deg == self.phi_max_deg:
                raise ValueError("phi_min_deg must differ from phi_max_deg")
        return self


class _Muscle(_Strict):
    f_max_n: float = Field(gt=0, le=20000)
    f_max_source: str | None = None  # where F_max comes from, when not from `source`
    v_max_lopt_per_s: float = Field(gt=0, le=30)
    l_opt_m: float = Field(gt=0, le=0.5)
    l_opt_source: str | None = None  # where l_opt and l_slack come from, when not from `source`
    l_slack_m: float = Field(gt=0, le=1.0)
    source: str = Field(min_length=1)
    slow_twitch_fraction: float = Field(ge=0, le=1)
    slow_twitch_source: str = Field(min_length=1)
    # Hill's a/F0, the force-velocity curve's curvature (its shape factor K is 1 / a/F0); none: Geyer &
    # Herr's 0.2. Umberger et al. 2003 make it 0.1 + 0.4 x the fast-twitch fraction.
    fv_curvature: float | None = Field(default=None, ge=0.05, le=1)
    fv_curvature_source: str | None = None
    # Motor units in the muscle's discharging pool; none: MOTOR_UNITS_DEFAULT (Fuglevand 1993's 120).
    motor_units: int | None = Field(default=None, ge=UNIT_COUNT_RANGE[0], le=UNIT_COUNT_RANGE[1])
    motor_units_source: str | None = None
    # Largest over smallest twitch force in the pool (the spread of innervation ratios, RP); none:
    # TWITCH_FORCE_RANGE_DEFAULT. Larger: the last units recruited are larger against the first.
    twitch_force_range: float | None = Field(
        default=None, ge=TWITCH_FORCE_RANGE_LIMITS[0], le=TWITCH_FORCE_RANGE_LIMITS[1]
    )
    twitch_force_range_source: str | None = None
    joints: dict[Literal["hip", "knee", "ankle"], _JointAttachment] = Field(min_length=1)
    geometry_source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _curvature_sourced(self) -> _Muscle:
        if (self.fv_curvature is None) != (self.fv_curvature_source is None):
            raise ValueError("fv_curvature and fv_curvature_source go together (every value cites its source)")
        if (self.motor_units is None) != (self.motor_units_source is None):
            raise ValueError("motor_units and motor_units_source go together (every value cites its source)")
        if (self.twitch_force_range is None) != (self.twitch_force_range_source is None):
            raise ValueError(
                "twitch_force_range and twitch_force_range_source go together (every value cites its source)"
            )
        return self


class _Segment(_Strict):
    length_m: float = Field(gt=0, le=2)
    mass_kg: float = Field(gt=0, le=200)
    com_from_proximal_m: float = Field(ge=0)
    inertia_kg_m2: float = Field(gt=0)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _com_inside(self) -> _Segment:
        if self.com_from_proximal_m > self.length_m:
            raise ValueError("com_from_proximal_m must lie within the segment (<= length_m)")
        return self


class _JointRange(_Strict):
    min_deg: float = Field(ge=-180, le=180)
    max_deg: float = Field(ge=-180, le=180)
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> _JointRange:
        if self.min_deg >= self.max_deg:
            raise ValueError("min_deg must be below max_deg")
        return self


class _Body(_Strict):
    mass_kg: float = Field(gt=0, le=300)
    segments: dict[Literal["trunk", "thigh", "shank", "foot"], _Segment]
    ankle_from_heel_m: float = Field(ge=0)
    ankle_height_m: float = Field(gt=0, le=0.3)
    joints: dict[Literal["hip", "knee", "ankle"], _JointRange]
    soft_limit_stiffness_nm_per_deg: float = Field(gt=0)
    soft_limit_max_relaxation_deg_per_s: float = Field(gt=0)

    @model_validator(mode="after")
    def _complete(self) -> _Body:
        missing = [s for s in SEGMENT_NAMES if s not in self.segments]
        missing += [j for j in JOINT_NAMES if j not in self.joints]
        if missing:
            raise ValueError(f"missing entries: {missing}")
        if self.ankle_from_heel_m >= self.segments["foot"].length_m:
            raise ValueError("ankle_from_heel_m must be shorter than the foot")
        return self


class _Roles(_Strict):
    agonists: list[str]
    synergists: list[str]
    antagonists: list[str]


class _ModelFile(_Strict):
    name: str
    version: int = Field(ge=1)
    sources: dict[str, str]
    body: _Body
    muscles: dict[str, _Muscle]
    roles: dict[str, _Roles]

    @model_validator(mode="after")
    def _consistent(self) -> _ModelFile:
        problems: list[str] = []
        if set(self.muscles) != set(MUSCLE_NAMES):
            problems.append(f"muscles must be exactly {list(MUSCLE_NAMES)}, got {sorted(self.muscles)}")
        known = set(self.sources)
        for name, m in self.muscles.items():
            keys = (
                "source",
                "f_max_source",
                "l_opt_source",
                "slow_twitch_source",
                "fv_curvature_source",
                "motor_units_source",
                "twitch_force_range_source",
            )
            for key in (*keys, "geometry_source"):
                ref = getattr(m, key)
                if ref is not None and ref not in known:
                    problems.append(f"muscles.{name}.{key}: unknown source {ref!r} (known: {sorted(known)})")
        for name, s in self.body.segments.items():
            if s.source not in known:
                problems.append(f"body.segments.{name}.source: unknown source {s.source!r}")
        actions = {a for pair in JOINT_ACTIONS.values() for a in pair}
        if set(self.roles) != actions:
            problems.append(f"roles must name exactly {sorted(actions)}")
        for action, r in self.roles.items():
            for group in ("agonists", "synergists", "antagonists"):
                for m in getattr(r, group):
                    if m not in self.muscles:
                        problems.append(f"roles.{action}.{group}: unknown muscle {m!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


@dataclass(frozen=True)
class MuscleParams:
    """Per-muscle constants, arrays ordered as `names`."""

    names: tuple[str, ...]
    f_max: np.ndarray  # N
    v_max: np.ndarray  # l_opt / s
    l_opt: np.ndarray  # m
    l_slack: np.ndarray  # m
    slow_twitch_fraction: np.ndarray  # 0..1, by cross-sectional area
    fv_k: np.ndarray  # force-velocity shape factor K = 1 / (Hill's a/F0)
    sources: dict[str, str] = field(default_factory=dict)
    # units in each muscle's motor-unit pool (int); None: MOTOR_UNITS_DEFAULT for every muscle
    motor_unit_count: np.ndarray | None = None
    # largest over smallest twitch force in each pool; None: TWITCH_FORCE_RANGE_DEFAULT for every muscle
    twitch_force_range: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.motor_unit_count is None:
            object.__setattr__(self, "motor_unit_count", np.full(len(self.names), MOTOR_UNITS_DEFAULT, dtype=int))
        if self.twitch_force_range is None:
            object.__setattr__(self, "twitch_force_range", np.full(len(self.names), TWITCH_FORCE_RANGE_DEFAULT))

    @property
    def n(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class GeometryParams:
    """One entry per (muscle, joint) pair: 12 pairs for the nine muscles (three are biarticular)."""

    muscle_index: np.ndarray  # int, which muscle
    joint_index: np.ndarray  # int, which joint (order of JOINT_NAMES)
    sign: np.ndarray  # +1 / -1, torque direction in simulator coordinates
    r_max: np.ndarray  # m
    kappa: np.ndarray  # 1 (Geyer), Song & Geyer scale, or CONSTANT_ARM_KAPPA
    phi_max: np.ndarray  # rad
    phi_ref: np.ndarray  # rad
    rho: np.ndarray  # dimensionless
    phi_offset: np.ndarray  # rad, phi = phi_offset - q


@dataclass(frozen=True)
class Segment:
    length: float  # m
    mass: float  # kg
    com_from_proximal: float  # m
    inertia: float  # kg m^2 about the CoM, sagittal axis


@dataclass(frozen=True)
class BodyParams:
    mass: float  # kg, whole body
    segments: dict[str, Segment]
    ankle_from_heel: float  # m
    ankle_height: float  # m, ankle joint above the sole
    joint_min: np.ndarray  # rad, order of JOINT_NAMES
    joint_max: np.ndarray  # rad
    soft_limit_stiffness: float  # N m / rad
    soft_limit_max_relaxation: float  # rad/s


@dataclass(frozen=True)
class LegModel:
    name: str
    version: int
    muscles: MuscleParams
    geometry: GeometryParams
    body: BodyParams
    roles: dict[str, dict[str, tuple[str, ...]]]
    sources: dict[str, str]

    def muscle_index(self, name: str) -> int:
        try:
            return self.muscles.names.index(name)
        except ValueError:
            raise KeyError(f"unknown muscle {name!r}; known: {list(self.muscles.names)}") from None


def _format_errors(err: ValidationError, origin: str) -> str:
    lines = [f"invalid model file {origin}:"]
    for e in err.errors():
        path = ".".join(str(p) for p in e["loc"]) or "<root>"
        lines.append(f"  {path}: {e['msg']}")
    return "\n".join(lines)


def _kappa(j: _JointAttachment) -> float:
    if j.phi_max_deg is None:
        return CONSTANT_ARM_KAPPA
    if j.r_min_m is None or j.phi_min_deg is None:
        return 1.0
    # Song & Geyer 2015: r falls from r_max at phi_max to r_min at phi_min.
    return math.acos(j.r_min_m / j.r_max_m) / abs(math.radians(j.phi_min_deg - j.phi_max_deg))


def model_from_dict(data: object, origin: str = "<dict>") -> LegModel:
    """Validate a parsed model file and build the frozen `LegModel`."""
    try:
        spec = _ModelFile.model_validate(data)
    except ValidationError as err:
        raise ModelFileError(_format_errors(err, origin)) from None

    ms = [spec.muscles[n] for n in MUSCLE_NAMES]
    muscles = MuscleParams(
        names=MUSCLE_NAMES,
        f_max=np.array([m.f_max_n for m in ms]),
        v_max=np.array([m.v_max_lopt_per_s for m in ms]),
        l_opt=np.array([m.l_opt_m for m in ms]),
        l_slack=np.array([m.l_slack_m for m in ms]),
        slow_twitch_fraction=np.array([m.slow_twitch_fraction for m in ms]),
        fv_k=np.array([GEYER_HERR_FV_K if m.fv_curvature is None else 1.0 / m.fv_curvature for m in ms]),
        sources={n: spec.muscles[n].source for n in MUSCLE_NAMES},
        motor_unit_count=np.array([m.motor_units or MOTOR_UNITS_DEFAULT for m in ms], dtype=int),
        twitch_force_range=np.array([m.twitch_force_range or TWITCH_FORCE_RANGE_DEFAULT for m in ms]),
    )
    pairs = [
        (i, JOINT_NAMES.index(jn), jn, att)
        for i, m in enumerate(ms)
        for jn, att in sorted(m.joints.items(), key=lambda kv: JOINT_NAMES.index(kv[0]))
    ]
    geometry = GeometryParams(
        muscle_index=np.array([p[0] for p in pairs], dtype=np.intp),
        joint_index=np.array([p[1] for p in pairs], dtype=np.intp),
        sign=np.array([float(p[3].sign) for p in pairs]),
        r_max=np.array([p[3].r_max_m for p in pairs]),
        kappa=np.array([_kappa(p[3]) for p in pairs]),
        phi_max=np.radians([p[3].phi_max_deg or 0.0 for p in pairs]),
        phi_ref=np.radians([p[3].phi_ref_deg for p in pairs]),
        rho=np.array([p[3].rho for p in pairs]),
        phi_offset=np.array([PHI_OFFSET_RAD[p[2]] for p in pairs]),
    )
    b = spec.body
    body = BodyParams(
        mass=b.mass_kg,
        segments={
            n: Segment(s.length_m, s.mass_kg, s.com_from_proximal_m, s.inertia_kg_m2) for n, s in b.segments.items()
        },
        ankle_from_heel=b.ankle_from_heel_m,
        ankle_height=b.ankle_height_m,
        joint_min=np.radians([b.joints[j].min_deg for j in JOINT_NAMES]),
        joint_max=np.radians([b.joints[j].max_deg for j in JOINT_NAMES]),
        soft_limit_stiffness=b.soft_limit_stiffness_nm_per_deg * 180.0 / math.pi,
        soft_limit_max_relaxation=math.radians(b.soft_limit_max_relaxation_deg_per_s),
    )
    roles = {
        action: {
            "agonists": tuple(r.agonists),
            "synergists": tuple(r.synergists),
            "antagonists": tuple(r.antagonists),
        }
        for action, r in spec.roles.items()
    }
    return LegModel(spec.name, spec.version, muscles, geometry, body, roles, dict(spec.sources))


def load_model(path: str | Path | None = None) -> LegModel:
    """Load and validate a model file; `None` loads the packaged default (leg9)."""
    if path is None:
        text = resources.files("neuroleg.envs").joinpath(f"models/{DEFAULT_MODEL}.yaml").read_text()
        origin = f"{DEFAULT_MODEL}.yaml (packaged)"
    else:
        p = Path(path)
        if not p.is_file():
            raise ModelFileError(f"model file not found: {p}")
        text, origin = p.read_text(), str(p)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ModelFileError(f"model file {origin} is not valid YAML: {err}") from None
    return model_from_dict(data, origin)
