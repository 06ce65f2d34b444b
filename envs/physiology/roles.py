"""Agonists, antagonists and synergists per joint action, declared in the model and derived.

Derivation (a kinesiology convention, not a published constant): for a joint action, muscles whose
torque has that direction are movers; a mover is an *agonist* (prime mover) when its torque capacity
F_max * max|r| over the joint's range is at least PRIME_MOVER_FRACTION of the strongest mover's,
otherwise a *synergist*; muscles with the opposite torque are *antagonists*.
"""

from __future__ import annotations

import numpy as np

from .geometry import MuscleGeometry
from .model import JOINT_ACTIONS, JOINT_NAMES, LegModel

PRIME_MOVER_FRACTION = 0.4
ROLE_GROUPS: tuple[str, ...] = ("agonists", "synergists", "antagonists")
_RANGE_SAMPLES = 181


def torque_capacity(model: LegModel) -> np.ndarray:
    """(muscles, joints) signed F_max * effective moment arm of largest magnitude over each range (N m)."""
    geo = MuscleGeometry.from_params(model.geometry, model.muscles)
    b = model.body
    grid = np.linspace(b.joint_min, b.joint_max, _RANGE_SAMPLES)  # (samples, joints)
    arms = np.stack([geo.moment_arm_matrix(q) for q in grid])  # (samples, muscles, joints)
    idx = np.abs(arms).argmax(axis=0)
    peak = np.take_along_axis(arms, idx[None], axis=0)[0]
    return peak * model.muscles.f_max[:, None]


def derive_roles(model: LegModel) -> dict[str, dict[str, tuple[str, ...]]]:
    capacity = torque_capacity(model)
    names = model.muscles.names
    roles: dict[str, dict[str, tuple[str, ...]]] = {}
    for j, joint in enumerate(JOINT_NAMES):
        for direction, action in zip((1.0, -1.0), JOINT_ACTIONS[joint], strict=True):
            c = capacity[:, j] * direction
            strongest = c.max()
            cut = PRIME_MOVER_FRACTION * strongest
            movers = list(zip(names, c, strict=True))
            roles[action] = {
                "agonists": tuple(n for n, x in movers if x > 0 and x >= cut),
                "synergists": tuple(n for n, x in movers if 0 < x < cut),
                "antagonists": tuple(n for n, x in movers if x < 0),
            }
    return roles


def role_of(model: LegModel, action: str, muscle: str) -> str | None:
    """'agonists', 'synergists', 'antagonists' or None for a muscle that does not cross the joint."""
    if action not in model.roles:
        raise KeyError(f"unknown action {action!r}; known: {sorted(model.roles)}")
    model.muscle_index(muscle)
    for group in ROLE_GROUPS:
        if muscle in model.roles[action][group]:
            return group
    return None


def antagonist_pairs(model: LegModel) -> list[tuple[str, str, str]]:
    """(joint, agonist of the positive action, agonist of the negative action), the pairs whose
    co-contraction the analyses report; prime movers only, each unordered pair once."""
    pairs: list[tuple[str, str, str]] = []
    for joint in JOINT_NAMES:
        pos, neg = JOINT_ACTIONS[joint]
        for m1 in model.roles[pos]["agonists"]:
            for m2 in model.roles[neg]["agonists"]:
                if m1 != m2 and (joint, m2, m1) not in pairs:
                    pairs.append((joint, m1, m2))
    return pairs
