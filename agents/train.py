"""Train a policy from a RunConfig with stable-baselines3 / sb3-contrib (no algorithm is re-implemented)."""

from __future__ import annotations

import json
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.wrappers import RescaleAction
from stable_baselines3 import PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import configure
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecNormalize
from torch import nn

from neuroleg.envs.physiology.model import MUSCLE_NAMES

from .analysis import above_floor, co_contraction_index
from .config import ON_POLICY_ALGORITHMS, RunConfig
from .runs import RunDir, save_with, write_json_atomic

CLIP_OBS = 10.0  # VecNormalize clipping, SB3 default


def algorithm_class(name: str) -> type[BaseAlgorithm]:
    if name in ("tqc", "recurrent_ppo"):
        from sb3_contrib import TQC, RecurrentPPO

        return TQC if name == "tqc" else RecurrentPPO
    return {"ppo": PPO, "sac": SAC, "td3": TD3}[name]


def make_env_fn(cfg: RunConfig, in_subprocess: bool = False, render_mode: str | None = None) -> Callable[[], gym.Env]:
    env_id, kwargs = cfg.env.env_id, cfg.env.env_kwargs()

    def _init() -> gym.Env:
        import neuroleg.envs  # noqa: F401 - registers the ids in a fresh subprocess

        if in_subprocess:
            # Workers ignore Ctrl-C: the trainer process saves a checkpoint and closes them.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        # The drive is 0..1 by design; the learner acts in [-1, 1] as SB3 advises (a Gaussian
        # policy starts centred on 0, which on [0, 1] would clip half its actions to zero).
        return Monitor(
            RescaleAction(gym.make(env_id, render_mode=render_mode, **kwargs), np.float32(-1.0), np.float32(1.0))
        )

    return _init


def build_vec_env(cfg: RunConfig, n_envs: int | None = None) -> VecEnv:
    n = cfg.n_envs if n_envs is None else n_envs
    subprocess = cfg.subprocess and n > 1
    fns = [make_env_fn(cfg, in_subprocess=subprocess) for _ in range(n)]
    venv: VecEnv = SubprocVecEnv(fns, start_method="forkserver") if subprocess else DummyVecEnv(fns)
    venv.seed(cfg.seed)
    return venv


def wrap_normalize(cfg: RunConfig, venv: VecEnv, stats: Path | None = None) -> VecEnv:
    """Observation/reward normalisation for training: fresh, or the saved statistics of a checkpoint."""
    if stats is not None:
        return VecNormalize.load(str(stats), venv)
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


class EpisodeMetrics(BaseCallback):
    """Logs task score, energy per unit and coordination metrics of finished training episodes."""

    def __init__(self, cfg: RunConfig, pairs: list[tuple[str, int, int]]) -> None:
        super().__init__()
        self.cfg = cfg
        self.pairs = pairs
        self.window: list[dict[str, float]] = []
        self.recent: dict[str, float] = {}
        self._activations: list[list[np.ndarray]] = []

    def _on_training_start(self) -> None:
        self._activations = [[] for _ in range(self.training_env.num_envs)]

    def _on_step(self) -> bool:
        infos = self.locals["infos"]
        dones = self.locals["dones"]
        for i, (info, done) in enumerate(zip(infos, dones, strict=True)):
            if "activation" in info:
                self._activations[i].append(info["activation"])
            if not done:
                continue
            acts = (
                above_floor(np.array(self._activations[i]))
                if self._activations[i]
                else np.zeros((1, len(MUSCLE_NAMES)))
            )
            self._activations[i] = []
            muscle_e = max(info.get("muscle_energy_j", 0.0), 1e-9)
            row = {
                "task/score": info["task_score"],
                "task/units": info["task_units"],
                "energy/per_unit_j": info["energy_per_unit_j"],
                "energy/per_unit_j_per_kg": info["energy_per_unit_j_per_kg"],
                "energy/oxygen_per_unit_ml_per_kg": info["oxygen_per_unit_ml_per_kg"],
                "energy/muscle_efficiency": info["mechanical_work_j"] / muscle_e,
                "motor_units/recruited_mean": float(np.mean(info["motor_units_recruited"])),
                "motor_units/type2_share_mean": float(np.mean(info["type2_share"])),
                "stability/unstable": float(info["unstable"]),
            }
            for name, a, b in self.pairs:
                row[f"coordination/cci_{name}"] = co_contraction_index(acts[:, a], acts[:, b])
            self.window.append(row)
        if len(self.window) >= self.cfg.log_every_episodes:
            for key in self.window[0]:
                value = float(np.mean([r[key] for r in self.window]))
                self.logger.record(key, value)
                self.recent[key] = value
            self.logger.record("time/total_timesteps_metrics", self.num_timesteps)
            self.window = []
            if self.cfg.algo.name not in ON_POLICY_ALGORITHMS:
                self.logger.dump(self.num_timesteps)  # off-policy algorithms dump rarely on their own
        return True


