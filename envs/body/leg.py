"""The planar leg in PyBullet: the only module of neuroleg that imports pybullet.

Reduced coordinates (engineering notes: constraint-based planarity drifts): a fixed massless
anchor, then the pelvis degrees of freedom the task allows (none, a vertical rail, or x, z and
pitch), then hip, knee and ankle. Each `LegBody` owns its own DIRECT client, so any number live in
one process. Joint motors are disabled: the body is moved only by the joint torques it is given.

Coordinates (simulator convention, used everywhere in neuroleg): x forward, z up; hip flexion,
knee flexion and ankle dorsiflexion positive; all zero with the leg straight down and the foot
perpendicular to the shank.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
from collections.abc import Iterator

import numpy as np


@contextlib.contextmanager
def _quiet(*streams: object) -> Iterator[None]:
    """Silence what PyBullet's C code prints on these streams (its build-time banner on import, 'argv[0]='
    on every connect): the user's output stays theirs. Python-level errors still propagate."""
    fds = []
    for stream in streams:
        try:
            stream.flush()  # type: ignore[attr-defined]
            fds.append(stream.fileno())  # type: ignore[attr-defined]
        except (AttributeError, ValueError, OSError):  # captured or replaced: nothing to silence
            pass
    saved = [os.dup(fd) for fd in fds]
    try:
        with open(os.devnull, "w") as devnull:
            for fd in fds:
                os.dup2(devnull.fileno(), fd)
            yield
    finally:
        for fd, copy in zip(fds, saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)


with _quiet(sys.stdout, sys.stderr):
    import pybullet as pb
from pybullet_utils.bullet_client import BulletClient  # noqa: E402

from ..physiology.model import LegModel  # noqa: E402
from .spec import CRANK_MASS_KG, GRAVITY_M_S2, BodySpec, BodyState, CrankSpec, PelvisMode  # noqa: E402

# Shoe-floor static friction on dry surfaces is ~0.8-1.0 (Chang et al. 2001, Ergonomics review).
GROUND_FRICTION = 0.9
# Foot sole: width only matters for contact stability of the planar body (m).
FOOT_WIDTH_M = 0.10
FOOT_SOLE_THICKNESS_M = 0.02
# Pelvis slider links need a small mass for a well-posed multibody (engineering notes: hopper).
SLIDER_MASS_KG = 0.01
SLIDER_INERTIA_KG_M2 = 1e-4
PELVIS_TRAVEL_M = 10.0  # the pelvis slider's limits when nothing stops it (never reached)
GROUND_AWAY_M = 100.0  # where reset moves the ground for a moment: beyond any contact (m)
# Hard stops a little beyond the soft limits catch what the soft limits cannot hold (rad).
HARD_STOP_MARGIN_RAD = math.radians(10.0)
HARD_STOP_STIFFNESS_NM_PER_RAD = 2000.0
HARD_STOP_DAMPING_NMS_PER_RAD = 20.0


def _yaw0() -> list[float]:
    return [0.0, 0.0, 0.0, 1.0]


