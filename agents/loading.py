"""A trained run, loaded for use outside the command line: `neuroleg.load_run(path)`.

Training normalises observations (VecNormalize's running statistics). A bare `PPO.load("model.zip")`
does not know them, so its actions on the raw environment are silently wrong. `LoadedRun.predict`
takes the environment's own observation and returns the action to send (in [-1, 1]; the drive it
applies is (action + 1) / 2, and info["drive"]).

Loading executes code from the run folder: stable-baselines3's model.zip holds cloudpickled objects
(and off-policy checkpoints a pickled replay buffer). Load only runs you made or trust. The
normalisation statistics are JSON and load without that risk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm

from .config import RunConfig
from .normalization import NormStats, load_stats
from .runs import RunDir


@dataclass
class LoadedRun:
    """A run's policy with its normalisation and action mapping, and the environment it was trained on."""

    path: Path
    config: RunConfig
    model: BaseAlgorithm
    stats: NormStats | None

    def make_env(self, render_mode: str | None = None) -> gym.Env:
        """The environment the run was trained on (same id and arguments), unwrapped of training's
        wrappers: its observations go into `predict` as they are."""
        import neuroleg.envs  # noqa: F401 - registers the ids

        return gym.make(self.config.env.env_id, render_mode=render_mode, **self.config.env.env_kwargs())

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        """(action in [-1, 1], recurrent state) for an observation of `make_env()`'s environment, as
        stable-baselines3's predict; `state` and `episode_start` matter for recurrent policies only."""
        obs = np.asarray(observation, dtype=np.float32)
        if self.stats is not None:
            obs = self.stats.normalize_obs(obs).astype(np.float32)
        start = np.array([True]) if episode_start is None else np.asarray(episode_start)
        action, state = self.model.predict(obs, state=state, episode_start=start, deterministic=deterministic)
        return np.clip(np.asarray(action, dtype=np.float32), -1.0, 1.0), state


def load_run(path: str | Path) -> LoadedRun:
    """The run's final model (else its newest intact checkpoint) with its normalisation statistics.
    A run trained with normalisation whose statistics are missing is refused: its policy would see raw
    observations and act as another policy would."""
    from .train import algorithm_class  # deferred: torch and stable-baselines3 load only where a policy trains

    run = RunDir(path)
    cfg = run.config()
    model_path, stats_file = run.final_model()
    if cfg.normalize and stats_file is None:
        raise FileNotFoundError(
            f"{run.path}: the run was trained with normalize: true but {model_path.parent} holds no "
            "normalisation statistics (vecnormalize.json); its policy cannot be used without them"
        )
    model = algorithm_class(cfg.algo.name).load(model_path, device="cpu")
    return LoadedRun(run.path, cfg, model, load_stats(stats_file) if stats_file is not None else None)
