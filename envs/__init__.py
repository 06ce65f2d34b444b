"""Body, tasks and Gymnasium environments of neuroleg.

Importing this package registers `neuroleg/<Task>-v<ENV_VERSION>` for every task (Gymnasium 1.x has
no plugin auto-registration: import it before `gymnasium.make`).
"""

from __future__ import annotations

from typing import Any

import gymnasium

from .actions import action_to_drive, drive_to_action
from .leg_env import CONTROL_DT_S, LegEnv
from .tasks import TASKS, Task

# Bumped on any change of behaviour; the history is in CHANGELOG.md.
ENV_VERSION = 10
ENV_IDS: dict[str, str] = {}


def register_task(task: type[Task], entry_point: str | None = None) -> str:
    """Make a task an environment: add it to TASKS and register `neuroleg/<name>-v<ENV_VERSION>`
    (returned). The packaged tasks pass the import path of their LegEnv subclass; a task of one's own
    gets a subclass made here, so that agents (train, evaluate, optimise) take it like the others.
    Subprocess workers import neuroleg.envs afresh: register such a task in a module they import too,
    or train it with `subprocess: false`."""
    if task.name in TASKS and TASKS[task.name] is not task:
        raise ValueError(f"a different task is already registered as {task.name!r}")
    TASKS[task.name] = task
    env_id = f"neuroleg/{task.name}-v{ENV_VERSION}"
    ENV_IDS[task.name] = env_id
    if env_id not in gymnasium.registry:
        target: Any = entry_point or type(f"{task.name}Env", (LegEnv,), {"task_class": task, "__doc__": task.__doc__})
        gymnasium.register(
            id=env_id,
            entry_point=target,
            # LegEnv ends each episode at its task's time_limit_s; this is only the longest one
            max_episode_steps=round(task.longest_episode_s() / CONTROL_DT_S),
        )
    return env_id


for _task in tuple(TASKS.values()):
    register_task(_task, f"neuroleg.envs.tasks_envs:{_task.name}Env")  # one LegEnv subclass per task


__all__ = ["ENV_IDS", "ENV_VERSION", "TASKS", "action_to_drive", "drive_to_action", "register_task"]
