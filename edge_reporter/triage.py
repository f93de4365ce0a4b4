"""Streaming triage of one series: pure functions and state, no I/O.

`SeriesTriage.update(ts, value)` classifies each reading in a few microseconds. Rules come first
(non-finite value, hard physical limits, dropout, stuck value); every finite reading within the
limits is also scored by `AnomalyScorer` (edge_reporter/detector.py), the statistical detector
that `python -m evals.triage` scores on the Numenta Anomaly Benchmark (NAB). Its parameters are
global: one set for every series, found on the whole NAB corpus by `python -m evals.triage.tune`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from edge_reporter.detector import (
    DAILY_PATTERN,
    DAY_S,
    JUMP,
    LEVEL_SHIFT,
    NEW_EXTREME,
    SPIKE,
    AnomalyScorer,
    DetectorParams,
)
from edge_reporter.model import Kind, Severity

__all__ = [
    "DAILY_PATTERN",
    "DROPOUT",
    "HARD_LIMIT",
    "INVALID_TIME",
    "JUMP",
    "LEVEL_SHIFT",
    "NEW_EXTREME",
    "NON_FINITE",
    "NORMAL_REASON",
    "RULE_KIND",
    "SPIKE",
    "STUCK_VALUE",
    "AnomalyScorer",
    "DetectorParams",
    "SeriesTriage",
    "StuckRule",
    "TriageConfig",
    "Verdict",
    "alert_due",
    "describe_span",
]

# What fired, named in every flagged verdict. Sensor-fault rules:
NON_FINITE = "non_finite"  # NaN or infinity from the driver
INVALID_TIME = "invalid_time"  # a reading without a usable time
HARD_LIMIT = "hard_limit"  # past the sensor's physical measuring range
DROPOUT = "dropout"  # no reading for several samples
STUCK_VALUE = "stuck_value"  # the same value for longer than the sensor kind allows
RULE_KIND: dict[str, Kind] = {
    **dict.fromkeys(
        (NON_FINITE, INVALID_TIME, HARD_LIMIT, DROPOUT, STUCK_VALUE), Kind.SENSOR_FAULT
    ),
    **dict.fromkeys((SPIKE, JUMP, LEVEL_SHIFT, DAILY_PATTERN, NEW_EXTREME), Kind.PROCESS_ANOMALY),
}


@dataclass(frozen=True, slots=True)
class StuckRule:
    """When an unchanged value is a frozen sensor rather than a quiet world, for a sensor kind.

    A run of identical readings is a fault once it is at least `min_readings` long, lasts at
    least `min_seconds`, and is `longest_factor` times longer than the longest run this series
    has shown before (a DHT22 in a quiet room repeats 0.1 °C steps for a while; a noisy
    humidity reading rarely repeats twice), or once it lasts `max_seconds` whatever the history.
    Values in `natural` never count (a motion sensor rests at 0); with `min_decimals` only
    values with more decimals than that count (an unknown sensor's float identical to many
    decimals is suspect, a round number is not).
    """

    min_readings: int = 12
    min_seconds: float = 3600.0
    longest_factor: float = 4.0
    max_seconds: float | None = None
    natural: tuple[float, ...] = ()
    min_decimals: int | None = 3

    def eligible(self, value: float) -> bool:
        """Whether a run of `value` can be a fault at all."""
        if value in self.natural:
            return False
        if self.min_decimals is None:
            return True
        scaled = value * 10.0**self.min_decimals
        return abs(scaled - round(scaled)) > 1e-6 * max(1.0, abs(scaled))


@dataclass(frozen=True, slots=True)
class TriageConfig:
    """Thresholds for one series; hard limits are optional physical bounds."""

    warning_score: float = 0.93  # the operating point tune.py finds for the deployed score
    critical_score: float = 0.99
    hard_min: float | None = None
    hard_max: float | None = None
    stuck: StuckRule | None = StuckRule()  # None: off
    # False for sensors whose normal output is bursty events (a PIR's counts): no statistical
    # score, only the sensor-fault rules.
    statistical: bool = True
    dropout_count: int = 3  # missing readings in a row that make a warning
    baseline_readings: int = 60  # horizon of the baseline (mean, σ) quoted in reasons
    # Smallest change that matters for this metric (sensor resolution, or a meaningful step
    # for node metrics): forecast errors are judged against at least this. 0: none (NAB).
    resolution: float = 0.0
    # A critical also needs the reading this far from its baseline, in σ (at least the
    # resolution): a broken pattern with a small deviation is a warning, not a page.
    critical_sigma: float = 4.0
    # A warning needs the reading this far from its baseline, in σ (at least the resolution):
    # a pattern break within the usual spread is not worth a person's attention.
    warning_sigma: float = 0.0
    # ... and a day of history: before the detector has seen a daily cycle, the first evening's
    # drop breaks "the pattern" of the morning. Until then a statistical flag is a warning.
    critical_after_s: float = DAY_S
    detector: DetectorParams = field(default_factory=DetectorParams)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Triage result for one reading.

    `rule` and `kind` name the condition the reading is in: set on every flagged verdict, and
    also on the normal-severity readings of an ongoing sensor-fault condition that are not
    re-alerted ("already reported"), so episodes and statistics see the whole condition.
    None on a reading in no condition.
    """

    severity: Severity
    score: float
    reason: str
    baseline_mean: float  # NaN (with baseline_std) when there is none: no reading learnt yet
    baseline_std: float
    rule: str | None = None
    kind: Kind | None = None


