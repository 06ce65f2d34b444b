"""Checkpoints: what each records, and what a resume may change.

A checkpoint folder holds the model, the normalisation statistics as JSON, the replay buffer of an
off-policy learner, and state.json: the step count and the config the weights were trained with (the
model file by content hash), so that a resume can refuse a config that no longer describes them.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecNormalize

from .ceilings import model_fingerprint
from .config import ON_POLICY_ALGORITHMS, RunConfig
from .normalization import save_stats
from .runs import RunDir, RunError

# Fields a resume may change: they steer how long and how often, not what is learned.
RESUMABLE_FIELDS = ("total_timesteps", "checkpoint_every", "eval_episodes", "log_every_episodes")


def _model_file_hash(cfg: RunConfig) -> str | None:
    """The hash of the run's own model file (None for the packaged one, which the env version covers)."""
    return None if cfg.env.model_path is None else model_fingerprint(cfg.env.model_path)[2]


def _trained_config(cfg: RunConfig) -> dict[str, Any]:
    """What a checkpoint records of its config: everything but the model file's path (a run folder may
    move; its model file is compared by content)."""
    data = cfg.model_dump(mode="json")
    data["env"].pop("model_path")
    return data


def save_checkpoint(run: RunDir, model: BaseAlgorithm, cfg: RunConfig) -> Path:
    folder = run.checkpoints / f"step_{model.num_timesteps:010d}"
    tmp = run.checkpoints / f".{folder.name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save(tmp / "model.zip")
    if isinstance(model, OffPolicyAlgorithm):
        # Off-policy learning resumes from its experience too, not only its weights.
        model.save_replay_buffer(tmp / "replay_buffer.pkl")
    venv = model.get_env()
    if isinstance(venv, VecNormalize):
        save_stats(venv, tmp / "vecnormalize.json")
    state = {
        "num_timesteps": model.num_timesteps,
        "time": time.time(),
        "normalize": isinstance(venv, VecNormalize),
        "config": _trained_config(cfg),
        "model_file_sha256": _model_file_hash(cfg),
    }
    (tmp / "state.json").write_text(json.dumps(state))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    run.commit_checkpoint(folder)
    return folder


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: data}


def resume_changes(cfg: RunConfig, state: dict[str, Any], reached: int) -> dict[str, tuple[Any, Any]]:
    """The fields `cfg` changes against the config the checkpoint was trained with, as {field: (was, now)};
    a RunError naming the field for any change a resume cannot honour."""
    if "config" not in state:
        raise RunError(
            "the checkpoint does not record the config it was trained with (written by an older neuroleg), "
            "so a resume cannot check that the run's config.yaml still describes it; start a new run"
        )
    was, now = _flatten(state["config"]), _flatten(_trained_config(cfg))
    changed = {k: (was.get(k), now.get(k)) for k in sorted(set(was) | set(now)) if was.get(k) != now.get(k)}
    refused = [k for k in changed if k not in RESUMABLE_FIELDS]
    if refused:
        lines = ", ".join(f"{k} (trained with {changed[k][0]!r}, now {changed[k][1]!r})" for k in refused)
        raise RunError(
            f"cannot resume: the config differs from the one the checkpoint was trained with in {lines}; "
            f"a resume may change only {', '.join(RESUMABLE_FIELDS)}. Start a new run for the change"
        )
    if state.get("model_file_sha256") != _model_file_hash(cfg):
        raise RunError("cannot resume: the run's model file (env.model_path) changed since the checkpoint")
    if cfg.total_timesteps < reached:
        raise RunError(f"cannot resume: total_timesteps {cfg.total_timesteps} is below the {reached} steps trained")
    return changed


def rollout_steps(cfg: RunConfig, model: BaseAlgorithm) -> int:
    """The grid training steps count on: PPO and RecurrentPPO collect whole rollouts (n_steps per env);
    off-policy algorithms take one step in every env at once."""
    n_envs = model.get_env().num_envs if model.get_env() is not None else cfg.n_envs
    if cfg.algo.name in ON_POLICY_ALGORITHMS:
        return int(model.n_steps) * n_envs  # type: ignore[attr-defined]
    return n_envs
