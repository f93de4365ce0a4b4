"""Streaming triage of one series: pure functions and state, no I/O.

`SeriesTriage.update(ts, value)` classifies each reading in a few microseconds. Rules come first
(non-finite value, hard physical limits, dropout, stuck value); every finite reading within the
limits is also scored by `AnomalyScorer`, the statistical detector that `python -m evals.triage`
scores on the Numenta Anomaly Benchmark (NAB). Its parameters are global: one set for every
series, found on the whole NAB corpus by the tuning procedure `python -m evals.triage.tune`.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

from edge_reporter.model import Kind, Severity

_SQRT1_2 = math.sqrt(0.5)
_DAY_S = 86_400.0
# Tail probability 10**-6 (about 4.75σ of the averaged error) is the detection point: score 0.9.
_DECADES_PER_UNIT = 6.0 / 0.9
_MIN_TAIL = 1e-300  # erfc underflows to 0 beyond ~38σ; keep log() defined

# What fired, named in every flagged verdict. Sensor-fault rules:
NON_FINITE = "non_finite"  # NaN or infinity from the driver
INVALID_TIME = "invalid_time"  # a reading without a usable time
HARD_LIMIT = "hard_limit"  # past the sensor's physical measuring range
DROPOUT = "dropout"  # no reading for several samples
STUCK_VALUE = "stuck_value"  # the same value for longer than the sensor kind allows
# Process-anomaly rules: the statistical detector's channel that scored highest.
SPIKE = "spike"  # one reading far from the level
JUMP = "jump"  # a burst of one-step forecast errors
LEVEL_SHIFT = "level_shift"  # the level moved away from its slow average
DAILY_PATTERN = "daily_pattern"  # the time-of-day profile broken
NEW_EXTREME = "new_extreme"  # beyond the whole range seen so far
RULE_KIND: dict[str, Kind] = {
    **dict.fromkeys(
        (NON_FINITE, INVALID_TIME, HARD_LIMIT, DROPOUT, STUCK_VALUE), Kind.SENSOR_FAULT
    ),
    **dict.fromkeys((SPIKE, JUMP, LEVEL_SHIFT, DAILY_PATTERN, NEW_EXTREME), Kind.PROCESS_ANOMALY),
}


@dataclass(frozen=True, slots=True)
class DetectorParams:
    """Global parameters of the statistical detector for every series (`evals/triage/tune.py`)."""

    fast: float = 0.85  # EWMA weight of the one-step forecast
    slow: float = 0.02  # EWMA weight of the level forecast
    season_buckets: int = 288  # time-of-day profile: one bucket per 5 minutes
    season_weight: float = 0.2  # EWMA weight of a bucket, per visit
    error_scale: float = 0.005  # EW weight of each error's typical size (~200 readings)
    error_cap: float = 15.0  # normalized error ceiling: one outlier must not swamp the averages
    short: int = 30  # readings averaged before comparing with the long-run distribution
    spike_cap: float = 200.0  # ceiling of the unaveraged (single-reading) level error
    spike_divisor: float = 8.0  # a single reading needs an 8x larger z than an averaged burst
    long: float = 0.00005  # EW weight of that long-run distribution (~20,000 readings)
    range_tolerance: float = 0.005  # beyond the range seen so far by this fraction of it
    range_wait_s: float = _DAY_S  # a new extreme only counts once a full day has been seen
    warmup: int = 50  # readings before any score is given
    fire: float = 0.9  # a score from here on is a detection ...
    rest: int = 30  # ... after which the next readings are damped: one alert per episode
    rest_damping: float = 0.5


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
    critical_after_s: float = _DAY_S
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
    baseline_mean: float
    baseline_std: float
    rule: str | None = None
    kind: Kind | None = None


NORMAL_REASON = "within the usual range"


class _Channel:
    """One forecast error turned into a z-score of its recent average against its history.

    The error is normalized by its own typical size, capped, averaged over the last `short`
    readings, and that average is compared with the long-run mean and variance of the average
    (Numenta's "anomaly likelihood"): a burst of surprise is judged against how bursty this
    series usually is, so noisy series do not alarm all the time and quiet ones still do.
    """

    __slots__ = (
        "_at",
        "_buf",
        "_cap",
        "_floor",
        "_inv_size",
        "_long",
        "_mean",
        "_n",
        "_scale",
        "_size",
        "_sum",
        "_var",
        "_w",
    )

    def __init__(
        self, short: int, cap: float, scale_weight: float, long_weight: float, floor: float = 0.0
    ) -> None:
        self._cap = cap
        self._floor = floor
        self._w = scale_weight
        self._long = long_weight
        self._buf = [0.0] * short
        self._size = short
        self._inv_size = 1.0 / short
        self._at = 0
        self._sum = 0.0
        self._scale = 0.0
        self._mean = 0.0
        self._var = 0.0
        self._n = 0

    def z(self, error: float) -> float:
        """Learn one error and return the z-score of the recent average (0 when not above)."""
        n = self._n = self._n + 1
        e = error if error >= 0.0 else -error
        scale = self._scale
        # The metric's resolution is a dead band: only the part of an error beyond it counts,
        # in units of at least the resolution. A flat, quantized series (disk use) would
        # otherwise learn a zero scale and a zero spread, and read a one-step change as
        # thousands of sigmas. With no resolution (NAB) this is plain e / scale.
        floor = self._floor
        unit = scale if scale > floor else floor
        raw = (e - floor) / unit if e > floor and unit > 0.0 else 0.0
        if raw > self._cap:
            raw = self._cap
        # Plain mean until the EW weight takes over: an EWMA started at 0 would make every
        # early error look huge and inflate the long-run statistics for thousands of readings.
        w = self._w
        if n * w < 1.0:
            w = 1.0 / n
        self._scale = scale + w * (e - scale)
        # Running sum over a ring buffer. The raw values are capped, so the rounding error of
        # adding and removing them stays around 1e-14 per step: no periodic re-summing needed.
        buf = self._buf
        at = self._at
        total = self._sum = self._sum + raw - buf[at]
        buf[at] = raw
        at += 1
        self._at = at if at < self._size else 0
        b = self._long
        if n * b < 1.0:
            b = 1.0 / n
        mean = self._mean
        var = self._var
        d = total * self._inv_size - mean
        self._mean = mean + b * d
        self._var = (1.0 - b) * (var + b * d * d)
        if d > 0.0 and var > 0.0:
            return d / math.sqrt(var)
        return 0.0


class AnomalyScorer:
    """Causal anomaly score in [0, 1] per reading, O(1) time and memory per series.

    Three forecasts, each feeding a `_Channel`: a fast EWMA (sudden jumps), a slow EWMA (level
    shifts) and a time-of-day profile (a daily pattern broken); the level error also feeds an
    unaveraged channel that catches a single huge spike. The largest channel z-score is
    turned into a Gaussian tail probability on a log scale: score 0.9 at 10**-6. A reading
    beyond the range seen so far (once a full day has been seen) scores at least 0.95, more the
    further out it is. After a detection, scores are damped for `rest` readings.
    """

    __slots__ = (
        "_channels",
        "_fast",
        "_first_ts",
        "_hi",
        "_lo",
        "_n",
        "_p",
        "_profile",
        "_resolution",
        "_rest_left",
        "_slow",
        "_spike",
        "new_extreme",
        "rule",
    )

    def __init__(self, params: DetectorParams, resolution: float = 0.0) -> None:
        self._p = params
        self._resolution = resolution
        self._n = 0
        self._fast = 0.0
        self._slow = 0.0
        self._lo = math.inf
        self._hi = -math.inf
        self._first_ts = 0.0
        self._profile = array("d", [math.nan]) * max(1, params.season_buckets)
        short, cap, w, b = params.short, params.error_cap, params.error_scale, params.long
        self._channels = tuple(_Channel(short, cap, w, b, resolution) for _ in range(3))
        self._spike = _Channel(1, params.spike_cap, w, b, resolution)
        self._rest_left = 0
        self.new_extreme: float | None = None  # the previous extreme when the range rule fired
        self.rule = SPIKE  # the channel behind the last score

    def score(self, ts: float, x: float) -> float:
        """Score one finite reading taken at `ts` (Unix seconds) and learn from it."""
        p = self._p
        n = self._n = self._n + 1
        profile = self._profile
        bucket = int(ts % _DAY_S / _DAY_S * len(profile))
        if n == 1:
            self._fast = self._slow = self._lo = self._hi = profile[bucket] = x
            self._first_ts = ts
            return 0.0
        fast_ch, slow_ch, season_ch = self._channels
        ef = x - self._fast
        es = x - self._slow
        z = fast_ch.z(ef)
        rule = JUMP
        zs = slow_ch.z(es)
        if zs > z:
            z = zs
            rule = LEVEL_SHIFT
        zs = self._spike.z(es) / p.spike_divisor
        if zs > z:
            z = zs
            rule = SPIKE
        self._fast += p.fast * ef
        self._slow += p.slow * es
        seen = profile[bucket]
        if seen == seen:  # not NaN: this time of day has been seen before
            ed = x - seen
            zd = season_ch.z(ed)
            if zd > z:
                z = zd
                rule = DAILY_PATTERN
            profile[bucket] = seen + p.season_weight * ed
        else:
            profile[bucket] = x

        # Range rule: a reading beyond everything seen so far, by a margin.
        lo, hi = self._lo, self._hi
        overshoot = 0.0
        margin = p.range_tolerance * (hi - lo)
        if margin < self._resolution:
            margin = self._resolution
        if x > hi:
            overshoot = x - hi - margin
            self._hi = x
        elif x < lo:
            overshoot = lo - x - margin
            self._lo = x
        self.rule = rule
        if n <= p.warmup:
            return 0.0

        s = 0.0
        if z > 0.0:
            tail = 0.5 * math.erfc(z * _SQRT1_2)
            s = -math.log10(max(tail, _MIN_TAIL)) / _DECADES_PER_UNIT
        self.new_extreme = None
        if overshoot > 0.0 and hi > lo and ts - self._first_ts >= p.range_wait_s:
            # 0.95 for a new extreme, 1.0 once it lies half the old range beyond it.
            r = 0.95 + 0.1 * overshoot / (hi - lo)
            if r > s:
                s = r
                self.rule = NEW_EXTREME
            self.new_extreme = hi if x > hi else lo
        if s > 1.0:
            s = 1.0
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