NORMAL_REASON = "within the usual range"


def _fmt(value: float) -> str:
    """A reading as a person reads it: one decimal, or three significant digits when small."""
    return f"{value:.1f}" if abs(value) >= 1.0 or value == 0.0 else f"{value:.3g}"


def _with_unit(value: float, unit: str, *, exact: bool = False) -> str:
    """A value with its unit; `exact` prints a configured limit as written (80, not 80.0)."""
    text = f"{value:g}" if exact else _fmt(value)
    return f"{text} {unit}" if unit else text


def describe_span(seconds: float, readings: int) -> str:
    """A window in words, e.g. 'the last hour', or 'the last 40 readings' without times."""
    if seconds <= 0.0:
        return _the_last(readings, "reading")
    minutes = seconds / 60.0
    if minutes < 1.5:
        return _the_last(max(1, round(seconds)), "second")
    if minutes < 50.0:
        return f"the last {round(minutes)} minutes"
    hours = minutes / 60.0
    if hours < 1.5:
        return "the last hour"
    if hours < 36.0:
        return f"the last {round(hours)} hours"
    return f"the last {round(hours / 24.0)} days"


def _the_last(n: int, noun: str) -> str:
    """'the last second', 'the last 40 readings': never 'the last 1 seconds'."""
    return f"the last {noun}" if n == 1 else f"the last {n} {noun}s"


def alert_due(count: int, first: int) -> bool:
    """Whether the `count`-th reading of a rule episode alerts: at `first`, then 2x, 4x, 8x ...

    A stuck or silent sensor, or one beyond its limit, stays so for hours; one alert per reading
    would bury the first. Reminders at doubling intervals keep a long episode visible.
    """
    quotient, remainder = divmod(count, first)
    return remainder == 0 and quotient > 0 and quotient & (quotient - 1) == 0


