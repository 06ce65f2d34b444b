"""Planar kinematics of the leg from its model file: positions from joint angles, and joint angles that
put the foot where it is wanted. Pure numpy (no simulator): tasks, rendering and tests use it."""

from __future__ import annotations

import math

import numpy as np

from ..physiology.model import LegModel


def forward_kinematics(
    model: LegModel, q: np.ndarray, hip: tuple[float, float] = (0.0, 0.0), pelvis_pitch: float = 0.0
) -> dict[str, np.ndarray]:
    """(x, z) positions of hip, knee, ankle, heel, toe; segment angles from straight down, + forward.
    `pelvis_pitch` as the body reports it (negative = trunk leaning forward; the hip angle is the
    thigh's angle to the trunk)."""
    segs = model.body.segments
    a_thigh = q[0] + pelvis_pitch
    a_shank = a_thigh - q[1]
    foot_pitch = a_shank + q[2]  # toe-up angle of the foot from horizontal
    h = np.array(hip, dtype=float)
    knee = h + segs["thigh"].length * np.array([math.sin(a_thigh), -math.cos(a_thigh)])
    ankle = knee + segs["shank"].length * np.array([math.sin(a_shank), -math.cos(a_shank)])

    def foot_point(fx: float, fz: float) -> np.ndarray:
        return ankle + np.array(
            [
                fx * math.cos(foot_pitch) - fz * math.sin(foot_pitch),
                fx * math.sin(foot_pitch) + fz * math.cos(foot_pitch),
            ]
        )

    heel_x = -model.body.ankle_from_heel
    toe_x = segs["foot"].length - model.body.ankle_from_heel
    z_sole = -model.body.ankle_height
    return {
        "hip": h,
        "knee": knee,
        "ankle": ankle,
        "heel": foot_point(heel_x, z_sole),
        "toe": foot_point(toe_x, z_sole),
    }


def leg_inverse_kinematics(
    model: LegModel, ankle: np.ndarray, foot_pitch: float, hip: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """Joint angles placing the ankle at (x, z) with the knee in front and the foot at `foot_pitch`.

    Raises ValueError when the ankle is out of reach.
    """
    segs = model.body.segments
    l1, l2 = segs["thigh"].length, segs["shank"].length
    d = np.asarray(ankle, dtype=float) - np.asarray(hip, dtype=float)
    dist = float(np.hypot(d[0], d[1]))
    if not (abs(l1 - l2) < dist < l1 + l2):
        raise ValueError(f"ankle at distance {dist:.3f} m from the hip is out of reach ({l1 + l2:.3f} m)")
    cos_knee = (l1 * l1 + l2 * l2 - dist * dist) / (2 * l1 * l2)
    knee = math.pi - math.acos(max(-1.0, min(1.0, cos_knee)))  # flexion
    direction = math.atan2(d[0], -d[1])  # angle of hip->ankle from straight down, + forward
    inner = math.acos(max(-1.0, min(1.0, (l1 * l1 + dist * dist - l2 * l2) / (2 * l1 * dist))))
    hip_angle = direction + inner  # knee in front of the hip-ankle line
    shank = hip_angle - knee
    return np.array([hip_angle, knee, foot_pitch - shank])
