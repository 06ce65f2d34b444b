"""Body, tasks and Gymnasium environments of neuroleg.

Importing this package registers `neuroleg/<Task>-v<ENV_VERSION>` for every task (Gymnasium 1.x has
no plugin auto-registration: import it before `gymnasium.make`).
"""

from __future__ import annotations

import gymnasium

from .leg_env import CONTROL_DT_S
from .tasks import TASKS

# Bumped on any change of behaviour; the history is in CHANGELOG.md.
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
