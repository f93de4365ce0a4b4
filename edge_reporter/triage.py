"""Streaming triage of one series: pure functions and state, no I/O.

`SeriesTriage.update(ts, value)` classifies each reading in a few microseconds. Rules come first
(non-finite value, hard physical limits, dropout, stuck value); every finite reading within the
limits is also scored by `AnomalyScorer`, the statistical detector evaluated on NAB
(`python -m evals.triage`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from edge_reporter.model import Severity

_SQRT1_2 = math.sqrt(0.5)
_LOG_TAIL_FLOOR = math.log(1e-12)  # tail probability that maps to score 1.0


@dataclass(frozen=True, slots=True)
class DetectorParams:
    """Global parameters of the statistical detector, tuned once on NAB for every series."""

    fast: float = 0.5  # EWMA weight of the fast forecast (one-step-ahead predictor)
    slow: float = 0.05  # EWMA weight of the slow forecast (level)
    error_scale: float = 0.002  # EW weight of the error scales (~500 readings)
    short: int = 6  # readings averaged before comparing with the long-run distribution
    long: float = 0.0005  # EW weight of the long-run distribution of raw scores (~2,000)
    range_tolerance: float = 0.05  # beyond the range seen so far by this fraction: score 1.0
    warmup: int = 150  # readings before any score is given
    fire: float = 0.5  # a score from here on is a detection ...
    rest: int = 150  # ... after which this many readings are damped
    rest_damping: float = 0.5  # multiplier applied to scores during the rest period


@dataclass(frozen=True, slots=True)
class TriageConfig:
    """Thresholds for one series; hard limits are optional physical bounds."""

    warning_score: float = 0.9
    critical_score: float = 0.99
    hard_min: float | None = None
    hard_max: float | None = None
    stuck_count: int | None = 12  # identical readings in a row that make a warning; None: off
    dropout_count: int = 3  # missing readings in a row that make a warning
    baseline_readings: int = 60  # horizon of the baseline quoted in reasons
    detector: DetectorParams = field(default_factory=DetectorParams)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Triage result for one reading."""

    severity: Severity
    score: float
    reason: str
    baseline_mean: float
    baseline_std: float


NORMAL_REASON = "within the usual range"


class AnomalyScorer:
    """Causal anomaly score in [0, 1] per reading, O(1) time and memory.

    Raw score: the larger of two normalized forecast errors (a fast and a slow EWMA). Its
    short moving average is compared with the long-run distribution of that average and turned
    into a tail probability on a log scale (Numenta's "anomaly likelihood" idea). A value beyond
    the range seen so far scores 1.0. After a detection, scores are damped for a rest period:
    the first alert of an episode is the useful one.
    """

    __slots__ = (
        "_buf",
        "_buf_at",
        "_buf_sum",
        "_err_f",
        "_err_s",
        "_fast",
        "_long_mean",
        "_long_var",
        "_max",
        "_min",
        "_n",
        "_p",
        "_rest_left",
        "_slow",
    )

    def __init__(self, params: DetectorParams) -> None:
        self._p = params
        self._n = 0
        self._fast = 0.0
        self._slow = 0.0
        self._err_f = 0.0
        self._err_s = 0.0
        self._min = math.inf
        self._max = -math.inf
        self._buf = [0.0] * params.short
        self._buf_at = 0
        self._buf_sum = 0.0
        self._long_mean = 0.0
        self._long_var = 0.0
        self._rest_left = 0

    def score(self, x: float) -> float:
        """Score one finite reading and learn from it."""
        p = self._p
        n = self._n = self._n + 1
        if n == 1:
            self._fast = self._slow = self._min = self._max = x
            return 0.0
        ef = x - self._fast
        es = x - self._slow
        # Normalized errors against scales learnt before this reading (causal).
        sf = self._err_f
        ss = self._err_s
        raw = 0.0
        if sf > 0.0:
            raw = abs(ef) / sf
        if ss > 0.0:
            zs = abs(es) / ss
            if zs > raw:
                raw = zs
        if raw > 10.0:
            raw = 10.0  # one outlier must not dominate the long-run statistics
        a = p.error_scale
        self._err_f = sf + a * (abs(ef) - sf)
        self._err_s = ss + a * (abs(es) - ss)
        self._fast += p.fast * ef
        self._slow += p.slow * es

        # Short moving average of the raw score (ring buffer, running sum).
        buf = self._buf
        at = self._buf_at
        self._buf_sum += raw - buf[at]
        buf[at] = raw
        self._buf_at = at + 1 if at + 1 < len(buf) else 0
        avg = self._buf_sum / len(buf)

        mean = self._long_mean
        var = self._long_var
        d = avg - mean
        b = p.long if n * p.long > 1.0 else 1.0 / n
        self._long_mean = mean + b * d
        self._long_var = (1.0 - b) * (var + b * d * d)

        lo = self._min
        hi = self._max
        outside = False
        if x > hi:
            outside = x > hi + p.range_tolerance * (hi - lo) and hi > lo
            self._max = x
        elif x < lo:
            outside = x < lo - p.range_tolerance * (hi - lo) and hi > lo
            self._min = x
        if n <= p.warmup:
            return 0.0

        if outside:
            s = 1.0
        elif var > 0.0 and d > 0.0:
            tail = 0.5 * math.erfc(d / math.sqrt(var) * _SQRT1_2)
            s = math.log(tail) / _LOG_TAIL_FLOOR if tail > 1e-12 else 1.0
        else:
            s = 0.0
        if self._rest_left > 0:
            self._rest_left -= 1
            return s * p.rest_damping
        if s >= p.fire:
            self._rest_left = p.rest
        return s


