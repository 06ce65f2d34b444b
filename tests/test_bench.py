"""The speed benchmark compares like with like: bare physics replays the environment's own motion."""

from __future__ import annotations

import pytest

from neuroleg.envs import ENV_IDS
from neuroleg.scripts.bench_env import bench_bare_physics, bench_env


@pytest.mark.parametrize("task", ["Posture", "SquatJump", "Hop", "Pedal"])
def test_bare_physics_replays_the_environment_motion(task: str) -> None:
    steps, wall = bench_env(ENV_IDS[task], seconds=0.3)
    assert steps > 0 and wall > 0
    # 300 control steps cross an episode end (5 s = 250 steps); raises when the replayed torques
    # do not reproduce the recorded joint angles
    assert bench_bare_physics(ENV_IDS[task], steps=300) > 0


def test_a_table_row_without_a_column_leaves_its_cell_empty() -> None:
    from neuroleg.agents.experiments import markdown_table

    table = markdown_table(
        [{"environment": "Hopper-v5", "sim s/s": 97.9}, {"environment": "Hop", "sim s/s": 36.2, "vs": "0.37x"}]
    )
    assert table.splitlines() == [
        "| environment | sim s/s | vs |",
        "|---|---|---|",
        "| Hopper-v5 | 97.9 |  |",
        "| Hop | 36.2 | 0.37x |",
    ]
