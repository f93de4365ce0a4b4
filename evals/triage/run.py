"""Run the edge detector over the NAB corpus and score it with every profile.

Two ways of scoring one run:

- `evaluate`: the raw anomaly score, at the threshold NAB finds best with the labels in view;
- `evaluate_fixed`: the verdicts a reporter actually sends (warning or critical = a detection,
  or critical only), with no threshold to choose.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from edge_reporter.model import Kind, Severity
from edge_reporter.triage import SeriesTriage, TriageConfig
from evals.triage.corpus import DataFile
from evals.triage.nab import (
    CostMatrix,
    FileRows,
    SweepResult,
    file_rows,
    probationary_length,
    sweep,
    tally,
)
from evals.triage.nab import window_spans as _spans

T = TypeVar("T")
Scorer = Callable[[DataFile], list[float]]
WARNING, CRITICAL = 1, 2  # levels of a verdict; 0 is normal
_LEVEL = {Severity.NORMAL: 0, Severity.WARNING: WARNING, Severity.CRITICAL: CRITICAL}


def triage_scores(data: DataFile) -> list[float]:
    """Scores of the edge triage exactly as a reporter computes them, one fresh series per file."""
    triage = SeriesTriage(TriageConfig())
    update = triage.update
    return [update(ts, v).score for ts, v in zip(data.timestamps, data.values, strict=True)]


@dataclass(frozen=True, slots=True)
class Verdicts:
    """What triage said about every row of one file: score, level (0/1/2), sensor fault or not."""

    scores: list[float]
    levels: bytes
    faults: bytes


def triage_verdicts(data: DataFile, config: TriageConfig | None = None) -> Verdicts:
    """Every verdict of a fresh `SeriesTriage` over one file (default: the reporter's defaults)."""
    triage = SeriesTriage(config or TriageConfig())
    update = triage.update
    scores: list[float] = []
    levels = bytearray()
    faults = bytearray()
    fault = Kind.SENSOR_FAULT
    for ts, v in zip(data.timestamps, data.values, strict=True):
        # NaN marks a missing reading (the set-aside dropouts; NAB has none): the sensor gave
        # nothing, which a reporter passes on as None.
        verdict = update(ts, None if v != v else v)
        scores.append(verdict.score)
        levels.append(_LEVEL[verdict.severity])
        faults.append(verdict.kind is fault)
    return Verdicts(scores, bytes(levels), bytes(faults))


@dataclass(frozen=True, slots=True)
class ProfileReport:
    """Result of one profile: the sweep, and what its threshold does per category."""

    result: SweepResult
    by_category: dict[str, float]  # raw score
    detected: int  # windows
    missed: int
    false_positives: int


def score_files(
    files: Sequence[DataFile],
    scorer: Callable[[DataFile], T] = triage_scores,  # type: ignore[assignment]
    workers: int | None = None,
) -> list[T]:
    """Score every file, in parallel over files (the detector is per series and causal)."""
    workers = workers or min(len(files), os.cpu_count() or 1)
    if workers <= 1:
        return [scorer(f) for f in files]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        # Large files first so the last worker is not left alone with the biggest one.
        order = sorted(range(len(files)), key=lambda i: -len(files[i].values))
        results = dict(
            zip(order, pool.map(scorer, [files[i] for i in order], chunksize=1), strict=True)
        )
    return [results[i] for i in range(len(files))]


def _labelled(files: Sequence[DataFile], scores: Sequence[Sequence[float]]) -> list[FileRows]:
    """Every file's scorable rows with their windows (window ids unique across the corpus)."""
    labelled: list[FileRows] = []
    next_id = 0
    for data, file_scores in zip(files, scores, strict=True):
        spans = _spans(data.timestamps, data.windows)
        labelled.append(file_rows(data.name, file_scores, spans, next_id))
        next_id += len(spans)
    return labelled


def tally_at(
    files: Sequence[DataFile], labelled: Sequence[FileRows], cost: CostMatrix, threshold: float
) -> tuple[dict[str, float], int, int, int]:
    """Raw score per category, windows detected and missed, false positives at a threshold."""
    by_category: dict[str, float] = defaultdict(float)
    detected = missed = false_positives = 0
    for data, rows in zip(files, labelled, strict=True):
        t = tally(rows, cost, threshold)
        by_category[data.category] += t.raw
        detected += t.detected
        missed += t.missed
        false_positives += t.false_positives
    return dict(sorted(by_category.items())), detected, missed, false_positives


def evaluate(
    files: Sequence[DataFile], scores: Sequence[Sequence[float]], profiles: dict[str, CostMatrix]
) -> dict[str, ProfileReport]:
    """Sweep each profile's threshold over the corpus and break the best one down by category."""
    labelled = _labelled(files, scores)
    n_windows = sum(len(f.windows) for f in files)
    reports: dict[str, ProfileReport] = {}
    for name, cost in profiles.items():
        result = sweep(labelled, cost, name, n_windows)
        categories, detected, missed, fps = tally_at(files, labelled, cost, result.threshold)
        reports[name] = ProfileReport(result, categories, detected, missed, fps)
    return reports


def evaluate_fixed(
    files: Sequence[DataFile],
    levels: Sequence[bytes],
    profiles: dict[str, CostMatrix],
    minimum: int = WARNING,
) -> dict[str, ProfileReport]:
    """Score verdicts of at least `minimum` level as detections, with no threshold to choose."""
    labelled = _labelled(files, [[float(x >= minimum) for x in lv] for lv in levels])
    n_windows = sum(len(f.windows) for f in files)
    reports: dict[str, ProfileReport] = {}
    for name, cost in profiles.items():
        categories, detected, missed, fps = tally_at(files, labelled, cost, 1.0)
        null_raw = -cost.fn_weight * sum(len(f.windows) for f in labelled)
        raw = sum(categories.values())
        result = SweepResult(name, 1.0, raw, null_raw, cost.tp_weight * n_windows)
        reports[name] = ProfileReport(result, categories, detected, missed, fps)
    return reports


@dataclass(frozen=True, slots=True)
class FalseAlarms:
    """Flags outside every window, per 1,000 scorable readings outside windows."""

    readings: int  # scorable rows outside windows
    flags: int
    sensor_fault_flags: int

    @property
    def per_1000(self) -> float:
        """All false alarms per 1,000 readings."""
        return 1000.0 * self.flags / self.readings if self.readings else 0.0

    @property
    def process_per_1000(self) -> float:
        """False alarms of the statistical detector (process anomalies) per 1,000 readings."""
        flags = self.flags - self.sensor_fault_flags
        return 1000.0 * flags / self.readings if self.readings else 0.0


def false_alarms(
    files: Sequence[DataFile], verdicts: Sequence[Verdicts], minimum: int = WARNING
) -> FalseAlarms:
    """Count flags of at least `minimum` level outside windows, after the probationary rows."""
    readings = flags = faults = 0
    for data, v in zip(files, verdicts, strict=True):
        spans = _spans(data.timestamps, data.windows)
        inside = bytearray(len(data.values))
        for left, right in spans:
            inside[left : right + 1] = b"\x01" * (right - left + 1)
        for i in range(probationary_length(len(data.values)), len(data.values)):
            if inside[i]:
                continue
            readings += 1
            if v.levels[i] >= minimum:
                flags += 1
                faults += v.faults[i]
    return FalseAlarms(readings, flags, faults)
