"""Fault injection for simulated sensors: what can go wrong, and the FAULTS syntax.

One fault per comma-separated entry::

    SENSOR/METRIC:KIND@START[:MAGNITUDE][:forDURATION]

    dht22-1/temperature:spike@120:+15      one reading 15 °C too high, 120 s after start
    dht22-1/temperature:step@1h:-4:for30m  4 °C lower for 30 minutes
    bmp280-1/pressure:drift@2h:+3          drifting up by 3 hPa per hour from 2 h on
    mhz19-1/co2:stuck@3h:for45m            frozen at its last value for 45 minutes
    dht22-1/humidity:dropout@4h:for10m     no reading (None) for 10 minutes

Times are seconds or take a unit: `90`, `90s`, `15m`, `2h`, `1d`. Without `for`, a spike
hits one reading and the other kinds last until the reporter stops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    """What the fault does to the true value."""

    SPIKE = "spike"
    STEP = "step"
    DRIFT = "drift"
    STUCK = "stuck"
    DROPOUT = "dropout"


NEEDS_MAGNITUDE = frozenset({FaultKind.SPIKE, FaultKind.STEP, FaultKind.DRIFT})


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One injected fault on one series; `start` is seconds after the source started."""

    sensor: str
    metric: str
    kind: FaultKind
    start: float
    magnitude: float = 0.0
    duration: float | None = None

    @property
    def series(self) -> str:
        """Series key, `sensor/metric`."""
        return f"{self.sensor}/{self.metric}"

    def active(self, elapsed: float) -> bool:
        """Whether the fault window covers `elapsed` seconds after start (spikes: see source)."""
        if elapsed < self.start:
            return False
        return self.duration is None or elapsed < self.start + self.duration


_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")
_SERIES = re.compile(r"([A-Za-z0-9][\w.-]*)/([A-Za-z0-9][\w.-]*)")
_SYNTAX = (
    "SENSOR/METRIC:KIND@START[:MAGNITUDE][:forDURATION], e.g. dht22-1/temperature:spike@120:+15"
)


def parse_duration(text: str) -> float:
    """Parse `90`, `90s`, `15m`, `2h`, `1d` into seconds."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration (e.g. 90, 90s, 15m, 2h, 1d)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_fault(entry: str) -> FaultSpec:
    """Parse one `SENSOR/METRIC:KIND@START[:MAGNITUDE][:forDURATION]` entry."""
    parts = [p.strip() for p in entry.strip().split(":")]
    series = _SERIES.fullmatch(parts[0])
    if series is None or len(parts) < 2 or "@" not in parts[1]:
        raise ValueError(f"{entry!r} is not {_SYNTAX}")
    kind_text, _, start_text = parts[1].partition("@")
    try:
        kind = FaultKind(kind_text)
    except ValueError:
        kinds = ", ".join(k.value for k in FaultKind)
        raise ValueError(f"{entry!r}: fault kind {kind_text!r} is not one of {kinds}") from None
    try:
        start = parse_duration(start_text)
    except ValueError as exc:
        raise ValueError(f"{entry!r}: start {exc}") from None
    magnitude: float | None = None
    duration: float | None = None
    for part in parts[2:]:
        if part.startswith("for"):
            try:
                duration = parse_duration(part[3:])
            except ValueError as exc:
                raise ValueError(f"{entry!r}: {exc}") from None
            if duration <= 0:
                raise ValueError(f"{entry!r}: duration {part!r} must be positive")
            continue
        try:
            magnitude = float(part)
        except ValueError:
            raise ValueError(
                f"{entry!r}: {part!r} is neither a magnitude (e.g. +15, -2.5) "
                "nor a duration (e.g. for10m)"
            ) from None
    if kind in NEEDS_MAGNITUDE and magnitude is None:
        raise ValueError(f"{entry!r}: a {kind} needs a magnitude (e.g. {kind}@{start_text}:+5)")
    if kind not in NEEDS_MAGNITUDE and magnitude is not None:
        raise ValueError(f"{entry!r}: a {kind} takes no magnitude, only an optional :forDURATION")
    return FaultSpec(series.group(1), series.group(2), kind, start, magnitude or 0.0, duration)


def parse_faults(text: str) -> tuple[FaultSpec, ...]:
    """Parse a comma-separated FAULTS value (empty means none)."""
    return tuple(parse_fault(e) for e in text.split(",") if e.strip())
