"""The physics-substep physiology, fused and compiled with numba.

The same equations as the numpy reference in `physiology/` (geometry, Hill muscles, joint-limit
torques, metabolics), written as one loop over nine muscles so that a 1 kHz substep costs a few
microseconds instead of ~100 (numpy spends ~0.5 us per call on nine-element arrays). A test checks
it against the reference on random states. `LegEnv(compiled=False)` runs the reference instead.

Arrays are packed into a few matrices so that a call has few arguments (numba's dispatch cost grows
with their number).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from .physiology import metabolics as met
from .physiology import muscle as mus
from .physiology.baking import fingerprint, require_baked
from .physiology.geometry import ARM_ANGLE_LIMIT_RAD, MuscleGeometry
from .physiology.metabolics import MetabolicModel, Metabolics
from .physiology.muscle import MuscleModel

# Rows of the muscle-parameter matrix.
M_FMAX, M_LOPT, M_LSLACK, M_KACT, M_VSCALE, M_MASS, M_AST, M_AFT, M_AL, M_MINHEAT, M_R, M_LREST, M_FVK = range(13)
N_MUSCLE_ROWS = 13
# Rows of the pair (muscle, joint) geometry matrix.
P_MUSCLE, P_JOINT, P_GAIN, P_KAPPA, P_PHIMAX, P_SREF, P_OFFSET = range(7)
N_PAIR_ROWS = 7
# Scalars.
S_DT, S_KDEACT, S_ELASTIC, S_MODEL, S_SOFT_K, S_SOFT_RELAX, S_LEGS = range(7)
MODEL_CODE = {MetabolicModel.UMBERGER2010: 0, MetabolicModel.UMBERGER2003: 1, MetabolicModel.BHARGAVA2004: 2}
# Rows of the per-muscle output matrix.
O_FORCE, O_FCE, O_VCE, O_LNORM, O_FL = range(5)
# Rows of the accumulator matrix (energy J per muscle, impulse N s) and the effort vector.
A_AM, A_SL, A_WPOS, A_TOTAL, A_IMPULSE = range(5)

_FL_EXP = mus.FL_EXP
_W = mus.FL_WIDTH
_PEK, _PEE, _PEN = mus.PE_SHAPE, mus.PE_STRAIN_AT_FMAX, mus.PE_NORM
_N = mus.FV_N
_ECC = mus.FV_ECC_SLOPE
_VLIM = mus.V_ECC_LIMIT
_REF = mus.TENDON_REF_STRAIN
_AMIN = mus.ACTIVATION_MIN
_LMIN, _LMAX = mus.L_CE_MIN, mus.L_CE_MAX
_TOLF, _TOLM, _MAXIT = mus.FIBER_TOL_FORCE, mus.FIBER_TOL_M, mus.FIBER_MAX_ITER
_ARMLIM = ARM_ANGLE_LIMIT_RAD
_S = met.UMB_AEROBIC_SCALE
_BHA_L = met.BHA_MAINT_L
_BHA_G = met.BHA_MAINT_G
_BHA_AS, _BHA_AF, _BHA_MS, _BHA_MF = met.BHA_ACT_SLOW, met.BHA_ACT_FAST, met.BHA_MAINT_SLOW, met.BHA_MAINT_FAST
_BHA_SH = met.BHA_SHORTENING_COEF
_UMB_AM_FAST, _UMB_AM_BASE, _UMB_AM_EXP = met.UMB_AM_FAST_W_PER_KG, met.UMB_AM_BASE_W_PER_KG, met.UMB_AM_EXPONENT
_UMB_LONG_BASE, _UMB_LONG_SLOPE = met.UMB_AM_LONG_BASE, met.UMB_AM_LONG_SLOPE
_UMB_SLOW_CAP = met.UMB_SLOW_HEAT_CAP_W_PER_KG

# The fingerprint of the constants above, which the kernels bake in (physiology.baking says why).
BAKED_CONSTANTS_SHA256 = "9ee7b243f112a5026f4d7c23a31ae91e82c723ac2c67af0e638207b9fc3e88f5"


def baked_constants_sha256() -> str:
    baked = (
        (_FL_EXP, _W, _PEK, _PEE, _PEN, _N, _ECC, _VLIM, _REF, _AMIN, _LMIN, _LMAX, _TOLF, _TOLM),
        (_MAXIT, _ARMLIM, _S, *_BHA_L, *_BHA_G),
        (_BHA_AS, _BHA_AF, _BHA_MS, _BHA_MF, _BHA_SH, _UMB_AM_FAST, _UMB_AM_BASE, _UMB_AM_EXP),
        (_UMB_LONG_BASE, _UMB_LONG_SLOPE, _UMB_SLOW_CAP),
    )
    return fingerprint(tuple(tuple(float(x) for x in group) for group in baked))


require_baked(baked_constants_sha256(), BAKED_CONSTANTS_SHA256, __file__, "a physiology constant")


@njit(cache=True)
def _force_length(ln: float) -> float:
    x = abs((ln - 1.0) / _W)
    return math.exp(_FL_EXP * x * x * x)


@njit(cache=True)
def _ecc_yield_slope(k: float) -> float:
    return (_ECC * k + 1.0) / (_N - 1.0)


@njit(cache=True)
def _force_velocity(v: float, k: float) -> float:
    v = min(max(v, -1.0), _VLIM)
    if v < 0.0:
        return (1.0 + v) / (1.0 - k * v)
    vc = min(v, 1.0)
    return _N + (_N - 1.0) * (vc - 1.0) / (_ECC * k * vc + 1.0) + (v - vc) / _ecc_yield_slope(k)


@njit(cache=True)
def _force_velocity_slope(v: float, k: float) -> float:
    if v <= -1.0 or v >= _VLIM:
        return 0.0
    if v < 0.0:
        d = 1.0 - k * v
        return (k + 1.0) / (d * d)
    ecc = _ECC * k
    if v < 1.0:
        d = ecc * v + 1.0
        return (_N - 1.0) * (ecc + 1.0) / (d * d)
    return 1.0 / _ecc_yield_slope(k)


@njit(cache=True)
def _solve_fiber(
    l_ce: float, l_mtu_end: float, a: float, l_opt: float, l_slack: float, dt_vs: float, k: float
) -> float:
    """MuscleModel._solve_fiber for one muscle: backward-Euler fiber length by bracketed Newton."""
    lo = _LMIN * l_opt
    hi = _LMAX * l_opt
    x = min(max(l_ce, lo), hi)
    for _ in range(_MAXIT):
        ln = x / l_opt
        dl = ln - 1.0
        strain = (l_mtu_end - x) / l_slack - 1.0
        v = (x - l_ce) / dt_vs
        fl = _force_length(ln)
        fv = _force_velocity(v, k)
        sp = max(strain, 0.0) / _REF
        r = sp * sp - a * fl * fv - _pe(ln) + _be(ln)
        if abs(r) < _TOLF:
            return x
        if r > 0.0:
            lo = x
        else:
            hi = x
        if hi - lo < _TOLM:
            return x
        k_se = 2.0 * max(strain, 0.0) / (_REF * _REF) / l_slack
        dfl = fl * _FL_EXP * 3.0 * abs(dl) * dl / (_W * _W * _W) / l_opt
        k_pe = _pe_slope(ln) / l_opt
        k_be = 2.0 * max((1.0 - _W) - ln, 0.0) / ((_W / 2.0) * (_W / 2.0)) / l_opt
        dr = -k_se - a * (dfl * fv + fl * _force_velocity_slope(v, k) / dt_vs) - k_pe - k_be
        newton = x - r / dr if dr < 0.0 else lo - 1.0
        x = newton if lo < newton < hi else 0.5 * (lo + hi)
    return x


@njit(cache=True)
def _pe(ln: float) -> float:
    return math.expm1(_PEK * max(ln - 1.0, 0.0) / _PEE) / _PEN


@njit(cache=True)
def _pe_slope(ln: float) -> float:
    if ln <= 1.0:
        return 0.0
    return _PEK / _PEE * math.exp(_PEK * (ln - 1.0) / _PEE) / _PEN


@njit(cache=True)
def _be(ln: float) -> float:
    x = max((1.0 - _W) - ln, 0.0) / (_W / 2.0)
    return x * x


@njit(cache=True)
def _bhargava_g(ln: float) -> float:
    if ln <= _BHA_L[0]:
        return _BHA_G[0]
    for k in range(1, _BHA_L.size):
        if ln <= _BHA_L[k]:
            t = (ln - _BHA_L[k - 1]) / (_BHA_L[k] - _BHA_L[k - 1])
            return _BHA_G[k - 1] + t * (_BHA_G[k] - _BHA_G[k - 1])
    return _BHA_G[-1]


@njit(cache=True)
def substep(
    q: np.ndarray,
    qd: np.ndarray,
    drive: np.ndarray,
    state: np.ndarray,
    mp: np.ndarray,
    pp: np.ndarray,
    sc: np.ndarray,
    joints: np.ndarray,
    out: np.ndarray,
    acc: np.ndarray,
    effort: np.ndarray,
    tau: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """One physics step of physiology. In place: state (activation, fiber length), out, acc, effort, tau.

    drive rows: excitation, slow force, fast force. joints rows: min, max, hard-stop margin, stiffness, damping,
    effective inertia (kg m^2, set every control step).
    """
    n = mp.shape[1]
    npairs = pp.shape[1]
    dt = sc[S_DT]
    l_mtu = mp[M_LREST].copy()
    v_mtu = np.zeros(n)
    arm = np.empty(npairs)
    for p in range(npairs):
        m = int(pp[P_MUSCLE, p])
        j = int(pp[P_JOINT, p])
        kappa = pp[P_KAPPA, p]
        u = kappa * (pp[P_OFFSET, p] - q[j] - pp[P_PHIMAX, p])
        uc = min(max(u, -_ARMLIM), _ARMLIM)
        c = math.cos(uc)
        s = math.sin(uc) + c * (u - uc)
        gain = pp[P_GAIN, p]
        arm[p] = gain * c
        l_mtu[m] += gain / kappa * (s - pp[P_SREF, p])
        v_mtu[m] -= arm[p] * qd[j]
    elastic = sc[S_ELASTIC] > 0.5
    model = int(sc[S_MODEL])
    for i in range(n):
        ex = drive[0, i]
        a = state[0, i]
        k = mp[M_KACT, i] if ex > a else sc[S_KDEACT]
        a = max(a + (ex - a) * k, _AMIN)
        f_max, l_opt, l_slack, v_scale = mp[M_FMAX, i], mp[M_LOPT, i], mp[M_LSLACK, i], mp[M_VSCALE, i]
        l_end = l_mtu[i] + v_mtu[i] * dt
        if not elastic:
            l_new = l_mtu[i] - l_slack
            v_ce = v_mtu[i]
        else:
            l_new = _solve_fiber(state[1, i], l_end, a, l_opt, l_slack, dt * v_scale, mp[M_FVK, i])
            v_ce = (l_new - state[1, i]) / dt
        ln = l_new / l_opt
        fl = _force_length(ln)
        f_ce = a * fl * _force_velocity(v_ce / v_scale, mp[M_FVK, i]) * f_max
        if elastic:
            sp = max((l_end - l_new) / l_slack - 1.0, 0.0) / _REF
            force = sp * sp * f_max
        else:
            # A tendon cannot push: when the buckling element outweighs the fiber the MTU is slack.
            force = max(f_ce + (_pe(ln) - _be(ln)) * f_max, 0.0)
        state[0, i] = a
        state[1, i] = l_new
        out[O_FORCE, i] = force
        out[O_FCE, i] = f_ce
        out[O_VCE, i] = v_ce
        out[O_LNORM, i] = ln
        out[O_FL, i] = fl
        # metabolics
        slow, fast = drive[1, i], drive[2, i]
        mass = mp[M_MASS, i]
        work = -f_ce * v_ce
        if model == 2:
            am_w = mass * (_BHA_AS * slow + _BHA_AF * fast) + mass * _bhargava_g(ln) * (_BHA_MS * slow + _BHA_MF * fast)
            sl_w = -_BHA_SH * f_ce * v_ce if v_ce < 0.0 else 0.0
        else:
            rec = slow + fast
            r = slow / rec if rec > 0.0 else mp[M_R, i]
            big_a = ex if ex > a else 0.5 * (ex + a)
            am = _S * big_a**_UMB_AM_EXP * (_UMB_AM_FAST * (1.0 - r) + _UMB_AM_BASE)
            v_n = v_ce / l_opt
            if v_n <= 0.0:
                slow_heat = min(-mp[M_AST, i] * v_n, _UMB_SLOW_CAP) * r
                sl = _S * big_a * big_a * (slow_heat - mp[M_AFT, i] * v_n * (1.0 - r))
            else:
                sl = _S * big_a * mp[M_AL, i] * v_n
            if ln > 1.0:
                am *= _UMB_LONG_BASE + _UMB_LONG_SLOPE * fl
                sl *= fl
            am_w = am * mass
            sl_w = sl * mass
            am_w += max(mp[M_MINHEAT, i] - (am_w + sl_w), 0.0)
            if model == 0:
                work = max(work, 0.0)
        total = max(am_w + sl_w + work, 0.0)
        acc[A_AM, i] += am_w * dt
        acc[A_SL, i] += sl_w * dt
        acc[A_WPOS, i] += max(work, 0.0) * dt
        acc[A_TOTAL, i] += total * dt
        acc[A_IMPULSE, i] += force * dt
        effort[0] += a * a * dt
        effort[1] += a * a * a * dt
    # joint torques: muscles plus soft and hard joint limits, their damping implicit in the joint
    # velocity for the joint's effective inertia (LegBody.limit_torques, the reference)
    legs = sc[S_LEGS]
    for j in range(q.size):
        excess = max(q[j] - joints[1, j], 0.0) + min(q[j] - joints[0, j], 0.0)
        sgn = 1.0 if excess > 0.0 else (-1.0 if excess < 0.0 else 0.0)
        hard = max(abs(excess) - joints[2, j], 0.0) * sgn
        soft_d = legs * sc[S_SOFT_K] * abs(excess) / sc[S_SOFT_RELAX]
        hard_d = legs * joints[4, j] if hard != 0.0 else 0.0
        implicit = 1.0 / (1.0 + (soft_d + hard_d) * dt / joints[5, j])
        soft = legs * sc[S_SOFT_K] * excess + implicit * soft_d * qd[j]
        if soft * sgn <= 0.0:
            soft = 0.0
        tau[j] = -(soft + legs * joints[3, j] * hard + implicit * hard_d * qd[j])
    for p in range(npairs):
        tau[int(pp[P_JOINT, p])] += arm[p] * out[O_FORCE, int(pp[P_MUSCLE, p])]


@dataclass
class CompiledPhysiology:
    """The packed parameters and work arrays for `substep`, built from the reference objects."""

    mp: np.ndarray
    pp: np.ndarray
    sc: np.ndarray
    joints: np.ndarray

    @classmethod
    def build(
        cls,
        muscles: MuscleModel,
        geometry: MuscleGeometry,
        metabolics: Metabolics,
        joint_min: np.ndarray,
        joint_max: np.ndarray,
        soft_k: float,
        soft_relax: float,
        hard_margin: float,
        hard_k: float,
        hard_d: float,
        legs: int,
    ) -> CompiledPhysiology:
        p = muscles.params
        n = p.n
        mp = np.zeros((N_MUSCLE_ROWS, n))
        mp[M_FMAX], mp[M_LOPT], mp[M_LSLACK] = p.f_max, p.l_opt, p.l_slack
        mp[M_KACT] = muscles._k_act  # type: ignore[attr-defined]
        mp[M_VSCALE] = p.v_max * p.l_opt
        mp[M_MASS] = metabolics.mass  # type: ignore[attr-defined]
        mp[M_AST] = metabolics._alpha_st  # type: ignore[attr-defined]
        mp[M_AFT] = metabolics._alpha_ft  # type: ignore[attr-defined]
        mp[M_AL] = metabolics._alpha_l  # type: ignore[attr-defined]
        mp[M_MINHEAT] = metabolics._min_heat  # type: ignore[attr-defined]
        mp[M_R] = p.slow_twitch_fraction
        mp[M_LREST] = geometry.l_rest
        mp[M_FVK] = p.fv_k
        g = geometry.params
        pp = np.zeros((N_PAIR_ROWS, g.muscle_index.size))
        pp[P_MUSCLE], pp[P_JOINT] = g.muscle_index, g.joint_index
        pp[P_GAIN] = g.sign * g.rho * g.r_max
        pp[P_KAPPA], pp[P_PHIMAX], pp[P_SREF], pp[P_OFFSET] = g.kappa, g.phi_max, geometry.s_ref, g.phi_offset
        sc = np.zeros(7)
        sc[S_DT] = muscles.dt
        sc[S_KDEACT] = muscles._k_deact  # type: ignore[attr-defined]
        sc[S_ELASTIC] = 1.0 if muscles.elastic_tendon else 0.0
        sc[S_MODEL] = MODEL_CODE[metabolics.model]
        sc[S_SOFT_K], sc[S_SOFT_RELAX], sc[S_LEGS] = soft_k, soft_relax, float(legs)
        nj = joint_min.size
        inertia = np.ones(nj)  # the effective inertia: LegEnv sets it every control step
        joints = np.vstack(
            [joint_min, joint_max, np.full(nj, hard_margin), np.full(nj, hard_k), np.full(nj, hard_d), inertia]
        )
        return cls(mp, pp, sc, joints)
