"""Figures over seeds as results pages state them: the mean and the half-width of its 95 % confidence
interval (Student's t), used by the learning page and by sweep pages alike."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


def values(records: list[dict[str, Any]], key: str, scale: float = 1.0) -> list[float]:
    """`key` of each record that has it (a CSV's empty cell counts as missing), times `scale`."""
    return [float(r[key]) * scale for r in records if r.get(key, "") != ""]


def mean_ci(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95 % confidence interval (Student's t; nan for one value)."""
    a = np.asarray(values, dtype=float)
    if a.size < 2:
        return float(a.mean()), math.nan
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size)
    return float(a.mean()), float(half)


def format_ci(values: list[float], spec: str, percent: bool = False) -> str:
    """'mean +- half-width' in `spec` (a format spec such as '.3f'); '-' for no values, the mean alone
    for one."""
    if not values:
        return "-"
    mean, half = mean_ci(values)
    scale = 100.0 if percent else 1.0
    unit = " %" if percent else ""
    text = f"{mean * scale:{spec}}"
    return text + unit if math.isnan(half) else f"{text} +- {half * scale:{spec}}{unit}"
