"""What every check shares: the published figures checked against (each with its source), a check's
record, the model file a check runs on, and the isometric torque of a posture."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neuroleg.envs.physiology import MuscleGeometry, MuscleModel
from neuroleg.envs.physiology import muscle as mus

from ..ceilings import stored_ceiling

if TYPE_CHECKING:
    from ..ceilings import Ceiling

# Sarabon et al. 2021 meta-analysis (Front Physiol 12:767941), adult men, pooled 95 % CIs, N m/kg. The
# knee angles standing for its "extended", "mid-range" and "flexed" groups are our reading of them.
KNEE_EXTENSION_NM_PER_KG = {20.0: (1.34, 2.23), 60.0: (2.92, 3.45), 90.0: (2.50, 3.06)}
KNEE_FLEXION_NM_PER_KG = {20.0: (0.85, 1.20), 60.0: (1.15, 1.62), 90.0: (0.96, 1.54)}
# Knee dynamometry is usually done seated, thighs supported, hip flexed about 90 deg (Dvir 1995,
# Isokinetics: muscle testing, interpretation and clinical applications), which lengthens the hamstrings
# and shortens rectus femoris; the checks use that posture. The hip-extended posture is reported beside it.
SEATED_HIP_FLEXION_DEG = 90.0
# The checks hold the ankle at neutral. A relaxed, hanging foot plantarflexes, which shortens the
# gastrocnemius, a knee flexor; this posture is reported beside the flexion check (an assumption: which
# ankle posture Sarabon's pooled studies used was not checked).
RELAXED_ANKLE_DEG = -20.0
SQUAT_JUMP_HEIGHT_M = (0.35, 0.40)  # human, shared reference (marked unverified there)
# Our jump height is the CoM's apex above standing, what double integration of the force plate gives;
# flight-time heights of the same squat jumps read 27-31 % lower (Attia et al. 2017, Biol Sport 34:63-70).
# Which of the two the range above is, the reference does not say.
SQUAT_JUMP_HEIGHT_METHOD = (
    "apex above standing (force-plate double integration); flight-time heights of the same jumps read "
    "27-31 % lower (Attia et al. 2017), and which the human range used is not known"
)
# Countermovement minus squat jump height: 0.4-2.5 cm in optimised jumping models (Bobbert & Casius
# 2005), +3.4 cm in volleyball players (Bobbert 1996); the check accepts 0.4 cm up to the human figure.
COUNTERMOVEMENT_GAIN_M = (0.004, 0.034)
COUNTERMOVEMENT_START = {"start": "standing"}  # SquatJump's countermovement jump
# Cycling at 80 rpm (Moseley & Jeukendrup 2001): gross 19.8 +- 0.6 %, range of studies 13-24 %;
# delta efficiency 25.8 +- 1.5 % (shared reference, section 5).
CYCLING_GROSS_EFFICIENCY_PCT = (13.0, 24.0)
CYCLING_DELTA_EFFICIENCY_PCT = "25.8 +- 1.5"
# Hopping (Grabowski & Herr 2009: preferred 2.0-2.6 Hz; Gutmann & Bertram 2017: the muscles' force
# impulse explains 92 % of the metabolic cost per hop). Our pass mark leaves room for four conditions.
HOP_FREQUENCIES_HZ = (2.0, 2.2, 2.4, 2.6)
HOP_IMPULSE_R2 = 0.92
HOP_IMPULSE_R2_MIN = 0.8
HOP_MIN_HOPS = 4  # a condition counts when the pattern hops at least this often in the 5 s episode
# Passive stretch-shorten cycles (MTU length +- amplitude at 1 Hz, activation at its floor): tissue
# without drive can store and return energy or absorb it, never do net work (energy conservation).
PASSIVE_CYCLE_AMPLITUDES_M = (0.01, 0.02)
PASSIVE_CYCLE_HZ = 1.0
PASSIVE_WORK_TOLERANCE_J = 1e-3
# Work / (work + heat) of isolated muscle stays below 0.5 (Smith, Barclay & Loiselle 2005, Prog Biophys
# Mol Biol 88:1-58). Human in vivo contraction-coupling efficiency up to 0.68 has been reported (first dorsal
# interosseous, Jubrias et al. 2008, J Physiol 586:1993), but excludes recovery, which Umberger's S = 1.5
# includes, so 0.5 is, if anything, generous here.
MUSCLE_EFFICIENCY_MAX = 0.5
# Umberger, Gerritsen & Martin 2003 (Comput Methods Biomech Biomed Engin 6:99-111), Figure 1: total energy
# rate (heat + work, W/kg, S = 1: isolated muscle) of a soleus and a rectus femoris shortening at full
# activation against v / v_max, on their van Soest & Bobbert contractile element (f = a (1 + v) / (a - v),
# a = a/F0). The figure's curves as polynomials in v (<= 0 shortening; highest power first; valid down to
# the split, the second one beyond), fitted by Uchida for OpenSim's test of its Umberger probe
# (opensim-core, OpenSim/Simulation/Test/testMuscleMetabolicsProbes.cpp; fit error < 0.83 W/kg). Muscle:
# (F_max N, l_opt m, a/F0, v_max l_opt/s, mass kg, slow-twitch fraction, fit near 0, split, fit beyond).
UMBERGER_FIG1_MUSCLES = {
    "soleus": (
        3127.0, 0.055, 0.18, 12.0, 0.805, 0.80,
        (-54693.72433, -73876.93352, -41460.1508, -13203.6807, -2682.925993, 51.39363659),
        -0.4,
        (-187.6077328, -553.9650747, -194.9721769, 332.9105995),
    ),
    "rectus femoris": (
        1118.0, 0.084, 0.36, 12.0, 0.4275, 0.35,
        (-10181.27442, -13652.40864, -8368.687834, -2747.369194, 109.028979),
        -0.4,
        (-404.1161485, -1267.967225, -744.3435788, 362.7505521),
    ),
}  # fmt: skip
UMBERGER_FIG1_TOLERANCE_W_PER_KG = 1.0  # the tolerance of OpenSim's test, above its fits' error
UMBERGER_FIG1_SPEEDS = np.linspace(0.0, -1.0, 21)  # v / v_max, as OpenSim's test samples them
# Geyer & Herr 2010 anchor points.
CURVE_TOLERANCE = 1e-9
# Riener & Edrich 1999 (J Biomech 32:539-544): passive joint moments of ten healthy subjects, fitted as
# double exponentials of the hip, knee and ankle angles (deg; flexion and dorsiflexion positive here, the
# moment + in flexion). Coefficients as in the public implementation used for Miller et al. 2012, except
# the knee's last exponent: that has 1.50, which makes the term (the extension stop) vanish within 2 deg;
# we take 0.150, a stop fading over ~20 deg (not checked against the paper). The term matters below 20 deg
# of knee flexion only, outside the fit below.
RE1999_KNEE = ((1.800, 0.0460, -0.0352, 0.0217), (-3.971, 0.0004, 0.0495, -0.0128), -4.820, (2.220, -0.150))
RE1999_HIP = ((1.4655, -0.0034, -0.0750), (1.3403, -0.0226, 0.0305), 8.072)
# The hip reference angles of the two hip extensors (where each unit is l_opt + l_slack long) are fitted
# together, least squares, to the passive knee moment with the hip flexed 90 deg at knee 20-50 deg (sitting
# stretches the hamstrings most, and there the two-joint muscle dominates the measured moment) and to the
# passive hip moment at hip 60-90 deg, knee 0-60 deg (hamstrings and gluteus maximus): model file 5.
PASSIVE_FIT_HIP_DEG = 90.0
PASSIVE_FIT_KNEE_DEG = (20.0, 30.0, 40.0, 50.0)
PASSIVE_FIT_HIP_POSTURES_DEG = tuple((h, k) for h in (60.0, 75.0, 90.0) for k in (0.0, 20.0, 40.0, 60.0))
PASSIVE_FIT_MUSCLES = ("HAM", "GLU")
PASSIVE_FIT_START_DEG = (155.0, 150.0)  # Geyer & Herr 2010's references, where the search starts
# The vasti's F_max is fitted, least squares, to the middles of Sarabon's three seated knee extension ranges
# (model file 6): Geyer & Herr's 6000 N was chosen for walking, and sourced values span 4530 N (Delp et al.
# 1990) to 9594 N (Rajagopal et al. 2016). So the extension checks test the torque-angle shape, not the scale.
STRENGTH_FIT_MUSCLE = "VAS"
STRENGTH_FIT_BOUNDS_N = (4000.0, 12000.0)  # N, search bracket: wider than the sourced 4530-9594 N


@dataclass
class Check:
    quantity: str
    simulated: float | None
    published: str
    source: str
    status: str  # "pass", "fail", "report" (no published range), "not run"
    note: str = ""


@dataclass(frozen=True)
class ModelSource:
    """The model file the simulated checks run (None: the packaged one) and a folder of that
    model's ceilings (`neuroleg optimize --model` writes them to ceilings/)."""

    model_path: str | None = None
    ceilings: Path | None = None

    def env_kwargs(self, **task_args: Any) -> dict[str, Any]:
        return {**task_args, "model_path": self.model_path} if self.model_path else dict(task_args)

    def ceiling(self, task: str, task_args: dict[str, Any] | None = None) -> Ceiling | None:

        return stored_ceiling(task, self.env_kwargs(**(task_args or {})), self.ceilings)

    def missing(self, task: str, args: str = "") -> str:
        """What to run when a ceiling this check needs is not stored."""
        if self.model_path is None:
            return f"run `neuroleg optimize {task}{args}`"
        return f"run `neuroleg optimize {task}{args} --model {self.model_path}` and pass its folder to --ceilings"


PACKAGED = ModelSource()


def isometric_torque(model: Any, q_deg: tuple[float, float, float], movers: tuple[str, ...]) -> np.ndarray:
    """Joint torques (N m, one leg) with `movers` fully active and the rest at rest, tendon in equilibrium."""

    p = model.muscles
    geo = MuscleGeometry.from_params(model.geometry, p)
    a = np.full(p.n, mus.ACTIVATION_MIN)
    for m in movers:
        a[p.names.index(m)] = 1.0
    q = np.radians(q_deg)
    l_mtu, _, arm = geo.lengths_velocities(q, np.zeros(3))
    state = MuscleModel(p, 0.001).equilibrium_state(a, l_mtu)
    ln = state.fiber_length / p.l_opt
    force = mus.mtu_force(p.f_max * a * mus.force_length(ln), ln, p.f_max)
    return geo.joint_torques(arm, force)


def _range_check(quantity: str, value: float, lo: float, hi: float, source: str, unit: str) -> Check:
    ok = lo <= value <= hi
    return Check(quantity, round(value, 4), f"{lo}-{hi} {unit}", source, "pass" if ok else "fail")
