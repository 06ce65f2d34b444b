"""The installed distribution: one top-level package, data files included, an entry point."""

from __future__ import annotations

import importlib.metadata as md
from pathlib import PurePosixPath

import pytest


def _installed() -> md.Distribution:
    # A build in the checkout leaves neuroleg.egg-info, which `python -m` would find first on sys.path.
    for dist in md.distributions(name="neuroleg"):
        if "site-packages" in str(dist.locate_file("")):
            return dist
    pytest.skip("neuroleg is not installed in a site-packages")


def test_only_neuroleg_lands_in_site_packages() -> None:
    files = _installed().files
    if files is None:
        pytest.skip("no file list (unusual installer)")
    tops = {PurePosixPath(str(f)).parts[0] for f in files}
    tops = {
        t for t in tops if not t.endswith(".dist-info") and not t.startswith("__editable__") and t not in ("..", "bin")
    }
    if any(str(f).startswith("__editable__") for f in files):
        pytest.skip("editable install: files live in the checkout")
    assert tops == {"neuroleg"}, tops


def test_data_files_and_entry_point_are_installed() -> None:
    from importlib import resources

    assert resources.files("neuroleg.envs").joinpath("models/leg9.yaml").is_file()
    assert any(f.name == "hop_ppo.yaml" for f in resources.files("neuroleg").joinpath("configs").iterdir())
    scripts = {e.name: e.value for e in md.entry_points(group="console_scripts") if e.name == "neuroleg"}
    assert scripts == {"neuroleg": "neuroleg.scripts.cli:main"}


def test_the_distribution_carries_the_package_version() -> None:
    import neuroleg

    assert _installed().version == neuroleg.__version__
