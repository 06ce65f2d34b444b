"""Tests a biomechanist would run on the physiology layer (numpy only)."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroleg.envs.physiology as ph
from neuroleg.envs.physiology import metabolics as met
from neuroleg.envs.physiology import muscle as mus

MODEL = ph.load_model()
P = MODEL.muscles
N = P.n
PHYSIOLOGY_DIR = Path(ph.__file__).parent


def test_physiology_imports_no_simulator_or_learning_library() -> None:
    forbidden = {"pybullet", "pybullet_data", "gymnasium", "gym", "torch", "stable_baselines3"}
    found = []
    for path in PHYSIOLOGY_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            found += [(path.name, n) for n in names if n.split(".")[0] in forbidden]
    assert found == []


# ---- curves ------------------------------------------------------------------------------


def test_force_length_anchor_points() -> None:
    l_norm = np.array([1.0, 1.0 - mus.FL_WIDTH, 1.0 + mus.FL_WIDTH])
    np.testing.assert_allclose(mus.force_length(l_norm), [1.0, 0.05, 0.05], rtol=1e-12)
    assert mus.force_length(np.array([0.9]))[0] < 1.0


def test_force_velocity_anchor_points() -> None:
    fv = mus.force_velocity(np.array([-1.0, 0.0, 1.0, -0.5]))
    # Geyer & Herr 2010: zero at -v_max, one isometric, N at +v_max; Hill hyperbola at -0.5.
    np.testing.assert_allclose(fv[:3], [0.0, 1.0, mus.FV_N], atol=1e-12)
    assert fv[3] == pytest.approx((1 - 0.5) / (1 + mus.FV_K * 0.5))
    v = np.linspace(-1, 3, 101)
    assert np.all(np.diff(mus.force_velocity(v)) > 0), "f_V must rise with velocity"
    # the slope the fiber solve's Newton steps use, against central differences (off the kinks)
    v = v[(np.abs(v) > 1e-3) & (np.abs(v - 1) > 1e-3) & (np.abs(v + 1) > 1e-3)]
    h = 1e-6
    numeric = (mus.force_velocity(v + h) - mus.force_velocity(v - h)) / (2 * h)
    np.testing.assert_allclose(mus.force_velocity_slope(v), numeric, rtol=1e-5)


@pytest.mark.parametrize("a_rel", [0.18, 0.3, 0.36])
def test_force_velocity_takes_each_muscles_curvature(a_rel: float) -> None:
    # shortening is Hill's hyperbola with a/F0 = a_rel (Umberger 2003's form, a (1 + v) / (a - v)); the
    # anchors stay Geyer & Herr's, and the slope the fiber solve uses stays the curve's
    k = 1.0 / a_rel
    v = np.linspace(-1.0, -0.01, 25)
    np.testing.assert_allclose(mus.force_velocity(v, k), a_rel * (1 + v) / (a_rel - v), rtol=1e-12)
    np.testing.assert_allclose(mus.force_velocity(np.array([-1.0, 0.0, 1.0]), k), [0.0, 1.0, mus.FV_N], atol=1e-12)
    v = np.linspace(-1, 3, 101)
    assert np.all(np.diff(mus.force_velocity(v, k)) > 0)
    v = v[(np.abs(v) > 1e-3) & (np.abs(v - 1) > 1e-3) & (np.abs(v + 1) > 1e-3)]
    h = 1e-6
    numeric = (mus.force_velocity(v + h, k) - mus.force_velocity(v - h, k)) / (2 * h)
    np.testing.assert_allclose(mus.force_velocity_slope(v, k), numeric, rtol=1e-5)
    # a flatter curve (larger a/F0) keeps more force at every shortening speed
    if a_rel > 0.2:
        assert np.all(mus.force_velocity(v[v < 0], k) > mus.force_velocity(v[v < 0]))


def test_passive_and_tendon_anchor_points() -> None:
    assert mus.tendon_force(np.array([mus.TENDON_REF_STRAIN]))[0] == pytest.approx(1.0)
    assert mus.tendon_force(np.array([-0.01]))[0] == 0.0
    # Thelen 2003: F_max at 60 % strain; (e^(5 x 0.4 / 0.6) - 1) / (e^5 - 1) = 0.1834 at 1.4 l_opt.
    assert mus.parallel_elastic(np.array([1.0 + mus.PE_STRAIN_AT_FMAX]))[0] == pytest.approx(1.0)
    assert mus.parallel_elastic(np.array([1.4]))[0] == pytest.approx(0.1834, abs=1e-4)
    assert mus.parallel_elastic(np.array([0.9]))[0] == 0.0


def test_parallel_elastic_slope_matches_finite_difference() -> None:
    ln = np.array([0.8, 1.05, 1.3, 1.6, 1.9])
    h = 1e-7
    numeric = (mus.parallel_elastic(ln + h) - mus.parallel_elastic(ln - h)) / (2 * h)
    np.testing.assert_allclose(mus.parallel_elastic_slope(ln), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("elastic", [True, False])
def test_isometric_force_at_optimal_length_is_fmax(elastic: bool) -> None:
    model = ph.MuscleModel(P, 0.001, elastic_tendon=elastic)
    strain = mus.TENDON_REF_STRAIN if elastic else 0.0
    l_mtu = P.l_opt + P.l_slack * (1 + strain)
    state = model.equilibrium_state(np.ones(N), l_mtu)
    np.testing.assert_allclose(state.fiber_length, P.l_opt, rtol=1e-6)
    _, out = model.step(state, np.ones(N), l_mtu, np.zeros(N))
    np.testing.assert_allclose(out.force, P.f_max, rtol=1e-3)


def test_tendon_strain_at_fmax_matches_geyer() -> None:
    model = ph.MuscleModel(P, 0.001)
    # At full activation and the tendon stretched to 4 %, fiber and tendon balance at l_opt.
    l_mtu = P.l_opt + P.l_slack * 1.04
    state = model.equilibrium_state(np.ones(N), l_mtu)
    strain = (l_mtu - state.fiber_length) / P.l_slack - 1
    np.testing.assert_allclose(strain, 0.04, atol=1e-6)


def test_activation_and_deactivation_time_constants() -> None:
    dt = 1e-4
    model = ph.MuscleModel(P, dt)
    a = np.full(N, mus.ACTIVATION_MIN)
    for _ in range(round(mus.TAU_ACTIVATION_S / dt)):
        a = model.activate(a, np.ones(N))
    expected = 1 - (1 - mus.ACTIVATION_MIN) * math.exp(-1)
    np.testing.assert_allclose(a, expected, rtol=1e-3)
    a = np.ones(N)
    for _ in range(round(mus.TAU_DEACTIVATION_S / dt)):
        a = model.activate(a, np.zeros(N))
    np.testing.assert_allclose(a, math.exp(-1), rtol=1e-3)


def test_synchronization_speeds_up_activation() -> None:
    plain = ph.MuscleModel(P, 0.001)
    synced = ph.MuscleModel(P, 0.001, synchronization=np.ones(N))
    a0 = np.full(N, 0.01)
    assert np.all(synced.activate(a0, np.ones(N)) > plain.activate(a0, np.ones(N)))


def test_elastic_tendon_converges_at_one_millisecond() -> None:
    def work(dt: float) -> np.ndarray:
        model = ph.MuscleModel(P, dt)
        state = model.equilibrium_state(np.full(N, 0.01), P.l_opt + P.l_slack)
        total = np.zeros(N)
        for k in range(round(0.5 / dt)):
            t = k * dt
            l_mtu = P.l_opt + P.l_slack + 0.02 * np.sin(4 * np.pi * t)
            v_mtu = 0.02 * 4 * np.pi * np.cos(4 * np.pi * t)
            u = np.full(N, 0.5 if 0.1 < t < 0.3 else 0.0)
            state, out = model.step(state, u, l_mtu, v_mtu)
            assert np.all(np.isfinite(out.force))
            total += -out.active_force * out.fiber_velocity * dt
        return total

    # atol: the soleus does only ~0.4 J here (4 cm fibers pushed onto the stiff end of the
    # exponential passive curve); 0.05 J is 0.1 % of the largest muscle's work.
    np.testing.assert_allclose(work(0.001), work(0.00005), rtol=0.02, atol=0.05)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.floats(0.0, 1.0),
    st.floats(-0.05, 0.05),
    st.floats(-1.5, 1.5),
)
def test_each_step_balances_tendon_and_fiber(seed: int, excitation: float, stretch_m: float, v_mtu: float) -> None:
    # the invariant whose absence let passive muscles make work: at the end of every step the force
    # the tendon transmits equals what the fiber holds at the velocity it actually moved with
    rng = np.random.default_rng(seed)
    model = ph.MuscleModel(P, 0.001)
    l_mtu = P.l_opt + P.l_slack + stretch_m
    start = model.equilibrium_state(rng.uniform(mus.ACTIVATION_MIN, 1.0, N), l_mtu)
    state = ph.MuscleState(start.activation, start.fiber_length * rng.uniform(0.9, 1.1, N))
    new, out = model.step(state, np.full(N, excitation), l_mtu, np.full(N, v_mtu))
    ln = out.fiber_length_norm
    fiber_side = out.active_force + (mus.parallel_elastic(ln) - mus.buckling(ln)) * P.f_max
    tendon_side = mus.tendon_force((l_mtu + v_mtu * 0.001 - new.fiber_length) / P.l_slack - 1.0) * P.f_max
    inside = (new.fiber_length > mus.L_CE_MIN * P.l_opt) & (new.fiber_length < mus.L_CE_MAX * P.l_opt)
    np.testing.assert_allclose(tendon_side[inside], fiber_side[inside], atol=1e-3, rtol=1e-6)
    np.testing.assert_allclose(out.force, tendon_side)


@pytest.mark.parametrize("elastic", [True, False])
def test_a_slack_musculotendon_unit_never_pushes(elastic: bool) -> None:
    # far shorter than slack tendon + shortest fiber: the buckling element must not turn into a push
    model = ph.MuscleModel(P, 0.001, elastic_tendon=elastic)
    l_mtu = 0.5 * (P.l_slack + P.l_opt)
    state = model.equilibrium_state(np.full(N, 1.0), l_mtu)
    for _ in range(20):
        state, out = model.step(state, np.ones(N), l_mtu, np.zeros(N))
        assert np.all(out.force >= 0.0)
    assert np.any(mus.buckling(out.fiber_length_norm) > 0)  # the case the clamp exists for


def test_bad_time_step_rejected() -> None:
    with pytest.raises(ValueError, match="dt"):
        ph.MuscleModel(P, 0.05)


# ---- geometry ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_moment_arm_is_minus_length_derivative(seed: int) -> None:
    geo = ph.MuscleGeometry.from_params(MODEL.geometry, P)
    rng = np.random.default_rng(seed)
    q = rng.uniform(MODEL.body.joint_min, MODEL.body.joint_max)
    arms = geo.moment_arm_matrix(q)
    h = 1e-6
    for j in range(3):
        dq = np.zeros(3)
        dq[j] = h
        lp, _, _ = geo.lengths_velocities(q + dq, np.zeros(3))
        lm, _, _ = geo.lengths_velocities(q - dq, np.zeros(3))
        np.testing.assert_allclose(-(lp - lm) / (2 * h), arms[:, j], atol=1e-7)


def test_hamstring_knee_arm_is_constant_over_flexion() -> None:
    # Visser et al. 1990 (model file v3); Geyer & Herr's cosine arm vanished at 90 deg of knee flexion
    geo = ph.MuscleGeometry.from_params(MODEL.geometry, P)
    ham = P.names.index("HAM")
    knee_arms = [geo.moment_arm_matrix(np.radians([30.0, k, 0.0]))[ham, 1] for k in (0.0, 45.0, 90.0, 120.0)]
    np.testing.assert_allclose(knee_arms, knee_arms[0])
    assert knee_arms[0] > 0.03  # m, rho r_max


def test_biarticular_muscles_act_at_two_joints_with_expected_signs() -> None:
    arms = ph.MuscleGeometry.from_params(MODEL.geometry, P).moment_arm_matrix(np.radians([30, 40, 0]))
    idx = {n: i for i, n in enumerate(P.names)}
    # columns: hip (+flexion), knee (+flexion), ankle (+dorsiflexion)
    assert arms[idx["HAM"], 0] < 0 < arms[idx["HAM"], 1]
    assert arms[idx["RF"], 1] < 0 < arms[idx["RF"], 0]
    assert arms[idx["GAS"], 2] < 0 < arms[idx["GAS"], 1]
    mono = [i for n, i in idx.items() if n not in ("HAM", "RF", "GAS")]
    assert np.all(np.count_nonzero(arms[mono], axis=1) == 1)


def test_joint_power_equals_muscle_power() -> None:
    geo = ph.MuscleGeometry.from_params(MODEL.geometry, P)
    q, qd = np.radians([20.0, 60.0, 5.0]), np.array([1.0, -2.0, 0.5])
    force = np.linspace(100, 900, N)
    _, v_mtu, arm = geo.lengths_velocities(q, qd)
    tau = geo.joint_torques(arm, force)
    assert float(tau @ qd) == pytest.approx(float(-(force @ v_mtu)), rel=1e-12)


# ---- model file and roles ----------------------------------------------------------------


def test_model_file_values_each_have_a_source() -> None:
    for name in P.names:
        assert P.sources[name] in MODEL.sources


def test_bad_model_field_is_named(tmp_path: Path) -> None:
    import yaml

    data = yaml.safe_load(Path(ph.model.__file__).parent.parent.joinpath("models/leg9.yaml").read_text())
    data["muscles"]["SOL"]["f_max_n"] = -5
    data["muscles"]["TA"]["bogus"] = 1
    with pytest.raises(ph.ModelFileError) as err:
        ph.model_from_dict(data)
    assert "muscles.SOL.f_max_n" in str(err.value)
    assert "muscles.TA.bogus" in str(err.value)
    del data["muscles"]["TA"]["bogus"]
    data["muscles"]["SOL"]["f_max_n"] = 6000.0
    data["muscles"]["VAS"]["l_opt_source"] = "NoSuchPaper"
    with pytest.raises(ph.ModelFileError, match=r"muscles\.VAS\.l_opt_source: unknown source 'NoSuchPaper'"):
        ph.model_from_dict(data)


def test_force_velocity_curvature_is_geyer_herrs_unless_a_muscle_gives_one_with_its_source(
    umberger_curvature_model: Path,
) -> None:
    import yaml

    assert np.all(P.fv_k == mus.FV_K)  # the packaged file sets none
    own = ph.load_model(umberger_curvature_model).muscles
    np.testing.assert_allclose(1.0 / own.fv_k, 0.1 + 0.4 * (1.0 - own.slow_twitch_fraction))
    data = yaml.safe_load(umberger_curvature_model.read_text())
    del data["muscles"]["VAS"]["fv_curvature_source"]
    with pytest.raises(ph.ModelFileError, match=r"muscles\.VAS: .*fv_curvature and fv_curvature_source go together"):
        ph.model_from_dict(data)
    data["muscles"]["VAS"]["fv_curvature_source"] = "NoSuchPaper"
    with pytest.raises(ph.ModelFileError, match=r"muscles\.VAS\.fv_curvature_source: unknown source 'NoSuchPaper'"):
        ph.model_from_dict(data)
    data["muscles"]["VAS"]["fv_curvature_source"] = "Umberger2003"
    data["muscles"]["VAS"]["fv_curvature"] = 0.0
    with pytest.raises(ph.ModelFileError, match=r"muscles\.VAS\.fv_curvature"):
        ph.model_from_dict(data)


def test_missing_model_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ph.ModelFileError, match="not found"):
        ph.load_model(tmp_path / "nope.yaml")


def test_declared_roles_agree_with_moment_arm_signs() -> None:
    derived = ph.derive_roles(MODEL)
    for action, groups in MODEL.roles.items():
        for group, members in groups.items():
            assert set(members) == set(derived[action][group]), (action, group)


def test_roles_are_queryable() -> None:
    assert ph.role_of(MODEL, "knee_extension", "VAS") == "agonists"
    assert ph.role_of(MODEL, "knee_extension", "RF") == "synergists"
    assert ph.role_of(MODEL, "knee_extension", "HAM") == "antagonists"
    assert ph.role_of(MODEL, "knee_extension", "SOL") is None
    assert ("knee", "HAM", "VAS") in ph.antagonist_pairs(MODEL)
    with pytest.raises(KeyError):
        ph.role_of(MODEL, "elbow_flexion", "VAS")


# ---- motor units -------------------------------------------------------------------------


def test_recruitment_follows_size_principle() -> None:
    pool = ph.MotorUnitPool.create(P)
    previous = np.zeros((N, pool.n_units), dtype=bool)
    shares = []
    for d in np.linspace(0.0, 1.0, 41):
        active = pool.active_units(np.full(N, d))
        assert np.all(active >= previous), "a recruited unit must stay recruited as drive rises"
        # recruited units are always the smallest ones: a prefix of the size order
        counts = active.sum(axis=1)
        for m in range(N):
            assert np.all(active[m, : counts[m]]) and not np.any(active[m, counts[m] :])
        previous = active
        shares.append(pool.recruit(np.full(N, d)).type2_share)
    shares_arr = np.array(shares)
    assert np.all(np.diff(shares_arr, axis=0) >= -1e-12), "type II share must grow with force"
    low = pool.recruit(np.full(N, 0.05))
    assert np.all(low.type2_share == 0.0) and np.all(low.force_fraction > 0), "type I units first"


@pytest.mark.parametrize("limit,scale,sync", [(1.0, 1.0, 0.0), (0.85, 1.0, 0.0), (0.9, 1.3, 0.5), (1.0, 0.7, 1.0)])
def test_force_grows_monotonically_with_drive(limit: float, scale: float, sync: float) -> None:
    pool = ph.MotorUnitPool.create(P, recruitment_limit=limit, rate_scale=scale, synchronization=sync)
    forces = np.array([pool.recruit(np.full(N, d)).force_fraction for d in np.linspace(0, 1, 201)])
    assert np.all(np.diff(forces, axis=0) >= 0)
    assert forces[0].max() == 0.0


def test_recruitment_limit_caps_maximal_force() -> None:
    untrained = ph.MotorUnitPool.create(P, recruitment_limit=0.85).recruit(np.ones(N))
    trained = ph.MotorUnitPool.create(P, recruitment_limit=1.0).recruit(np.ones(N))
    assert np.all(untrained.force_fraction < 1.0)
    np.testing.assert_allclose(untrained.force_fraction, 0.85, atol=1e-9)
    np.testing.assert_allclose(trained.force_fraction, 1.0)
    assert np.all(untrained.at_limit) and np.all(untrained.recruited_fraction < 1.0)


def test_full_recruitment_type1_share_equals_slow_twitch_fraction() -> None:
    rec = ph.MotorUnitPool.create(P).recruit(np.ones(N))
    np.testing.assert_allclose(1 - rec.type2_share, P.slow_twitch_fraction, atol=1e-9)


def test_rate_scale_raises_force_near_maximum() -> None:
    d = np.full(N, 0.85)
    slow = ph.MotorUnitPool.create(P, rate_scale=0.7).recruit(d).force_fraction
    fast = ph.MotorUnitPool.create(P, rate_scale=1.3).recruit(d).force_fraction
    assert np.all(fast > slow)


def test_per_muscle_settings_and_bad_values() -> None:
    limits = {n: 0.9 for n in P.names} | {"VAS": 0.97}
    pool = ph.MotorUnitPool.create(P, recruitment_limit=limits)
    assert pool.recruit(np.ones(N)).force_fraction[P.names.index("VAS")] == pytest.approx(0.97)
    with pytest.raises(ValueError, match="recruitment_limit"):
        ph.MotorUnitPool.create(P, recruitment_limit=1.2)
    with pytest.raises(ValueError, match="unknown muscle"):
        ph.MotorUnitPool.create(P, rate_scale={"BICEPS": 1.0})
    with pytest.raises(ValueError, match="missing"):
        ph.MotorUnitPool.create(P, synchronization={"VAS": 0.5})


@pytest.mark.parametrize("pool", [ph.MotorUnitPool.create(P), ph.LumpedDrive.create(P)])
def test_nan_or_misshaped_drive_is_rejected(pool: ph.MotorUnitPool | ph.LumpedDrive) -> None:
    bad = np.full(N, 0.5)
    bad[3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        pool.recruit(bad)
    with pytest.raises(ValueError, match="shape"):
        pool.recruit(np.ones(N + 1))


def test_lumped_drive_is_activation() -> None:
    d = np.linspace(0, 1, N)
    np.testing.assert_allclose(ph.LumpedDrive.create(P).recruit(d).force_fraction, d)


# ---- metabolics --------------------------------------------------------------------------


def _umberger_reference(
    u: float,
    a: float,
    r: float,
    ln: float,
    f_iso: float,
    v: float,
    f_ce: float,
    m_kg: float,
    v_max: float,
    l_opt: float,
    alpha_l_ratio: float,
    subtract_negative_work: bool,
) -> float:
    """Umberger 2003/2010 written out for one muscle (W), independently of the implementation."""
    big_a = u if u > a else (u + a) / 2
    am = 1.5 * big_a**0.6 * (128 * (1 - r) + 25)
    if ln > 1:
        am *= 0.4 + 0.6 * f_iso
    vn = v / l_opt
    a_st, a_ft = 100 / (v_max / 2.5), 153 / v_max
    if vn <= 0:
        sl = 1.5 * big_a**2 * (min(-a_st * vn, 100) * r - a_ft * vn * (1 - r))
    else:
        sl = 1.5 * big_a * alpha_l_ratio * a_st * vn
    if ln > 1:
        sl *= f_iso
    heat = max((am + sl) * m_kg, 1.0 * m_kg)
    work = -f_ce * v
    return max(heat + (work if subtract_negative_work else max(work, 0.0)), 0.0)


@pytest.mark.parametrize("model,ratio", [(ph.MetabolicModel.UMBERGER2010, 0.3), (ph.MetabolicModel.UMBERGER2003, 4.0)])
@pytest.mark.parametrize(
    "u,a,v", [(0.0, 0.01, 0.0), (1.0, 1.0, 0.0), (0.4, 0.6, 0.0), (0.8, 0.8, -0.3), (0.6, 0.5, 0.2)]
)
def test_umberger_matches_published_formula(
    model: ph.MetabolicModel, ratio: float, u: float, a: float, v: float
) -> None:
    m = ph.Metabolics(P, model)
    ln = np.full(N, 1.05)
    fl = mus.force_length(ln)
    slow, fast = met.bhargava_slow_fast(np.full(N, u), P.slow_twitch_fraction)
    f_ce = a * fl * P.f_max
    rate = m.rate(np.full(N, u), np.full(N, a), slow, fast, ln, np.full(N, v), f_ce, fl)
    mass = ph.muscle_mass(P)
    for i in range(N):
        r = slow[i] / (slow[i] + fast[i]) if slow[i] + fast[i] > 0 else P.slow_twitch_fraction[i]
        ref = _umberger_reference(
            u,
            a,
            r,
            ln[i],
            fl[i],
            v,
            f_ce[i],
            mass[i],
            P.v_max[i],
            P.l_opt[i],
            ratio,
            subtract_negative_work=model is ph.MetabolicModel.UMBERGER2003,
        )
        assert rate.total[i] == pytest.approx(ref, rel=1e-9), P.names[i]


@pytest.mark.parametrize("u,v,ln", [(0.0, 0.0, 1.0), (1.0, 0.0, 1.0), (0.5, -0.2, 0.8), (0.7, 0.3, 1.3)])
def test_bhargava_matches_published_formula(u: float, v: float, ln: float) -> None:
    m = ph.Metabolics(P, ph.MetabolicModel.BHARGAVA2004)
    r = P.slow_twitch_fraction
    s, c = math.sin(math.pi * u / 2), math.cos(math.pi * u / 2)
    slow, fast = r * s, (1 - r) * (1 - c)
    f_ce = np.full(N, 800.0)
    rate = m.rate(np.full(N, u), np.full(N, u), slow, fast, np.full(N, ln), np.full(N, v), f_ce, np.ones(N))
    mass = ph.muscle_mass(P)
    g = float(np.interp(ln, [0, 0.5, 1, 1.5, 2], [0.5, 0.5, 1, 0, 0]))
    expected = (
        mass * (40 * r * s + 133 * (1 - r) * (1 - c))
        + mass * g * (74 * r * s + 111 * (1 - r) * (1 - c))
        + (-0.25 * 800.0 * v if v < 0 else 0.0)
        - 800.0 * v
    )
    np.testing.assert_allclose(rate.total, np.maximum(expected, 0.0), rtol=1e-12)


def test_muscle_mass_from_specific_tension() -> None:
    i = P.names.index("TA")  # F_max 800 N, l_opt 0.06 m in the model file
    assert ph.muscle_mass(P)[i] == pytest.approx(800 / 0.25e6 * 1059.7 * 0.06)


# Geyer's single Hill curve gives slow-twitch-rich muscles more force at speed than Umberger's
# fibre-type-dependent curvature (A_rel = 0.1 + 0.4 FT) that his heat rates were tuned with, so
# peak efficiency reaches ~0.6-0.75 instead of the ~0.3-0.5 measured (README: where the model
# disagrees). The test pins that ceiling so a regression past it fails.
EFFICIENCY_CEILING = 0.75


@pytest.mark.parametrize("model", list(ph.MetabolicModel))
def test_energy_exceeds_positive_work_and_efficiency_is_bounded(model: ph.MetabolicModel) -> None:
    m = ph.Metabolics(P, model)
    pool = ph.MotorUnitPool.create(P)
    for d in (0.2, 0.5, 1.0):
        rec = pool.recruit(np.full(N, d))
        for v_norm in (-0.05, -0.1, -0.2, -0.3, -0.5, -0.8):
            v = v_norm * P.v_max * P.l_opt
            f_ce = rec.force_fraction * mus.force_velocity(np.full(N, v_norm)) * P.f_max
            rate = m.rate(
                rec.force_fraction, rec.force_fraction, rec.slow_force, rec.fast_force, np.ones(N), v, f_ce, np.ones(N)
            )
            assert np.all(rate.total >= rate.work), "energy liberated below mechanical work"
            assert np.all(rate.work / rate.total < EFFICIENCY_CEILING), f"efficiency at d={d} v={v_norm}"


def test_oxygen_and_basal() -> None:
    assert ph.energy_to_oxygen_ml(20.1) == pytest.approx(1.0)
    assert ph.basal_rate(80.0) == pytest.approx(96.0)
    with pytest.raises(ValueError, match="metabolic_model"):
        ph.MetabolicModel.parse("margaria")


# ---- robustness --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    l_scale=st.floats(0.5, 1.6),
    v=st.floats(-5.0, 5.0),
    drive=st.floats(0.0, 1.0),
    elastic=st.booleans(),
    model=st.sampled_from(list(ph.MetabolicModel)),
)
def test_no_nan_or_inf_at_extremes(
    l_scale: float, v: float, drive: float, elastic: bool, model: ph.MetabolicModel
) -> None:
    mm = ph.MuscleModel(P, 0.001, elastic_tendon=elastic)
    rec = ph.MotorUnitPool.create(P).recruit(np.full(N, drive))
    l_mtu = (P.l_opt + P.l_slack) * l_scale
    state = mm.equilibrium_state(np.full(N, 0.5), l_mtu)
    metab = ph.Metabolics(P, model)
    for _ in range(20):
        state, out = mm.step(state, rec.force_fraction, l_mtu, np.full(N, v))
        l_mtu = l_mtu + v * 0.001
        rate = metab.rate_for(rec, state.activation, out)
        for arr in (*state, *out, *rate):
            assert np.all(np.isfinite(arr))
        assert np.all(rate.total >= 0)
