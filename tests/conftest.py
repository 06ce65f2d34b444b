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
