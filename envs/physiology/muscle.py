"""Hill-type muscle-tendon units, vectorised over muscles.

Curves: Geyer & Herr 2010 (IEEE TNSRE 18:263), the family used by their reflex walking model:
active force-length, force-velocity (concentric and eccentric), buckling element, quadratic
series-elastic tendon (F_max at 4 % strain). The parallel elastic element is Thelen 2003's
(exponential, F_max at 60 % strain) since env v3: Geyer's quadratic one (F_max at 56 % strain) is
a soft limit for walking, and stretched hamstrings (1.4 l_opt with the hip flexed 90 deg) held
half their F_max on it, 2.8 times Thelen's, cancelling most seated knee extension.
Activation: first order with separate activation / deactivation time constants, Thelen 2003
(J Biomech Eng 125:70): 15 ms / 50 ms.

Sign convention: fiber velocity negative when shortening; l~ = l_CE / l_opt; v~ = v_CE / (v_max l_opt).

The elastic tendon keeps the fiber length as state. dl_CE/dt is very stiff at low activation
(the fiber has almost no force to balance the tendon), so each step is backward Euler solved to
convergence: the end-of-step fiber length at which tendon force equals contractile (at the step's
mean fiber velocity) plus passive force, by safeguarded Newton. A converged solve makes the two
sides agree, so the transmitted force is consistent with the stored elastic energy: a single
linearised step left them apart, and reading either side then created or destroyed work (passive
units cycled +-2 cm at 1 Hz did +47 J per cycle read on the fiber side, -30 J on the tendon side,
against -7.2 J converged at 50 us; the converged solve gives -8.0 J at 1 ms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .model import GEYER_HERR_FV_K, MuscleParams
from .motor_units import SYNC_TAU_GAIN

# --- Geyer & Herr 2010 ---
FL_WIDTH = 0.56  # width of the force-length curve, l_opt
FL_RESIDUAL = 0.05  # f_L at l~ = 1 +- width
FL_EXP = math.log(FL_RESIDUAL)
FV_K = GEYER_HERR_FV_K  # force-velocity shape factor, 1 / (Hill's a/F0); a model file may set it per muscle
FV_N = 1.5  # eccentric force enhancement, F_max
FV_ECC_SLOPE = 7.56  # eccentric curvature constant
TENDON_REF_STRAIN = 0.04  # tendon strain at F_max
ACTIVATION_MIN = 0.01  # preactivation floor; also gives a resting fiber some resistance to velocity
# --- Thelen 2003 ---
TAU_ACTIVATION_S = 0.015
TAU_DEACTIVATION_S = 0.050
PE_STRAIN_AT_FMAX = 0.6  # passive fiber strain at F_max (young adults)
PE_SHAPE = 5.0  # exponential shape factor k_PE
PE_NORM = math.expm1(PE_SHAPE)
# Numerical guard (not physiology): the fiber-length range the state may take (l_opt), beyond which
# Geyer's curves are meaningless.
L_CE_MIN, L_CE_MAX = 0.2, 2.0
V_ECC_LIMIT = 1e4  # v~; only guards against overflow
# Fiber solve: stop when the force imbalance is below this fraction of F_max (0.1 mN for the
# strongest muscle) or the bracket is narrower than FIBER_TOL_M; the iteration cap is a guard
# (under random drive in every task the slowest of the nine muscles converged within 8 evaluations,
# 6.5 on average; bisection of the 1.8 l_opt range alone would need ~40).
FIBER_TOL_FORCE = 1e-8
FIBER_TOL_M = 1e-12
FIBER_MAX_ITER = 60


def force_length(l_norm: np.ndarray) -> np.ndarray:
    """Active force-length f_L(l~), 1 at l~ = 1 (Geyer & Herr 2010)."""
    return np.exp(FL_EXP * np.abs((l_norm - 1.0) / FL_WIDTH) ** 3)


def ecc_yield_slope(k: np.ndarray | float) -> np.ndarray | float:
    """Slope dv~/df_V of Geyer's eccentric branch at v~ = 1 for shape factor k, (N - 1)(7.56 k + 1) /
    (N - 1)^2: the branch continues with it beyond v~ = 1."""
    return (FV_ECC_SLOPE * k + 1.0) / (FV_N - 1.0)


def force_velocity(v_norm: np.ndarray, k: np.ndarray | float = FV_K) -> np.ndarray:
    """f_V(v~), v~ in v_max l_opt units, negative shortening (Geyer & Herr 2010), with shape factor
    k (per muscle, or one for all): shortening is Hill's hyperbola of curvature a/F0 = 1 / k.

    Past v~ = 1 the eccentric branch continues linearly with its slope at v~ = 1 (C1), so that a
    fiber loaded beyond N yields instead of loading the tendon without limit.
    """
    v = np.clip(v_norm, -1.0, V_ECC_LIMIT)
    short = (1.0 + v) / (1.0 - k * v)
    vc = np.minimum(v, 1.0)
    lengthen = FV_N + (FV_N - 1.0) * (vc - 1.0) / (FV_ECC_SLOPE * k * vc + 1.0) + (v - vc) / ecc_yield_slope(k)
    return np.where(v < 0.0, short, lengthen)


def force_velocity_slope(v_norm: np.ndarray, k: np.ndarray | float = FV_K) -> np.ndarray:
    """d f_V / d v~ of `force_velocity` (zero where it is clipped)."""
    v = np.clip(v_norm, -1.0, V_ECC_LIMIT)
    d = FV_ECC_SLOPE * k
    short = (k + 1.0) / (1.0 - k * v) ** 2
    within = (FV_N - 1.0) * (d + 1.0) / (d * np.minimum(v, 1.0) + 1.0) ** 2
    lengthen = np.where(v < 1.0, within, 1.0 / ecc_yield_slope(k))
    inside = (v_norm > -1.0) & (v_norm < V_ECC_LIMIT)
    return np.where(inside, np.where(v < 0.0, short, lengthen), 0.0)


def parallel_elastic(l_norm: np.ndarray) -> np.ndarray:
    """Passive force / F_max, zero below l_opt, F_max at 60 % strain (Thelen 2003)."""
    return np.expm1(PE_SHAPE * np.maximum(l_norm - 1.0, 0.0) / PE_STRAIN_AT_FMAX) / PE_NORM


def parallel_elastic_slope(l_norm: np.ndarray) -> np.ndarray:
    """d parallel_elastic / d l~ (the fiber solve's Newton step)."""
    grow = np.exp(PE_SHAPE * np.maximum(l_norm - 1.0, 0.0) / PE_STRAIN_AT_FMAX)
    return np.where(l_norm > 1.0, PE_SHAPE / PE_STRAIN_AT_FMAX * grow / PE_NORM, 0.0)


def buckling(l_norm: np.ndarray) -> np.ndarray:
    """Force / F_max resisting fiber collapse below l_opt (1 - w) (Geyer & Herr 2010)."""
    x = np.maximum((1.0 - FL_WIDTH) - l_norm, 0.0) / (FL_WIDTH / 2.0)
    return x * x


def tendon_force(strain: np.ndarray) -> np.ndarray:
    """Tendon force / F_max; F_max at 4 % strain, slack below 0 (Geyer & Herr 2010)."""
    x = np.maximum(strain, 0.0) / TENDON_REF_STRAIN
    return x * x


def mtu_force(f_ce: np.ndarray, l_norm: np.ndarray, f_max: np.ndarray) -> np.ndarray:
    """Force the musculotendon unit transmits (N): contractile plus passive elements, never
    negative, since a tendon cannot push (when the buckling element outweighs the fiber, the MTU
    is slack)."""
    return np.maximum(f_ce + (parallel_elastic(l_norm) - buckling(l_norm)) * f_max, 0.0)


class MuscleState(NamedTuple):
    activation: np.ndarray  # 0..1
    fiber_length: np.ndarray  # m


class MuscleOutput(NamedTuple):
    force: np.ndarray  # musculotendon (tendon) force, N
    active_force: np.ndarray  # contractile-element force, N
    fiber_velocity: np.ndarray  # m/s, negative shortening
    fiber_length_norm: np.ndarray  # l~
    force_length: np.ndarray  # f_L(l~), the isometric force fraction


@dataclass(frozen=True)
class MuscleModel:
    """Hill-type muscles stepping at a fixed physics time step `dt` (s)."""

    params: MuscleParams
    dt: float
    elastic_tendon: bool = True
    synchronization: np.ndarray | None = None  # per muscle 0..1; see motor_units.SYNC_TAU_GAIN

    def __post_init__(self) -> None:
        if not (0.0 < self.dt <= 0.005):
            raise ValueError(f"dt must be in (0, 0.005] s for stable muscle dynamics, got {self.dt}")
        sync = np.zeros(self.params.n) if self.synchronization is None else self.synchronization
        tau_act = TAU_ACTIVATION_S / (1.0 + SYNC_TAU_GAIN * sync)
        object.__setattr__(self, "_k_act", 1.0 - np.exp(-self.dt / tau_act))
        object.__setattr__(self, "_k_deact", 1.0 - math.exp(-self.dt / TAU_DEACTIVATION_S))
        p = self.params
        object.__setattr__(self, "_v_scale", p.v_max * p.l_opt)  # m/s at v~ = 1

    # -- activation -------------------------------------------------------------------------
    def activate(self, activation: np.ndarray, excitation: np.ndarray) -> np.ndarray:
        """One dt of first-order activation dynamics (exact for a constant excitation)."""
        k = np.where(excitation > activation, self._k_act, self._k_deact)  # type: ignore[attr-defined]
        return np.maximum(activation + (excitation - activation) * k, ACTIVATION_MIN)

    # -- initial state ----------------------------------------------------------------------
    def equilibrium_state(self, activation: np.ndarray, l_mtu: np.ndarray) -> MuscleState:
        """Fiber lengths at which tendon and fiber forces balance isometrically (bisection)."""
        a = np.maximum(np.asarray(activation, dtype=float), ACTIVATION_MIN)
        if not self.elastic_tendon:
            return MuscleState(a, l_mtu - self.params.l_slack)
        p = self.params
        lo = np.full(p.n, L_CE_MIN) * p.l_opt
        hi = np.minimum(l_mtu - p.l_slack * (1 - 1e-9), L_CE_MAX * p.l_opt)
        hi = np.maximum(hi, lo)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            ln = mid / p.l_opt
            residual = tendon_force((l_mtu - mid) / p.l_slack - 1.0) - (
                a * force_length(ln) + parallel_elastic(ln) - buckling(ln)
            )
            # residual > 0: tendon pulls harder than the fiber holds -> fiber must be longer.
            lo = np.where(residual > 0, mid, lo)
            hi = np.where(residual > 0, hi, mid)
        return MuscleState(a, 0.5 * (lo + hi))

    # -- fiber length at the end of a step ----------------------------------------------------
    def fiber_residual(
        self, l_new: np.ndarray, l_ce: np.ndarray, l_mtu_end: np.ndarray, a: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Backward-Euler force imbalance (tendon - fiber, / F_max) at end length l_new, and its
        derivative with respect to l_new (1/m); decreasing in l_new wherever f_V is unclipped."""
        p = self.params
        ln = l_new / p.l_opt
        dl = ln - 1.0
        strain = (l_mtu_end - l_new) / p.l_slack - 1.0
        v = (l_new - l_ce) / (self.dt * self._v_scale)  # type: ignore[attr-defined]
        fl = force_length(ln)
        fv = force_velocity(v, p.fv_k)
        r = tendon_force(strain) - a * fl * fv - parallel_elastic(ln) + buckling(ln)
        k_se = 2.0 * np.maximum(strain, 0.0) / TENDON_REF_STRAIN**2 / p.l_slack
        dfl = fl * FL_EXP * 3.0 * np.abs(dl) * dl / FL_WIDTH**3 / p.l_opt
        dfv = force_velocity_slope(v, p.fv_k) / (self.dt * self._v_scale)  # type: ignore[attr-defined]
        k_pe = parallel_elastic_slope(ln) / p.l_opt
        k_be = 2.0 * np.maximum((1.0 - FL_WIDTH) - ln, 0.0) / (FL_WIDTH / 2.0) ** 2 / p.l_opt
        return r, -k_se - a * (dfl * fv + fl * dfv) - k_pe - k_be

    def _solve_fiber(self, l_ce: np.ndarray, l_mtu_end: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Root of `fiber_residual` by Newton kept inside a shrinking bracket (bisecting when a
        Newton step would leave it), within [L_CE_MIN, L_CE_MAX] l_opt."""
        p = self.params
        lo = L_CE_MIN * p.l_opt
        hi = L_CE_MAX * p.l_opt
        x = np.clip(l_ce, lo, hi)
        done = np.zeros(p.n, dtype=bool)
        for _ in range(FIBER_MAX_ITER):
            r, dr = self.fiber_residual(x, l_ce, l_mtu_end, a)
            done |= np.abs(r) < FIBER_TOL_FORCE
            if done.all():
                break
            # r > 0: the tendon pulls harder than the fiber resists -> the root is longer.
            lo = np.where(r > 0.0, x, lo)
            hi = np.where(r > 0.0, hi, x)
            done |= hi - lo < FIBER_TOL_M
            with np.errstate(divide="ignore", invalid="ignore"):
                newton = x - r / dr
            ok = (dr < 0.0) & (newton > lo) & (newton < hi)
            x = np.where(done, x, np.where(ok, newton, 0.5 * (lo + hi)))
        return x

    # -- one physics step -------------------------------------------------------------------
    def step(
        self, state: MuscleState, excitation: np.ndarray, l_mtu: np.ndarray, v_mtu: np.ndarray
    ) -> tuple[MuscleState, MuscleOutput]:
        """Advance by dt to the MTU length l_mtu + v_mtu dt; the force is the one at the end of
        the step, which the skeleton then feels over the next step."""
        p = self.params
        a = self.activate(state.activation, excitation)
        if not self.elastic_tendon:
            l_ce = l_mtu - p.l_slack
            ln = l_ce / p.l_opt
            fl = force_length(ln)
            f_ce = a * fl * force_velocity(v_mtu / self._v_scale, p.fv_k) * p.f_max  # type: ignore[attr-defined]
            force = mtu_force(f_ce, ln, p.f_max)
            return MuscleState(a, l_ce), MuscleOutput(force, f_ce, v_mtu, ln, fl)

        l_new = self._solve_fiber(state.fiber_length, l_mtu + v_mtu * self.dt, a)
        v_ce = (l_new - state.fiber_length) / self.dt
        ln = l_new / p.l_opt
        fl = force_length(ln)
        f_ce = a * fl * force_velocity(v_ce / self._v_scale, p.fv_k) * p.f_max  # type: ignore[attr-defined]
        # Converged, the tendon and fiber sides agree; the tendon's is the one that cannot push.
        force = tendon_force((l_mtu + v_mtu * self.dt - l_new) / p.l_slack - 1.0) * p.f_max
        return MuscleState(a, l_new), MuscleOutput(force, f_ce, v_ce, ln, fl)
