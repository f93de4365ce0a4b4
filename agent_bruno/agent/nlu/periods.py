"""The two periods of a comparison over time when the question names only the other one
("compare the warehouse temperature with yesterday", "how's the humidity against last week")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from agent_bruno.agent.nlu.timespans import local_date, local_ts

DAY = 86_400.0
HOUR = 3600.0
REACHES_NOW_S = 120.0  # a period ending this close to now runs to now ("the last 7 days")

Span = dict[str, Any]


def _stretch(seconds: float) -> str:
    """A length in words: "7 days", "24 hours", "1 day"."""
    if seconds % DAY == 0:
        n, unit = int(seconds // DAY), "day"
    else:
        n, unit = round(seconds / HOUR), "hour"
    return f"{n} {unit}" + ("" if n == 1 else "s")


def compared_periods(target: Mapping[str, Any], now: float, tz: tzinfo) -> tuple[Span | None, Span]:
    """What the other period is compared with, and the other period itself.

    A past day (yesterday, Monday, Nov 24) is compared with today so far, like with like; a
    stretch that runs to now ("last week": the last 7 days) with the same stretch before it,
    so the two do not overlap; anything else with the latest value (None)."""
    start, end = float(target["start"]), float(target["end"])
    width = end - start
    today = local_ts(local_date(now, tz), 0, 0, tz)
    if end >= now - REACHES_NOW_S and width > 0:
        asked = {"start": now - width, "end": now, "label": f"the last {_stretch(width)}"}
        before = {
            "start": now - 2 * width,
            "end": now - width,
            "label": f"the {_stretch(width)} before",
        }
        return asked, before
    if end <= today and abs(width - DAY) <= HOUR and today < now:
        return {"start": today, "end": now, "label": "today so far"}, dict(target)
    return None, dict(target)
