"""Carrying stored results over to a new environment version, where they still hold.

A stored ceiling and a packaged reference policy each name the environment version they hold for (a
ceiling the model file's version too), and a new version invalidates them. Most behaviour changes touch
an option (fatigue, the discharge mode) that neither uses; re-running a ceiling's search or retraining
a policy to learn that nothing moved costs hours. Here the evidence is measured instead: a ceiling's
control is replayed and a reference policy re-evaluated on this version, and only if every stored
figure comes out the same is the record re-stamped for ENV_VERSION and the packaged model file (keeping
the versions it was found or trained at, and when it was carried over). If any figure moved, nothing is
written and the error names what moved: search or train again.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from neuroleg import __version__
from neuroleg.envs import ENV_VERSION

from .ceilings import Ceiling, ceiling_filename, model_fingerprint
from .optimize import ceiling_control, rollout
from .provenance import git_commit
from .reference import CARD, CARD_ATOL, CARD_RTOL, evaluate_packaged, evaluation_figures
from .runs import write_json_atomic
from .target_ceiling import replay_targets


class CarryOverError(ValueError):
    """A stored result that this environment version no longer reproduces; `moved` lists them."""

    def __init__(self, what: str, moved: list[str]) -> None:
        self.moved = moved
        super().__init__(f"{what} does not hold on env v{ENV_VERSION}: " + "; ".join(moved))


def _moved(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """Every number of `before` that `after` lacks or differs in (beyond CARD_RTOL / CARD_ATOL)."""
    out = []
    for key, value in before.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out += _moved(value, after.get(key) or {}, f"{name}.")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            continue
        elif key not in after:
            out.append(f"{name}: {value:g} -> missing")
        elif not np.isclose(after[key], value, rtol=CARD_RTOL, atol=CARD_ATOL):
            out.append(f"{name}: {value:g} -> {after[key]:g}")
    return out


def carry_over_ceiling(path: Path) -> Ceiling:
    """Replay the stored ceiling at `path` on this version and the packaged model file; if its score,
    energy and every stored metric come out the same, re-stamp it for ENV_VERSION and the model file's
    version (renamed after it, the old file removed). A ceiling already on both is returned as it is.
    Raises CarryOverError (file untouched) if a figure moved."""
    c = Ceiling(**json.loads(path.read_text()))
    name, version, digest = model_fingerprint()
    if c.env_version == ENV_VERSION and c.model_sha256 == digest:
        return c
    if c.env_version > ENV_VERSION:
        raise CarryOverError(f"{path}", [f"stored for env v{c.env_version}, newer than this one"])
    if c.model != name or c.model_version > version or (c.model_version == version and c.model_sha256 != digest):
        raise CarryOverError(
            f"{path}",
            [f"stored for {c.model} v{c.model_version}, not an earlier version of the packaged {name} v{version}"],
        )
    if c.targets:  # a per-target ceiling: every target's control on its own episode
        moved = []
        for target, info in zip(c.targets, replay_targets(c), strict=True):
            stored = {"score": target["score"], "energy_per_unit_j": target["energy_per_unit_j"], **target["metrics"]}
            now = {"score": info["task_score"], **info}
            moved += _moved(stored, now, f"target of episode {target['episode_seed']}: ")
    else:
        info = rollout(c.task, ceiling_control(c), env_kwargs=c.task_args)
        stored = {"score": c.score, "energy_per_unit_j": c.energy_per_unit_j, **c.metrics}
        now = {"score": info["task_score"], "energy_per_unit_j": info["energy_per_unit_j"], **info}
        moved = _moved(stored, now)
    if moved:
        raise CarryOverError(f"the {c.task} ceiling {path.name}", moved)
    c.found_at_env_version = c.found_at_env_version or c.env_version
    c.env_version = ENV_VERSION
    if c.model_sha256 != digest:  # a new model file version: the ceiling's name follows it
        c.found_with_model_version = c.found_with_model_version or c.model_version
        c.model_version, c.model_sha256 = version, digest
    target = path.with_name(ceiling_filename(c.task, c.task_args))
    write_json_atomic(target, asdict(c))
    if target != path:
        path.unlink()
    return c


def carry_over_reference(
    folder: Path, commit: str | None = None, recheck: bool = False, reevaluate: bool = False
) -> dict[str, Any]:
    """Re-evaluate the reference policy in `folder` on this version (the card's episodes and seed);
    if the policy's and every baseline's figures come out the same, re-stamp its card for ENV_VERSION,
    naming `commit` (default: the working directory's) as the code it was carried over with. A card
    already on it is returned as it is, unless `recheck` asks for its figures to be checked on this
    code too. Raises CarryOverError (card untouched) if a figure moved, unless `reevaluate`: then the
    figures this code gives are written into the card, for a fix that moved them without changing what
    the policy was trained on (the card names the commit and date, `reevaluated`; the policy itself is
    untouched)."""
    card = json.loads((folder / CARD).read_text())
    current = card["env_version"] == ENV_VERSION
    if current and not (recheck or reevaluate):
        return card
    if card["env_version"] > ENV_VERSION:
        raise CarryOverError(f"{folder}", [f"packaged for env v{card['env_version']}, newer than this one"])
    stored = card["evaluation"]
    now = evaluation_figures(evaluate_packaged(folder, episodes=stored["episodes"]))
    moved = _moved({"policy": stored["policy"], "baselines": stored["baselines"]}, now)
    if moved and not reevaluate:
        raise CarryOverError(f"the {card['task']} reference policy", moved)
    if moved:
        card["evaluation"] = {**stored, "policy": now["policy"], "baselines": now["baselines"]}
    elif current:
        return card
    card.setdefault("trained_at_env_version", card["env_version"])
    card["env_version"] = ENV_VERSION
    stamp = {"neuroleg": __version__, "commit": commit or git_commit(), "date": time.strftime("%Y-%m-%d")}
    card["reevaluated" if moved else "carried_over"] = stamp
    write_json_atomic(folder / CARD, card)
    return card
