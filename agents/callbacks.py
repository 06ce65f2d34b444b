"""Training callbacks: task and coordination metrics, progress, periodic checkpoints."""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from tqdm.auto import tqdm

from neuroleg.envs.physiology.model import MUSCLE_NAMES

from .analysis import above_floor, co_contraction_index
from .checkpoints import save_checkpoint
from .config import ON_POLICY_ALGORITHMS, RunConfig
from .runs import RunDir


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


PROGRESS_LINE_EVERY_S = 10.0  # off a terminal: one plain progress line this often (s of wall time)


class Progress(BaseCallback):
    """A progress bar showing the current task score and energy per unit of task; when the output is
    not a terminal (CI, a log file), a plain line every PROGRESS_LINE_EVERY_S instead."""

    def __init__(self, total: int, metrics: EpisodeMetrics) -> None:
        super().__init__()
        self.total = total
        self.metrics = metrics
        self.bar: Any = None
        self._next_line = 0.0
        self._start = 0.0

    def _on_training_start(self) -> None:
        self._start = time.perf_counter()
        self._next_line = self._start + PROGRESS_LINE_EVERY_S
        if sys.stderr.isatty():
            self.bar = tqdm(
                total=self.total, initial=self.num_timesteps, unit="step", dynamic_ncols=True, mininterval=1.0
            )

    def _summary(self) -> dict[str, str]:
        r = self.metrics.recent
        if not r:
            return {}
        return {"score": f"{r['task/score']:.3f}", "J_per_unit": f"{r['energy/per_unit_j']:.0f}"}

    def _on_step(self) -> bool:
        if self.bar is not None:
            self.bar.update(self.num_timesteps - self.bar.n)
            self.bar.set_postfix(self._summary(), refresh=False)
        elif time.perf_counter() >= self._next_line:
            self._next_line += PROGRESS_LINE_EVERY_S
            print(self.line(), flush=True)
        return True

    def line(self) -> str:
        """One plain progress line: steps, share of the budget, elapsed time, latest score and energy."""
        fields = " ".join(f"{k} {v}" for k, v in self._summary().items())
        elapsed = time.perf_counter() - self._start
        done = f"step {self.num_timesteps}/{self.total} ({self.num_timesteps / self.total:.0%})"
        return f"{done}, {elapsed:.0f} s {fields}".rstrip()

    def _on_training_end(self) -> None:
        if self.bar is not None:
            self.bar.close()
        else:
            print(self.line(), flush=True)


class Checkpoint(BaseCallback):
    """Every `every` env steps: a complete checkpoint folder, then the latest.json pointer."""

    def __init__(self, run: RunDir, cfg: RunConfig) -> None:
        super().__init__()
        self.run = run
        self.cfg = cfg
        self.every = cfg.checkpoint_every
        self._next = 0

    def _on_training_start(self) -> None:
        self._next = (self.num_timesteps // self.every + 1) * self.every

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            save_checkpoint(self.run, self.model, self.cfg)
            self._next += self.every
        return True


class EnergySchedule(BaseCallback):
    """Sets the environments' energy weight from the config's `energy_ramp` before every rollout of an
    on-policy algorithm and every `OFF_POLICY_EVERY` steps of an off-policy one: a function of the
    steps trained, so a resumed run carries on where it stopped."""

    OFF_POLICY_EVERY = 1000  # env steps between updates of the weight off-policy (the ramp spans 1e5+)

    def __init__(self, cfg: RunConfig) -> None:
        super().__init__()
        if cfg.energy_ramp is None:
            raise ValueError("EnergySchedule needs a config with an energy_ramp")
        self.ramp = cfg.energy_ramp
        self.final = cfg.env.final_energy_weight()
        self.total = cfg.total_timesteps
        self.weight: float | None = None
        self.off_policy = cfg.algo.name not in ON_POLICY_ALGORITHMS
        self._next = 0

    def _apply(self) -> None:
        weight = self.ramp.weight(self.final, self.num_timesteps / self.total)
        if weight != self.weight:
            self.training_env.env_method("set_energy_weight", weight)
            self.weight = weight
            self.logger.record("train/energy_weight", weight)

    def _on_training_start(self) -> None:
        self._apply()
        self._next = self.num_timesteps + self.OFF_POLICY_EVERY

    def _on_rollout_start(self) -> None:
        if not self.off_policy:  # an off-policy rollout is a step or a few: see _on_step
            self._apply()

    def _on_step(self) -> bool:
        if self.off_policy and self.num_timesteps >= self._next:
            self._next += self.OFF_POLICY_EVERY
            self._apply()
        return True
