"""One LegEnv subclass per task (the class a registered id builds)."""

from __future__ import annotations

from .leg_env import LegEnv
from .tasks import HopTask, PedalTask, PostureTask, SquatJumpTask


class PostureEnv(LegEnv):
    """Posture (skill). Pelvis fixed; reach and hold a target ankle position and foot angle.
    Task argument: tolerance_m (0.03). Task observation: target (x, z, foot angle) relative to the
    hip, and its error. Score: precision, the mean of 1 - error / 0.10 m over the episode; time within
    tolerance_m is in info. Unit: one reach."""

    task_class = PostureTask


class SquatJumpEnv(LegEnv):
    """SquatJump (power). Pelvis free in the sagittal plane, trunk leaning forward so that the CoM
    is over the middle of the foot; one leg stands for two. Task arguments: start ("squat"; "standing"
    makes it a countermovement jump from a slightly flexed stance, the dip allowed), squat_knee_deg (80)
    and squat_ankle_deg (26), the squat's depth.
    Task observation: time since release, CoM height above standing, airborne flag, ground force / BW,
    trunk pitch (rad, negative = leaning forward) and its rate.
    Score: jump height (m). Unit: one jump. Ends at the apex of the flight, or as an invalid trial
    (score 0, info countermovement = 1) when the CoM dips more than 3 cm below its start."""

    task_class = SquatJumpTask


class HopEnv(LegEnv):
    """Hop (endurance, stretch-shortening cycle). Task arguments: target_frequency_hz (2.2),
    target_height_m (0.08). Task observation: phase sin/cos, CoM height, airborne flag, ground
    force / BW, target height. Score: hop quality per target hop. Unit: one hop. Reward terms: hop
    (a bonus per landing, scaled by the hop's quality), track (following a sinusoidal CoM reference
    in height and velocity), flight (per step airborne), energy."""

    task_class = HopTask


class PedalEnv(LegEnv):
    """Pedal (endurance, economy). Seated, foot clipped to a crank with resistance c omega and a
    counterweight on the opposite arm standing in for the other leg (counterweighted single-leg
    cycling). Task arguments: target_cadence_rpm (60), target_power_w (25), counterweight_kg (13.6).
    Task observation: crank angle sin/cos, cadence / target, target rad/s / 10, power / target.
    Score: time within +-10 % of the target cadence. Unit: one revolution."""

    task_class = PedalTask
