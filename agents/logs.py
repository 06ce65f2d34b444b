"""Training logs that survive resumes: progress.csv is appended to, its step column continuous.

stable-baselines3's CSV writer opens its file with "w+", so every resume would erase the history
before the interruption. Here a resumed run first drops the rows logged after the checkpoint it
resumes from (they are trained again), then appends.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from stable_baselines3.common.logger import CSVOutputFormat, Logger, TensorBoardOutputFormat

from .runs import write_text_atomic

PROGRESS_FILE = "progress.csv"
# the step of a row: SB3's own column, or the metrics callback's for rows it dumps itself (off-policy)
STEP_COLUMNS = ("time/total_timesteps", "time/total_timesteps_metrics")


class AppendingCSVOutputFormat(CSVOutputFormat):
    """SB3's CSV writer, continuing an existing file (its header read back) instead of erasing it."""

    def __init__(self, filename: str) -> None:
        path = Path(filename)
        if path.is_file() and path.stat().st_size > 0:
            self.file = open(filename, "r+")
            header = self.file.readline().rstrip("\n")
            self.keys = header.split(",") if header else []
            self.file.seek(0, io.SEEK_END)
        else:
            self.file = open(filename, "w+")
            self.keys = []
        self.separator = ","
        self.quotechar = '"'


def row_step(row: dict[str, str]) -> float:
    """A progress row's step, or NaN when it has none."""
    steps = [float(row[c]) for c in STEP_COLUMNS if row.get(c)]
    return max(steps) if steps else math.nan


def trim_progress(path: Path, last_step: int) -> int:
    """Drop the rows logged after `last_step` (trained again after a resume); returns how many went."""
    if not path.is_file():
        return 0
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        rows = list(reader)
    kept = [r for r in rows if not row_step(r) > last_step]
    if len(kept) == len(rows):
        return 0
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(kept)
    write_text_atomic(path, out.getvalue())
    return len(rows) - len(kept)


def training_logger(folder: Path, resumed_from: int | None) -> Logger:
    """progress.csv (appended across resumes) and TensorBoard events in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / PROGRESS_FILE
    if resumed_from is None:
        csv_path.unlink(missing_ok=True)  # a fresh run starts a fresh log
    else:
        trim_progress(csv_path, resumed_from)
    return Logger(str(folder), [AppendingCSVOutputFormat(str(csv_path)), TensorBoardOutputFormat(str(folder))])
