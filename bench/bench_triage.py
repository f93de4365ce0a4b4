"""Cost of `SeriesTriage.update` per reading: p50 and p99 in µs, medians over repeats.

Replays NAB's machine temperature series (22,695 readings, when the shared data set is present)
and a synthetic noisy daily cycle with spikes, so that both the normal path and the alert path
(reason strings) are measured. Each reading is timed on its own with `perf_counter_ns`; the
machine is shared and noisy, so every figure is the median of several repeats.
"""

from __future__ import annotations

import csv
import math
import random
import statistics
import time
from pathlib import Path

from bench.common import Figure, percentile
from edge_reporter.model import Severity
from edge_reporter.triage import SeriesTriage, TriageConfig

NAB_FILE = Path(__file__).resolve().parents[2] / (
    "shared/datasets/nab/data/realKnownCause/machine_temperature_system_failure.csv"
)
READINGS = 120_000  # per repeat
REPEATS = 5
TARGET_P99_US = 10.0


def _nab_series() -> list[float]:
    if not NAB_FILE.exists():
        return []
    with NAB_FILE.open(newline="") as fh:
        return [float(row[1]) for row in list(csv.reader(fh))[1:]]


def _synthetic(n: int, seed: int = 7) -> list[float]:
    """A DHT22-like temperature: daily cycle, noise, a spike every ~2,000 readings."""
    rng = random.Random(seed)
    values = []
    for i in range(n):
        v = 21.0 + 2.0 * math.sin(2 * math.pi * i / 8640) + rng.gauss(0.0, 0.3)
        if rng.random() < 0.0005:
            v += rng.choice((-8.0, 8.0))
        values.append(round(v, 1))
    return values


def _time_once(values: list[float]) -> tuple[list[float], int]:
    """Per-reading cost in µs (sorted) and readings flagged, for one fresh series fed `values`
    at 10 s intervals. The collector stays on: its pauses come from the detector's allocations.
    """
    triage = SeriesTriage(TriageConfig(), unit="°C")
    update = triage.update
    clock = time.perf_counter_ns
    costs = [0] * len(values)
    flagged = 0
    ts = 1_764_000_000.0
    for i, v in enumerate(values):
        t0 = clock()
        verdict = update(ts, v)
        costs[i] = clock() - t0
        flagged += verdict.severity is not Severity.NORMAL
        ts += 10.0
    return sorted(c / 1000.0 for c in costs), flagged


def _series(name: str, values: list[float]) -> list[Figure]:
    p50s, p99s = [], []
    for _ in range(REPEATS):
        costs, flagged = _time_once(values)
        p50s.append(percentile(costs, 50))
        p99s.append(percentile(costs, 99))
    detail = f"{len(values):,} readings x {REPEATS} repeats, median; {flagged} flagged"
    return [
        Figure(f"{name} p50", statistics.median(p50s), "µs", None, detail),
        Figure(f"{name} p99", statistics.median(p99s), "µs", ("<=", TARGET_P99_US), detail),
    ]


def run() -> list[Figure]:
    """Measure per-reading p50/p99 on a replayed NAB series and a synthetic one."""
    figures: list[Figure] = []
    nab = _nab_series()
    if nab:
        # Replay the real series until it covers READINGS, as a sensor would keep sending.
        replay = (nab * (READINGS // len(nab) + 1))[:READINGS]
        figures += _series("update, NAB machine temperature", replay)
    figures += _series("update, synthetic DHT22", _synthetic(READINGS))
    return figures
