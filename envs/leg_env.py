"""LegEnv: a Gymnasium environment = PyBullet leg + nine Hill muscles with motor-unit pools + a task."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pydantic import ValidationError

from .actions import action_to_drive
from .arguments import CONTROL_DT_S, ENERGY_WEIGHT_MAX, PHYSICS_DT_DEFAULT_S, SOLVER_ITERATIONS_DEFAULT, BodyArgs
from .body.leg import LegBody
from .body.spec import GRAVITY_M_S2
from .musculature import Musculature
from .physiology import (
    MetabolicModel,
    basal_rate,
    energy_to_oxygen_ml,
    load_model,
)
from .physiology.model import MUSCLE_NAMES, LegModel
from .physiology.motor_units import DISCHARGE_SEED_LIMIT
from .tasks.base import InitialPose, Snapshot, Task, argument_error

# Control at 50 Hz (CONTROL_DT_S): neural drive changes no faster than the 15/50 ms
# activation/deactivation time constants (Thelen 2003) filter it, and fewer decisions per simulated
# second make learning cheaper on two cores. The physics step is the `physics_dt` argument.
# Instability guards: beyond these the simulation is no longer physical.
MAX_JOINT_SPEED_RAD_S = 60.0
MAX_PELVIS_SPEED_M_S = 20.0
MAX_PENETRATION_M = 0.05
VERTICAL_TRAVEL_FLOOR_M = 0.01  # energy per metre of travel counts at least 1 cm (no division by ~0)


class LegEnv(gym.Env[np.ndarray, np.ndarray]):
    """A planar musculoskeletal leg driven by nine Hill-type muscles through motor-unit pools.

    ## Action
    `Box(-1, 1, (9,), float32)`, one value per muscle of HFL, GLU, HAM, RF, VAS, BFSH, GAS, SOL, TA (in
    that order, `MUSCLE_NAMES`), the neural drive 0..1 = (action + 1) / 2 (actions.py). Values outside
    [-1, 1] are clipped; NaN/inf or a wrong shape raise ValueError. The drive goes through each muscle's
    motor-unit pool to the excitation of the Hill model, held over the control step; info["drive"] is
    the drive applied.

    ## Observation (float32, unbounded Box; every field finite)
    `observation_structure` maps each field's name to its slice, built from the muscle count and the
    task's `observation_fields`: joint_angle (hip, knee, ankle, rad; + = flexion, flexion,
    dorsiflexion), joint_velocity (rad/s), pelvis_height (above its start, m),
    pelvis_vertical_velocity (m/s), fiber_length (/ l_opt), fiber_velocity (/ v_max l_opt, negative
    shortening), muscle_force (/ F_max), activation, ground_force (/ body weight), then
    "task.<name>" per task field, and drive (the drive applied) only when drive_rise_s > 0 (the limit
    makes it state the policy needs).

    ## Reward
    Sum of the task's terms minus `energy_weight` x muscle metabolic energy this step per kg
    body mass (J/kg): `reward_energy`. Every term is in info as `reward_<name>` and they sum to
    the reward.

    ## Episode end
    The task ends it (terminated) or its `time_limit_s` runs out (truncated; the registered id's
    limit is only the longest any arguments give, SquatJump's hold following drive_rise_s). A
    simulation that goes unstable (non-finite state, joint speed > 60 rad/s, penetration > 5 cm,
    muscle force > 3 F_max) is truncated with `info["unstable"] = True` and a finite observation.

    ## Arguments
    Keyword-only, every one declared with its type, default, range and meaning in `BodyArgs`
    (arguments.py; the manual's Environments page is generated from it) plus the task's own `Args`;
    validated when the environment is made, a wrong type refused by name.

    ## Version history
    CHANGELOG.md (the ids' version is ENV_VERSION, bumped on any change of behaviour).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": round(1 / CONTROL_DT_S)}
    task_class: ClassVar[type[Task]]

    def __init__(
        self,
        *,
        energy_weight: float | None = None,
        metabolic_model: str = "umberger2010",
        motor_units: bool | str = True,
        recruitment_limit: float | dict[str, float] = 1.0,
        rate_scale: float | dict[str, float] = 1.0,
        motor_unit_count: int | dict[str, int] | None = None,
        synchronization: float | dict[str, float] = 0.0,
        drive_rise_s: float = 0.0,
        fatigue: bool = False,
        elastic_tendon: bool = True,
        model_path: str | None = None,
        compiled: bool = True,
        physics_dt: float = PHYSICS_DT_DEFAULT_S,
        solver_iterations: int = SOLVER_ITERATIONS_DEFAULT,
        render_mode: str | None = None,
        **task_kwargs: Any,
    ) -> None:
        super().__init__()
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.render_mode = render_mode
        body_kwargs = {
            "energy_weight": energy_weight,
            "metabolic_model": metabolic_model,
            "motor_units": motor_units,
            "recruitment_limit": recruitment_limit,
            "rate_scale": rate_scale,
            "motor_unit_count": motor_unit_count,
            "synchronization": synchronization,
            "drive_rise_s": drive_rise_s,
            "fatigue": fatigue,
            "elastic_tendon": elastic_tendon,
            "model_path": model_path,
            "compiled": compiled,
            "physics_dt": physics_dt,
            "solver_iterations": solver_iterations,
        }
        errors: list[ValidationError] = []  # every bad argument, body's and task's, in one error
        try:
            self.body_args = BodyArgs.model_validate(body_kwargs)
        except ValidationError as err:
            errors.append(err)
        try:
            task_args = self.task_class.Args.model_validate(task_kwargs)
        except ValidationError as err:
            errors.append(err)
        if errors:
            raise argument_error(type(self).__name__, errors, self.argument_names())
        args = self.body_args
        self.model: LegModel = load_model(args.model_path)
        self.task = self.task_class(self.model, task_args)
        self.energy_weight = self.task.default_energy_weight if args.energy_weight is None else args.energy_weight
        self.metabolic_model = MetabolicModel.parse(args.metabolic_model)
        # the most the drive may rise in one control step
        self._drive_step = CONTROL_DT_S / args.drive_rise_s if args.drive_rise_s > 0 else math.inf
        self.task.use_drive_rise(args.drive_rise_s)
        self._step_limit = round(self.task.time_limit_s() / CONTROL_DT_S)
        self._init_kwargs = {**body_kwargs, "render_mode": render_mode, **task_kwargs}

        self.physics_dt = args.physics_dt
        spec = dataclasses.replace(self.task.body_spec(args.physics_dt), solver_iterations=args.solver_iterations)
        self.body = LegBody(self.model, spec)
        self.frame_skip = round(CONTROL_DT_S / args.physics_dt)
        self.musculature = Musculature(
            self.model, args, spec.legs, self.metabolic_model, args.physics_dt, self.frame_skip
        )
        self.muscle_params = self.musculature.params
        self.body_mass = self.model.body.mass
        self.body_weight = self.body.total_mass * GRAVITY_M_S2
        self.basal_w = basal_rate(self.body_mass)
        self.dt = CONTROL_DT_S
        n = self.muscle_params.n
        self.action_space = spaces.Box(-1.0, 1.0, (n,), np.float32)
        # With a rate limit the drive applied depends on the last one: the policy has to see it.
        self._drive_in_obs = self._drive_step < math.inf
        fields = [
            ("joint_angle", 3),
            ("joint_velocity", 3),
            ("pelvis_height", 1),
            ("pelvis_vertical_velocity", 1),
            ("fiber_length", n),
            ("fiber_velocity", n),
            ("muscle_force", n),
            ("activation", n),
            ("ground_force", 1),
            *((f"task.{name}", 1) for name in self.task.observation_fields),
            *((("drive", n),) if self._drive_in_obs else ()),
        ]
        self.observation_structure: dict[str, slice] = {}
        start = 0
        for name, size in fields:
            self.observation_structure[name] = slice(start, start + size)
            start += size
        task_names = [f"task.{name}" for name in self.task.observation_fields]
        first = self.observation_structure[task_names[0]].start if task_names else 0
        self._task_slice = slice(first, first + len(task_names))
        self._obs_buffer = np.zeros(start)
        self.observation_space = spaces.Box(-np.inf, np.inf, (start,), np.float32)
        self._renderer: Any = None
        self._episode_started = False

    @classmethod
    def argument_names(cls) -> list[str]:
        """Every keyword the environment takes: the body's (`BodyArgs`), render_mode and the task's own."""
        return [*BodyArgs.model_fields, "render_mode", *cls.task_class.Args.model_fields]

    # -- Gymnasium API ------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        pose: InitialPose = self.task.initialize_episode(self.body, self.np_random)
        self.body.reset(pose.q, pose.qd, pose.pelvis_z, pose.crank_angle, pose.crank_velocity, pose.pelvis_pitch)
        self._lock_steps = round(pose.lock_pelvis_s / CONTROL_DT_S)
        self.body.lock_pelvis(self._lock_steps > 0, floor_only=pose.floor_only)
        self._pelvis_start = self.body.read().pelvis[1]
        self.musculature.reset(pose.q)
        self._drive = np.zeros(self.muscle_params.n)
        self._t = 0.0
        self._steps = 0
        self._external_work = 0.0
        self._last_power = 0.0
        self._unstable = False
        snap, _ = self._snapshot()
        self._last_snapshot = snap
        self.task.start(snap)
        self._last_obs = self._observation(snap)
        self._episode_started = True
        return self._last_obs.copy(), self._info({}, snap)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self._episode_started:
            raise RuntimeError("call reset() before step()")
        drive = np.minimum(self._validate_action(action), self._drive + self._drive_step)
        self._drive = drive
        if self._lock_steps and self._steps == self._lock_steps:
            self.body.lock_pelvis(False)
        mus = self.musculature
        mus.recruit(drive)
        energy_before = mus.energy_j
        crank = self._crank_resistance if self.body.crank_id is not None else None
        # discharge mode: this control step's discharges are drawn from the environment's generator
        seed = int(self.np_random.integers(DISCHARGE_SEED_LIMIT)) if mus.discharge is not None else -1
        unstable, brake_work = mus.simulate(self.body, self.frame_skip, crank, seed)
        self._external_work += brake_work
        self._t += CONTROL_DT_S
        self._steps += 1
        muscle_energy = mus.energy_j - energy_before
        self._last_power = muscle_energy / CONTROL_DT_S
        if not unstable:
            snap, ok = self._snapshot()
            unstable = not ok
        if unstable:
            self._unstable = True
            mus.make_finite()  # a blow-up inside the muscles may have put NaN into sums and outputs
            if not math.isfinite(muscle_energy):
                muscle_energy = self._last_power = 0.0
            snap = self._last_snapshot
            terms, terminated = {}, False
            obs = self._last_obs.copy()
        else:
            terms, terminated = self.task.update(snap)
            obs = self._observation(snap)
            self._last_obs = obs
        terms["energy"] = -self.energy_weight * muscle_energy / self.body_mass
        reward = float(sum(terms.values()))
        if not math.isfinite(reward):
            reward, unstable, self._unstable = 0.0, True, True
        info = self._info(terms, snap)
        truncated = unstable or self._steps >= self._step_limit
        return obs.copy(), reward, bool(terminated and not unstable), bool(truncated), info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        from .render import LegRenderer  # Pillow, only when rendering

        if self._renderer is None:
            self._renderer = LegRenderer(self.model)
        st = self.body.read()
        crank = None
        if self.body.crank_id is not None:
            spec = self.body.spec.crank
            assert spec is not None
            crank = (spec.center_x, spec.center_z + self.body.spec.hip_height, spec.length, self.body.crank_state()[0])
        hip = (st.pelvis[0], st.pelvis[1])
        aim = self.task.render_target()
        target = None if aim is None else (hip[0] + aim[0], hip[1] + aim[1])
        return self._renderer.draw(st.q, hip, self.musculature.state.activation, crank, st.pelvis[2], self._t, target)

    def close(self) -> None:
        self.body.close()

    # -- pickling: a PyBullet client cannot be pickled, so an env travels as its arguments --------
    def __getstate__(self) -> dict[str, Any]:
        return {"kwargs": self._init_kwargs, "rng": self.np_random.bit_generator.state if self._np_random else None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state["kwargs"])  # type: ignore[misc]
        if state["rng"] is not None:
            self.np_random.bit_generator.state = state["rng"]

    # -- internals ----------------------------------------------------------------------------
    def _validate_action(self, action: np.ndarray) -> np.ndarray:
        """The drive (0..1) an action asks for; a wrong shape or a non-finite value is refused."""
        a = np.asarray(action, dtype=np.float64)
        if a.shape != self.action_space.shape:
            raise ValueError(
                f"action must have shape {self.action_space.shape} (a value per muscle of {list(MUSCLE_NAMES)}), "
                f"got {a.shape}"
            )
        if not np.all(np.isfinite(a)):
            raise ValueError(f"action must be finite, got {a.tolist()}")
        return action_to_drive(np.clip(a, -1.0, 1.0))

    def _crank_resistance(self) -> tuple[float, float]:
        """Ergometer for the coming physics step: (brake torque -c omega plus the counterweight's
        gravity, in N m; work done on the brake in J)."""
        spec = self.body.spec.crank
        assert spec is not None
        angle, omega = self.body.crank_state()
        torque = -spec.damping_nms * omega + spec.counterweight_torque(angle)
        return torque, spec.damping_nms * omega * omega * self.physics_dt

    def _snapshot(self) -> tuple[Snapshot, bool]:
        """The state the task sees, and whether it is physical (finite, bounded, not in the ground)."""
        st = self.body.read()
        com, com_v = self.body.center_of_mass()
        angle, omega = self.body.crank_state() if self.body.crank_id is not None else (0.0, 0.0)
        snap = Snapshot(
            t=self._t,
            q=st.q,
            qd=st.qd,
            pelvis=st.pelvis,
            pelvis_velocity=st.pelvis_velocity,
            com=com,
            com_velocity=com_v,
            contact_force=self.body.contact_force(),
            crank_angle=angle,
            crank_velocity=omega,
            external_work=self._external_work,
            body_weight=self.body_weight,
        )
        values = np.concatenate([st.q, st.qd, st.pelvis, st.pelvis_velocity, com, com_v])
        ok = (
            bool(np.all(np.isfinite(values)))
            and math.isfinite(snap.contact_force)
            and float(np.max(np.abs(st.qd))) <= MAX_JOINT_SPEED_RAD_S
            and float(np.max(np.abs(st.pelvis_velocity[:2]))) <= MAX_PELVIS_SPEED_M_S
            and self.body.lowest_point(st) > -MAX_PENETRATION_M
        )
        if ok:
            self._last_snapshot = snap
        return snap, ok

    def _observation(self, snap: Snapshot) -> np.ndarray:
        """Fill the observation in place, field by field (`observation_structure`)."""
        buf, at = self._obs_buffer, self.observation_structure
        buf[at["joint_angle"]] = snap.q
        buf[at["joint_velocity"]] = snap.qd
        buf[at["pelvis_height"]] = snap.pelvis[1] - self._pelvis_start
        buf[at["pelvis_vertical_velocity"]] = snap.pelvis_velocity[1]
        mus = self.musculature
        buf[at["fiber_length"]] = mus.length_norm
        buf[at["fiber_velocity"]] = mus.velocity_norm
        buf[at["muscle_force"]] = mus.force / self.muscle_params.f_max
        buf[at["activation"]] = mus.state.activation
        buf[at["ground_force"]] = snap.contact_force / self.body_weight
        buf[self._task_slice] = self.task.observation(snap)
        if self._drive_in_obs:
            buf[at["drive"]] = self._drive
        obs = buf.astype(np.float32)
        if not np.isfinite(obs).all():  # the snapshot was checked; this guards the task's own fields
            np.nan_to_num(obs, copy=False, nan=0.0, posinf=1e6, neginf=-1e6)
        return obs

    def _info(self, terms: dict[str, float], snap: Snapshot) -> dict[str, Any]:
        mus = self.musculature
        muscle_energy = mus.energy_j
        gross = muscle_energy + self.basal_w * self._t
        units = self.task.units_completed()
        per_unit = gross / max(units, 1.0)
        oxygen_per_unit = float(energy_to_oxygen_ml(per_unit))
        rec = mus.recruitment
        capacity = mus.capacity_left()
        info: dict[str, Any] = {
            "metabolic_energy_j": gross,
            "muscle_energy_j": muscle_energy,
            "mechanical_work_j": float(mus.acc["work_pos"].sum()),
            "metabolic_power_w": self._last_power + self.basal_w,
            "muscle_power_w": self._last_power,
            "oxygen_ml": float(energy_to_oxygen_ml(gross)),
            "task_units": units,
            "energy_per_unit_j": per_unit,
            "energy_per_unit_j_per_kg": per_unit / self.body_mass,
            "oxygen_per_unit_ml": oxygen_per_unit,
            "oxygen_per_unit_ml_per_kg": oxygen_per_unit / self.body_mass,
            "task_score": float(self.task.score()),
            "effort_a2": float(mus.effort[0]),
            "effort_a3": float(mus.effort[1]),
            "drive": self._drive.copy(),  # the action after drive_rise_s's limit
            "activation": mus.state.activation.copy(),
            "muscle_force_n": mus.force.copy(),
            "motor_units_recruited": rec.recruited_fraction.copy(),
            "motor_units_discharging": mus.discharging_units(),
            "fatigue_capacity_type1": capacity[0],
            "fatigue_capacity_type2": capacity[1],
            "type2_share": rec.type2_share.copy(),
            "at_recruitment_limit": rec.at_limit.copy(),
            "unstable": self._unstable,
            "time_s": self._t,
        }
        for name, value in self.task.metrics().items():
            info[name] = float(value)
        if "vertical_travel_m" in info:
            info["energy_per_vertical_m_j"] = gross / max(info["vertical_travel_m"], VERTICAL_TRAVEL_FLOOR_M)
        if "pedal_work_j" in info:
            info["gross_efficiency"] = info["pedal_work_j"] / gross if gross > 0 else 0.0
        for name, value in terms.items():
            info[f"reward_{name}"] = float(value)
        return info

    def set_energy_weight(self, weight: float) -> None:
        """Change the reward's energy weight from the next step on (a training schedule's handle; the
        same bounds as the `energy_weight` argument)."""
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise TypeError(f"energy_weight must be a number, got {type(weight).__name__}")
        if not 0.0 <= weight <= ENERGY_WEIGHT_MAX:
            raise ValueError(f"energy_weight must lie in [0, {ENERGY_WEIGHT_MAX:g}], got {weight!r}")
        self.energy_weight = float(weight)

    def energy_breakdown(self) -> dict[str, np.ndarray]:
        """Per-muscle energy this episode (J): activation/maintenance heat, shortening heat,
        positive work, total; and the force impulse (N s) Gutmann & Bertram relate to cost."""
        return self.musculature.energy_breakdown()
