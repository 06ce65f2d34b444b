"""Coordination metrics from recorded episodes: co-contraction, synergies, motor units."""

from __future__ import annotations

import warnings

import numpy as np

from neuroleg.envs.physiology.muscle import ACTIVATION_MIN as ACTIVATION_FLOOR

# Falconer & Winter 1985: CCI = 100 * 2 * integral(min(E1, E2)) / integral(E1 + E2).
CCI_SCALE = 100.0
VAF_THRESHOLD = 0.90  # synergies needed for 90 % variance accounted for (Clark et al. 2010)
NMF_MAX_ITER = 500


def co_contraction_index(e1: np.ndarray, e2: np.ndarray) -> float:
    """Falconer & Winter 1985 CCI (0..100) of two normalised activation traces."""
    total = float(np.sum(e1 + e2))
    if total <= 0.0:
        return 0.0
    return CCI_SCALE * 2.0 * float(np.sum(np.minimum(e1, e2))) / total


def above_floor(activation: np.ndarray, floor: float = ACTIVATION_FLOOR) -> np.ndarray:
    """Activation above the model's resting floor, like EMG with its baseline removed: two silent
    muscles resting at the floor are not co-contracting."""
    return np.clip(activation - floor, 0.0, None)


def pair_cci(activation: np.ndarray, names: tuple[str, ...], pairs: list[tuple[str, str, str]]) -> dict[str, float]:
    """CCI per (joint, muscle1, muscle2) pair over a (time, muscles) activation record."""
    idx = {n: i for i, n in enumerate(names)}
    e = above_floor(activation)
    return {f"{j}:{m1}-{m2}": co_contraction_index(e[:, idx[m1]], e[:, idx[m2]]) for j, m1, m2 in pairs}


def variance_accounted_for(x: np.ndarray, reconstruction: np.ndarray) -> float:
    """Uncentred VAF = 1 - ||X - WH||^2 / ||X||^2, the convention of muscle-synergy studies."""
    denom = float(np.sum(x * x))
    return 1.0 - float(np.sum((x - reconstruction) ** 2)) / denom if denom > 0 else 1.0


def synergies(activation: np.ndarray, seed: int = 0) -> dict[str, object]:
    """NMF of a (time, muscles) activation matrix: VAF for k = 1..n and the k reaching 90 %.

    Each muscle's activation above the resting floor is normalised to its own peak first, as EMG
    envelopes are before synergy extraction (Clark et al. 2010), so that strong and weak muscles
    weigh alike. Muscles that never rise above the floor are left out."""
    from sklearn.decomposition import NMF

    x = above_floor(np.asarray(activation, dtype=float))
    peak = x.max(axis=0)
    x = x[:, peak > 0] / peak[peak > 0]
    n = x.shape[1]
    if n == 0:
        return {"vaf": [], "n_synergies_90": 0}
    vafs = []
    for k in range(1, n + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter on near-rank-deficient data
            nmf = NMF(n_components=k, init="nndsvda", max_iter=NMF_MAX_ITER, random_state=seed)
            w = nmf.fit_transform(x)
        vafs.append(variance_accounted_for(x, w @ nmf.components_))
    needed = next((k for k, v in enumerate(vafs, start=1) if v >= VAF_THRESHOLD), n)
    return {"vaf": vafs, "n_synergies_90": needed}


def motor_unit_summary(
    recruited: np.ndarray, type2_share: np.ndarray, force: np.ndarray, at_limit: np.ndarray, names: tuple[str, ...]
) -> dict[str, dict[str, float]]:
    """Per muscle: mean recruited fraction, force-weighted type II share, time at the recruitment limit."""
    weights = np.clip(force, 0.0, None)
    total = weights.sum(axis=0)
    share = np.divide((type2_share * weights).sum(axis=0), total, out=np.zeros(len(names)), where=total > 0)
    return {
        n: {
            "recruited_fraction": float(recruited[:, i].mean()),
            "type2_force_share": float(share[i]),
            "time_at_limit_fraction": float(at_limit[:, i].mean()),
        }
        for i, n in enumerate(names)
    }
