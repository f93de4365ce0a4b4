"""What a metric can physically be: bounds per metric and unit, checked at ingest (pure data).

A value outside these bounds is no measurement of the world but a fault (a bit error, a broken
driver, a bad import); stored as data it would skew statistics for as long as it is kept, and a
magnitude like 1e27 or 1.7e308 overflowed rollup sums and broke answers. So at ingest:

- aggregates and bulk readings with such a value are rejected, per item, naming the bounds;
  for an aggregate the bounds apply to its statistics (its clean part when triage split off
  sensor faults): its sensor-fault part is stored as faults, out of the statistics, whatever
  it says, unless a value is beyond `ANY_VALUE` (then the clean part is stored alone);
- flagged readings (the edge's anomalies) are kept, since a critical must never be lost, with
  the reason saying the value is physically implausible.

Bounds are looked up by (metric, unit) first, then by unit, then `ANY_VALUE`, which keeps every
stored number within a magnitude that sums and formatting handle exactly. The README's table
"Plausible values" is this module's table.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bounds:
    """Inclusive limits of a plausible value, and why they are what they are."""

    low: float
    high: float
    why: str

    def admits(self, value: float) -> bool:
        """Whether `value` lies within the bounds."""
        return self.low <= value <= self.high


# No reading a sensor or a host reports comes near this; within it, a 5-minute sum of up to
# 2**53 readings stays far from float overflow, and every value formats exactly.
ANY_VALUE = Bounds(-1e12, 1e12, "no sensor reading is larger in magnitude")

BY_UNIT: Mapping[str, Bounds] = {
    "°C": Bounds(-273.15, 10_000.0, "absolute zero to far beyond any sensor here"),
    "°F": Bounds(-459.67, 18_032.0, "absolute zero to far beyond any sensor here"),
    "K": Bounds(0.0, 10_273.15, "absolute zero to far beyond any sensor here"),
    "Pa": Bounds(0.0, 10_000_000.0, "an absolute pressure is not negative; up to 100 bar"),
    "hPa": Bounds(0.0, 100_000.0, "an absolute pressure is not negative; up to 100 bar"),
    "mbar": Bounds(0.0, 100_000.0, "an absolute pressure is not negative; up to 100 bar"),
    "kPa": Bounds(0.0, 10_000.0, "an absolute pressure is not negative; up to 100 bar"),
    "inHg": Bounds(0.0, 2_953.0, "an absolute pressure is not negative; up to 100 bar"),
    "mmHg": Bounds(0.0, 75_006.0, "an absolute pressure is not negative; up to 100 bar"),
    "ppm": Bounds(0.0, 1_000_000.0, "parts per million of a whole"),
    "count": Bounds(0.0, 1e9, "a count is not negative"),
    "s": Bounds(0.0, 1e10, "a duration is not negative (1e10 s is 300 years)"),
}

BY_METRIC: Mapping[tuple[str, str], Bounds] = {
    ("humidity", "%"): Bounds(0.0, 100.0, "relative humidity is a share of saturation"),
    ("memory_percent", "%"): Bounds(0.0, 100.0, "a share of the host's memory"),
    ("disk_percent", "%"): Bounds(0.0, 100.0, "a share of the disk"),
    ("cpu_percent", "%"): Bounds(0.0, 6_400.0, "100 % per core, up to 64 cores"),
    ("load_1m", ""): Bounds(0.0, 100_000.0, "a load average is not negative"),
    ("uptime_s", "s"): Bounds(0.0, 1e10, "a duration is not negative"),
    ("co2", "ppm"): Bounds(0.0, 1_000_000.0, "parts per million of air"),
}

# Spellings of the units above that reporters and imports use.
_ALIASES: Mapping[str, str] = {
    "c": "°C", "degc": "°C", "celsius": "°C", "ºc": "°C",
    "f": "°F", "degf": "°F", "fahrenheit": "°F", "ºf": "°F",
    "k": "K", "kelvin": "K",
    "pa": "Pa", "hpa": "hPa", "mbar": "mbar", "mb": "mbar", "kpa": "kPa",
    "inhg": "inHg", "mmhg": "mmHg", "ppm": "ppm", "count": "count",
    "s": "s", "sec": "s", "seconds": "s",
}  # fmt: skip


def _unit(unit: str) -> str:
    text = unit.strip()
    if text in BY_UNIT:
        return text
    return _ALIASES.get(text.lower().replace(" ", "").replace("°", "").replace("º", ""), text)


def bounds(metric: str, unit: str) -> Bounds:
    """The plausible range of `metric` measured in `unit`."""
    canonical = _unit(unit)
    found = BY_METRIC.get((metric, canonical))
    if found is not None:
        return found
    return BY_UNIT.get(canonical, ANY_VALUE)


def _show(x: float) -> str:
    return f"{x:g}" if math.isfinite(x) else str(x)


def problem(metric: str, unit: str, values: Iterable[float | None]) -> str | None:
    """Why these values of `metric` in `unit` cannot be a measurement, or None if they can."""
    limits = bounds(metric, unit)
    for value in values:
        if value is not None and not limits.admits(value):
            shown = f" {unit}" if unit else ""
            return (
                f"value {_show(value)}{shown} is outside what {metric} can physically be "
                f"({_show(limits.low)} … {_show(limits.high)}{shown}: {limits.why})"
            )
    return None


def storable_problem(unit: str, values: Iterable[float]) -> str | None:
    """Why these values cannot be stored at all, even as sensor faults, or None.

    A sensor fault may lie past the physical range (that is one way a sensor fails), but a
    stored number must stay within `ANY_VALUE`, where every sum and format stays exact.
    """
    for value in values:
        if not ANY_VALUE.admits(value):
            shown = f" {unit}" if unit else ""
            return (
                f"value {_show(value)}{shown} is beyond what can be stored "
                f"({_show(ANY_VALUE.low)} … {_show(ANY_VALUE.high)}: {ANY_VALUE.why})"
            )
    return None
