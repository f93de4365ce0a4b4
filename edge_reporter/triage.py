"""Streaming triage of one series: pure functions and state, no I/O.

INTERIM API: the detector below is a placeholder until the NAB-tuned detector lands;
callers rely only on `TriageConfig`, `Verdict` and `SeriesTriage.update`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edge_reporter.model import Severity


@dataclass(frozen=True, slots=True)
class TriageConfig:
    """Thresholds for one series; hard limits are optional physical bounds."""

    warning_score: float = 0.9
    critical_score: float = 0.99
    hard_min: float | None = None
    hard_max: float | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """Triage result for one reading."""

    severity: Severity
    score: float
    reason: str
    baseline_mean: float
    baseline_std: float


class SeriesTriage:
    """Per-series streaming detector."""

    def __init__(self, config: TriageConfig, unit: str = "") -> None:
        self._config = config
        self._unit = unit
        self._n = 0
        self._mean = 0.0
        self._var = 0.0

    def update(self, ts: float, value: float | None) -> Verdict:
        """Score one reading and classify it; `None` means the sensor gave no reading."""
        if value is None:
            return Verdict(Severity.WARNING, 1.0, "no reading", self._mean, math.sqrt(self._var))
        self._n += 1
        delta = value - self._mean
        self._mean += delta / min(self._n, 60)
        self._var += (delta * delta - self._var) / min(self._n, 60)
        return Verdict(Severity.NORMAL, 0.0, "", self._mean, math.sqrt(self._var))
