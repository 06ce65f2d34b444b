"""Metabolic energy of muscles: Umberger 2003/2010 and Bhargava 2004, plus effort proxies.

The slow/fast (type I / type II) mix is the one the motor-unit pool actually recruited
(`Recruitment.slow_force`, `fast_force`), not a fixed fibre-type fraction.

Rates are in W (per muscle) unless the name says W/kg. Fiber velocity is negative when shortening.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .model import MuscleParams

if TYPE_CHECKING:  # motor_units imports this module
    from .motor_units import Recruitment
    from .muscle import MuscleOutput

# Muscle mass m = F_max / sigma * density * l_opt.
SPECIFIC_TENSION_PA = 0.25e6  # Umberger et al. 2003
MUSCLE_DENSITY_KG_M3 = 1059.7  # Mendez & Keys 1960
BASAL_RATE_W_PER_KG = 1.2  # whole-body basal rate, Umberger 2003 (per kg body mass)
# 20.1 kJ per litre O2 (= J per mL) at a mixed-fuel RER; range ~19.6-21.1 (Brockway 1987).
OXYGEN_ENERGY_J_PER_ML = 20.1

# --- Umberger, Gerritsen & Martin 2003; Umberger 2010 (Uchida 2016 updates) ---
UMB_AEROBIC_SCALE = 1.5  # S, aerobic conditions
UMB_AM_FAST_W_PER_KG = 128.0  # activation+maintenance heat, fast-twitch term
UMB_AM_BASE_W_PER_KG = 25.0
UMB_AM_EXPONENT = 0.6
UMB_AM_LONG_BASE = 0.4  # l~ > 1: scale 0.4 + 0.6 F_iso
UMB_AM_LONG_SLOPE = 0.6
UMB_SHORT_FAST_COEF = 153.0  # alpha_FT = 153 / v_max  (W/kg per l_opt/s)
UMB_SHORT_SLOW_COEF = 100.0  # alpha_ST = 100 / v_max_ST
UMB_SLOW_VMAX_RATIO = 2.5  # v_max_ST = v_max / 2.5
UMB_SLOW_HEAT_CAP_W_PER_KG = 100.0  # slow-twitch shortening heat cap
UMB_LENGTHEN_RATIO_2003 = 4.0  # alpha_L = 4 alpha_ST (2003)
UMB_LENGTHEN_RATIO_2010 = 0.3  # alpha_L = 0.3 alpha_ST (2010)
UMB_MIN_HEAT_W_PER_KG = 1.0  # total heat floor per muscle

# --- Bhargava, Pandy & Anderson 2004 (W/kg) ---
BHA_ACT_SLOW = 40.0
BHA_ACT_FAST = 133.0
BHA_MAINT_SLOW = 74.0
BHA_MAINT_FAST = 111.0
BHA_SHORTENING_COEF = 0.25  # shortening heat -0.25 F_CE v_CE
# Maintenance length dependence g(l~): piecewise linear through these points.
BHA_MAINT_L = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
BHA_MAINT_G = np.array([0.5, 0.5, 1.0, 0.0, 0.0])


class MetabolicModel(enum.Enum):
    UMBERGER2010 = "umberger2010"
    UMBERGER2003 = "umberger2003"
    BHARGAVA2004 = "bhargava2004"

    @classmethod
    def parse(cls, value: str | MetabolicModel) -> MetabolicModel:
        if isinstance(value, MetabolicModel):
            return value
        try:
            return cls(value)
        except ValueError:
            allowed = [m.value for m in cls]
            raise ValueError(f"metabolic_model must be one of {allowed}, got {value!r}") from None


class MetabolicRate(NamedTuple):
    """Per-muscle rates in W. total = activation_maintenance + shortening + work (after floors)."""

    activation_maintenance: np.ndarray
    shortening: np.ndarray  # shortening/lengthening heat
    work: np.ndarray  # mechanical power of the contractile element, -F_CE v_CE
    total: np.ndarray


def muscle_mass(params: MuscleParams) -> np.ndarray:
    """kg per muscle (Umberger 2003: PCSA from F_max and specific tension)."""
    return params.f_max / SPECIFIC_TENSION_PA * MUSCLE_DENSITY_KG_M3 * params.l_opt


def basal_rate(body_mass_kg: float) -> float:
    """Whole-body basal metabolic rate in W."""
    return BASAL_RATE_W_PER_KG * body_mass_kg


def energy_to_oxygen_ml(energy_j: float | np.ndarray) -> float | np.ndarray:
    return energy_j / OXYGEN_ENERGY_J_PER_ML


def effort(activation: np.ndarray, exponent: int) -> float:
    """Effort proxy sum(a^exponent) used in predictive simulation (exponent 2 or 3)."""
    return float(np.sum(activation**exponent))


@dataclass(frozen=True)
class Metabolics:
    """Metabolic rate of every muscle for one model."""

    params: MuscleParams
    model: MetabolicModel = MetabolicModel.UMBERGER2010

    def __post_init__(self) -> None:
        p = self.params
        mass = muscle_mass(p)
        object.__setattr__(self, "mass", mass)
        object.__setattr__(self, "_alpha_ft", UMB_SHORT_FAST_COEF / p.v_max)
        alpha_st = UMB_SHORT_SLOW_COEF / (p.v_max / UMB_SLOW_VMAX_RATIO)
        object.__setattr__(self, "_alpha_st", alpha_st)
        ratio = UMB_LENGTHEN_RATIO_2003 if self.model is MetabolicModel.UMBERGER2003 else UMB_LENGTHEN_RATIO_2010
        object.__setattr__(self, "_alpha_l", ratio * alpha_st)
        object.__setattr__(self, "_min_heat", UMB_MIN_HEAT_W_PER_KG * mass)

    def rate(
        self,
        excitation: np.ndarray,
        activation: np.ndarray,
        slow_force: np.ndarray,
        fast_force: np.ndarray,
        fiber_length_norm: np.ndarray,
        fiber_velocity: np.ndarray,
        active_force: np.ndarray,
        force_length: np.ndarray,
    ) -> MetabolicRate:
        """Rates (W) for the current state. `slow_force`/`fast_force` come from the recruitment."""
        work = -active_force * fiber_velocity
        if self.model is MetabolicModel.BHARGAVA2004:
            return self._bhargava(slow_force, fast_force, fiber_length_norm, fiber_velocity, active_force, work)
        return self._umberger(
            excitation, activation, slow_force, fast_force, fiber_length_norm, fiber_velocity, force_length, work
        )

    def rate_for(self, recruitment: Recruitment, activation: np.ndarray, out: MuscleOutput) -> MetabolicRate:
        """`rate` from what the motor-unit pool and the muscle step return."""
        return self.rate(
            recruitment.force_fraction,
            activation,
            recruitment.slow_force,
            recruitment.fast_force,
            out.fiber_length_norm,
            out.fiber_velocity,
            out.active_force,
            out.force_length,
        )

    def _umberger(
        self,
        u: np.ndarray,
        a: np.ndarray,
        slow: np.ndarray,
        fast: np.ndarray,
        ln: np.ndarray,
        v: np.ndarray,
        f_iso: np.ndarray,
        work: np.ndarray,
    ) -> MetabolicRate:
        p = self.params
        mass = self.mass  # type: ignore[attr-defined]
        recruited = slow + fast
        r = np.divide(slow, recruited, out=p.slow_twitch_fraction.copy(), where=recruited > 0)
        big_a = np.where(u > a, u, 0.5 * (u + a))
        long = ln > 1.0
        am = UMB_AEROBIC_SCALE * big_a**UMB_AM_EXPONENT * (UMB_AM_FAST_W_PER_KG * (1.0 - r) + UMB_AM_BASE_W_PER_KG)
        am = np.where(long, am * (UMB_AM_LONG_BASE + UMB_AM_LONG_SLOPE * f_iso), am)
        v_n = v / p.l_opt  # l_opt / s
        slow_heat = np.minimum(-self._alpha_st * v_n, UMB_SLOW_HEAT_CAP_W_PER_KG) * r  # type: ignore[attr-defined]
        short = UMB_AEROBIC_SCALE * big_a**2 * (slow_heat - self._alpha_ft * v_n * (1.0 - r))  # type: ignore[attr-defined]
        lengthen = UMB_AEROBIC_SCALE * big_a * self._alpha_l * v_n  # type: ignore[attr-defined]
        sl = np.where(v_n <= 0.0, short, lengthen)
        sl = np.where(long, sl * f_iso, sl)
        am_w, sl_w = am * mass, sl * mass
        # Total heat floor (per muscle, 1 W/kg), added to the activation-maintenance term.
        am_w = am_w + np.maximum(self._min_heat - (am_w + sl_w), 0.0)  # type: ignore[attr-defined]
        # Umberger 2010 no longer subtracts negative work (it is not returned as chemical energy).
        if self.model is MetabolicModel.UMBERGER2010:
            work = np.maximum(work, 0.0)
        total = np.maximum(am_w + sl_w + work, 0.0)
        return MetabolicRate(am_w, sl_w, work, total)

    def _bhargava(
        self, slow: np.ndarray, fast: np.ndarray, ln: np.ndarray, v: np.ndarray, f_ce: np.ndarray, work: np.ndarray
    ) -> MetabolicRate:
        mass = self.mass  # type: ignore[attr-defined]
        activation = mass * (BHA_ACT_SLOW * slow + BHA_ACT_FAST * fast)
        g = np.interp(ln, BHA_MAINT_L, BHA_MAINT_G)
        maintenance = mass * g * (BHA_MAINT_SLOW * slow + BHA_MAINT_FAST * fast)
        short = np.where(v < 0.0, -BHA_SHORTENING_COEF * f_ce * v, 0.0)
        total = np.maximum(activation + maintenance + short + work, 0.0)
        return MetabolicRate(activation + maintenance, short, work, total)


def bhargava_slow_fast(drive: np.ndarray, slow_twitch_fraction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bhargava 2004's recruitment estimate: (r sin(pi u/2), (1 - r)(1 - cos(pi u/2)))."""
    return (
        slow_twitch_fraction * np.sin(0.5 * math.pi * drive),
        (1.0 - slow_twitch_fraction) * (1.0 - np.cos(0.5 * math.pi * drive)),
    )
