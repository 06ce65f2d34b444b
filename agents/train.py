"""Train a policy from a RunConfig with stable-baselines3 / sb3-contrib (no algorithm is re-implemented)."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecNormalize
from torch import nn

from neuroleg.envs.physiology import antagonist_pairs, load_model
from neuroleg.envs.physiology.model import MUSCLE_NAMES

from .callbacks import Checkpoint, EnergySchedule, EpisodeMetrics, Progress
from .checkpoints import resume_changes, rollout_steps, save_checkpoint
from .config import ON_POLICY_ALGORITHMS, RunConfig
from .logs import training_logger
from .normalization import NormStats, load_stats, save_stats
from .runs import RunDir, RunError, save_with, write_json_atomic

CLIP_OBS = 10.0  # VecNormalize clipping, SB3 default


def algorithm_class(name: str) -> type[BaseAlgorithm]:
    if name in ("tqc", "recurrent_ppo"):
        from sb3_contrib import TQC, RecurrentPPO  # only the algorithms it holds need it

        return TQC if name == "tqc" else RecurrentPPO
    return {"ppo": PPO, "sac": SAC, "td3": TD3}[name]


def make_env_fn(cfg: RunConfig, in_subprocess: bool = False, render_mode: str | None = None) -> Callable[[], gym.Env]:
    env_id, kwargs = cfg.env.env_id, cfg.env.env_kwargs()

    def _init() -> gym.Env:
        import neuroleg.envs  # noqa: F401 - registers the ids in a fresh subprocess

        if in_subprocess:
            # Workers ignore Ctrl-C: the trainer process saves a checkpoint and closes them.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        return Monitor(gym.make(env_id, render_mode=render_mode, **kwargs))

    return _init


def build_vec_env(cfg: RunConfig, n_envs: int | None = None) -> VecEnv:
    n = cfg.n_envs if n_envs is None else n_envs
    subprocess = cfg.subprocess and n > 1
    fns = [make_env_fn(cfg, in_subprocess=subprocess) for _ in range(n)]
    venv: VecEnv = SubprocVecEnv(fns, start_method="forkserver") if subprocess else DummyVecEnv(fns)
    venv.seed(cfg.seed)
    return venv


def wrap_normalize(cfg: RunConfig, venv: VecEnv, stats: NormStats | None = None) -> VecEnv:
    """Observation/reward normalisation for training: fresh, or the saved statistics of a checkpoint."""
    if stats is not None:
        return stats.wrap(venv)
    if not cfg.normalize:
        return venv
    return VecNormalize(venv, norm_obs=True, norm_reward=True, clip_obs=CLIP_OBS, gamma=cfg.algo.gamma)


def algorithm_kwargs(cfg: RunConfig, n_actions: int) -> dict[str, Any]:
    a = cfg.algo
    policy_kwargs: dict[str, Any] = {
        "net_arch": list(a.policy.net_arch),
        "activation_fn": {"tanh": nn.Tanh, "relu": nn.ReLU}[a.policy.activation],
    }
    if a.name in ON_POLICY_ALGORITHMS:
        policy_kwargs["ortho_init"] = a.policy.ortho_init
    if a.name != "td3":
        policy_kwargs["log_std_init"] = a.policy.log_std_init
    kwargs: dict[str, Any] = {
        "learning_rate": a.learning_rate,
        "gamma": a.gamma,
        "batch_size": a.batch_size,
        "policy_kwargs": policy_kwargs,
        "seed": cfg.seed,
        "device": "cpu",
        "verbose": 0,
    }
    optional = (
        "n_steps",
        "n_epochs",
        "gae_lambda",
        "clip_range",
        "ent_coef",
        "buffer_size",
        "learning_starts",
        "tau",
        "train_freq",
        "gradient_steps",
    )
    kwargs.update({k: getattr(a, k) for k in optional if getattr(a, k) is not None})
    if a.name == "td3" and a.action_noise_std:
        kwargs["action_noise"] = NormalActionNoise(np.zeros(n_actions), a.action_noise_std * np.ones(n_actions))
    return kwargs


def policy_name(cfg: RunConfig) -> str:
    return "MlpLstmPolicy" if cfg.algo.name == "recurrent_ppo" else "MlpPolicy"


class _Terminate(Exception):
    pass


class WorkerDiedError(RunError):
    """An environment subprocess ended during training."""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C or SIGTERM during training: further ones are ignored while the checkpoint is saved."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt() if signum == signal.SIGINT else _Terminate()


def _main_thread() -> bool:
    """Signal handlers can be set in the main thread only (a Ray worker or a thread pool may call train)."""
    return threading.current_thread() is threading.main_thread()


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """While a checkpoint is saved after an interruption, a second Ctrl-C or SIGTERM must not cut it short."""
    if not _main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _close(venv: VecEnv) -> None:
    """Close the environments, also when a subprocess worker is already gone."""
    try:
        venv.close()
    except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
        inner = venv.venv if isinstance(venv, VecNormalize) else venv
        for proc in getattr(inner, "processes", []):
            proc.terminate()


def _pairs(model_names: tuple[str, ...], model_path: str | None) -> list[tuple[str, int, int]]:
    """The antagonist pairs of the run's own model file (its roles may differ from the packaged ones)."""

    idx = {n: i for i, n in enumerate(model_names)}
    return [(f"{j}_{a}_{b}", idx[a], idx[b]) for j, a, b in antagonist_pairs(load_model(model_path))]


