"""Pure per-series aggregation into fixed windows (count, min, max, mean, last)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from edge_reporter.model import Reading


@dataclass(frozen=True, slots=True)
class Aggregate:
    """Statistics of one series over one window `[start, end)`."""

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


@dataclass(slots=True)
class _Window:
    unit: str
    count: int = 0
    lo: float = math.inf
    hi: float = -math.inf
    total: float = 0.0
    last: float = 0.0
    last_ts: float = -math.inf


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

    def add(self, reading: Reading) -> None:
        """Account one reading (ignored when its value is None or not finite)."""
        value = reading.value
        if value is None or not math.isfinite(value):
            return
        key = (reading.sensor, reading.metric, self.window_start(reading.ts))
        w = self._windows.get(key)
        if w is None:
            w = self._windows[key] = _Window(reading.unit)
        w.count += 1
        w.lo = min(w.lo, value)
        w.hi = max(w.hi, value)
        w.total += value
        if reading.ts >= w.last_ts:
            w.last, w.last_ts = value, reading.ts

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
            end = min(start + self._interval, max(now, w.last_ts))
            mean = min(w.hi, max(w.lo, w.total / w.count))
            out.append(
                Aggregate(sensor, metric, w.unit, start, end, w.count, w.lo, w.hi, mean, w.last)
            )
        return out
