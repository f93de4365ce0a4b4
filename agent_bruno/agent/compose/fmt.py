"""Wording shared by the answer writers: values with units, places, freshness, lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo
from typing import Any

from agent_bruno.agent.nlu.timefmt import format_age, format_clock
from agent_bruno.agent.nlu.units import UnitError, convert, format_value, shown_number

LABELS = {
    "temperature": "temperature",
    "humidity": "humidity",
    "pressure": "pressure",
    "co2": "CO2",
    "motion": "motion",
    "cpu_percent": "CPU",
    "memory_percent": "memory",
    "disk_percent": "disk use",
    "load_1m": "load (1 min)",
    "soc_temp_c": "SoC temperature",
}
STALE_AFTER_S = 900.0  # three 5-minute aggregates missed


def range_words(hints: Mapping[str, Any], default: str = "the last hour") -> str:
    """The words for the question's time range, or `default` when it named none."""
    span = hints.get("span")
    return str(span["label"]) if span else default


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


_STRETCHES = (
    "the last",
    "the past",
    "the previous",
    "last ",
    "the weekend",
    "this week",
    "this month",
)


def over(span_label: str) -> str:
    """A range after a value: "over the last hour", "since 09:00", "yesterday", "on Monday"."""
    first = span_label.split(" ", 1)[0]
    if first in ("since", "between", "from", "after", "before", "on", "over", "during", "at"):
        return span_label
    if first in _DAYS or first in _MONTHS:
        return f"on {span_label}"
    if span_label.startswith(_STRETCHES):
        return f"over {span_label}"
    return span_label


def label(metric: str | None) -> str:
    """How an answer names a metric."""
    if metric is None:
        return "readings"
    return LABELS.get(metric, metric.replace("_", " "))


class Formatter:
    """Values, times and places in words, with the display unit the question asked for."""

    def __init__(self, now: float, tz: tzinfo, unit: str | None = None) -> None:
        self.now = now
        self.tz = tz
        self.unit = unit
        self.notes: list[str] = []

    def value(self, value: float | None, unit: str, metric: str | None = None) -> str:
        """A value with its unit, converted to the asked unit where that applies."""
        if value is None:
            return "no value"
        if self.unit and self.unit != unit:
            try:
                return format_value(convert(value, unit, self.unit), self.unit, metric)
            except UnitError:
                note = (
                    f"{self.unit} does not apply to {label(metric)}; shown in {unit or 'its unit'}"
                )
                if note not in self.notes:
                    self.notes.append(note)
        return format_value(value, unit, metric)

    def delta(self, difference: float, unit: str, metric: str | None = None) -> str:
        """A difference with its unit (°F differences scale, they do not shift)."""
        if self.unit and self.unit != unit:
            try:
                scaled = convert(difference, unit, self.unit) - convert(0.0, unit, self.unit)
                return format_value(abs(scaled), self.unit, metric)
            except UnitError:
                pass
        return format_value(abs(difference), unit, metric)

    def gap(self, a: float, b: float, unit: str, metric: str | None = None) -> str:
        """The difference between two values as they are shown (each converted to the asked
        unit and rounded first), so that "18.7 °C vs 24.1 °C" differ by 5.4 °C, not 5.5."""
        shown_unit = unit
        if self.unit and self.unit != unit:
            try:
                a, b = convert(a, unit, self.unit), convert(b, unit, self.unit)
                shown_unit = self.unit
            except UnitError:
                pass
        gap = shown_number(a, shown_unit, metric) - shown_number(b, shown_unit, metric)
        return format_value(abs(gap), shown_unit, metric)

    def clock(self, ts: float) -> str:
        """A moment as a local clock time ("14:20", "yesterday 14:20")."""
        return format_clock(ts, self.now, self.tz)

    def fresh(self, ts: float | None) -> str:
        """How fresh a value is: "as of 14:20, 3 min ago"."""
        if ts is None:
            return "time unknown"
        return f"as of {self.clock(ts)}, {format_age(self.now - ts)}"

    def stale(self, ts: float | None) -> bool:
        """Whether a value is too old to call current."""
        return ts is None or self.now - ts > STALE_AFTER_S

    def age(self, ts: float) -> str:
        """How long ago a moment was."""
        return format_age(self.now - ts)

    def duration(self, seconds: float) -> str:
        """A length of time in words ("8 min", "3 h")."""
        text = format_age(seconds)
        return "under a minute" if text == "just now" else text.removesuffix(" ago")


def place(item: Mapping[str, Any], *, sensor: bool = True) -> str:
    """Where a series is measured: "warehouse, pi-node-1 (dht22-1)"."""
    text = f"{item['location']}, {item['node']}"
    return f"{text} ({item['sensor']})" if sensor and item.get("sensor") else text


def join(words: Sequence[str]) -> str:
    """Words as an English list: "a", "a and b", "a, b and c"."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def plural(n: int, one: str, many: str | None = None) -> str:
    """A count with its noun: "1 anomaly", "3 anomalies"."""
    return f"{n} {one if n == 1 else (many or one + 's')}"
