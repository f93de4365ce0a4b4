"""Run the edge detector over the NAB corpus and score it with every profile."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from edge_reporter.triage import SeriesTriage, TriageConfig
from evals.triage.corpus import DataFile
from evals.triage.nab import CostMatrix, FileRows, SweepResult, file_rows, sweep, tally
from evals.triage.nab import window_spans as _spans

Scorer = Callable[[DataFile], list[float]]


def triage_scores(data: DataFile) -> list[float]:
    """Scores of the edge triage exactly as a reporter computes them, one fresh series per file."""
    triage = SeriesTriage(TriageConfig())
    update = triage.update
    return [update(ts, v).score for ts, v in zip(data.timestamps, data.values, strict=True)]


@dataclass(frozen=True, slots=True)
class ProfileReport:
    """Result of one profile: the sweep, and what its threshold does per category."""

    result: SweepResult
    by_category: dict[str, float]  # raw score
    detected: int  # windows
    missed: int
    false_positives: int


def score_files(
    files: Sequence[DataFile], scorer: Scorer = triage_scores, workers: int | None = None
) -> list[list[float]]:
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


def evaluate(
    files: Sequence[DataFile], scores: Sequence[Sequence[float]], profiles: dict[str, CostMatrix]
) -> dict[str, ProfileReport]:
    """Sweep each profile's threshold over the corpus and break the best one down by category."""
    labelled: list[FileRows] = []
    next_id = 0
    for data, file_scores in zip(files, scores, strict=True):
        spans = _spans(data.timestamps, data.windows)
        labelled.append(file_rows(data.name, file_scores, spans, next_id))
        next_id += len(spans)
    n_windows = sum(len(f.windows) for f in files)
    reports: dict[str, ProfileReport] = {}
    for name, cost in profiles.items():
        result = sweep(labelled, cost, name, n_windows)
        by_category: dict[str, float] = defaultdict(float)
        detected = missed = false_positives = 0
        for data, rows in zip(files, labelled, strict=True):
            t = tally(rows, cost, result.threshold)
            by_category[data.category] += t.raw
            detected += t.detected
            missed += t.missed
            false_positives += t.false_positives
        categories = dict(sorted(by_category.items()))
        reports[name] = ProfileReport(result, categories, detected, missed, false_positives)
    return reports
