"""Run folders and atomic writes.

runs/<name>/
  config.yaml           resolved config (what actually ran)
  model.yaml            the run's copy of its model file, when the config names one (env.model_path)
  checkpoints/step_N/   model.zip, vecnormalize.json, state.json (a complete checkpoint; state.json
                        also holds the config it was trained with, which a resume is compared to)
  checkpoints/latest.json  pointer to the newest complete checkpoint, replaced atomically
  logs/                 progress.csv (appended across resumes) and TensorBoard events
  model.zip, vecnormalize.json   final model and normalisation statistics
  evaluation.json, trajectory.npz, report/   written by evaluate and report
  .lock                 held by the one process training in the folder

Every file is written to a temporary name in the same folder and moved into place with
os.replace, so a crash or Ctrl-C never leaves a half-written file where a good one was. A damaged
newest checkpoint is passed over for the newest intact one, and the choice is said.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import RUN_NAME_PATTERN, RunConfig, apply_overrides, dump_config, read_yaml, validate_config
from .normalization import STATS_FILE, StatsError, load_stats, stats_path

RUNS_DIR = Path("runs")
_UMASK = os.umask(0)
os.umask(_UMASK)  # read once: the only way to learn the umask is to set it
CHECKPOINTS_KEPT = 2
RUN_MODEL_FILE = "model.yaml"  # env.model_path of a run's config: relative to the run folder
LOCK_FILE = ".lock"
SB3_ARCHIVE_MEMBERS = {"data", "policy.pth"}  # what stable-baselines3's save writes into every model.zip


class RunError(ValueError):
    """A run folder that cannot be used as asked; the message says what to do."""


def check_run_name(name: str) -> str:
    """A run name is one folder inside the runs folder: no separators, no `..`, no absolute path."""
    if not re.fullmatch(RUN_NAME_PATTERN, name) or name in (".", ".."):
        raise RunError(
            f"--name {name!r}: a run name is a folder name of letters, digits, '_', '.', '-' (at most 80), "
            "not a path; choose the parent folder with --runs-dir"
        )
    return name


@dataclass(frozen=True)
class Checkpoint:
    """An intact checkpoint folder, and why newer ones were passed over (empty when it is the newest)."""

    folder: Path
    num_timesteps: int
    state: dict[str, Any]
    skipped: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        if not self.skipped:
            return ""
        return f"{'; '.join(self.skipped)}: using {self.folder.name} (step {self.num_timesteps})"


def _checkpoint_problem(folder: Path) -> str | None:
    """Why a checkpoint folder cannot be resumed from, or None if it is intact."""
    try:
        state = json.loads((folder / "state.json").read_text())
        int(state["num_timesteps"])
    except (OSError, ValueError, KeyError, TypeError):
        return f"{folder.name}: state.json missing or unreadable"
    model = folder / "model.zip"
    try:
        with zipfile.ZipFile(model) as z:
            # a truncated archive can still show the zip nested inside it: ask for SB3's own members
            if not SB3_ARCHIVE_MEMBERS <= set(z.namelist()) or z.testzip() is not None:
                return f"{folder.name}: model.zip is corrupt"
    except (OSError, zipfile.BadZipFile):
        return f"{folder.name}: model.zip missing or not a zip archive"
    stats = stats_path(folder)
    if stats is not None:
        try:
            load_stats(stats)
        except StatsError:
            return f"{folder.name}: {stats.name} is damaged"
    elif state.get("normalize", False):
        return f"{folder.name}: normalisation statistics missing"
    return None


@contextmanager
def atomic_path(target: Path):  # noqa: ANN201 - generator context manager
    """Yield a temporary path beside `target`; move it over `target` only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name keeps the target's suffix: writers such as imageio's pick the format by it.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; give outputs the usual permissions
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text)


def write_json_atomic(target: Path, data: Any) -> None:
    write_text_atomic(target, json.dumps(data, indent=2, sort_keys=True) + "\n")


def save_with(target: Path, saver: Callable[[Path], None]) -> None:
    """Atomic save through a library's own saver (SB3's save, VecNormalize.save)."""
    with atomic_path(target) as tmp:
        saver(tmp)


