"""Observation and reward normalisation statistics as JSON: data, never code.

stable-baselines3 saves VecNormalize by pickling the whole wrapper, and unpickling a file runs whatever
it was made to run. A run folder stores the running means and variances as JSON instead
(`vecnormalize.json`), and both training (resume) and evaluation rebuild from it. A
`vecnormalize.pkl` left by an older run is still read, by pickle: only load such runs from people
you trust.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # stable-baselines3 (and torch) load only where an environment is wrapped for training
    from stable_baselines3.common.vec_env import VecEnv, VecNormalize

STATS_FILE = "vecnormalize.json"
LEGACY_STATS_FILE = "vecnormalize.pkl"  # written by neuroleg before JSON statistics; read by pickle
FORMAT = "neuroleg-vecnormalize-1"
_SETTINGS = ("norm_obs", "norm_reward", "clip_obs", "clip_reward", "gamma", "epsilon")


class StatsError(ValueError):
    """Normalisation statistics that cannot be read; the message names the file."""


@dataclass
class RunningStats:
    """Running mean and variance of a quantity (the fields of stable-baselines3's RunningMeanStd)."""

    mean: np.ndarray
    var: np.ndarray
    count: float


def _rms(rms: Any) -> dict[str, Any]:
    return {"mean": np.asarray(rms.mean).tolist(), "var": np.asarray(rms.var).tolist(), "count": float(rms.count)}


def stats_dict(venv: VecNormalize) -> dict[str, Any]:
    if isinstance(venv.obs_rms, dict):
        raise TypeError("only Box observation spaces are supported (neuroleg's are)")
    return {
        "format": FORMAT,
        **{k: getattr(venv, k) for k in _SETTINGS},
        "obs_rms": _rms(venv.obs_rms),
        "ret_rms": _rms(venv.ret_rms),
    }


def save_stats(venv: VecNormalize, path: Path) -> None:
    path.write_text(json.dumps(stats_dict(venv)) + "\n")


def _to_rms(data: dict[str, Any], shape: tuple[int, ...]) -> RunningStats:
    mean = np.asarray(data["mean"], dtype=np.float64).reshape(shape)
    var = np.asarray(data["var"], dtype=np.float64).reshape(shape)
    return RunningStats(mean, var, float(data["count"]))


@dataclass(frozen=True)
class NormStats:
    """What VecNormalize needs to normalise: settings and running statistics."""

    settings: dict[str, Any]
    obs_rms: RunningStats
    ret_rms: RunningStats

    def normalize_obs(self, obs: np.ndarray) -> np.ndarray:
        """VecNormalize.normalize_obs's formula (stable-baselines3 2.x), without an environment."""
        if not self.settings["norm_obs"]:
            return obs
        scaled = (obs - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + self.settings["epsilon"])
        return np.clip(scaled, -self.settings["clip_obs"], self.settings["clip_obs"])

    def wrap(self, venv: VecEnv) -> VecNormalize:
        """A training VecNormalize around `venv` carrying these statistics (resume)."""
        from stable_baselines3.common.running_mean_std import RunningMeanStd
        from stable_baselines3.common.vec_env import VecNormalize

        wrapped = VecNormalize(venv, **self.settings)
        for name, stats in (("obs_rms", self.obs_rms), ("ret_rms", self.ret_rms)):
            rms = RunningMeanStd(shape=stats.mean.shape)
            rms.mean, rms.var, rms.count = stats.mean.copy(), stats.var.copy(), stats.count
            setattr(wrapped, name, rms)
        return wrapped


def load_stats(path: Path) -> NormStats:
    """Read `vecnormalize.json` (or an older run's `vecnormalize.pkl`); a damaged file raises StatsError."""
    if path.suffix == ".pkl":
        try:
            with open(path, "rb") as f:
                legacy = pickle.load(f)
            data = stats_dict(legacy)
        except Exception as err:
            raise StatsError(f"{path}: not readable normalisation statistics ({type(err).__name__})") from None
    else:
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise StatsError(f"{path}: not readable normalisation statistics ({err})") from None
    try:
        if data.get("format") != FORMAT:
            raise KeyError("format")
        obs_shape = np.asarray(data["obs_rms"]["mean"]).shape
        obs = _to_rms(data["obs_rms"], obs_shape)
        ret = _to_rms(data["ret_rms"], ())
        settings = {k: data[k] for k in _SETTINGS}
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise StatsError(f"{path}: not neuroleg normalisation statistics (bad or missing {err})") from None
    if not (np.all(np.isfinite(obs.mean)) and np.all(np.isfinite(obs.var)) and np.all(obs.var >= 0)):
        raise StatsError(f"{path}: normalisation statistics hold non-finite or negative values")
    return NormStats(settings, obs, ret)


def stats_path(folder: Path) -> Path | None:
    """The statistics file in a run or checkpoint folder: JSON, else an older run's pickle, else None."""
    for name in (STATS_FILE, LEGACY_STATS_FILE):
        if (folder / name).is_file():
            return folder / name
    return None
