"""The action: one value per muscle in [-1, 1], standing for the neural drive 0..1.

Symmetric so that a learner's Gaussian policy, centred on 0, starts at half drive rather than with half
its actions clipped to none; `drive_to_action` is the inverse, for open-loop control written as drives.
"""

from __future__ import annotations

import numpy as np


def action_to_drive(action: np.ndarray) -> np.ndarray:
    """The neural drive (0..1) an action in [-1, 1] stands for."""
    return (np.asarray(action, dtype=np.float64) + 1.0) / 2.0


def drive_to_action(drive: np.ndarray) -> np.ndarray:
    """The action (in [-1, 1], float64) that applies `drive` (0..1): exact, so an open-loop control
    written as drives replays bit for bit."""
    return 2.0 * np.asarray(drive, dtype=np.float64) - 1.0