class LegBody:
    """A planar hip-knee-ankle leg with its own PyBullet client."""

    JOINTS = ("hip", "knee", "ankle")

    def __init__(self, model: LegModel, spec: BodySpec) -> None:
        if spec.legs not in (1, 2):
            raise ValueError(f"legs must be 1 or 2, got {spec.legs}")
        if spec.crank is not None and spec.pelvis is not PelvisMode.FIXED:
            raise ValueError("a crank needs pelvis=fixed (seated ergometer)")
        self.model = model
        self.spec = spec
        with _quiet(sys.stdout):
            self.client = BulletClient(connection_mode=pb.DIRECT)
        c = self.client
        c.setGravity(0.0, 0.0, -GRAVITY_M_S2)
        c.setPhysicsEngineParameter(
            fixedTimeStep=spec.physics_dt,
            numSubSteps=0,
            numSolverIterations=spec.solver_iterations,
            deterministicOverlappingPairs=1,
        )
        ground_shape = c.createCollisionShape(pb.GEOM_PLANE)
        self.ground = c.createMultiBody(0.0, ground_shape)
        c.changeDynamics(self.ground, -1, lateralFriction=GROUND_FRICTION)

        segs = model.body.segments
        self.ankle_height = model.body.ankle_height
        self.pelvis_dofs = {PelvisMode.FIXED: (), PelvisMode.RAIL: ("z",), PelvisMode.FREE: ("x", "z", "pitch")}[
            spec.pelvis
        ]
        n_p = len(self.pelvis_dofs)
        self._pelvis_index = [{"x": 0, "z": 1, "pitch": 2}[dof] for dof in self.pelvis_dofs]  # into (x, z, pitch)
        leg_scale = float(spec.legs)
        trunk = segs["trunk"]
        masses, positions, inertial, parents, types, axes, inertias, shapes = [], [], [], [], [], [], [], []
        for k, dof in enumerate(self.pelvis_dofs):
            last = k == n_p - 1
            masses.append(trunk.mass if (last and spec.carry_trunk) else SLIDER_MASS_KG)
            inertias.append(trunk.inertia if (last and spec.carry_trunk) else SLIDER_INERTIA_KG_M2)
            positions.append([0.0, 0.0, 0.0])
            inertial.append([0.0, 0.0, trunk.com_from_proximal] if (last and spec.carry_trunk) else [0.0, 0.0, 0.0])
            parents.append(k)
            types.append(pb.JOINT_REVOLUTE if dof == "pitch" else pb.JOINT_PRISMATIC)
            axes.append({"x": [1, 0, 0], "z": [0, 0, 1], "pitch": [0, -1, 0]}[dof])
            shapes.append(-1)
        foot = segs["foot"]
        foot_len = foot.length
        heel = model.body.ankle_from_heel
        foot_shape = c.createCollisionShape(
            pb.GEOM_BOX,
            halfExtents=[foot_len / 2, FOOT_WIDTH_M / 2, FOOT_SOLE_THICKNESS_M / 2],
            collisionFramePosition=[foot_len / 2 - heel, 0.0, -self.ankle_height + FOOT_SOLE_THICKNESS_M / 2],
        )
        leg = [
            # (segment, joint position in parent frame, CoM in own frame, axis, shape)
            ("thigh", [0.0, 0.0, 0.0], [0.0, 0.0, -segs["thigh"].com_from_proximal], [0, -1, 0], -1),
            ("shank", [0.0, 0.0, -segs["thigh"].length], [0.0, 0.0, -segs["shank"].com_from_proximal], [0, 1, 0], -1),
            (
                "foot",
                [0.0, 0.0, -segs["shank"].length],
                [foot.com_from_proximal, 0.0, -self.ankle_height / 2],
                [0, -1, 0],
                foot_shape,
            ),
        ]
        for i, (name, pos, com, axis, shape) in enumerate(leg):
            masses.append(segs[name].mass * leg_scale)
            inertias.append(segs[name].inertia * leg_scale)
            positions.append(pos)
            inertial.append(com)
            parents.append(n_p + i)
            types.append(pb.JOINT_REVOLUTE)
            axes.append(axis)
            shapes.append(shape)
        n_links = len(masses)
        base_z = spec.hip_height if spec.pelvis is PelvisMode.FIXED else 0.0
        self.body_id = c.createMultiBody(
            baseMass=0.0,
            basePosition=[0.0, 0.0, base_z],
            linkMasses=masses,
            linkCollisionShapeIndices=shapes,
            linkVisualShapeIndices=[-1] * n_links,
            linkPositions=positions,
            linkOrientations=[_yaw0()] * n_links,
            linkInertialFramePositions=inertial,
            linkInertialFrameOrientations=[_yaw0()] * n_links,
            linkParentIndices=parents,
            linkJointTypes=types,
            linkJointAxis=axes,
        )
        self.link_masses = np.array(masses)
        self.total_mass = float(self.link_masses.sum())
        for link, inertia in enumerate(inertias):
            # Planar body: only the pitch inertia matters; damping off (PyBullet's default 0.04
            # would bleed 7.5 % of speed per second, engineering notes).
            c.changeDynamics(
                self.body_id,
                link,
                localInertiaDiagonal=[inertia] * 3,
                linearDamping=0.0,
                angularDamping=0.0,
                jointDamping=0.0,
                lateralFriction=GROUND_FRICTION,
            )
        self.all_joints = list(range(n_links))
        self.leg_joints = list(range(n_p, n_p + 3))
        self.foot_link = n_p + 2
        self.pelvis_link = n_p - 1 if n_p else -1
        c.setJointMotorControlArray(self.body_id, self.all_joints, pb.VELOCITY_CONTROL, forces=[0.0] * n_links)
        # Hot path (1 kHz): call pybullet directly with the client id bound once; BulletClient's
        # __getattr__ costs ~1 us per call.
        cid = c._client  # BulletClient's raw client id
        self._get_states = functools.partial(pb.getJointStates, self.body_id, self.leg_joints, physicsClientId=cid)
        self._get_states_all = functools.partial(pb.getJointStates, self.body_id, self.all_joints, physicsClientId=cid)
        self._mass_matrix = functools.partial(pb.calculateMassMatrix, self.body_id, physicsClientId=cid)
        self._set_torques = functools.partial(
            pb.setJointMotorControlArray, self.body_id, self.leg_joints, pb.TORQUE_CONTROL, physicsClientId=cid
        )
        self._step_sim = functools.partial(pb.stepSimulation, physicsClientId=cid)
        self._get_joint = functools.partial(pb.getJointState, physicsClientId=cid)
        self._set_motor = functools.partial(pb.setJointMotorControl2, physicsClientId=cid)
        self._zeros_pelvis = [0.0] * n_p
        self._pelvis_lock_force = 0.0
        self._pelvis_floor = False
        self.crank_id: int | None = None
        self._crank_constraint: int | None = None
        if spec.crank is not None:
            self._build_crank(spec.crank)

    # -- construction ------------------------------------------------------------------------
    def _build_crank(self, crank: CrankSpec) -> None:
        c = self.client
        hip_z = self.spec.hip_height
        self.crank_id = c.createMultiBody(
            baseMass=0.0,
            basePosition=[crank.center_x, 0.0, hip_z + crank.center_z],
            linkMasses=[CRANK_MASS_KG],
            linkCollisionShapeIndices=[-1],
            linkVisualShapeIndices=[-1],
            linkPositions=[[0.0, 0.0, 0.0]],
            linkOrientations=[_yaw0()],
            linkInertialFramePositions=[[0.0, 0.0, 0.0]],
            linkInertialFrameOrientations=[_yaw0()],
            linkParentIndices=[0],
            linkJointTypes=[pb.JOINT_REVOLUTE],
            linkJointAxis=[[0, 1, 0]],  # + = forward pedalling (pedal goes forward over the top)
        )
        c.changeDynamics(
            self.crank_id,
            0,
            # the counterweight's gravity is applied per step (LegEnv's ergometer torque)
            localInertiaDiagonal=[crank.total_inertia] * 3,
            linearDamping=0.0,
            angularDamping=0.0,
            jointDamping=0.0,
        )
        c.setJointMotorControl2(self.crank_id, 0, pb.VELOCITY_CONTROL, force=0.0)

    def attach_pedal(self) -> None:
        """Clip the foot to the pedal (call after the leg is posed on the pedal)."""
        crank = self.spec.crank
        if crank is None or self.crank_id is None:
            raise RuntimeError("this body has no crank")
        if self._crank_constraint is not None:
            self.client.removeConstraint(self._crank_constraint)
        foot_com = self.model.body.segments["foot"].com_from_proximal
        # Constraint frames are relative to each link's centre of mass.
        self._crank_constraint = self.client.createConstraint(
            self.body_id,
            self.foot_link,
            self.crank_id,
            0,
            pb.JOINT_POINT2POINT,
            [0, 0, 0],
            parentFramePosition=[crank.pedal_x - foot_com, 0.0, -self.ankle_height / 2],
            childFramePosition=[0.0, 0.0, crank.length],
        )
        self.client.changeConstraint(self._crank_constraint, maxForce=1e5)

    # -- state -------------------------------------------------------------------------------
    def reset(
        self,
        q: np.ndarray,
        qd: np.ndarray | None = None,
        pelvis_z: float | None = None,
        crank_angle: float = 0.0,
        crank_velocity: float = 0.0,
        pelvis_pitch: float = 0.0,
    ) -> None:
        c = self.client
        # PyBullet keeps contact points, and the impulses that warm-start its solver, while bodies stay
        # in touch (restoreState keeps them too): a collision pass with the ground out of reach drops
        # them, so that no contact of an earlier episode carries into this one and a reused environment
        # repeats a fresh one bit for bit.
        c.resetBasePositionAndOrientation(self.ground, [0.0, 0.0, -GROUND_AWAY_M], [0.0, 0.0, 0.0, 1.0])
        c.performCollisionDetection()
        c.resetBasePositionAndOrientation(self.ground, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0])
        qd = np.zeros(3) if qd is None else qd
        for j, joint in enumerate(self.leg_joints):
            c.resetJointState(self.body_id, joint, float(q[j]), float(qd[j]))
        for k, dof in enumerate(self.pelvis_dofs):
            value = {"x": 0.0, "z": self.spec.hip_height if pelvis_z is None else pelvis_z, "pitch": pelvis_pitch}[dof]
            c.resetJointState(self.body_id, k, value, 0.0)
        if self.crank_id is not None:
            c.resetJointState(self.crank_id, 0, crank_angle, crank_velocity)
            self.attach_pedal()
        # getContactPoints answers from the last collision pass: without a new one the first
        # observation of an episode would carry the previous episode's ground force.
        c.performCollisionDetection()

    def read(self) -> BodyState:
        states = self.client.getJointStates(self.body_id, self.all_joints)
        pos = np.array([s[0] for s in states])
        vel = np.array([s[1] for s in states])
        n_p = len(self.pelvis_dofs)
        pelvis = np.array([0.0, self.spec.hip_height, 0.0])
        pelvis_v = np.zeros(3)
        pelvis[self._pelvis_index] = pos[:n_p]
        pelvis_v[self._pelvis_index] = vel[:n_p]
        return BodyState(pos[n_p:], vel[n_p:], pelvis, pelvis_v)

    def read_joints(self) -> tuple[np.ndarray, np.ndarray]:
        """(q, qd) of hip, knee, ankle only: the cheap per-substep read."""
        (q0, v0, _, _), (q1, v1, _, _), (q2, v2, _, _) = self._get_states()
        return np.array((q0, q1, q2)), np.array((v0, v1, v2))

    def crank_state(self) -> tuple[float, float]:
        if self.crank_id is None:
            raise RuntimeError("this body has no crank")
        angle, velocity, _, _ = self._get_joint(self.crank_id, 0)
        return angle, velocity

    # -- actuation ---------------------------------------------------------------------------
    def lock_pelvis(self, locked: bool, force: float = 1e5, floor_only: bool = False) -> None:
        """Hold the pelvis degrees of freedom still (a static start) or release them.

        `floor_only`: a stool under the pelvis instead. It stops the pelvis sinking but neither holds it
        down nor keeps it from turning or sliding, so muscles cannot load against it beyond the body's
        weight, as a jumper holding a squat cannot (a full lock let them build 1.8 body weights)."""
        n_p = len(self.pelvis_dofs)
        if not n_p:
            return
        self._pelvis_lock_force = force if locked and not floor_only else 0.0
        self.client.setJointMotorControlArray(
            self.body_id,
            list(range(n_p)),
            pb.VELOCITY_CONTROL,
            targetVelocities=self._zeros_pelvis,
            forces=[self._pelvis_lock_force] * n_p,
        )
        if "z" in self.pelvis_dofs and (floor_only or self._pelvis_floor):
            self._pelvis_floor = locked and floor_only
            # PyBullet enforces a prismatic joint's limits when lower < upper: the floor is the lower one
            floor = self.read().pelvis[1] if self._pelvis_floor else -PELVIS_TRAVEL_M
            self.client.changeDynamics(
                self.body_id,
                self.pelvis_dofs.index("z"),
                jointLowerLimit=floor,
                jointUpperLimit=PELVIS_TRAVEL_M,
            )

    def step(self, torques: np.ndarray, crank_torque: float = 0.0) -> None:
        """Apply joint torques (N m, hip/knee/ankle) for one physics step and advance."""
        self._set_torques(forces=torques.tolist())
        if self.crank_id is not None:
            self._set_motor(self.crank_id, 0, pb.TORQUE_CONTROL, force=crank_torque)
        self._step_sim()

    def effective_inertia(self) -> np.ndarray:
        """Each leg joint's effective inertia (kg m^2, hip, knee, ankle): 1 / (M^-1)_jj of the joint-space
        mass matrix at the current posture, what the joint's own torque meets with every other joint free.
        Contact and the crank only add to it, so it is a lower bound: what the limit damping needs."""
        states = self._get_states_all()
        mass = np.asarray(self._mass_matrix([s[0] for s in states]))
        return 1.0 / np.diag(np.linalg.inv(mass))[self.leg_joints]

    def limit_torques(self, q: np.ndarray, qd: np.ndarray, inertia: np.ndarray) -> np.ndarray:
        """Passive joint-limit torques (N m): Geyer & Herr 2010 soft blocks past the range of motion,
        tau = -k d (1 + d_dot / w_max) (never pulling outwards), and a stiff hard stop
        HARD_STOP_MARGIN_RAD further out for what the soft block cannot hold.

        Their damping (k d / w_max, with w_max = 1 deg/s, and the hard stop's) is taken implicitly in
        the joint velocity, D / (1 + D dt / I) for the joint's effective inertia I (`effective_inertia`):
        applied explicitly it reversed a light foot's velocity within one physics step (3 deg into the
        ankle's limit at 30 rad/s, about 1500 N m on 0.01 kg m^2) and threw it out of the range."""
        b = self.model.body
        legs = float(self.spec.legs)
        excess = np.maximum(q - b.joint_max, 0.0) + np.minimum(q - b.joint_min, 0.0)
        sign = np.sign(excess)
        hard = np.maximum(np.abs(excess) - HARD_STOP_MARGIN_RAD, 0.0) * sign
        soft_damping = legs * b.soft_limit_stiffness * np.abs(excess) / b.soft_limit_max_relaxation
        hard_damping = legs * (hard != 0.0) * HARD_STOP_DAMPING_NMS_PER_RAD
        implicit = 1.0 / (1.0 + (soft_damping + hard_damping) * self.spec.physics_dt / inertia)
        soft = legs * b.soft_limit_stiffness * excess + implicit * soft_damping * qd
        soft = np.where(soft * sign > 0.0, soft, 0.0)  # a block pushes back, never pulls outwards
        hard_torque = legs * HARD_STOP_STIFFNESS_NM_PER_RAD * hard + implicit * hard_damping * qd
        return -(soft + hard_torque)

    # -- kinematics and contact ----------------------------------------------------------------
    def contact_force(self) -> float:
        """Total normal force of the ground on the foot (N)."""
        points = self.client.getContactPoints(self.body_id, self.ground, self.foot_link, -1)
        return float(sum(p[9] for p in points))

    def center_of_mass(self) -> tuple[np.ndarray, np.ndarray]:
        """Whole-body (x, z) CoM position and velocity (m, m/s), crank excluded."""
        links = self.client.getLinkStates(self.body_id, self.all_joints, computeLinkVelocity=1)
        pos = np.array([[s[0][0], s[0][2]] for s in links])
        vel = np.array([[s[6][0], s[6][2]] for s in links])
        w = self.link_masses[:, None] / self.total_mass
        return (pos * w).sum(axis=0), (vel * w).sum(axis=0)

    def lowest_point(self, state: BodyState | None = None) -> float:
        """z of the lowest foot vertex, heel or toe (m): negative means the sole is inside the ground.

        Scalar form of `forward_kinematics` for the two sole points (it runs every control step)."""
        st = self.read() if state is None else state
        segs = self.model.body.segments
        q0, q1, q2 = float(st.q[0] + st.pelvis[2]), float(st.q[1]), float(st.q[2])  # q0: thigh from vertical
        ankle_z = st.pelvis[1] - segs["thigh"].length * math.cos(q0) - segs["shank"].length * math.cos(q0 - q1)
        pitch = q0 - q1 + q2
        s, c = math.sin(pitch), math.cos(pitch)
        heel_x = -self.model.body.ankle_from_heel
        toe_x = segs["foot"].length - self.model.body.ankle_from_heel
        sole = -self.ankle_height * c
        return float(ankle_z + sole + min(heel_x * s, toe_x * s))

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.disconnect()
            except pb.error:
                pass
