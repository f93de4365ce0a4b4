"""Read a NAB checkout's data files, windows and profiles into plain lists."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from evals.triage.nab import PROFILES, CostMatrix, profiles_from_json

WINDOWS_FILE = Path("labels/combined_windows.json")
PROFILES_FILE = Path("config/profiles.json")
DATA_DIR = Path("data")


class CorpusError(Exception):
    """The NAB directory is missing or incomplete."""


@dataclass(frozen=True, slots=True)
class DataFile:
    """One NAB series: its name (`category/file.csv`), times, values and window times."""

    name: str
    timestamps: list[float]
    values: list[float]
    windows: list[tuple[float, float]]

    @property
    def category(self) -> str:
        """The folder the file sits in, e.g. `realKnownCause`."""
        return self.name.split("/", 1)[0]


def _epoch(text: str) -> float:
    """Unix seconds of a NAB timestamp (naive, read as UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def check_dir(nab_dir: Path) -> None:
    """Raise CorpusError naming what is missing under `nab_dir`."""
    for needed in (DATA_DIR, WINDOWS_FILE):
        if not (nab_dir / needed).exists():
            raise CorpusError(
                f"{nab_dir / needed} not found: --nab-dir must point at a NAB v1.1 checkout "
                "(git clone https://github.com/numenta/NAB and pass --nab-dir path/to/NAB)"
            )


def load_profiles(nab_dir: Path) -> dict[str, CostMatrix]:
    """The profiles of the checkout, or NAB v1.1's built-in ones when the file is absent."""
    path = nab_dir / PROFILES_FILE
    if not path.exists():
        return dict(PROFILES)
    return profiles_from_json(json.loads(path.read_text()))


def load_corpus(nab_dir: Path) -> list[DataFile]:
    """Every labelled data file of the corpus, sorted by name."""
    check_dir(nab_dir)
    labels: dict[str, list[list[str]]] = json.loads((nab_dir / WINDOWS_FILE).read_text())
    files: list[DataFile] = []
    for name in sorted(labels):
        path = nab_dir / DATA_DIR / name
        if not path.exists():
            raise CorpusError(f"{path} is labelled in {WINDOWS_FILE} but missing")
        timestamps: list[float] = []
        values: list[float] = []
        with path.open(newline="") as fh:
            reader = csv.reader(fh)
            next(reader)  # header: timestamp,value
            for ts, value in reader:
                timestamps.append(_epoch(ts))
                values.append(float(value))
        windows = [(_epoch(a), _epoch(b)) for a, b in labels[name]]
        files.append(DataFile(name, timestamps, values, windows))
    return files
