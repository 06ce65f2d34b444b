"""Run folders and atomic writes.

runs/<name>/
  config.yaml           resolved config (what actually ran)
  model.yaml            the run's copy of its model file, when the config names one (env.model_path)
  checkpoints/step_N/   model.zip, vecnormalize.pkl, state.json (a complete checkpoint)
  checkpoints/latest.json  pointer to the newest complete checkpoint, replaced atomically
  logs/                 progress.csv and TensorBoard events
  model.zip, vecnormalize.pkl   final model and normalisation statistics
  evaluation.json, trajectory.npz, report/   written by evaluate and report

Every file is written to a temporary name in the same folder and moved into place with
os.replace, so a crash or Ctrl-C never leaves a half-written file where a good one was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from .config import RunConfig, dump_config, validate_config

RUNS_DIR = Path("runs")
_UMASK = os.umask(0)
os.umask(_UMASK)  # read once: the only way to learn the umask is to set it
CHECKPOINTS_KEPT = 2
RUN_MODEL_FILE = "model.yaml"  # env.model_path of a run's config: relative to the run folder


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
        base = name or cfg.name or f"{cfg.env.task.lower()}_{cfg.algo.name}_s{cfg.seed}"
        path = root / base
        if path.exists() and any(path.iterdir()):
            raise FileExistsError(f"run folder {path} exists; resume it with --resume {path} or choose --name")
        path.mkdir(parents=True, exist_ok=True)
        run = cls(path)
        if cfg.env.model_path is not None:
            # the run keeps its own copy: editing the file later must not change what the run was
            with atomic_path(run.path / RUN_MODEL_FILE) as tmp:
                shutil.copyfile(cfg.env.model_path, tmp)
            cfg = cfg.model_copy(update={"env": cfg.env.model_copy(update={"model_path": RUN_MODEL_FILE})})
        write_text_atomic(run.config_path, dump_config(cfg))
        return run

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
        return self.path / "vecnormalize.pkl"

    @property
    def evaluation_path(self) -> Path:
        return self.path / "evaluation.json"

    def config(self) -> RunConfig:
        if not self.config_path.is_file():
            raise FileNotFoundError(f"{self.path} is not a run folder (no config.yaml)")
        data = yaml.safe_load(self.config_path.read_text()) or {}
        env = data.get("env") if isinstance(data, dict) else None
        if isinstance(env, dict) and isinstance(env.get("model_path"), str):
            env["model_path"] = str(self.path / env["model_path"])  # the run's copy (an absolute path stays)
        return validate_config(data, str(self.config_path))

    def latest_checkpoint(self) -> Path | None:
        pointer = self.checkpoints / "latest.json"
        if not pointer.is_file():
            return None
        folder = self.checkpoints / json.loads(pointer.read_text())["folder"]
        return folder if (folder / "state.json").is_file() else None

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
        """(model, vecnormalize or None): the final model, else the latest checkpoint."""
        if self.model_path.is_file():
            vec = self.vecnormalize_path if self.vecnormalize_path.is_file() else None
            return self.model_path, vec
        ckpt = self.latest_checkpoint()
        if ckpt is None:
            raise FileNotFoundError(f"{self.path} holds no model and no checkpoint yet")
        vec = ckpt / "vecnormalize.pkl"
        return ckpt / "model.zip", vec if vec.is_file() else None
