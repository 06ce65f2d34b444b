"""Carrying stored ceilings and reference policies over to a new environment version, only where a
replay gives the same figures."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import pytest

from neuroleg.agents.carry_over import CarryOverError, carry_over_ceiling, carry_over_reference
from neuroleg.agents.ceilings import ceiling_filename, stored_ceiling
from neuroleg.agents.reference import CARD, packaged
from neuroleg.envs import ENV_VERSION
from neuroleg.scripts.carry_over import main as carry_over_main


def _aged(path: Path, **changes: object) -> None:
    """Make a stored record look as if an earlier environment version wrote it (and change figures)."""
    data = json.loads(path.read_text())
    data["env_version"] = ENV_VERSION - 1
    for key in ("found_at_env_version", "found_with_model_version"):  # a ceiling searched at that version
        if key in data:
            data[key] = None
    for key, value in changes.items():
        node, *rest = key.split(".")
        target = data
        while rest:
            target, node, rest = target[node], rest[0], rest[1:]
        target[node] = value
    path.write_text(json.dumps(data))


def test_a_ceiling_that_replays_the_same_is_restamped_and_one_that_moved_is_not(tmp_path: Path) -> None:
    name = ceiling_filename("Pedal")
    source = Path(str(resources.files("neuroleg.envs").joinpath(f"models/ceilings/{name}")))
    good, moved = tmp_path / "good" / name, tmp_path / "moved" / name
    for path in (good, moved):
        path.parent.mkdir()
        shutil.copyfile(source, path)
    _aged(good)
    assert json.loads(good.read_text())["env_version"] == ENV_VERSION - 1
    c = carry_over_ceiling(good)
    assert (c.env_version, c.found_at_env_version) == (ENV_VERSION, ENV_VERSION - 1)
    found = stored_ceiling("Pedal", folder=good.parent)
    assert found is not None and found.found_at_env_version == ENV_VERSION - 1  # the folder's, re-stamped
    stored = json.loads(source.read_text())
    _aged(moved, score=stored["score"] * 0.99, **{"metrics.task_score": stored["score"] * 0.99})
    before = moved.read_bytes()
    with pytest.raises(CarryOverError, match="score") as err:
        carry_over_ceiling(moved)
    assert "metrics" not in str(err.value) and "task_score" in str(err.value)
    assert moved.read_bytes() == before  # nothing written


def test_a_ceiling_carried_over_to_a_new_model_file_version_is_renamed_after_it(tmp_path: Path) -> None:
    """The model file's version is in the ceiling's name: carried over, the file follows it; a ceiling
    of a newer version than the packaged file, or of another model, is refused."""
    name = ceiling_filename("Pedal")
    source = Path(str(resources.files("neuroleg.envs").joinpath(f"models/ceilings/{name}")))
    version = json.loads(source.read_text())["model_version"]
    old = tmp_path / name.replace(f"_v{version}_", f"_v{version - 1}_")
    shutil.copyfile(source, old)
    _aged(old, model_version=version - 1, model_sha256="0" * 64)
    c = carry_over_ceiling(old)
    assert not old.exists() and (tmp_path / name).is_file()
    assert (c.model_version, c.found_with_model_version) == (version, version - 1)
    assert c.model_sha256 == json.loads(source.read_text())["model_sha256"]
    assert stored_ceiling("Pedal", folder=tmp_path) is not None
    for change in ({"model_version": version + 1}, {"model": "arm7"}):
        bad = tmp_path / "bad.json"
        shutil.copyfile(source, bad)
        _aged(bad, **change)
        with pytest.raises(CarryOverError, match="not an earlier version"):
            carry_over_ceiling(bad)


def test_a_reference_is_restamped_only_when_its_card_is_reproduced(tmp_path: Path) -> None:
    refs = tmp_path / "references"
    shutil.copytree(packaged("Pedal"), refs / "pedal")
    _aged(refs / "pedal" / CARD)
    page = tmp_path / "references.md"
    assert carry_over_main(["--references", str(refs), "--page", str(page)]) == 0
    card = json.loads((refs / "pedal" / CARD).read_text())
    assert card["env_version"] == ENV_VERSION and card["trained_at_env_version"] == ENV_VERSION - 1
    assert card["carried_over"]["neuroleg"] and f"env v{ENV_VERSION} (re-evaluated at" in page.read_text()
    assert sorted(p.name for p in refs.iterdir()) == ["pedal"]  # the scratch copy is gone
    _aged(refs / "pedal" / CARD, **{"evaluation.policy.energy_per_unit_j": 1.0})
    before = (refs / "pedal" / CARD).read_bytes()
    with pytest.raises(CarryOverError, match=r"policy\.energy_per_unit_j: 1 -> "):
        carry_over_reference(refs / "pedal")
    assert (refs / "pedal" / CARD).read_bytes() == before


def test_reevaluate_writes_the_figures_a_fix_moved_into_a_current_card(tmp_path: Path) -> None:
    refs = tmp_path / "references"
    shutil.copytree(packaged("Pedal"), refs / "pedal")
    path = refs / "pedal" / CARD
    card = json.loads(path.read_text())
    true_energy = card["evaluation"]["policy"]["energy_per_unit_j"]
    card["evaluation"]["policy"]["energy_per_unit_j"] = 1.0  # what an evaluation before a fix gave
    path.write_text(json.dumps(card))
    assert carry_over_main(["--references", str(refs)]) == 0  # on this version: not checked again
    with pytest.raises(CarryOverError, match=r"policy\.energy_per_unit_j: 1 -> "):
        carry_over_reference(refs / "pedal", recheck=True)
    assert carry_over_main(["--references", str(refs), "--reevaluate"]) == 0
    card = json.loads(path.read_text())
    assert card["evaluation"]["policy"]["energy_per_unit_j"] == pytest.approx(true_energy, rel=1e-6)
    assert card["reevaluated"]["commit"] and card["env_version"] == ENV_VERSION
    assert carry_over_reference(refs / "pedal", recheck=True) == card  # now it holds
