"""The stamp every results page carries: environment version, package version, commit and date.

A page of results is written by the command that measured it (`neuroleg learning --out`,
`neuroleg experiment ... --out`, `neuroleg validate --out`); the stamp says what produced it, so a
figure is never read against a simulator it was not measured on.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from neuroleg import __version__
from neuroleg.envs import ENV_VERSION


def git_commit(folder: Path | None = None, written: Path | None = None) -> str:
    """The short commit of the checkout in `folder` (the working directory by default), `+changes` when
    tracked files differ from it (outside `written`, the folder the measuring command writes to), or
    "unknown" outside a git checkout."""
    cwd = str(folder or Path.cwd())
    # a folder written outside the checkout cannot be in its status (and git refuses such a pathspec)
    inside = written is not None and Path(written).resolve().is_relative_to(Path(cwd).resolve())
    outside = ["--", ".", f":(exclude){Path(written).resolve()}"] if inside else []
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", *outside],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}+changes" if dirty else head


def stamp(command: str, written: Path | None = None, commit: str | None = None) -> str:
    """One Markdown line: what measured the page, on which simulator (`commit`: the one taken before
    the command changed tracked files; default: the checkout's now), when."""
    day = time.strftime("%Y-%m-%d")
    return (
        f"*Measured by `{command}` on env v{ENV_VERSION} (neuroleg {__version__}), "
        f"commit {commit or git_commit(written=written)}, {day}.*"
    )


def results_page(title: str, command: str, body: str, written: Path | None = None, commit: str | None = None) -> str:
    """A results page: title, stamp, body. `written`: the folder the command writes its results to
    (its own new files there do not count as changes to the commit it ran on); `commit`: see stamp."""
    return f"# {title}\n\n{stamp(command, written, commit)}\n\n{body.rstrip()}\n"