def _load_checkpoint(cfg: RunConfig, run: RunDir) -> tuple[BaseAlgorithm, VecEnv, int]:
    """The model and environments of the newest intact checkpoint, checked against `cfg`."""
    ckpt = run.checkpoint()
    if ckpt is None:
        raise FileNotFoundError(f"{run.path} has no intact checkpoint to resume from")
    if ckpt.note:
        print(f"resume: {ckpt.note}", file=sys.stderr)
    changed = resume_changes(cfg, ckpt.state, ckpt.num_timesteps)
    stats = ckpt.folder / "vecnormalize.json"
    venv = wrap_normalize(cfg, build_vec_env(cfg), load_stats(stats) if stats.is_file() else None)
    model = algorithm_class(cfg.algo.name).load(ckpt.folder / "model.zip", env=venv, device="cpu")
    buffer = ckpt.folder / "replay_buffer.pkl"
    if isinstance(model, OffPolicyAlgorithm) and buffer.is_file():
        model.load_replay_buffer(buffer)
    # Steps of an unfinished rollout were never learned from: they are collected again, so the run
    # ends on the same step count as one that was never interrupted.
    model.num_timesteps -= model.num_timesteps % rollout_steps(cfg, model)
    history_file = run.path / "resumes.json"
    history = json.loads(history_file.read_text()) if history_file.is_file() else []
    history.append(
        {
            "time": time.time(),
            "checkpoint": ckpt.folder.name,
            "resumed_at_step": model.num_timesteps,
            "skipped": list(ckpt.skipped),
            "changes": {k: {"was": a, "now": b} for k, (a, b) in changed.items()},
        }
    )
    write_json_atomic(history_file, history)
    if changed:
        run.write_config(cfg)
        print("resume: applied " + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items()), file=sys.stderr)
    return model, venv, model.num_timesteps


def train(
    cfg: RunConfig,
    run: RunDir,
    resume: bool = False,
    progress: bool = True,
    callbacks: Sequence[BaseCallback] = (),
) -> BaseAlgorithm:
    """Train (or resume) into `run`, holding its lock. Ctrl-C / SIGTERM save a checkpoint and re-raise
    KeyboardInterrupt. The budget is rounded up to whole rollouts (`rollout_steps`), with or without
    interruptions. A resume refuses a config that differs from the checkpoint's except in
    RESUMABLE_FIELDS, and records what it applied in resumes.json. `callbacks` run beside the
    trainer's own; one that stops training (returns False) ends it as a finished run."""
    with run.lock():
        return _train_locked(cfg, run, resume, progress, callbacks)


def _train_locked(
    cfg: RunConfig, run: RunDir, resume: bool, progress: bool, extra: Sequence[BaseCallback]
) -> BaseAlgorithm:
    torch.set_num_threads(1)  # 2 cores: one for torch, the rest for the envs (engineering notes)
    if resume:
        model, venv, start = _load_checkpoint(cfg, run)
    else:
        venv = wrap_normalize(cfg, build_vec_env(cfg))
        model = algorithm_class(cfg.algo.name)(
            policy_name(cfg), venv, **algorithm_kwargs(cfg, venv.action_space.shape[0])
        )
    model.set_logger(training_logger(run.logs, start if resume else None))
    remaining = cfg.total_timesteps - model.num_timesteps
    metrics = EpisodeMetrics(cfg, _pairs(MUSCLE_NAMES, cfg.env.model_path))
    schedule = [EnergySchedule(cfg)] if cfg.energy_ramp is not None else []
    callbacks: list[BaseCallback] = [metrics, Checkpoint(run, cfg), *schedule, *extra]  # extras see the weight
    if progress:
        callbacks.append(Progress(cfg.total_timesteps, metrics))
    signals = (signal.SIGINT, signal.SIGTERM) if _main_thread() else ()
    previous = {sig: signal.signal(sig, _interrupt) for sig in signals}
    try:
        if remaining > 0:
            model.learn(
                total_timesteps=remaining,
                callback=CallbackList(callbacks),
                reset_num_timesteps=False,
                progress_bar=False,
            )
    except (KeyboardInterrupt, _Terminate):
        with _signals_deferred():
            folder = save_checkpoint(run, model, cfg)
            print(
                f"\ninterrupted at step {model.num_timesteps}: checkpoint {folder}; "
                f"continue with `neuroleg train --resume {run.path}`",
                file=sys.stderr,
            )
            _close(venv)
        raise KeyboardInterrupt from None
    except (EOFError, BrokenPipeError, ConnectionResetError) as err:
        _close(venv)
        ckpt = run.latest_checkpoint()
        kept = f"the last checkpoint, {ckpt.name}, is intact" if ckpt else "no checkpoint had been written yet"
        raise WorkerDiedError(
            f"an environment worker process died during training ({type(err).__name__}); {kept}; "
            f"continue with `neuroleg train --resume {run.path}`"
        ) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    with _signals_deferred():
        save_checkpoint(run, model, cfg)
        save_with(run.model_path, lambda p: model.save(p))
        if isinstance(venv, VecNormalize):
            save_with(run.vecnormalize_path, lambda p: save_stats(venv, p))
        write_json_atomic(run.path / "training.json", {"num_timesteps": model.num_timesteps, "metrics": metrics.recent})
    _close(venv)
    return model
