"""The leg's muscles at work over one control step: motor-unit pools, Hill muscles, moment arms, joint
limits and metabolic energy, at every physics substep (the compiled kernel of `fast_step`, or the
numpy reference of `physiology`, the same equations). LegEnv owns the body, the task and what the
policy sees; this owns the muscles' state, their outputs and the episode's energy sums."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .arguments import BodyArgs
from .body.leg import (
    HARD_STOP_DAMPING_NMS_PER_RAD,
    HARD_STOP_MARGIN_RAD,
    HARD_STOP_STIFFNESS_NM_PER_RAD,
    LegBody,
)
from .physiology import LumpedDrive, MetabolicModel, Metabolics, MotorUnitPool, MuscleGeometry, MuscleModel, MuscleState
from .physiology.fatigue import UnitFatigue
from .physiology.model import LegModel
from .physiology.motor_units import Recruitment, unit_counts_for

if TYPE_CHECKING:
    from .physiology.discharge import DischargeUnits

MAX_MUSCLE_FORCE_FMAX = 3.0  # eccentric forces reach ~1.5-2 F_max; 3 means the solver blew up
ACCUMULATORS = ("am", "sl", "work_pos", "total", "force_impulse")  # order of fast_step's A_* rows

Crank = Callable[[], tuple[float, float]]  # the crank's (torque N m, brake work J) for the coming substep


class Musculature:
    def __init__(
        self,
        model: LegModel,
        args: BodyArgs,
        legs: int,
        metabolic_model: MetabolicModel,
        physics_dt: float,
        frame_skip: int,
    ) -> None:
        # One planar leg standing for two doubles the muscles as well as the segment masses.
        self.params = dataclasses.replace(model.muscles, f_max=model.muscles.f_max * legs)
        p = self.params
        self.pool: MotorUnitPool | LumpedDrive
        self.discharge: DischargeUnits | None = None
        if args.motor_units:
            n_units = unit_counts_for(args.motor_units == "discharge", args.motor_unit_count)
            self.pool = MotorUnitPool.create(
                p, args.recruitment_limit, args.rate_scale, args.synchronization, n_units=n_units
            )
        else:
            self.pool = LumpedDrive.create(p, args.recruitment_limit, args.synchronization)
        # Discharging units make the activation themselves (their summed twitches) and synchronize
        # their discharges: no activation dynamics, no assumed time-constant gain.
        sync_tau = self.pool.synchronization
        if args.motor_units == "discharge":
            from .physiology.discharge import DischargeUnits  # numba: imported when discharge mode is asked

            assert isinstance(self.pool, MotorUnitPool)
            self.discharge = DischargeUnits.create(self.pool, physics_dt, frame_skip)
            sync_tau = np.zeros(p.n)
        self.muscles = MuscleModel(p, physics_dt, elastic_tendon=args.elastic_tendon, synchronization=sync_tau)
        self.fatigue: UnitFatigue | None = None
        if args.fatigue:
            assert isinstance(self.pool, MotorUnitPool)
            self.fatigue = UnitFatigue.create(self.pool)
        # every unit's force capacity (fresh: 1), what the force sums multiply each unit's force by
        self.capacity = self.fatigue.capacity if self.fatigue is not None else None
        if isinstance(self.pool, MotorUnitPool) and self.capacity is None:
            self.capacity = np.ones(self.pool.threshold.shape)
        # every unit's contraction time where fatigue lengthens it (None: the rested ones, the pool's)
        self.contraction_time = self.fatigue.contraction_time if self.fatigue is not None else None
        self.geometry = MuscleGeometry.from_params(model.geometry, p)
        self.metabolics = Metabolics(p, metabolic_model)
        self.physics_dt = physics_dt
        self.compiled: Any = None
        if args.compiled:
            from .fast_step import CompiledPhysiology  # numba compiles on first import: only when asked

            b = model.body
            self.compiled = CompiledPhysiology.build(
                self.muscles,
                self.geometry,
                self.metabolics,
                b.joint_min,
                b.joint_max,
                b.soft_limit_stiffness,
                b.soft_limit_max_relaxation,
                HARD_STOP_MARGIN_RAD,
                HARD_STOP_STIFFNESS_NM_PER_RAD,
                HARD_STOP_DAMPING_NMS_PER_RAD,
                legs,
            )
            if self.discharge is not None:  # activation = the excitation row, which the discharges fill
                from .fast_step import M_KACT, S_KDEACT

                self.compiled.mp[M_KACT] = 1.0
                self.compiled.sc[S_KDEACT] = 1.0

    def reset(self, q: np.ndarray) -> None:
        """Relaxed muscles in equilibrium with the tendons at posture q; the energy sums at zero."""
        n = self.params.n
        l_mtu, _, _ = self.geometry.lengths_velocities(q, np.zeros(3))
        self.state = self.muscles.equilibrium_state(np.zeros(n), l_mtu)
        self.force = np.zeros(n)
        self.length_norm = self.state.fiber_length / self.params.l_opt
        self.velocity_norm = np.zeros(n)
        if self.discharge is not None:
            self.discharge.reset()
        if self.fatigue is not None:
            self.fatigue.reset()
        self.recruit(np.zeros(n))
        # One matrix, shared by the compiled and the reference path; the dict holds row views.
        self.acc_matrix = np.zeros((len(ACCUMULATORS), n))
        self.acc = dict(zip(ACCUMULATORS, self.acc_matrix, strict=True))
        self.effort = np.zeros(2)  # integral of sum a^2, sum a^3

    @property
    def energy_j(self) -> float:
        """The muscles' metabolic energy this episode (J)."""
        return float(self.acc["total"].sum())

    def recruit(self, drive: np.ndarray) -> Recruitment:
        """The pools' recruitment for this control step; compiled for motor-unit pools (same result, tested).
        In discharge mode the drive is stored and `recruitment` is filled by `simulate`, at the drive with
        the pools' common input (until then it holds the last step's)."""
        pool = self.pool
        self._drive = drive
        if not isinstance(pool, MotorUnitPool):
            self.recruitment = pool.recruit(drive)
            self._active = np.zeros(self.params.n)
            return self.recruitment
        assert self.capacity is not None  # every motor-unit pool has one (fresh: ones)
        if self.discharge is not None:  # the units recruit at the drive with its common input (simulate)
            self.discharge.set_drive(drive, self.capacity, self.contraction_time)
            self._set_recruitment(self.discharge.rec)
            return self.recruitment
        if self.compiled is None:
            self.recruitment = pool.recruit(drive, self.capacity, self.contraction_time)
            self._active = pool.active_units(drive).sum(axis=1).astype(float)
            return self.recruitment
        from .physiology import kernels

        out = np.empty((kernels.N_RECRUIT_ROWS, self.params.n))
        self._set_recruitment(kernels.recruit_pool(pool, drive, self.capacity, out, self.contraction_time))
        return self.recruitment

    def _set_recruitment(self, out: np.ndarray) -> None:
        """`recruitment` from the compiled kernels' rows R_* (copied: the discharge kernel reuses its own)."""
        from .physiology import kernels

        out = out.copy()
        self.recruitment = Recruitment(
            out[kernels.R_FORCE],
            out[kernels.R_SLOW],
            out[kernels.R_FAST],
            out[kernels.R_RECRUITED],
            out[kernels.R_RATE],
            out[kernels.R_AT_LIMIT] > 0.5,
        )
        self._active = out[kernels.R_ACTIVE]

    def capacity_left(self) -> tuple[np.ndarray, np.ndarray]:
        """(type I, type II) force capacity left per muscle, 0..1 (1 without fatigue)."""
        if self.fatigue is None:
            return np.ones(self.params.n), np.ones(self.params.n)
        return self.fatigue.left()

    def discharging_units(self) -> np.ndarray:
        """(muscles,) units firing: that discharged this control step (discharge mode) or recruited
        at a rate (rate mode); 0 for the lumped drive."""
        return self.discharge.discharging() if self.discharge is not None else self._active.copy()

    def simulate(self, body: LegBody, frame_skip: int, crank: Crank | None, seed: int = -1) -> tuple[bool, float]:
        """`frame_skip` physics steps with muscles and metabolics at every step, at this step's
        recruitment; (whether the muscles went unstable, work done on the crank's brake in J). The
        joints' effective inertia, which the limit damping needs, is read once per control step.
        `seed`: the discharges' random numbers this control step (discharge mode)."""
        if self.fatigue is not None:  # the units tire over this step at its drive (their state: the next step's)
            assert isinstance(self.pool, MotorUnitPool)
            self.fatigue.update(self.pool, self._drive, frame_skip * self.physics_dt)
        inertia = body.effective_inertia()
        if self.compiled is not None:
            self.compiled.joints[5] = inertia
            return self._simulate_compiled(body, frame_skip, crank, seed)
        geo, muscles, metab, rec = self.geometry, self.muscles, self.metabolics, self.recruitment
        u = rec.force_fraction
        state = self.state
        am, sl, wpos, total, impulse = (self.acc[k] for k in ACCUMULATORS)
        dt = self.physics_dt
        ext_work = 0.0
        a2 = a3 = 0.0
        out = None
        for _ in range(frame_skip):
            q, qd = body.read_joints()
            l_mtu, v_mtu, arm = geo.lengths_velocities(q, qd)
            state, out = muscles.step(state, u, l_mtu, v_mtu)
            tau = geo.joint_torques(arm, out.force) + body.limit_torques(q, qd, inertia)
            rate = metab.rate_for(rec, state.activation, out)
            am += rate.activation_maintenance * dt
            sl += rate.shortening * dt
            wpos += np.maximum(rate.work, 0.0) * dt
            total += rate.total * dt
            impulse += out.force * dt
            act = state.activation
            a2 += float(act @ act) * dt
            a3 += float(act @ (act * act)) * dt
            crank_torque = 0.0
            if crank is not None:
                crank_torque, work = crank()
                ext_work += work
            body.step(tau, crank_torque)
        assert out is not None
        self.effort += (a2, a3)
        return self._finish(state, out.force, out.fiber_length_norm, out.fiber_velocity), ext_work

    def _simulate_compiled(self, body: LegBody, frame_skip: int, crank: Crank | None, seed: int) -> tuple[bool, float]:
        from .fast_step import O_FORCE, O_LNORM, O_VCE, substep  # compiled: imported once compiled is asked for

        cp, rec, du = self.compiled, self.recruitment, self.discharge
        # drive rows: excitation, type I and type II force; in discharge mode the discharges fill them,
        # one set per physics step, all drawn at once (they depend on the drive, not on the body)
        drives = None
        if du is None:
            drive = np.vstack([rec.force_fraction, rec.slow_force, rec.fast_force])
        else:
            drives = du.step(seed, frame_skip)
            drive = drives[0]
            self._set_recruitment(du.rec)
        state = np.vstack([self.state.activation, self.state.fiber_length])
        out = np.zeros((5, self.params.n))
        tau = np.zeros(3)
        ext_work = 0.0
        # locals: this loop runs 1000 times per simulated second, attribute lookups add up
        read, advance, acc, effort = body.read_joints, body.step, self.acc_matrix, self.effort
        mp, pp, sc, joints = cp.mp, cp.pp, cp.sc, cp.joints
        for k in range(frame_skip):
            q, qd = read()
            if drives is not None:
                drive = drives[k]
            substep(q, qd, drive, state, mp, pp, sc, joints, out, acc, effort, tau)
            if crank is None:
                advance(tau)
            else:
                crank_torque, work = crank()
                ext_work += work
                advance(tau, crank_torque)
        new_state = MuscleState(state[0].copy(), state[1].copy())
        return self._finish(new_state, out[O_FORCE].copy(), out[O_LNORM].copy(), out[O_VCE].copy()), ext_work

    def _finish(self, state: MuscleState, force: np.ndarray, l_norm: np.ndarray, v_ce: np.ndarray) -> bool:
        """Store the step's muscle outputs; True if the muscles went unstable."""
        p = self.params
        self.state = state
        self.force = force
        self.length_norm = l_norm
        self.velocity_norm = v_ce / (p.v_max * p.l_opt)
        finite = bool(np.all(np.isfinite(force)) and np.all(np.isfinite(state.fiber_length)))
        return not finite or bool(np.any(force > MAX_MUSCLE_FORCE_FMAX * p.f_max))

    def make_finite(self) -> None:
        """After a blow-up: NaN in sums and outputs becomes 0, so that info stays finite."""
        for arr in (self.acc_matrix, self.effort, self.force, self.length_norm, self.velocity_norm, *self.state):
            np.nan_to_num(arr, copy=False, nan=0.0, posinf=0.0, neginf=0.0)

    def energy_breakdown(self) -> dict[str, np.ndarray]:
        """Per-muscle energy this episode (J): activation/maintenance heat, shortening heat,
        positive work, total; and the force impulse (N s) Gutmann & Bertram relate to cost."""
        return {k: v.copy() for k, v in self.acc.items()}
