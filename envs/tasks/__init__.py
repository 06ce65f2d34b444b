"""Tasks: one class per task (targets, reward terms, episode end, unit of work)."""

from .base import InitialPose, Snapshot, Task
from .hop import HopTask
from .pedal import PedalTask
from .posture import PostureTask
from .squat_jump import SquatJumpTask

TASKS: dict[str, type[Task]] = {
    "Posture": PostureTask,
    "SquatJump": SquatJumpTask,
    "Hop": HopTask,
    "Pedal": PedalTask,
}

__all__ = ["TASKS", "HopTask", "InitialPose", "PedalTask", "PostureTask", "Snapshot", "SquatJumpTask", "Task"]
