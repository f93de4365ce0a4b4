"""The statistical detector behind triage: a causal anomaly score in [0, 1] per reading.

Pure, O(1) time and memory per series. `SeriesTriage` (edge_reporter/triage.py) applies the
sensor-fault rules first and turns this score into verdicts; `python -m evals.triage` scores it
on the Numenta Anomaly Benchmark (NAB) and `python -m evals.triage.tune` finds its parameters.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

_SQRT1_2 = math.sqrt(0.5)
DAY_S = 86_400.0
# Tail probability 10**-6 (about 4.75σ of the averaged error) is the detection point: score 0.9.
_DECADES_PER_UNIT = 6.0 / 0.9
_MIN_TAIL = 1e-300  # erfc underflows to 0 beyond ~38σ; keep log() defined

# Process-anomaly rules: the statistical detector's channel that scored highest.
SPIKE = "spike"  # one reading far from the level
JUMP = "jump"  # a burst of one-step forecast errors
LEVEL_SHIFT = "level_shift"  # the level moved away from its slow average
DAILY_PATTERN = "daily_pattern"  # the time-of-day profile broken
NEW_EXTREME = "new_extreme"  # beyond the whole range seen so far


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
    range_wait_s: float = DAY_S  # a new extreme only counts once a full day has been seen
    warmup: int = 50  # readings before any score is given
    fire: float = 0.9  # a score from here on is a detection ...
    rest: int = 30  # ... after which the next readings are damped: one alert per episode
    rest_damping: float = 0.5


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
        # With a resolution, the errors are in its units and the spread is at least that of
        # one unit entering the window: after a flat history (var 0) a jump reads as the units
        # it moved, not as nothing, and the next ordinary reading, measured against a spread
        # learnt from that one jump, not as thousands of sigmas.
        least = self._inv_size * self._inv_size if floor > 0.0 else 0.0
        if var < least:
            var = least
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
        bucket = int(ts % DAY_S / DAY_S * len(profile))
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
