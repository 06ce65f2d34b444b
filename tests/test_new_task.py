"""A task of one's own, defined here, trains, evaluates and optimises without any edit under agents/."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pydantic import Field

from neuroleg.agents.ceilings import ceiling_filename, optimizable
from neuroleg.agents.config import validate_config
from neuroleg.agents.evaluate import evaluate_run
from neuroleg.agents.optimize import optimize, seed_control
from neuroleg.agents.runs import RunDir
from neuroleg.agents.train import train
from neuroleg.envs import ENV_IDS, TASKS, register_task
from neuroleg.envs.body.leg import LegBody
from neuroleg.envs.body.spec import BodySpec, PelvisMode
from neuroleg.envs.physiology import MUSCLE_NAMES
from neuroleg.envs.tasks.base import Arguments, InitialPose, Snapshot, Task


class StraightenArgs(Arguments):
    band_deg: float = Field(10.0, ge=1.0, le=45.0, description="how near straight the knee must be (deg)")


class StraightenTask(Task):
    """From the thigh horizontal and the shank hanging (the hip free, the pelvis fixed), straighten the
    knee and keep it straight."""

    name = "Straighten"
    unit = "extension"
    episode_seconds = 1.0
    default_energy_weight = 0.05
    Args = StraightenArgs
    observation_fields = ("knee_flexion",)
    score_meaning = "fraction of the episode with the knee within band_deg of straight"
    score_unit = "0..1"
    metric_info = {"knee_deg": "knee flexion at the last step (deg)"}  # noqa: RUF012 - as the packaged tasks'
    ceiling = "once"

    def body_spec(self, physics_dt: float) -> BodySpec:
        return BodySpec(pelvis=PelvisMode.FIXED, physics_dt=physics_dt, legs=1, hip_height=1.2)

    def initialize_episode(self, body: LegBody, rng: np.random.Generator) -> InitialPose:
        self._steps = self._inside = 0
        self._knee = math.radians(90.0)
        return InitialPose(q=np.radians([90.0, 90.0, 0.0]) + rng.uniform(-0.02, 0.02, 3))

    def observation(self, snap: Snapshot) -> np.ndarray:
        return np.array([snap.q[1]])

    def update(self, snap: Snapshot) -> tuple[dict[str, float], bool]:
        self._knee = float(snap.q[1])
        inside = abs(math.degrees(self._knee)) < self.args.band_deg
        self._steps += 1
        self._inside += inside
        return {"straight": float(inside)}, False

    def units_completed(self) -> float:
        return 1.0 if self._inside else 0.0

    def score(self) -> float:
        return self._inside / self._steps if self._steps else 0.0

    def metrics(self) -> dict[str, float]:
        return {"knee_deg": math.degrees(self._knee)}

    def ceiling_seed(self) -> dict[str, tuple[float, float, float]]:
        return {"VAS": (0.0, 1.0, 0.6)}  # the knee extensor on from the start


@pytest.fixture
def straighten() -> Iterator[str]:
    env_id = register_task(StraightenTask)
    yield env_id
    del TASKS["Straighten"], ENV_IDS["Straighten"]
    del gym.registry[env_id]


@pytest.mark.filterwarnings("ignore:.*Box observation space m:UserWarning")  # unbounded, as the packaged tasks
def test_a_new_task_trains_evaluates_and_optimises(straighten: str, tmp_path: Path) -> None:
    env = gym.make(straighten, band_deg=15.0)
    check_env(env.unwrapped)
    assert [k for k in env.unwrapped.observation_structure if k.startswith("task.")] == ["task.knee_flexion"]
    with pytest.raises(ValueError, match="band_deg: Input should be less than or equal to 45"):
        gym.make(straighten, band_deg=90.0)

    cfg = validate_config(
        {
            "env": {"task": "Straighten", "task_args": {"band_deg": 15.0}},
            "algo": {"name": "ppo", "n_steps": 64, "batch_size": 32, "n_epochs": 1},
            "total_timesteps": 128,
            "eval_episodes": 1,
        }
    )
    run = RunDir.create(cfg, tmp_path, "straighten")
    train(cfg, run, progress=False)
    result = evaluate_run(run, baselines=("zero",))
    assert "knee_deg" in result["policy"]  # the task's own figure, summarised by name
    relaxed = result["baselines"]["zero"]["task_score"]["mean"]  # the leg swinging down, undriven

    assert "Straighten" in optimizable()
    seed = seed_control("Straighten", {"band_deg": 15.0})
    assert not seed.cyclic and seed.levels[MUSCLE_NAMES.index("VAS")] == 0.6  # from the task's own seed
    out = tmp_path / "ceilings" / ceiling_filename("Straighten", {"band_deg": 15.0})
    ceiling = optimize("Straighten", generations=1, population=4, env_kwargs={"band_deg": 15.0}, out=out)
    assert out.is_file() and ceiling.score > max(relaxed, 0.5)  # held straight, not swinging through
    scored = evaluate_run(run, baselines=(), ceilings=out.parent)
    assert scored["ceiling"]["score"] == ceiling.score