class Progress(BaseCallback):
    """A progress bar showing the current task score and energy per unit of task."""

    def __init__(self, total: int, metrics: EpisodeMetrics) -> None:
        super().__init__()
        self.total = total
        self.metrics = metrics
        self.bar: Any = None

    def _on_training_start(self) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=self.total, initial=self.num_timesteps, unit="step", dynamic_ncols=True, disable=None, mininterval=1.0
        )

    def _on_step(self) -> bool:
        self.bar.update(self.num_timesteps - self.bar.n)
        r = self.metrics.recent
        if r:
            self.bar.set_postfix(
                score=f"{r['task/score']:.3f}", J_per_unit=f"{r['energy/per_unit_j']:.0f}", refresh=False
            )
        return True

    def _on_training_end(self) -> None:
        self.bar.close()


class Checkpoint(BaseCallback):
    """Every `every` env steps: a complete checkpoint folder, then the latest.json pointer."""

    def __init__(self, run: RunDir, every: int) -> None:
        super().__init__()
        self.run = run
        self.every = every
        self._next = 0

    def _on_training_start(self) -> None:
        self._next = (self.num_timesteps // self.every + 1) * self.every

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            save_checkpoint(self.run, self.model)
            self._next += self.every
        return True


def save_checkpoint(run: RunDir, model: BaseAlgorithm) -> Path:
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
        venv.save(str(tmp / "vecnormalize.pkl"))
    (tmp / "state.json").write_text(json.dumps({"num_timesteps": model.num_timesteps, "time": time.time()}))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    run.commit_checkpoint(folder)
    return folder


class _Terminate(Exception):
    pass


def _raise_terminate(signum: int, frame: FrameType | None) -> None:
    raise _Terminate()


def _pairs(model_names: tuple[str, ...], model_path: str | None) -> list[tuple[str, int, int]]:
    """The antagonist pairs of the run's own model file (its roles may differ from the packaged ones)."""
    from neuroleg.envs.physiology import antagonist_pairs, load_model

    idx = {n: i for i, n in enumerate(model_names)}
    return [(f"{j}_{a}_{b}", idx[a], idx[b]) for j, a, b in antagonist_pairs(load_model(model_path))]


def train(cfg: RunConfig, run: RunDir, resume: bool = False, progress: bool = True) -> BaseAlgorithm:
    """Train (or resume) into `run`. Ctrl-C / SIGTERM save a checkpoint and re-raise KeyboardInterrupt."""
    torch.set_num_threads(1)  # 2 cores: one for torch, the rest for the envs (engineering notes)
    algo_cls = algorithm_class(cfg.algo.name)
    ckpt = run.latest_checkpoint() if resume else None
    if resume and ckpt is None:
        raise FileNotFoundError(f"{run.path} has no checkpoint to resume from")
    venv = build_vec_env(cfg)
    if ckpt is not None:
        stats = ckpt / "vecnormalize.pkl"
        venv = wrap_normalize(cfg, venv, stats if stats.is_file() else None)
        model = algo_cls.load(ckpt / "model.zip", env=venv, device="cpu")
        buffer = ckpt / "replay_buffer.pkl"
        if isinstance(model, OffPolicyAlgorithm) and buffer.is_file():
            model.load_replay_buffer(buffer)
    else:
        venv = wrap_normalize(cfg, venv)
        model = algo_cls(policy_name(cfg), venv, **algorithm_kwargs(cfg, venv.action_space.shape[0]))
    model.set_logger(configure(str(run.logs), ["csv", "tensorboard"]))
    remaining = cfg.total_timesteps - model.num_timesteps
    metrics = EpisodeMetrics(cfg, _pairs(MUSCLE_NAMES, cfg.env.model_path))
    callbacks: list[BaseCallback] = [metrics, Checkpoint(run, cfg.checkpoint_every)]
    if progress:
        callbacks.append(Progress(cfg.total_timesteps, metrics))
    previous = signal.signal(signal.SIGTERM, _raise_terminate)
    try:
        if remaining > 0:
            model.learn(
                total_timesteps=remaining,
                callback=CallbackList(callbacks),
                reset_num_timesteps=False,
                progress_bar=False,
            )
    except (KeyboardInterrupt, _Terminate):
        folder = save_checkpoint(run, model)
        print(
            f"\ninterrupted at step {model.num_timesteps}: checkpoint {folder}; "
            f"continue with `neuroleg train --resume {run.path}`",
            file=sys.stderr,
        )
        venv.close()
        raise KeyboardInterrupt from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    save_checkpoint(run, model)
    save_with(run.model_path, lambda p: model.save(p))
    if isinstance(venv, VecNormalize):
        save_with(run.vecnormalize_path, lambda p: venv.save(str(p)))
    write_json_atomic(run.path / "training.json", {"num_timesteps": model.num_timesteps, "metrics": metrics.recent})
    venv.close()
    return model
