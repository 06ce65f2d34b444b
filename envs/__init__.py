"""Body, tasks and Gymnasium environments of neuroleg.

Importing this package registers `neuroleg/<Task>-v0` for every task (Gymnasium 1.x has no plugin
auto-registration: import it before `gymnasium.make`).
"""

from __future__ import annotations

import gymnasium

from .leg_env import CONTROL_DT_S

ENV_IDS: dict[str, str] = {
    "Posture": "neuroleg/Posture-v0",
    "SquatJump": "neuroleg/SquatJump-v0",
    "Hop": "neuroleg/Hop-v0",
    "Pedal": "neuroleg/Pedal-v0",
}
_ENTRY = {
    "Posture": ("PostureEnv", 2.0),
    "SquatJump": ("SquatJumpEnv", 1.2),
    "Hop": ("HopEnv", 5.0),
    "Pedal": ("PedalEnv", 5.0),
}

for _task, _env_id in ENV_IDS.items():
    if _env_id not in gymnasium.registry:
        _cls, _seconds = _ENTRY[_task]
        gymnasium.register(
            id=_env_id,
            entry_point=f"neuroleg.envs.tasks_envs:{_cls}",
            max_episode_steps=round(_seconds / CONTROL_DT_S),
        )

__all__ = ["ENV_IDS"]
