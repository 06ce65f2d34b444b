"""mkdocs hook: reference tables generated from the code's own declarations, and the changelog.

A page marks where a table goes with an HTML comment; the build replaces it, so the manual cannot
drift from the schema the environments, configs and command line validate with:
- `<!-- reference: body -->`: the arguments every environment takes (`BodyArgs`);
- `<!-- reference: task NAME -->`: a task's own arguments (`Task.Args`);
- `<!-- reference: info NAME -->`: a task's own figures in info (`Task.metric_info`);
- `<!-- reference: config SECTION -->`: a run config section (`RunConfig`, `algo`, `algo.policy`);
- `<!-- reference: configs -->`: the packaged configs;
- `<!-- reference: ceilings -->`: the stored optimal-control ceilings;
- `<!-- include: FILE -->`: a file of the repository (the changelog).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_MARK = re.compile(r"<!-- (reference|include): ([^>]*?) -->")


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(f"`{r[0]}`" if i == 0 else cell(v) for i, v in enumerate(r)) + " |" for r in rows]
    return "\n".join(lines)


def _reference(what: str) -> str:
    from neuroleg.agents import config
    from neuroleg.envs.arguments import BodyArgs, reference_rows
    from neuroleg.envs.tasks import TASKS

    header = ("argument", "type", "default", "allowed", "meaning")
    words = what.split()
    if words == ["body"]:
        return _table(reference_rows(BodyArgs), header)
    if words[0] == "task":
        return _table(reference_rows(TASKS[words[1]].Args), header)
    if words[0] == "info":
        return _table(list(TASKS[words[1]].metric_info.items()), ("key", "meaning"))
    if words[0] == "config":
        section = {
            "run": config.RunConfig,
            "algo": config.AlgoConfig,
            "algo.policy": config.PolicyConfig,
            "energy_ramp": config.EnergyRamp,
        }
        return _table(reference_rows(section[words[1]]), ("field", "type", "default", "allowed", "meaning"))
    if words == ["ceilings"]:
        return _ceilings()
    if words == ["configs"]:
        rows = []
        for name in config.packaged_configs():
            cfg = config.load_config(config.resolve_config(name))
            rows.append((name, cfg.env.task, cfg.algo.name, str(cfg.total_timesteps)))
        return _table(rows, ("config", "task", "algorithm", "steps"))
    raise ValueError(f"unknown reference {what!r}")


def _ceilings() -> str:
    import json
    from importlib import resources

    from neuroleg.envs.tasks import TASKS

    rows = []
    folder = resources.files("neuroleg.envs").joinpath("models/ceilings")
    for ref in sorted(folder.iterdir(), key=lambda r: r.name):
        if not ref.name.endswith(".json"):
            continue
        c = json.loads(ref.read_text())
        task = TASKS[c["task"]]
        score = f"{c['score'] * 100:.1f} cm" if task.score_unit == "m" else f"{c['score']:.3f}"
        if c.get("targets"):  # a per-target ceiling (Posture): the means over its targets
            score += f" (mean of {len(c['targets'])} targets)"
        args = ", ".join(
            f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in sorted(c["task_args"].items())
        )
        rows.append(
            (
                ref.name,
                c["task"],
                args,
                score,
                f"{c['energy_per_unit_j']:.0f} J per {task.unit}",
                str(c["evaluations"]),
                f"v{c['env_version']}"
                + (f" (found at v{c['found_at_env_version']})" if c.get("found_at_env_version") else ""),
            )
        )
    return _table(rows, ("file", "task", "task arguments", "score", "energy", "evaluations", "env"))


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    root = Path(config["config_file_path"]).parent

    def replace(match: re.Match[str]) -> str:
        kind, what = match.group(1), match.group(2).strip()
        if kind == "include":
            text = (root / what).read_text()
            return re.sub(r"^# .*\n", "", text, count=1)  # the page has its own title
        return _reference(what)

    return _MARK.sub(replace, markdown)
