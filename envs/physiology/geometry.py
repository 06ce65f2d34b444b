"""Musculotendon length and moment arms as functions of hip, knee and ankle angles.

Geyer & Herr 2010 (IEEE TNSRE 18:263): r(phi) = r0 cos(phi - phi_max), length change
rho r0 [sin(phi - phi_max) - sin(phi_ref - phi_max)]; constant arms for the hip.
Song & Geyer 2015 (J Physiol 593:3493) generalise the cosine with a scale kappa so that the arm
falls from r_max to r_min between phi_max and phi_min (knee extensors in deep flexion).

Here the effective arm rho r is used for the torque *and* the length change, so that the work
done at the joints equals the work done by the musculotendon units (power consistency).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .model import GeometryParams, MuscleParams

# Beyond this |kappa (phi - phi_max)| the cosine arm would shrink towards zero and change sign,
# outside the range the sources fitted; the arm is held at r_max cos(limit) and the length
# continues linearly (C1-continuous). Modelling guard, not from the sources.
ARM_ANGLE_LIMIT_RAD = math.radians(80.0)


@dataclass(frozen=True)
class MuscleGeometry:
    """Vectorised geometry of all muscles; q, qd are joint angles (rad) and velocities (rad/s)."""

    params: GeometryParams
    l_rest: np.ndarray  # l_opt + l_slack per muscle, m
    incidence: np.ndarray  # (n_muscles, n_pairs) 0/1: which pairs belong to which muscle
    joint_incidence: np.ndarray  # (n_joints, n_pairs) 0/1
    s_ref: np.ndarray  # S(phi_ref) per pair

    @classmethod
    def from_params(cls, geometry: GeometryParams, muscles: MuscleParams, n_joints: int = 3) -> MuscleGeometry:
        n_pairs = geometry.muscle_index.size
        incidence = np.zeros((muscles.n, n_pairs))
        incidence[geometry.muscle_index, np.arange(n_pairs)] = 1.0
        joint_incidence = np.zeros((n_joints, n_pairs))
        joint_incidence[geometry.joint_index, np.arange(n_pairs)] = 1.0
        u_ref = geometry.kappa * (geometry.phi_ref - geometry.phi_max)
        return cls(
            params=geometry,
            l_rest=muscles.l_opt + muscles.l_slack,
            incidence=incidence,
            joint_incidence=joint_incidence,
            s_ref=_arm_terms(u_ref)[1],
        )

    def pair_arms(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(signed effective moment arm per pair in m, length contribution per pair in m)."""
        p = self.params
        cos_uc, s = _arm_terms(p.kappa * (p.phi_offset - q[p.joint_index] - p.phi_max))
        gain = p.sign * p.rho * p.r_max
        # dl/dq = -arm: the muscle shortens when the joint moves the way its torque pushes.
        return gain * cos_uc, gain / p.kappa * (s - self.s_ref)

    def lengths_velocities(self, q: np.ndarray, qd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(musculotendon length m, lengthening velocity m/s, pair arms m) for every muscle."""
        arm, dl = self.pair_arms(q)
        l_mtu = self.l_rest + self.incidence @ dl
        v_mtu = -(self.incidence @ (arm * qd[self.params.joint_index]))
        return l_mtu, v_mtu, arm

    def joint_torques(self, arm: np.ndarray, force: np.ndarray) -> np.ndarray:
        """Joint torques (N m, simulator coordinates) from musculotendon forces (N)."""
        return self.joint_incidence @ (arm * force[self.params.muscle_index])

    def moment_arm_matrix(self, q: np.ndarray) -> np.ndarray:
        """(n_muscles, n_joints) signed effective moment arms at q, for analysis and tests."""
        arm, _ = self.pair_arms(q)
        out = np.zeros((self.incidence.shape[0], self.joint_incidence.shape[0]))
        out[self.params.muscle_index, self.params.joint_index] = arm
        return out


def _arm_terms(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cos of the clipped angle: the arm shape, its integral S continued linearly past the clip)."""
    uc = np.clip(u, -ARM_ANGLE_LIMIT_RAD, ARM_ANGLE_LIMIT_RAD)
    cos_uc = np.cos(uc)
    return cos_uc, np.sin(uc) + cos_uc * (u - uc)
