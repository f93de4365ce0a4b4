"""Time expressions in questions and tool arguments: the grammar that finds a phrase ("over
the last 3 hours", "since 9am yesterday") in a text, and tool-argument times (ISO-8601, Unix
seconds, "-15m", "now", a phrase). What each phrase means is built in `timespans.py`; how a
moment is said, in `timefmt.py`."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime, time, timedelta, tzinfo
from typing import Literal

from agent_bruno.agent.nlu.timespans import (
    MONTH_RE,
    TENS,
    UNIT_ALIASES,
    UNIT_SECONDS,
    WEEKDAYS,
    WORD_NUMBERS,
    TimeMatch,
    TimeSpan,
    at_clock_span,
    bare_between_span,
    bare_duration_span,
    between_span,
    day_ago_span,
    day_before_yesterday_span,
    day_of_month_span,
    day_part_span,
    day_span,
    on_date_span,
    overnight_span,
    relative_span,
    since_span,
    this_period_span,
    weekday_span,
    weekend_span,
)

_B = r"(?<![\w-])"
_E = r"(?![\w-])"
_ONES = "|".join(w for w, n in WORD_NUMBERS.items() if 1 <= n <= 9 and w not in ("a", "an"))
_NUM_WORD = (
    r"(?:(?:" + "|".join(TENS) + r")(?:[\s-]+(?:" + _ONES + r"))?"
    r"|(?:a\s+)?couple(?:\s+of)?|(?:a\s+)?few"
    r"|" + "|".join(sorted(WORD_NUMBERS, key=len, reverse=True)) + ")"
)
_NUM = r"(?:(?P<digits>\d+(?:\.\d+)?)\s*|(?P<word>" + _NUM_WORD + r")\s+)"
_UNIT = r"(?P<unit>" + "|".join(sorted(UNIT_ALIASES, key=len, reverse=True)) + ")"
_HALF = (
    r"(?:(?P<half>half[\s-]*(?:an?\s+)?hour)"
    r"|(?P<quarter>(?:a\s+)?quarter(?:[\s-]+of)?[\s-]*(?:an?\s+)?hour))"
)
_CLOCK = r"(?:noon|midday|midnight|\d{1,2}(?::\d{2})?\s*[ap]\.?m\.?|\d{1,2}:\d{2})"
_DATE = (
    rf"(?:\d{{4}}-\d{{2}}-\d{{2}}|{MONTH_RE}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{MONTH_RE}\.?(?:,?\s+\d{{4}})?)"
)
_WEEKDAY_RE = "(?P<wd>" + "|".join(WEEKDAYS) + ")"
_DAY_BEFORE = r"(?:the\s+)?day\s+before\s+yesterday"
_ACCEPTED = (
    "ISO-8601 ('2026-11-26T09:00:00Z', '2026-11-26'), Unix seconds ('1732610000'), "
    "a relative offset ('-90s', '-15m', '-1h', '-30d'), 'now', "
    "or a phrase such as 'last hour', 'yesterday', 'since 9am'"
)


_Builder = Callable[[re.Match[str], float, tzinfo], "TimeSpan | None"]
_PATTERNS: tuple[tuple[re.Pattern[str], _Builder], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), builder)
    for pattern, builder in (
        (
            rf"{_B}(?:(?:in|over|during|for|within)\s+)?(?P<the>the\s+)?"
            rf"(?P<rel>last|past|previous)\s+(?:{_HALF}|{_NUM}?{_UNIT}){_E}",
            relative_span,
        ),
        (rf"{_B}(?:{_HALF}|{_NUM}{_UNIT})\s+(?P<rel>ago){_E}", relative_span),
        # A bare duration ("48h trend", "over 24 hours", "for 3 days"): the last that long.
        (
            rf"{_B}(?<![\d.])(?<!since\s)(?:(?P<rel>over|for|during|within|in)\s+(?:the\s+)?)?"
            rf"(?P<digits>\d+(?:\.\d+)?)\s*(?P<unit>h|hrs?|hours?|d|days?|mins?|minutes?"
            rf"|w|wks?|weeks?){_E}",
            bare_duration_span,
        ),
        (
            rf"{_B}(?P<rel>over|for|during|within|across)\s+(?:the\s+)?(?P<word>{_NUM_WORD})\s+"
            rf"(?P<unit>hours?|days?|minutes?|weeks?|months?){_E}",
            bare_duration_span,
        ),
        (rf"{_B}(?:today|yesterday){_E}", day_span),
        (rf"{_B}{_DAY_BEFORE}{_E}", day_before_yesterday_span),
        (rf"{_B}(?P<prep>since(?:\s+last)?|on(?:\s+last)?|last)\s+{_WEEKDAY_RE}{_E}", weekday_span),
        (rf"{_B}this\s+(?P<period>week|month){_E}", this_period_span),
        (
            rf"{_B}(?:(?:on|for|during)\s+)?the\s+(?P<dom>\d{{1,2}})(?:st|nd|rd|th)"
            rf"(?:\s+of\s+(?P<mon>{MONTH_RE})\.?(?:,?\s+(?P<year>\d{{4}}))?)?{_E}",
            day_of_month_span,
        ),
        (rf"{_B}(?:on|for|during)\s+(?:the\s+)?(?P<date>{_DATE}){_E}", on_date_span),
        (
            rf"{_B}(?P<which>this|yesterday)\s+(?P<part>morning|afternoon|evening){_E}",
            day_part_span,
        ),
        (rf"{_B}(?P<which>to)(?P<part>night){_E}", day_part_span),
        (rf"{_B}(?P<which>last)\s+(?P<part>night){_E}", day_part_span),
        (
            rf"{_B}(?:since|after)\s+(?:(?P<rel>yesterday|today|{_DAY_BEFORE})"
            rf"(?:\s+(?:at\s+)?(?P<relclock>{_CLOCK}))?"
            rf"|(?P<date>{_DATE})|(?P<clock>{_CLOCK})"
            rf"|(?P<hour>\d{{1,2}})(?P<oclock>\s*o['’]?clock)?(?:(?<=\d)h)?)"
            rf"(?:\s+(?P<part>(?:this|yesterday)\s+(?:morning|afternoon|evening)|today"
            rf"|yesterday|tonight))?{_E}",
            since_span,
        ),
        (
            rf"{_B}(?:(?:over|at|on|during|for|in)\s+)?(?P<which>this|the|last)\s+weekend{_E}",
            weekend_span,
        ),
        (
            rf"{_B}(?:between|from)\s+(?P<a>{_CLOCK}|\d{{1,2}})\s*"
            rf"(?:and|to|until|till|-|–)\s*(?P<b>{_CLOCK})"
            rf"(?:\s+(?:on\s+)?(?P<when>yesterday|today))?{_E}",
            between_span,
        ),
        (rf"{_B}(?:since|from)?\s*(?:this|the same)\s+time\s+yesterday{_E}", day_ago_span),
        (
            rf"{_B}(?:at|around|about)\s+(?P<clock>{_CLOCK}|\d{{1,2}}\s*o['’]?clock)"
            rf"(?:\s+(?:on\s+)?(?P<when>yesterday|today|this morning|this afternoon"
            rf"|this evening|last night))?{_E}",
            at_clock_span,
        ),
        (rf"{_B}(?:over\s*night|overnight|during the night){_E}", overnight_span),
        (rf"{_B}earlier\s+today{_E}", day_span),
        (
            rf"{_B}(?:between|from)\s+(?P<a>\d{{1,2}}(?::\d{{2}})?)\s*(?:and|to|until|till|-|–)\s*"
            rf"(?P<b>\d{{1,2}}(?::\d{{2}})?)(?!\s*[ap]\.?m(?![a-z]))(?:\s*o'?clock)?"
            rf"(?:\s+(?P<when>(?:this|yesterday)\s+(?:morning|afternoon|evening)"
            rf"|tonight|today|yesterday))?{_E}",
            bare_between_span,
        ),
    )
)


def find_time_span(text: str, now: float, tz: tzinfo) -> TimeMatch | None:
    """Find the first time expression in `text` and the span it means, or None."""
    best: TimeMatch | None = None
    for pattern, builder in _PATTERNS:
        for m in pattern.finditer(text):
            if best and (m.start(), -m.end()) >= (best.start_index, -best.end_index):
                continue
            try:
                span = builder(m, now, tz)
            except (ValueError, OverflowError, OSError):
                span = None
            if span is not None:
                best = TimeMatch(span, m.start(), m.end())
    return best


def find_time_spans(text: str, now: float, tz: tzinfo) -> list[TimeMatch]:
    """Every time expression in `text`, in order, none overlapping another."""
    found: list[TimeMatch] = []
    rest = text
    while (m := find_time_span(rest, now, tz)) is not None:
        found.append(m)
        rest = rest[: m.start_index] + " " * (m.end_index - m.start_index) + rest[m.end_index :]
    return sorted(found, key=lambda t: t.start_index)


def _parse_iso(text: str, tz: tzinfo, role: Literal["start", "end"]) -> float | None:
    if "T" in text.upper() and " " in text:
        text = text.replace(" ", "+")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    if role == "end" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        next_day = parsed.date() + timedelta(days=1)
        return datetime.combine(next_day, time(), tzinfo=parsed.tzinfo).timestamp()
    return parsed.timestamp()


def parse_time_arg(value: str, now: float, tz: tzinfo, *, role: Literal["start", "end"]) -> float:
    """Turn a tool argument (ISO-8601, Unix seconds, -15m, now, 'last hour') into Unix seconds."""
    text = value.strip()
    if text.lower() == "now":
        return now
    relative = re.fullmatch(r"-\s*(\d+(?:\.\d+)?)\s*" + _UNIT, text, re.IGNORECASE)
    if relative:
        amount = float(relative.group(1))
        seconds = amount * UNIT_SECONDS[UNIT_ALIASES[relative.group("unit").lower()]]
        if math.isfinite(seconds):
            return now - seconds
    elif re.fullmatch(r"\d+(?:\.\d+)?", text):
        number = float(text)
        if math.isfinite(number):
            return number
    elif re.match(r"\d{4}-\d{2}-\d{2}", text):
        try:
            parsed = _parse_iso(text, tz, role)
        except (OverflowError, OSError):
            parsed = None
        if parsed is not None:
            return parsed
    else:
        found = find_time_span(text, now, tz)
        rest = text[: found.start_index] + text[found.end_index :] if found else text
        if found and not re.search(r"\w", rest):
            return found.span.start if role == "start" else found.span.end
    raise ValueError(f"cannot read the {role} time {value!r}: use {_ACCEPTED}")
