"""Query parameters of the read API: times (Unix, ISO 8601, relative), steps, limits."""

from __future__ import annotations

import math
import re
from typing import Annotated

from fastapi import Query

from agent_bruno.api.errors import ApiError
from agent_bruno.wire import parse_iso_ts

_RELATIVE = re.compile(r"^-(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}
MAX_POINTS = 10_000


def bad_param(name: str, value: str, why: str) -> ApiError:
    """A 422 naming the parameter, its value and what is expected."""
    return ApiError(
        422, f"query parameter {name}={value!r}: {why}", reason="bad_parameter", parameter=name
    )


def parse_time(name: str, value: str, now: float) -> float:
    """Unix seconds from Unix seconds, ISO 8601 (naive is UTC), `now` or `-30m`/`-1h`/`-7d`."""
    text = value.strip()
    if text == "now":
        return now
    match = _RELATIVE.match(text)
    if match:
        moment = now - float(match.group(1)) * _UNITS[match.group(2)]
        if not moment >= 0:  # also NaN/inf from an absurd amount
            raise bad_param(name, value, "reaches back before 1970; use a shorter span, e.g. -30d")
        return moment
    try:
        number = float(text)
    except ValueError:
        # A '+' of a UTC offset arrives as ' ' when the query string was not URL-encoded.
        try:
            return parse_iso_ts(text.replace(" ", "+") if "T" in text else text)
        except ValueError as exc:
            raise bad_param(name, value, f"{exc}; or a relative time like -1h, -30m, -7d") from None
    if not math.isfinite(number) or number < 0:
        raise bad_param(name, value, "expected a non-negative finite number of Unix seconds")
    return number


def is_fixed_time(value: str | None) -> bool:
    """Whether a time parameter names the same moment whenever it is asked (not omitted, not
    `now`, not relative)."""
    if value is None:
        return False
    text = value.strip()
    return text != "now" and _RELATIVE.match(text) is None


def time_range(
    start: str | None, end: str | None, now: float, default_span: float
) -> tuple[float, float]:
    """The [start, end) range, defaulting to the last `default_span` seconds."""
    t_end = now if end is None else parse_time("end", end, now)
    t_start = t_end - default_span if start is None else parse_time("start", start, now)
    if t_start >= t_end:
        raise bad_param("start", start or str(t_start), f"must be before end ({t_end:.0f})")
    return t_start, t_end


def parse_step(value: str | None, start: float, end: float) -> int:
    """Bucket width in seconds: below 300, or a multiple of 300 (5-minute rollups)."""
    if value is None:
        span = end - start
        return 300 if span <= 2 * 86_400 else 3600
    text = value.strip()
    match = _RELATIVE.match("-" + text) if text and text[-1].isalpha() else None
    try:
        step = float(match.group(1)) * _UNITS[match.group(2)] if match else float(text)
    except ValueError:
        raise bad_param("step", value, "expected seconds, e.g. 60, 300, 3600 or 5m, 1h") from None
    if not math.isfinite(step) or step < 1 or step != int(step):
        raise bad_param("step", value, "expected a whole number of seconds ≥ 1")
    if step > 300 and step % 300:
        raise bad_param(
            "step", value, "above 300 s the step must be a multiple of 300 (e.g. 600, 3600)"
        )
    if (end - start) / step > MAX_POINTS:
        raise bad_param(
            "step", value, f"gives more than {MAX_POINTS} points for this range; use a larger step"
        )
    return int(step)


def parse_limit(value: str | None, default: int = 100, maximum: int = 10_000) -> int:
    """A positive row limit not above `maximum`."""
    if value is None:
        return default
    try:
        limit = int(value)
    except ValueError:
        raise bad_param("limit", value, "expected a whole number") from None
    if not 1 <= limit <= maximum:
        raise bad_param("limit", value, f"expected 1 to {maximum}")
    return limit


_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


def parse_flag(name: str, value: str | None, default: bool = False) -> bool:
    """A yes/no query parameter: true/false, 1/0 or yes/no."""
    if value is None:
        return default
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise bad_param(name, value, "expected true or false")


# Query parameters as documented: an empty value is refused (422) like a malformed one.
Name = Annotated[
    str | None, Query(min_length=1, max_length=128, description="exact name to filter by")
]
Time = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        description="Unix seconds, ISO 8601 (naive is UTC), `now`, or relative: -30m, -1h, -7d",
        examples=["-1h"],
    ),
]
Limit = Annotated[
    str | None, Query(min_length=1, max_length=12, description="rows per page", examples=["100"])
]
Flag = Annotated[
    str | None, Query(min_length=1, max_length=8, description="true/false, 1/0 or yes/no")
]
Cursor = Annotated[
    str | None,
    Query(min_length=1, max_length=400, description="`next_cursor` of the previous page"),
]
