"""How a moment and an age are said in answers: "14:20", "yesterday 14:20", "3 min ago"."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, tzinfo

from agent_bruno.agent.nlu.timespans import MONTHS, local_date


def format_clock(ts: float, now: float, tz: tzinfo) -> str:
    """Say a moment as '14:20', 'yesterday 14:20', 'Nov 24 14:20' or 'Nov 24 2025 14:20'."""
    moment = datetime.fromtimestamp(ts, tz)
    today = local_date(now, tz)
    clock = f"{moment.hour:02d}:{moment.minute:02d}"
    if moment.date() == today:
        return clock
    if moment.date() == today - timedelta(days=1):
        return f"yesterday {clock}"
    year = "" if moment.year == today.year else f" {moment.year}"
    return f"{MONTHS[moment.month - 1]} {moment.day}{year} {clock}"


def _half_up(x: float) -> int:
    return math.floor(x + 0.5)


def format_age(seconds: float) -> str:
    """Say how long ago something was: 'just now', '3 min ago', '2 h ago', '3 days ago'."""
    if math.isnan(seconds) or seconds < 60:
        return "just now"
    if math.isinf(seconds):
        return "long ago"
    if seconds < 90 * 60:
        return f"{_half_up(seconds / 60)} min ago"
    if seconds < 36 * 3600:
        return f"{_half_up(seconds / 3600)} h ago"
    return f"{_half_up(seconds / 86_400)} days ago"
