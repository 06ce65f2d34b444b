"""The three values of the model file fitted to human measurements: the hip reference angles of the
hamstrings and gluteus maximus (Riener & Edrich 1999's passive moments) and the vasti's F_max
(Sarabon et al. 2021's seated knee extension). A test refits each."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from .common import (
    KNEE_EXTENSION_NM_PER_KG,
    PASSIVE_FIT_HIP_DEG,
    PASSIVE_FIT_HIP_POSTURES_DEG,
    PASSIVE_FIT_KNEE_DEG,
    PASSIVE_FIT_MUSCLES,
    PASSIVE_FIT_START_DEG,
    SEATED_HIP_FLEXION_DEG,
    STRENGTH_FIT_BOUNDS_N,
    STRENGTH_FIT_MUSCLE,
    isometric_torque,
)
from .torques import hip_pair, knee_torque_per_kg, riener_edrich_hip_nm, riener_edrich_knee_nm


def with_hip_references(model: Any, phi_ref_deg: dict[str, float]) -> Any:
    """`model` with the named muscles' hip reference angles (internal angle, deg) replaced."""

    phi_ref = model.geometry.phi_ref.copy()
    for name, deg in phi_ref_deg.items():
        phi_ref[hip_pair(model, name)] = math.radians(deg)
    return replace(model, geometry=replace(model.geometry, phi_ref=phi_ref))


def passive_fit_error(model: Any) -> float:
    """Sum of squared differences (N m^2) between the model's passive moments and Riener & Edrich 1999's
    at the fitting postures."""
    err = sum(
        (isometric_torque(model, (PASSIVE_FIT_HIP_DEG, k, 0.0), ())[1] - riener_edrich_knee_nm(PASSIVE_FIT_HIP_DEG, k))
        ** 2
        for k in PASSIVE_FIT_KNEE_DEG
    )
    err += sum(
        (isometric_torque(model, (h, k, 0.0), ())[0] - riener_edrich_hip_nm(h, k)) ** 2
        for h, k in PASSIVE_FIT_HIP_POSTURES_DEG
    )
    return float(err)


def fit_hip_extensor_references(model: Any) -> dict[str, float]:
    """The hamstrings' and gluteus maximus's hip reference angles (deg) whose passive moments best fit
    Riener & Edrich 1999 (`passive_fit_error`): how model file 5 set them."""

    def error(x: np.ndarray) -> float:
        return passive_fit_error(with_hip_references(model, dict(zip(PASSIVE_FIT_MUSCLES, x, strict=True))))

    res = minimize(error, np.array(PASSIVE_FIT_START_DEG), method="Nelder-Mead", options={"xatol": 0.01, "fatol": 1e-3})
    return {name: float(v) for name, v in zip(PASSIVE_FIT_MUSCLES, res.x, strict=True)}


def with_f_max(model: Any, f_max_n: dict[str, float]) -> Any:
    """`model` with the named muscles' maximal isometric forces (N) replaced."""

    f_max = model.muscles.f_max.copy()
    for name, value in f_max_n.items():
        f_max[model.muscle_index(name)] = value
    return replace(model, muscles=replace(model.muscles, f_max=f_max))


def knee_extension_fit_error(model: Any) -> float:
    """Sum of squared differences (N m/kg)^2 between seated knee extension and the middles of Sarabon's ranges."""
    return float(
        sum(
            (knee_torque_per_kg(model, "extension", -1.0, SEATED_HIP_FLEXION_DEG, angle) - 0.5 * (lo + hi)) ** 2
            for angle, (lo, hi) in KNEE_EXTENSION_NM_PER_KG.items()
        )
    )


def fit_vasti_strength(model: Any) -> float:
    """The vasti's F_max (N) whose seated knee extension best fits Sarabon et al. 2021: how model file 6 set it."""

    res = minimize_scalar(
        lambda f: knee_extension_fit_error(with_f_max(model, {STRENGTH_FIT_MUSCLE: f})),
        bounds=STRENGTH_FIT_BOUNDS_N,
        method="bounded",
        options={"xatol": 0.5},
    )
    return float(res.x)
