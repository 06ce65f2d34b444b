"""The convergence study: replays at several physics steps, the choice rule, the default it keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuroleg.agents.convergence import CASES, Replay, Study, study, write_page
from neuroleg.envs.arguments import PHYSICS_DT_DEFAULT_S, SOLVER_ITERATIONS_DEFAULT
from neuroleg.scripts.cli import main as cli_main

SQUAT_JUMP = [c for c in CASES if c.name == "squat jump"]


def test_physics_step_changes_the_figures_and_the_page_shows_them(tmp_path: Path) -> None:
    result = study((0.5, 2.0), (20, 50), cases=SQUAT_JUMP, progress=False, repeats=1)
    assert result.reference == (0.5, 50)
    assert len(result.replays) == 4
    assert all(v == 0.0 for v in result.deviations((0.5, 50)).values())
    # a 4x coarser step moves the jump: the replays really ran at the steps asked for
    assert result.deviations((2.0, 50))[("squat jump", "jump_height_m")] > 0.005
    page = write_page(result, tmp_path / "convergence.md", "neuroleg convergence --steps-ms 0.5 2").read_text()
    assert "*Measured by `neuroleg convergence --steps-ms 0.5 2` on env v" in page
    assert "| 2 | 50 |" in page and "### squat jump" in page
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically, nothing half-written left


def test_choice_is_the_largest_step_then_fewest_iterations_that_pass() -> None:
    def replays(values: dict[tuple[float, int], float]) -> list[Replay]:
        return [Replay("c", dt, it, {"x": v}, 1.0) for (dt, it), v in values.items()]

    values = {(0.25, 10): 1.0, (0.25, 50): 1.0, (1.0, 10): 1.012, (1.0, 50): 1.015, (2.0, 10): 1.05, (2.0, 50): 1.05}
    # 2 ms is 5 % off; 1 ms at 10 iterations is 1.2 % off and 0.3 % from 1 ms at 50: it passes
    assert Study(replays(values), (0.25, 50), 0.02).chosen() == (1.0, 10)
    # an unconverged solve (1 % from the same step at the most iterations) does not pass
    values[(1.0, 10)] = 1.005
    assert Study(replays(values), (0.25, 50), 0.02).chosen() == (1.0, 50)
    assert Study(replays(values), (0.25, 50), 0.001).chosen() == (0.25, 10)  # only the reference step passes


def test_the_default_physics_setting_is_the_one_the_study_chooses() -> None:
    """Every stored ceiling and the Posture hold, at the default and at 0.25 ms: the default is the
    cheapest setting within the tolerance (the docs' convergence page runs the full grid)."""
    default = (PHYSICS_DT_DEFAULT_S * 1000.0, SOLVER_ITERATIONS_DEFAULT)
    result = study((0.25, default[0]), (default[1], 100), progress=False, repeats=1)
    assert not result.skipped  # every case has its stored ceiling on this environment version
    assert result.chosen() == default


def test_bad_steps_are_refused_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["convergence", "--steps-ms", "0.7", "--out", "unused.md"]) == 2
    err = capsys.readouterr().err
    assert "physics step 0.7 ms" in err and "physics_dt" in err and "divide the 20 ms control step" in err
    assert cli_main(["convergence", "--tolerance", "0", "--out", "unused.md"]) == 2
    assert "tolerance must lie in (0, 1)" in capsys.readouterr().err


def test_physics_step_and_solver_iterations_are_environment_arguments() -> None:
    import gymnasium as gym

    from neuroleg.agents.ceilings import applies_to
    from neuroleg.envs import ENV_IDS
    from neuroleg.envs.arguments import ArgumentError

    env = gym.make(ENV_IDS["Posture"], physics_dt=0.0005, solver_iterations=20)
    assert env.unwrapped.frame_skip == 40 and env.unwrapped.body.spec.solver_iterations == 20
    env.close()
    with pytest.raises(ArgumentError, match="physics_dt"):
        gym.make(ENV_IDS["Posture"], physics_dt=0.0007)
    with pytest.raises(ArgumentError, match="solver_iterations"):
        gym.make(ENV_IDS["Posture"], solver_iterations="20")  # a text is refused, not read as a number
    with pytest.raises(ArgumentError, match="solver_iterations"):
        gym.make(ENV_IDS["Posture"], solver_iterations=2)
    # a ceiling is stored for the default physics: another step's figures are not compared with it
    assert applies_to("Hop", {}) and not applies_to("Hop", {"physics_dt": 0.0005})
    assert not applies_to("Hop", {"solver_iterations": 20})
