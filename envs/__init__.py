"""Body, tasks and Gymnasium environments of neuroleg.

Importing this package registers `neuroleg/<Task>-v<ENV_VERSION>` for every task (Gymnasium 1.x has
no plugin auto-registration: import it before `gymnasium.make`).
"""

from __future__ import annotations

import gymnasium

from .leg_env import CONTROL_DT_S
from .tasks import TASKS

# Bumped on any change of behaviour (README, "Version history"): v2 = model file version 3 with the
# fiber-tendon equilibrium solved each step; v3 = model file version 4 with Thelen 2003's parallel
# elastic element; v4 = SquatJump's pelvis free (the trunk leans and pitches) instead of on a rail, the
# squat held by a stool rather than a lock, and a countermovement start; v5 = model file version 5 (the
# hamstrings' and gluteus maximus's hip reference angles fitted to measured passive knee and hip moments);
# v6 = model file version 6 (the gastrocnemius's knee moment arm from Delp 1990, the vasti's F_max fitted to
# measured knee extension strength).
ENV_VERSION = 6
ENV_IDS: dict[str, str] = {task: f"neuroleg/{task}-v{ENV_VERSION}" for task in TASKS}

for _task, _env_id in ENV_IDS.items():
    if _env_id not in gymnasium.registry:
        gymnasium.register(
            id=_env_id,
            entry_point=f"neuroleg.envs.tasks_envs:{_task}Env",  # one LegEnv subclass per task
            # LegEnv ends each episode at its task's time_limit_s; this is only the longest one
            max_episode_steps=round(TASKS[_task].longest_episode_s() / CONTROL_DT_S),
        )

__all__ = ["ENV_IDS", "ENV_VERSION"]
