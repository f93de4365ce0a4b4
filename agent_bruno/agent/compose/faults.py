"""What statistics left out: readings the reporter judged sensor faults, said with the numbers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent_bruno.agent.compose.fmt import Formatter, plural


def faults_note(f: Formatter, s: Mapping[str, Any]) -> str:
    """ "; excluding a sensor glitch of 89.0 °C at 14:02" (or what was included), or ""."""
    found = s.get("faults")
    if not found or not found.get("count"):
        return ""
    unit, metric = s["unit"], s["metric"]
    n = int(found["count"])
    included = bool(s.get("faults_included"))
    verb = "including" if included else "excluding"
    if n == 1:
        # One reading: its value is both extremes; say which is the odd one by the clean range.
        low = s.get("min") if not included else None
        value, ts = found["max"], found.get("max_ts")
        if low is not None and found["min"] < low:
            value, ts = found["min"], found.get("min_ts")
        when = f" at {f.clock(ts)}" if ts is not None else ""
        return f"; {verb} a sensor glitch of {f.value(value, unit, metric)}{when}"
    lo, hi = f.value(found["min"], unit, metric), f.value(found["max"], unit, metric)
    span = lo if lo == hi else f"{lo} to {hi}"
    return f"; {verb} {plural(n, 'sensor-fault reading')} ({span})"