class SeriesTriage:
    """Per-series streaming triage: rules plus the statistical score."""

    def __init__(self, config: TriageConfig, unit: str = "") -> None:
        self._config = config
        self._unit = unit
        self._scorer = AnomalyScorer(config.detector, config.resolution)
        self._alpha = 1.0 / max(1, config.baseline_readings)
        self._n = 0
        self._mean = 0.0
        self._var = 0.0
        self._first_ts = 0.0
        self._last_ts = 0.0
        self._missing = 0
        self._last_value = math.nan
        self._repeats = 0
        self._run_start = 0.0
        self._longest = 0  # longest run of identical readings seen that was not a fault
        self._stuck_min = config.stuck.min_readings if config.stuck is not None else 0
        self._stuck_due = self._stuck_min  # run length that may be a fault, given the history
        self._stuck_first = 0  # run length at which the current run became a fault; 0: not one
        self._beyond = 0  # readings in a row beyond a hard limit

    def update(self, ts: float, value: float | None) -> Verdict:
        """Score one reading and classify it; `None` means the sensor gave no reading."""
        cfg = self._config
        if value is None:
            self._missing += 1
            if self._missing < cfg.dropout_count:
                return self._verdict(Severity.NORMAL, 0.0, "no reading")
            reason = f"no reading for {self._missing} consecutive samples"
            if alert_due(self._missing, cfg.dropout_count):
                return self._verdict(Severity.WARNING, 0.0, reason, DROPOUT)
            return self._verdict(Severity.NORMAL, 0.0, f"{reason} (already reported)", DROPOUT)
        self._missing = 0
        if not math.isfinite(value):
            # Never learn from it: one NaN would poison every running statistic.
            reason = f"sensor returned a non-finite value ({value}); reading ignored"
            return self._verdict(Severity.WARNING, 0.0, reason, NON_FINITE)
        if not math.isfinite(ts):
            return self._verdict(
                Severity.WARNING, 0.0, f"reading has no valid time ({ts}); ignored", INVALID_TIME
            )
        # Beyond a physical limit the sensor is broken or the plant is: alert, do not learn.
        if cfg.hard_max is not None and value > cfg.hard_max:
            return self._beyond_limit(value, "above", cfg.hard_max)
        if cfg.hard_min is not None and value < cfg.hard_min:
            return self._beyond_limit(value, "below", cfg.hard_min)
        self._beyond = 0

        score = self._scorer.score(ts, value) if cfg.statistical else 0.0
        # The baseline quoted in reasons: EW mean and σ before this reading.
        mean = self._mean
        var = self._var
        std = math.sqrt(var)
        n = self._n = self._n + 1
        if n == 1:
            self._first_ts = ts
            mean = value
        a = self._alpha
        if n * a < 1.0:
            a = 1.0 / n
        d = value - mean
        self._mean = mean + a * d
        self._var = (1.0 - a) * (var + a * d * d)
        self._last_ts = ts
        if value == self._last_value:
            self._repeats += 1
        else:
            self._run_ended()
            self._last_value = value
            self._repeats = 1
            self._run_start = ts

        spread = std if std > cfg.resolution else cfg.resolution
        if score >= cfg.warning_score and (
            spread <= 0.0 or abs(value - mean) >= cfg.warning_sigma * spread
        ):
            far = spread <= 0.0 or abs(value - mean) >= cfg.critical_sigma * spread
            mature = ts - self._first_ts >= cfg.critical_after_s
            severity = (
                Severity.CRITICAL
                if score >= cfg.critical_score and far and mature
                else Severity.WARNING
            )
            rule = self._scorer.rule
            reason = self._anomaly_reason(ts, value, mean, std)
            return Verdict(severity, score, reason, mean, std, rule, Kind.PROCESS_ANOMALY)
        if self._stuck_min and self._repeats >= self._stuck_min and self._stuck(ts, value):
            reason = f"value stuck at {_with_unit(value, self._unit)} for {self._repeats} readings"
            fault = Kind.SENSOR_FAULT
            if alert_due(self._repeats, self._stuck_first):
                return Verdict(Severity.WARNING, score, reason, mean, std, STUCK_VALUE, fault)
            reason += " (already reported)"
            return Verdict(Severity.NORMAL, score, reason, mean, std, STUCK_VALUE, fault)
        return Verdict(Severity.NORMAL, score, NORMAL_REASON, mean, std)

    def _stuck(self, ts: float, value: float) -> bool:
        """Whether the current run (at least `min_readings` long) is a frozen sensor."""
        if self._stuck_first:
            return True
        rule = self._config.stuck
        if rule is None or not rule.eligible(value):
            return False
        lasted = ts - self._run_start
        if (self._repeats >= self._stuck_due and lasted >= rule.min_seconds) or (
            rule.max_seconds is not None and lasted >= rule.max_seconds
        ):
            self._stuck_first = self._repeats
            return True
        return False

    def _run_ended(self) -> None:
        """Learn from a run of identical readings that just ended, unless it was a fault."""
        rule = self._config.stuck
        if self._stuck_first:
            self._stuck_first = 0
        elif (
            rule is not None
            and self._repeats > self._longest
            and self._last_value not in rule.natural
        ):
            self._longest = self._repeats
            due = max(rule.min_readings, math.ceil(rule.longest_factor * self._repeats))
            self._stuck_due = due

    def _verdict(
        self, severity: Severity, score: float, reason: str, rule: str | None = None
    ) -> Verdict:
        kind = None if rule is None else RULE_KIND[rule]
        if self._n == 0:  # before any reading there is no baseline to quote: not "0 ± 0"
            return Verdict(severity, score, reason, math.nan, math.nan, rule, kind)
        return Verdict(severity, score, reason, self._mean, math.sqrt(self._var), rule, kind)

    def _beyond_limit(self, value: float, side: str, bound: float) -> Verdict:
        """Critical on the first reading past a hard limit, then at doubling reminders."""
        self._beyond += 1
        limit = _with_unit(bound, self._unit, exact=True)
        reason = f"{_with_unit(value, self._unit)} is {side} the sensor limit of {limit}"
        if alert_due(self._beyond, 1):
            if self._beyond > 1:
                reason += f" ({self._beyond} readings in a row)"
            return self._verdict(Severity.CRITICAL, 1.0, reason, HARD_LIMIT)
        return self._verdict(Severity.NORMAL, 1.0, f"{reason} (already reported)", HARD_LIMIT)

    def _anomaly_reason(self, ts: float, value: float, mean: float, std: float) -> str:
        """Why a reading was flagged; built only for flagged readings."""
        readings = min(self._n - 1, self._config.baseline_readings)
        step = (self._last_ts - self._first_ts) / (self._n - 1) if self._n > 1 else 0.0
        window = describe_span(step * readings, readings)
        reading = _with_unit(value, self._unit)
        sigmas = (value - mean) / std if std > 0.0 else 0.0
        if abs(sigmas) >= 2.0:
            side = "above" if sigmas > 0 else "below"
            text = f"{reading} is {abs(sigmas):.1f}σ {side} the baseline of {window}"
        else:
            baseline = _with_unit(mean, self._unit)
            text = f"{reading} breaks the recent pattern (baseline of {window}: {baseline})"
        extreme = self._scorer.new_extreme
        if extreme is not None:
            word = "highest" if value > extreme else "lowest"
            history = describe_span(ts - self._first_ts, self._n)
            # Enough digits that the old extreme never prints the same as the new reading.
            previous = f"{extreme:.6g} {self._unit}".rstrip()
            text += f"; the {word} reading of {history} was {previous}"
        return text
