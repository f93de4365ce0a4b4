"""The deployed detector, pinned: verdicts and scores of the default `SeriesTriage` on seeded
synthetic series, as this commit computes them.

The NAB figures in evals/triage/results.json (and the README) hold for exactly this detector:
an edit to edge_reporter/triage.py or detector.py that moves a score moves what every reporter
alerts on. When such a change is meant, re-run `python -m evals.triage` (and `.tune` if
parameters moved), then update the numbers here from the assertion messages.

Found by mutation testing: the other triage tests bound scores and severities loosely, so
edits of the detector's arithmetic (weights, caps, the tail probability, the range margin, the
rest damping) passed them.
"""

from __future__ import annotations

import math
import random

import pytest

from edge_reporter.model import Severity
from edge_reporter.triage import SeriesTriage, TriageConfig, Verdict

T0 = 1_000_000.0


def feed(values: list[float], step_s: float, config: TriageConfig, unit: str) -> list[Verdict]:
    triage = SeriesTriage(config, unit)
    return [triage.update(T0 + i * step_s, v) for i, v in enumerate(values)]


def a_warehouse_week(seed: int = 11) -> list[float]:
    """Five days of 5-minute temperatures with a daily cycle, then a spike, a level shift, a
    burst of jumps, a day without its cycle and a new extreme."""
    rng = random.Random(seed)
    out = []
    for i in range(1400):
        t = i * 300.0
        v = 20.0 + 3.0 * math.sin(2 * math.pi * t / 86_400.0) + rng.gauss(0, 0.25)
        if i == 700:
            v += 9.0
        if 900 <= i < 960:
            v += 4.0
        if 1100 <= i < 1110:
            v += rng.choice((-3.0, 3.0))
        if 1200 <= i < 1280:
            v = 20.0 + rng.gauss(0, 0.25)
        if i == 1350:
            v = 40.0
        out.append(round(v, 2))
    return out


def a_young_pressure_series(seed: int = 5) -> list[float]:
    """Ten hours of 1-minute pressure (less than the day the range rule waits for)."""
    rng = random.Random(seed)
    out = []
    for i in range(600):
        v = 50.0 + rng.gauss(0, 1.0)
        if i == 200:
            v += 30.0
        if 300 <= i < 306:
            v += (-1) ** i * 6.0
        if 400 <= i < 520:
            v += 8.0
        out.append(round(v, 1))
    return out


def a_quantized_humidity(seed: int = 8) -> list[float]:
    """A series in 0.5 % steps that shifts up by 3 % (a resolution floor of 0.5)."""
    rng = random.Random(seed)
    return [40.0 + round(rng.gauss(0, 0.6)) * 0.5 + (3.0 if i >= 500 else 0.0) for i in range(800)]


def summary(verdicts: list[Verdict]) -> tuple[float, float]:
    return sum(v.score for v in verdicts), sum(v.score**2 for v in verdicts)


def test_the_warehouse_week_alerts_as_deployed() -> None:
    verdicts = feed(a_warehouse_week(), 300.0, TriageConfig(), "°C")
    flagged = [
        (i, v.severity, v.rule, v.reason)
        for i, v in enumerate(verdicts)
        if v.severity is not Severity.NORMAL
    ]
    assert flagged == [
        (
            364,
            Severity.WARNING,
            "new_extreme",
            "23.5 °C breaks the recent pattern (baseline of the last 5 hours: 21.2 °C); "
            "the highest reading of the last 30 hours was 23.43 °C",
        ),
        (
            700,
            Severity.CRITICAL,
            "new_extreme",
            "30.0 °C is 5.6σ above the baseline of the last 5 hours; "
            "the highest reading of the last 2 days was 23.53 °C",
        ),
        (
            903,
            Severity.WARNING,
            "daily_pattern",
            "26.4 °C is 2.9σ above the baseline of the last 5 hours",
        ),
        (
            934,
            Severity.WARNING,
            "daily_pattern",
            "27.2 °C breaks the recent pattern (baseline of the last 5 hours: 22.8 °C)",
        ),
        (
            1102,
            Severity.WARNING,
            "new_extreme",
            "14.1 °C breaks the recent pattern (baseline of the last 5 hours: 18.7 °C); "
            "the lowest reading of the last 4 days was 16.44 °C",
        ),
        (
            1350,
            Severity.CRITICAL,
            "new_extreme",
            "40.0 °C is 16.2σ above the baseline of the last 5 hours; "
            "the highest reading of the last 5 days was 29.96 °C",
        ),
    ]
    assert summary(verdicts) == pytest.approx((153.55020799472382, 39.92233133896879), rel=1e-9)


def test_the_young_pressure_series_scores_as_deployed() -> None:
    verdicts = feed(a_young_pressure_series(), 60.0, TriageConfig(), "hPa")
    assert [(i, v.rule) for i, v in enumerate(verdicts) if v.severity is not Severity.NORMAL] == [
        (201, "jump"),
        (407, "level_shift"),
    ]
    assert summary(verdicts) == pytest.approx((67.45360592839283, 22.725055051863382), rel=1e-9)


def test_the_quantized_humidity_scores_as_deployed() -> None:
    config = TriageConfig(resolution=0.5, stuck=None)
    verdicts = feed(a_quantized_humidity(), 30.0, config, "%")
    flagged = [
        (i, v.rule, v.reason) for i, v in enumerate(verdicts) if v.severity is not Severity.NORMAL
    ]
    assert flagged == [
        (501, "level_shift", "43.0 % is 6.1σ above the baseline of the last 30 minutes"),
        (
            532,
            "level_shift",
            "43.0 % breaks the recent pattern (baseline of the last 30 minutes: 41.2 %)",
        ),
    ]
    # The same flags; higher scores since a quantized series' spread is at least one unit.
    assert summary(verdicts) == pytest.approx((79.14671116870443, 27.26183594957965), rel=1e-9)
