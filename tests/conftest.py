"""Shared fixtures."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest


@pytest.fixture
def stronger_model(tmp_path: Path) -> Path:
    """The packaged model file with a stronger gluteus maximus (2500 N): a body of one's own."""
    packaged = resources.files("neuroleg.envs").joinpath("models/leg9.yaml").read_text()
    assert "f_max_n: 1500.0" in packaged  # the gluteus maximus, the first muscle at that strength
    path = tmp_path / "stronger.yaml"
    path.write_text(packaged.replace("f_max_n: 1500.0", "f_max_n: 2500.0", 1))
    return path


@pytest.fixture
def umberger_curvature_model(tmp_path: Path) -> Path:
    """The packaged model file with every muscle's force-velocity curvature by fibre type, Hill's a/F0 =
    0.1 + 0.4 x the fast-twitch fraction (Umberger et al. 2003), in place of Geyer & Herr's 0.2."""
    import yaml

    data = yaml.safe_load(resources.files("neuroleg.envs").joinpath("models/leg9.yaml").read_text())
    cite = "Umberger BR, Gerritsen KGM, Martin PE (2003) Comput Methods Biomech Biomed Engin 6:99-111"
    data["sources"]["Umberger2003"] = cite
    for muscle in data["muscles"].values():
        muscle["fv_curvature"] = 0.1 + 0.4 * (1.0 - muscle["slow_twitch_fraction"])
        muscle["fv_curvature_source"] = "Umberger2003"
    path = tmp_path / "umberger_curvature.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def cli_training(tmp_path: Path):
    """Start `neuroleg train posture_smoke` (a long budget, checkpoints every 200 steps) in a subprocess;
    returns (process, its run folder) once the first checkpoint exists."""
    import os
    import subprocess
    import sys
    import time

    from neuroleg.agents.runs import RunDir

    def start(name: str):
        argv = ["train", "posture_smoke", "total_timesteps=200000", "checkpoint_every=200"]
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "neuroleg.scripts.cli",
                *argv,
                "--runs-dir",
                str(tmp_path),
                "--name",
                name,
                "--no-progress",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        run = RunDir(tmp_path / name)
        deadline = time.time() + 120
        while run.latest_checkpoint() is None and time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert run.latest_checkpoint() is not None, proc.stderr.read().decode() if proc.poll() is not None else ""
        return proc, run

    return start