def _fmt(value: float) -> str:
    """A reading as a person reads it: one decimal, or three significant digits when small."""
    return f"{value:.1f}" if abs(value) >= 1.0 or value == 0.0 else f"{value:.3g}"


def _with_unit(value: float, unit: str, *, exact: bool = False) -> str:
    """A value with its unit; `exact` prints a configured limit as written (80, not 80.0)."""
    text = f"{value:g}" if exact else _fmt(value)
    return f"{text} {unit}" if unit else text


def describe_span(seconds: float, readings: int) -> str:
    """The baseline window in words, e.g. 'the last hour' or 'the last 40 readings'."""
    if seconds <= 0.0:
        return f"the last {readings} readings"
    minutes = seconds / 60.0
    if minutes < 1.5:
        return f"the last {max(1, round(seconds))} seconds"
    if minutes < 50.0:
        return f"the last {round(minutes)} minutes"
    hours = minutes / 60.0
    if hours < 1.5:
        return "the last hour"
    if hours < 36.0:
        return f"the last {round(hours)} hours"
    return f"the last {round(hours / 24.0)} days"


class SeriesTriage:
    """Per-series streaming triage: rules plus the statistical score."""

    def __init__(self, config: TriageConfig, unit: str = "") -> None:
        self._config = config
        self._unit = unit
        self._scorer = AnomalyScorer(config.detector)
        self._alpha = 1.0 / max(1, config.baseline_readings)
        self._n = 0
        self._mean = 0.0
        self._var = 0.0
        self._first_ts = 0.0
        self._last_ts = 0.0
        self._missing = 0
        self._last_value = math.nan
        self._repeats = 0

    @property
    def baseline_std(self) -> float:
        """Standard deviation of the baseline quoted in reasons."""
        return math.sqrt(self._var)

    def update(self, ts: float, value: float | None) -> Verdict:
        """Score one reading and classify it; `None` means the sensor gave no reading."""
        cfg = self._config
        if value is None:
            self._missing += 1
            if self._missing >= cfg.dropout_count:
                reason = f"no reading for {self._missing} consecutive samples"
                return self._verdict(Severity.WARNING, 0.0, reason)
            return self._verdict(Severity.NORMAL, 0.0, "no reading")
        self._missing = 0
        if not math.isfinite(value):
            # Never learn from it: one NaN would poison every running statistic.
            return self._verdict(
                Severity.WARNING, 0.0, f"sensor returned a non-finite value ({value})"
            )
        if cfg.hard_max is not None and value > cfg.hard_max:
            limit = _with_unit(cfg.hard_max, self._unit, exact=True)
            reason = f"{_with_unit(value, self._unit)} is above the sensor limit of {limit}"
            return self._verdict(Severity.CRITICAL, 1.0, reason)
        if cfg.hard_min is not None and value < cfg.hard_min:
            limit = _with_unit(cfg.hard_min, self._unit, exact=True)
            reason = f"{_with_unit(value, self._unit)} is below the sensor limit of {limit}"
            return self._verdict(Severity.CRITICAL, 1.0, reason)

        score = self._scorer.score(value)
        mean, std = self._mean, math.sqrt(self._var)  # the baseline before this reading
        self._learn_baseline(ts, value)
        if value == self._last_value:
            self._repeats += 1
        else:
            self._last_value = value
            self._repeats = 1

        if score >= cfg.warning_score:
            severity = Severity.CRITICAL if score >= cfg.critical_score else Severity.WARNING
            return Verdict(
                severity, score, self._deviation_reason(value, mean, std, score), mean, std
            )
        if cfg.stuck_count is not None and self._repeats >= cfg.stuck_count:
            reason = f"value stuck at {_with_unit(value, self._unit)} for {self._repeats} readings"
            return Verdict(Severity.WARNING, score, reason, mean, std)
        return Verdict(Severity.NORMAL, score, NORMAL_REASON, mean, std)

    def _learn_baseline(self, ts: float, value: float) -> None:
        n = self._n = self._n + 1
        if n == 1:
            self._first_ts = ts
            self._mean = value
        a = self._alpha if n * self._alpha > 1.0 else 1.0 / n
        d = value - self._mean
        self._mean += a * d
        self._var = (1.0 - a) * (self._var + a * d * d)
        self._last_ts = ts

    def _verdict(self, severity: Severity, score: float, reason: str) -> Verdict:
        return Verdict(severity, score, reason, self._mean, math.sqrt(self._var))

    def _deviation_reason(self, value: float, mean: float, std: float, score: float) -> str:
        readings = min(self._n - 1, self._config.baseline_readings)
        span = 0.0
        if self._n > 2:
            span = (self._last_ts - self._first_ts) / (self._n - 1) * readings
        window = describe_span(span, readings)
        reading = _with_unit(value, self._unit)
        if std > 0.0:
            sigmas = (value - mean) / std
            if abs(sigmas) >= 2.0:
                side = "above" if sigmas > 0 else "below"
                return f"{reading} is {abs(sigmas):.1f}σ {side} the baseline of {window}"
        baseline = _with_unit(mean, self._unit)
        return f"{reading} breaks the pattern of {window} (baseline {baseline}, score {score:.2f})"