class RunDir:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, cfg: RunConfig, root: Path = RUNS_DIR, name: str | None = None) -> RunDir:
        default = cfg.name or f"{cfg.env.task.lower()}_{cfg.algo.name}_s{cfg.seed}"
        base = check_run_name(name) if name is not None else default
        if root.exists() and not root.is_dir():
            raise RunError(f"--runs-dir {root} is a file; give a folder (it is created if missing)")
        path = root / base
        if path.exists() and any(path.iterdir()):
            raise FileExistsError(f"run folder {path} exists; resume it with --resume {path} or choose --name")
        path.mkdir(parents=True, exist_ok=True)
        run = cls(path)
        if cfg.env.model_path is not None:
            # the run keeps its own copy: editing the file later must not change what the run was
            with atomic_path(run.path / RUN_MODEL_FILE) as tmp:
                shutil.copyfile(cfg.env.model_path, tmp)
        run.write_config(cfg)
        return run

    def write_config(self, cfg: RunConfig) -> None:
        """config.yaml, its model file named relative to the run (its copy, RUN_MODEL_FILE)."""
        if cfg.env.model_path is not None:
            cfg = cfg.model_copy(update={"env": cfg.env.model_copy(update={"model_path": RUN_MODEL_FILE})})
        write_text_atomic(self.config_path, dump_config(cfg))

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def model_path(self) -> Path:
        return self.path / "model.zip"

    @property
    def vecnormalize_path(self) -> Path:
        return self.path / STATS_FILE

    @property
    def evaluation_path(self) -> Path:
        return self.path / "evaluation.json"

    def config(self, overrides: list[str] | None = None) -> RunConfig:
        """The run's config.yaml, with `key=value` overrides applied (validated like the file)."""
        if not self.config_path.is_file():
            raise FileNotFoundError(f"{self.path} is not a run folder (no config.yaml)")
        data = read_yaml(self.config_path) or {}
        if overrides:
            data = apply_overrides(data, overrides)
        env = data.get("env") if isinstance(data, dict) else None
        if isinstance(env, dict) and isinstance(env.get("model_path"), str):
            env["model_path"] = str(self.path / env["model_path"])  # the run's copy (an absolute path stays)
        return validate_config(data, str(self.config_path))

    def checkpoint(self) -> Checkpoint | None:
        """The newest intact checkpoint: the one latest.json names, else, if it (or the pointer) is damaged,
        the newest complete one beside it, with the reasons in `skipped`. None when there is none."""
        skipped: list[str] = []
        candidates = sorted(
            (p for p in self.checkpoints.glob("step_*") if p.is_dir()),
            key=lambda p: int(p.name.split("_")[1]) if p.name.split("_")[1].isdigit() else -1,
            reverse=True,
        )
        pointer = self.checkpoints / "latest.json"
        if pointer.is_file():
            try:
                named = self.checkpoints / str(json.loads(pointer.read_text())["folder"])
                if named in candidates:
                    candidates.remove(named)
                candidates.insert(0, named)
            except (OSError, ValueError, KeyError, TypeError):
                skipped.append("checkpoints/latest.json is damaged")
        for folder in candidates:
            problem = _checkpoint_problem(folder)
            if problem is None:
                state = json.loads((folder / "state.json").read_text())
                return Checkpoint(folder, int(state["num_timesteps"]), state, tuple(skipped))
            skipped.append(problem)
        return None

    def latest_checkpoint(self) -> Path | None:
        ckpt = self.checkpoint()
        return None if ckpt is None else ckpt.folder

    def commit_checkpoint(self, folder: Path) -> None:
        """Point latest.json at a complete checkpoint folder, then drop the oldest ones."""
        write_json_atomic(self.checkpoints / "latest.json", {"folder": folder.name})
        done = sorted(
            (p for p in self.checkpoints.glob("step_*") if (p / "state.json").is_file()),
            key=lambda p: int(p.name.split("_")[1]),
        )
        for old in done[:-CHECKPOINTS_KEPT]:
            shutil.rmtree(old, ignore_errors=True)

    def final_model(self) -> tuple[Path, Path | None]:
        """(model, normalisation statistics or None): the final model, else the newest intact checkpoint."""
        if self.model_path.is_file():
            return self.model_path, stats_path(self.path)
        ckpt = self.checkpoint()
        if ckpt is None:
            raise FileNotFoundError(f"{self.path} holds no model and no checkpoint yet")
        return ckpt.folder / "model.zip", stats_path(ckpt.folder)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run folder for this process: a second trainer in it gets a RunError at once."""
        try:
            import fcntl
        except ImportError:  # not on POSIX: no lock, as before
            yield
            return
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / LOCK_FILE, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise RunError(
                    f"run folder {self.path} is in use by {holder}; wait for it to end (one process per run)"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"process {os.getpid()}\n")
            handle.flush()
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
