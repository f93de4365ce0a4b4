"""What a person says happened, in words, to an incident to record or a correction. Pure.

"the 14:23 spike in warehouse-b was an HVAC malfunction, resolved" → warehouse-b, today 14:23,
cause "HVAC malfunction", resolved. "no, it was the door left open" → a correction of the
incident just recorded, cause "door left open".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Literal

Status = Literal["open", "resolved"]

_CLOCK = re.compile(r"\b(?P<h>[01]?\d|2[0-3])[:.h](?P<m>[0-5]\d)\b")
_YESTERDAY = re.compile(r"\byesterday\b", re.IGNORECASE)
_CAUSE = re.compile(
    r"\b(?:(?:was|were|is)\s+(?:(?:caused\s+by|due\s+to|because\s+of)\s+)?"
    r"|caused\s+by\s+|due\s+to\s+|because\s+of\s+)(?:(?:an?|the)\s+)?(?P<cause>[^,.;!?]+)",
    re.IGNORECASE,
)
_CORRECTION = re.compile(
    r"^\s*(?:no|nope|actually|correction|wrong)\b[\s,:;.!-]*(?:it'?s\s+|it\s+)?(?:was|is)?\s*"
    r"(?:(?:an?|the)\s+)?(?P<cause>[^.;!?]+)",
    re.IGNORECASE,
)
_RESOLVED = re.compile(r"\b(resolved|fixed|sorted|solved|repaired|closed)\b", re.IGNORECASE)
_OPEN = re.compile(r"\b(still open|ongoing|not (?:yet )?(?:resolved|fixed)|unresolved)\b", re.I)
_TRAILING = re.compile(r"\s+(?:and\s+)?(?:it'?s\s+|is\s+|was\s+)?(?:now\s+)?$", re.IGNORECASE)
_KINDS = {
    "spike": None,
    "jump": None,
    "drop": None,
    "temperature": "temperature",
    "heat": "temperature",
    "humidity": "humidity",
    "co2": "co2",
    "pressure": "pressure",
    "cpu": "cpu_percent",
    "load": "cpu_percent",
}


@dataclass(frozen=True, slots=True)
class IncidentReport:
    """An incident as a sentence states it."""

    location: str
    at: float
    cause: str | None
    status: Status
    metric: str | None


def _clean(cause: str) -> str:
    text = _RESOLVED.sub("", _OPEN.sub("", cause))
    return _TRAILING.sub("", " ".join(text.split())).strip(" ,-")


def _status(text: str) -> Status:
    if _OPEN.search(text):
        return "open"
    return "resolved" if _RESOLVED.search(text) else "open"


def clock_phrase(text: str) -> str | None:
    """The moment a sentence names, as a tool's `at` ("14:23", "yesterday 14:23"), or None."""
    match = _CLOCK.search(text)
    if match is None:
        return None
    clock = f"{int(match['h']):02d}:{match['m']}"
    return f"yesterday {clock}" if _YESTERDAY.search(text) else clock


_CLOCK_ONLY = re.compile(
    r"\s*(?:(?:today|yesterday)\s+)?(?:at\s+)?(?:[01]?\d|2[0-3])[:.h][0-5]\d\s*", re.I
)


def at_clock(text: str, now: float, tz: tzinfo) -> float | None:
    """A clock phrase alone ("14:23", "yesterday 14:23") as Unix seconds: the latest such
    moment not in the future; None when `text` is not one."""
    return _when(text, now, tz) if _CLOCK_ONLY.fullmatch(text) else None


def _when(text: str, now: float, tz: tzinfo) -> float | None:
    match = _CLOCK.search(text)
    if match is None:
        return None
    local = datetime.fromtimestamp(now, tz)
    at = local.replace(hour=int(match["h"]), minute=int(match["m"]), second=0, microsecond=0)
    if _YESTERDAY.search(text) or at.timestamp() > now + 60:
        at -= timedelta(days=1)  # "the 23:50 spike" asked at 00:10 was yesterday's
    return at.timestamp()


def _place(text: str, places: Sequence[str]) -> str | None:
    lowered = text.lower()
    found = [p for p in places if re.search(rf"(?<![\w-]){re.escape(p.lower())}(?![\w-])", lowered)]
    return max(found, key=len) if found else None


def parse_report(text: str, now: float, tz: tzinfo, places: Sequence[str]) -> IncidentReport | None:
    """An incident report ("the 14:23 spike in warehouse-b was an HVAC malfunction, resolved"),
    or None when the sentence names no known place or no cause."""
    place = _place(text, places)
    cause = _CAUSE.search(text)
    if place is None or cause is None:
        return None
    description = _clean(cause["cause"])
    if not description:
        return None
    at = _when(text, now, tz)
    head = text[: cause.start()].lower()
    metric = next((m for word, m in _KINDS.items() if m and re.search(rf"\b{word}\b", head)), None)
    return IncidentReport(place, at if at is not None else now, description, _status(text), metric)


def parse_correction(text: str) -> tuple[str | None, Status | None] | None:
    """A correction of the incident just recorded ("no, it was the door left open"): the new
    cause (None if only the status changes) and status (None if unchanged); None if it is not
    one."""
    match = _CORRECTION.search(text)
    if match is None:
        return None
    status: Status | None = (
        "open" if _OPEN.search(text) else ("resolved" if _RESOLVED.search(text) else None)
    )
    cause = _clean(match["cause"]) or None
    if cause is not None and cause.lower() in ("resolved", "open", "not resolved", "fixed"):
        cause = None
    if cause is None and status is None:
        return None
    return cause, status
