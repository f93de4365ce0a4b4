"""Pure per-series aggregation into fixed windows (count, min, max, mean, last).

Readings triage judged sensor faults (past the physical range, stuck) are counted apart, so the
agent can keep them out of statistics: an aggregate covers every reading, and when some were
faults it also carries the statistics of the rest (`clean`) and of the faults (`faults`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from edge_reporter.model import Reading


@dataclass(frozen=True, slots=True)
class Stats:
    """count/min/max/mean/last of some readings of a window, and when the extremes were read."""

    count: int
    min: float
    max: float
    mean: float
    last: float
    min_ts: float
    max_ts: float
    last_ts: float


@dataclass(frozen=True, slots=True)
class Aggregate:
    """Statistics of one series over one window `[start, end)`.

    `clean` and `faults` are None when no reading was a sensor fault (then `clean` would equal
    the whole); otherwise `faults` holds the faults and `clean` the rest (None if none was left).
    """

    sensor: str
    metric: str
    unit: str
    start: float
    end: float
    count: int
    min: float
    max: float
    mean: float
    last: float
    clean: Stats | None = None
    faults: Stats | None = None


@dataclass(slots=True)
class _Part:
    count: int = 0
    lo: float = math.inf
    hi: float = -math.inf
    lo_ts: float = 0.0
    hi_ts: float = 0.0
    total: float = 0.0
    last: float = 0.0
    last_ts: float = -math.inf

    def add(self, ts: float, value: float) -> None:
        self.count += 1
        if value < self.lo:
            self.lo, self.lo_ts = value, ts
        if value > self.hi:
            self.hi, self.hi_ts = value, ts
        self.total += value
        if ts >= self.last_ts:
            self.last, self.last_ts = value, ts

    def stats(self) -> Stats | None:
        if not self.count:
            return None
        mean = min(self.hi, max(self.lo, self.total / self.count))
        return Stats(
            self.count, self.lo, self.hi, mean, self.last, self.lo_ts, self.hi_ts, self.last_ts
        )


@dataclass(slots=True)
class _Window:
    unit: str
    clean: _Part
    faults: _Part | None = None


class Aggregator:
    """Accumulates readings into windows aligned on multiples of `interval` (epoch seconds).

    Readings without a value (dropouts) are not aggregated: they are not measurements.
    """

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"interval={interval}: expected a positive number of seconds")
        self._interval = interval
        self._windows: dict[tuple[str, str, float], _Window] = {}

    def window_start(self, ts: float) -> float:
        """Start of the window containing `ts`."""
        return math.floor(ts / self._interval) * self._interval

    def add(self, reading: Reading, *, fault: bool = False) -> None:
        """Account one reading (ignored when its value is None or not finite).

        `fault`: triage judged it a sensor fault; it is counted apart as well.
        """
        value = reading.value
        if value is None or not math.isfinite(value):
            return
        key = (reading.sensor, reading.metric, self.window_start(reading.ts))
        w = self._windows.get(key)
        if w is None:
            w = self._windows[key] = _Window(reading.unit, _Part())
        if fault:
            if w.faults is None:
                w.faults = _Part()
            w.faults.add(reading.ts, value)
        else:
            w.clean.add(reading.ts, value)

    def due(self, now: float) -> list[Aggregate]:
        """Remove and return the windows that ended at or before `now`, oldest first."""
        return self._take(lambda start: start + self._interval <= now, now)

    def drain(self, now: float) -> list[Aggregate]:
        """Remove and return every window, the current one cut at `now` (for shutdown)."""
        return self._take(lambda _: True, now)

    def pending(self) -> int:
        """Number of open windows."""
        return len(self._windows)

    def _take(self, pick: Callable[[float], bool], now: float) -> list[Aggregate]:
        keys = sorted((k for k in self._windows if pick(k[2])), key=lambda k: (k[2], k[0], k[1]))
        out: list[Aggregate] = []
        for key in keys:
            w = self._windows.pop(key)
            sensor, metric, start = key
            clean = w.clean.stats()
            faults = None if w.faults is None else w.faults.stats()
            whole = _merged(clean, faults)
            end = min(start + self._interval, max(now, whole.last_ts))
            out.append(
                Aggregate(
                    sensor, metric, w.unit, start, end, whole.count, whole.min, whole.max,
                    whole.mean, whole.last,
                    clean if faults is not None else None, faults,
                )
            )  # fmt: skip
        return out


def _merged(a: Stats | None, b: Stats | None) -> Stats:
    """The statistics of two disjoint parts of a window together (at least one is not None)."""
    if a is None or b is None:
        whole = a if a is not None else b
        if whole is None:
            raise ValueError("a window without readings has no statistics")
        return whole
    count = a.count + b.count
    lo, lo_ts = (a.min, a.min_ts) if a.min <= b.min else (b.min, b.min_ts)
    hi, hi_ts = (a.max, a.max_ts) if a.max >= b.max else (b.max, b.max_ts)
    mean = min(hi, max(lo, (a.mean * a.count + b.mean * b.count) / count))
    last, last_ts = (a.last, a.last_ts) if a.last_ts >= b.last_ts else (b.last, b.last_ts)
    return Stats(count, lo, hi, mean, last, lo_ts, hi_ts, last_ts)
