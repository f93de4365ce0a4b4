"""Time expressions in questions and tool arguments: spans, timestamps and how to say them."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal

_B = r"(?<![\w-])"
_E = r"(?![\w-])"
_WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "couple": 2, "few": 3,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_ONES = "|".join(w for w, n in _WORD_NUMBERS.items() if 1 <= n <= 9 and w not in ("a", "an"))
_UNIT_SECONDS = {
    "second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86_400.0,
    "week": 604_800.0, "fortnight": 1_209_600.0, "month": 2_592_000.0,
}  # fmt: skip
_UNIT_ALIASES = {
    "s": "second", "sec": "second", "secs": "second", "second": "second", "seconds": "second",
    "m": "minute", "min": "minute", "mins": "minute", "minute": "minute", "minutes": "minute",
    "h": "hour", "hr": "hour", "hrs": "hour", "hour": "hour", "hours": "hour",
    "d": "day", "day": "day", "days": "day",
    "w": "week", "wk": "week", "wks": "week", "week": "week", "weeks": "week",
    "fortnight": "fortnight", "fortnights": "fortnight",
    "month": "month", "months": "month",
}  # fmt: skip
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
# A number word up to 99 ("thirty", "twenty-four", "forty eight"), "a couple (of)" or "a few".
_NUM_WORD = (
    r"(?:(?:" + "|".join(_TENS) + r")(?:[\s-]+(?:" + _ONES + r"))?"
    r"|(?:a\s+)?couple(?:\s+of)?|(?:a\s+)?few"
    r"|" + "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True)) + ")"
)
_NUM = r"(?:(?P<digits>\d+(?:\.\d+)?)\s*|(?P<word>" + _NUM_WORD + r")\s+)"
_UNIT = r"(?P<unit>" + "|".join(sorted(_UNIT_ALIASES, key=len, reverse=True)) + ")"
_HALF = r"(?P<half>half[\s-]*(?:an?\s+)?hour)"
_CLOCK = r"(?:noon|midday|midnight|\d{1,2}(?::\d{2})?\s*[ap]\.?m\.?|\d{1,2}:\d{2})"
_DATE = (
    rf"(?:\d{{4}}-\d{{2}}-\d{{2}}|{_MONTH_RE}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH_RE}\.?(?:,?\s+\d{{4}})?)"
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAY_RE = "(?P<wd>" + "|".join(_WEEKDAYS) + ")"
_DAY_BEFORE = r"(?:the\s+)?day\s+before\s+yesterday"
# Words that may follow a bare "the 21st" or "between 9 and 11" when they name a time,
# so that "the 3rd floor" or "between 9 and 11 degrees" are left alone.
_TIME_FOLLOWS = re.compile(
    r"\s*(?:$|[?.!,;:)\]]|(?:at|in|on|from|between|since|until|till|and|or|compared|vs|versus"
    r"|this|last|of|for|when|was|were|did|is|morning|afternoon|evening|night)(?![\w-]))",
    re.IGNORECASE,
)
# Words that may follow a bare hour in "since 8", so that "since 8 sensors went offline"
# or "since 2 days" are not read as clock times.
_HOUR_FOLLOWS = re.compile(
    r"\s*(?:$|[?.!,;:)\]](?!\d)|(?:today|tonight|yesterday|this|in|on|at|for|and|or"
    r"|until|till|compared|vs|versus)(?![\w-]))",
    re.IGNORECASE,
)
_MAX_SPAN = 100 * 365 * 86_400.0
_DAY_PARTS = {"morning": (6, 12), "afternoon": (12, 18), "evening": (18, 24), "night": (18, 30)}
_ACCEPTED = (
    "ISO-8601 ('2026-11-26T09:00:00Z', '2026-11-26'), Unix seconds ('1732610000'), "
    "a relative offset ('-90s', '-15m', '-1h', '-30d'), 'now', "
    "or a phrase such as 'last hour', 'yesterday', 'since 9am'"
)


@dataclass(frozen=True, slots=True)
class TimeSpan:
    """A [start, end] window in Unix seconds and the words an answer uses for it."""

    start: float
    end: float
    label: str

    def shifted(self, seconds: float, label: str) -> TimeSpan:
        """Return the same-width window moved back by `seconds`."""
        return TimeSpan(self.start - seconds, self.end - seconds, label)


@dataclass(frozen=True, slots=True)
class TimeMatch:
    """A span found in a text, with where its expression sits there."""

    span: TimeSpan
    start_index: int
    end_index: int


def _local_date(ts: float, tz: tzinfo) -> date:
    return datetime.fromtimestamp(ts, tz).date()


def _at(day: date, hour: int, minute: int, tz: tzinfo) -> float:
    extra, hour = divmod(hour, 24)
    return datetime.combine(day + timedelta(days=extra), time(hour, minute), tzinfo=tz).timestamp()


def _hhmm(hour: int, minute: int) -> str:
    return "midnight" if (hour, minute) == (0, 0) else f"{hour:02d}:{minute:02d}"


def _parse_clock(text: str, meridiem: str | None = None) -> tuple[int, int] | None:
    word = {"noon": (12, 0), "midday": (12, 0), "midnight": (0, 0)}.get(text.lower())
    if word:
        return word
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(?:([ap])\.?m\.?)?", text, re.IGNORECASE)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    ap = (match.group(3) or meridiem or "").lower()
    if minute > 59 or hour > (12 if ap else 23) or (ap and hour == 0):
        return None
    if ap:
        hour = hour % 12 + (12 if ap == "p" else 0)
    return hour, minute


def _relative_label(word: str, amount: float, unit: str) -> str:
    if amount == 1:
        return f"the {word} {unit}"
    count = f"{amount:g}" if amount < 1e15 else f"{amount:.0f}"
    return f"the {word} {count} {unit}s"


def _word_number(word: str) -> int:
    parts = [p for p in re.split(r"[\s-]+", word.lower()) if p not in ("a", "of")] or ["a"]
    return sum(_TENS.get(p) or _WORD_NUMBERS[p] for p in parts)


def _amount(m: re.Match[str]) -> tuple[float, str] | None:
    if m.group("half"):
        return 1800.0, "half hour"
    unit = _UNIT_ALIASES[m.group("unit").lower()]
    digits, word = m.group("digits"), m.group("word")
    if digits is None and len(m.group("unit")) == 1:
        return None
    amount = float(digits) if digits else float(_word_number(word or "one"))
    if not 0 < amount * _UNIT_SECONDS[unit] <= _MAX_SPAN:
        return None
    return amount, unit


def _relative(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan | None:
    found = _amount(m)
    if found is None:
        return None
    amount, unit = found
    word = m.group("rel").lower().replace("ago", "last")
    if unit == "half hour":
        return TimeSpan(now - amount, now, f"the {word} half hour")
    no_number = m.group("digits") is None and m.group("word") is None
    if no_number and unit in ("week", "month") and not m.groupdict().get("the") and word == "last":
        return TimeSpan(now - _UNIT_SECONDS[unit], now, f"last {unit}")
    return TimeSpan(now - amount * _UNIT_SECONDS[unit], now, _relative_label(word, amount, unit))


def _bare_duration(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan | None:
    unit = _UNIT_ALIASES[m.group("unit").lower()]
    amount = float(m.group("digits"))
    if not 0 < amount * _UNIT_SECONDS[unit] <= _MAX_SPAN:
        return None
    return TimeSpan(now - amount * _UNIT_SECONDS[unit], now, _relative_label("last", amount, unit))


def _day(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan:
    today = _local_date(now, tz)
    if m.group(0).lower().endswith("today"):
        return TimeSpan(_at(today, 0, 0, tz), now, "today")
    yesterday = today - timedelta(days=1)
    return TimeSpan(_at(yesterday, 0, 0, tz), _at(today, 0, 0, tz), "yesterday")


def _day_before_yesterday(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan:
    today = _local_date(now, tz)
    start, end = _at(today - timedelta(days=2), 0, 0, tz), _at(today - timedelta(days=1), 0, 0, tz)
    return TimeSpan(start, end, "the day before yesterday")


def _weekday(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan:
    today = _local_date(now, tz)
    name = m.group("wd").title()
    prep = m.group("prep").lower()
    back = (today.weekday() - _WEEKDAYS.index(name)) % 7
    if prep.startswith("since"):
        back = back or (7 if prep.endswith("last") else 0)
        return TimeSpan(_at(today - timedelta(days=back), 0, 0, tz), now, f"since {name}")
    day = today - timedelta(days=back or 7)
    return TimeSpan(_at(day, 0, 0, tz), _at(day + timedelta(days=1), 0, 0, tz), name)


def _this_period(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan:
    today = _local_date(now, tz)
    if m.group("period").lower() == "week":
        return TimeSpan(_at(today - timedelta(days=today.weekday()), 0, 0, tz), now, "this week")
    return TimeSpan(_at(today.replace(day=1), 0, 0, tz), now, "this month")


def _whole_day(day: date, now: float, tz: tzinfo) -> TimeSpan | None:
    start = _at(day, 0, 0, tz)
    if start > now:
        return None
    today = _local_date(now, tz)
    label = f"{_MONTHS[day.month - 1]} {day.day}"
    label = label if day.year == today.year else f"{label} {day.year}"
    return TimeSpan(start, min(_at(day + timedelta(days=1), 0, 0, tz), now), label)


def _day_of_month(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan | None:
    today = _local_date(now, tz)
    dom = int(m.group("dom"))
    if m.group("mon"):
        text = f"{dom} {m.group('mon')} {m.group('year') or ''}".strip()
        return _whole_day(_parse_date(text, today), now, tz)
    if not _TIME_FOLLOWS.match(m.string, m.end()) or not 1 <= dom <= 31:
        return None
    year, month = today.year, today.month
    if dom > today.day:
        month -= 1
    for _ in range(12):
        if month < 1:
            year, month = year - 1, 12
        try:
            return _whole_day(date(year, month, dom), now, tz)
        except ValueError:
            month -= 1
    return None


def _on_date(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan | None:
    return _whole_day(_parse_date(m.group("date"), _local_date(now, tz)), now, tz)


def _day_part(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan:
    which, part = m.group("which").lower(), m.group("part").lower()
    today = _local_date(now, tz)
    label = {"to": "tonight", "last": "last night"}.get(which, f"{which} {part}")
    if which == "to":
        which, part = "this", "evening"
    day = today if which == "this" else today - timedelta(days=1)
    first, last = _DAY_PARTS[part]
    start, end = _at(day, first, 0, tz), _at(day, last, 0, tz)
    if which == "this" and start > now:
        if part == "morning":
            start = _at(today, 0, 0, tz)
        else:
            day -= timedelta(days=1)
            start, end, label = _at(day, first, 0, tz), _at(day, last, 0, tz), f"yesterday {part}"
    return TimeSpan(start, min(end, now), label)


def _parse_date(text: str, today: date) -> date:
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    if "-" in text:
        return date(numbers[0], numbers[1], numbers[2])
    month_name = re.search(_MONTH_RE, text, re.IGNORECASE)
    month = _MONTHS.index(month_name.group(0)[:3].title()) + 1 if month_name else 0
    if len(numbers) > 1:
        return date(numbers[1], month, numbers[0])
    candidate = date(today.year, month, numbers[0])
    return candidate if candidate <= today else date(today.year - 1, month, numbers[0])


def _since(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan | None:
    today = _local_date(now, tz)
    if m.group("rel"):
        rel = m.group("rel").lower()
        if rel not in ("today", "yesterday"):
            day, rel = today - timedelta(days=2), "the day before yesterday"
        else:
            day = today if rel == "today" else today - timedelta(days=1)
        at = _parse_clock(m.group("relclock")) if m.group("relclock") else None
        if at is not None:
            return TimeSpan(_at(day, *at, tz), now, f"since {rel} {_hhmm(*at)}")
        return TimeSpan(_at(day, 0, 0, tz), now, f"since {rel}")
    if m.group("date"):
        day = _parse_date(m.group("date"), today)
        label = f"since {_MONTHS[day.month - 1]} {day.day}"
        return TimeSpan(
            _at(day, 0, 0, tz), now, label if day.year == today.year else f"{label} {day.year}"
        )
    part = (m.group("part") or "").lower()
    if m.group("hour") is not None:
        bare = not (m.group("oclock") or part)
        if bare and not _HOUR_FOLLOWS.match(m.string, m.end()):
            return None
        clock = _parse_clock(m.group("hour"))
        if clock and clock[0] < 12 and part.endswith(("afternoon", "evening", "tonight")):
            clock = (clock[0] + 12, clock[1])
    else:
        clock = _parse_clock(m.group("clock"))
    if clock is None:
        return None
    start, label = _at(today, *clock, tz), f"since {_hhmm(*clock)}"
    if part.startswith("yesterday"):
        return TimeSpan(_at(today - timedelta(days=1), *clock, tz), now, label + " yesterday")
    if start > now:
        start, label = _at(today - timedelta(days=1), *clock, tz), label + " yesterday"
    return TimeSpan(start, now, label)


def _weekend(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan:
    today = _local_date(now, tz)
    last = m.group("which").lower() == "last"
    label = "last weekend" if last else "the weekend"
    if today.weekday() >= 5:
        saturday = today - timedelta(days=today.weekday() - 5)
        if not last:
            return TimeSpan(_at(saturday, 0, 0, tz), now, label)
        saturday -= timedelta(days=7)
    else:
        saturday = today - timedelta(days=today.weekday() + 2)
    return TimeSpan(_at(saturday, 0, 0, tz), _at(saturday + timedelta(days=2), 0, 0, tz), label)


def _between(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan | None:
    second = _parse_clock(m.group("b"))
    ap = re.search(r"([ap])\.?m\.?$", m.group("b"), re.IGNORECASE)
    first = _parse_clock(m.group("a"), ap.group(1) if ap else None)
    if first is None or second is None:
        return None
    if ap and first > second and re.fullmatch(r"\d{1,2}", m.group("a")):
        first = _parse_clock(m.group("a"), "a" if ap.group(1).lower() == "p" else "p") or first
    day = _local_date(now, tz)
    when = (m.group("when") or "").lower()
    if when == "yesterday":
        day -= timedelta(days=1)
    end_day = day if second > first else day + timedelta(days=1)
    if _at(day, *first, tz) > now:
        day, end_day = day - timedelta(days=1), end_day - timedelta(days=1)
    label = f"between {_hhmm(*first)} and {_hhmm(*second)}"
    if when == "yesterday":
        label += " yesterday"
    return TimeSpan(_at(day, *first, tz), min(_at(end_day, *second, tz), now), label)


def _at_clock(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan | None:
    """ "at 9am", "around noon yesterday": the 5-minute bucket that starts then."""
    text = re.sub(r"\s*o['’]?clock$", "", m.group("clock").strip(), flags=re.IGNORECASE)
    clock = _parse_clock(text)
    if clock is None:
        return None
    when = (m.group("when") or "").lower()
    hour, minute = clock
    if when in ("this afternoon", "this evening", "last night") and hour < 12:
        hour += 12
    today = _local_date(now, tz)
    day = today - timedelta(days=1) if when in ("yesterday", "last night") else today
    start = _at(day, hour, minute, tz)
    if start > now and not when:
        day, start = day - timedelta(days=1), _at(day - timedelta(days=1), hour, minute, tz)
    if start > now:
        return None
    label = f"at {_hhmm(hour, minute)}" + (" yesterday" if day != today else "")
    return TimeSpan(start, min(start + 300.0, now), label)


def _day_ago(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan:
    return TimeSpan(now - 86_400.0, now, "the last 24 hours")


def _overnight(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan:
    today = _local_date(now, tz)
    start, end = _at(today - timedelta(days=1), 22, 0, tz), _at(today, 6, 0, tz)
    return TimeSpan(start, min(end, now), "overnight (22:00 to 06:00)")


def _bare_between(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan | None:
    if not _TIME_FOLLOWS.match(m.string, m.end()):
        return None
    first, second = _parse_clock(m.group("a")), _parse_clock(m.group("b"))
    if first is None or second is None:
        return None
    when = re.sub(r"\s+", " ", (m.group("when") or "").lower())
    pm = when.endswith(("afternoon", "evening")) or when == "tonight"
    if pm:
        first = (first[0] + 12, first[1]) if first[0] < 12 else first
        second = (second[0] + 12, second[1]) if second[0] < 12 else second
    elif second < first and first[0] <= 12 and second[0] <= 12:
        second = (second[0] + 12, second[1])
    today = _local_date(now, tz)
    day = today - timedelta(days=1) if when.startswith("yesterday") else today
    end_day = day if second > first else day + timedelta(days=1)
    if _at(day, *first, tz) > now:
        day, end_day = day - timedelta(days=1), end_day - timedelta(days=1)
    label = f"between {_hhmm(*first)} and {_hhmm(*second)}"
    return TimeSpan(_at(day, *first, tz), min(_at(end_day, *second, tz), now), label)


_Builder = Callable[[re.Match[str], float, tzinfo], "TimeSpan | None"]
_PATTERNS: tuple[tuple[re.Pattern[str], _Builder], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), builder)
    for pattern, builder in (
        (
            rf"{_B}(?:(?:in|over|during|for|within)\s+)?(?P<the>the\s+)?"
            rf"(?P<rel>last|past|previous)\s+(?:{_HALF}|{_NUM}?{_UNIT}){_E}",
            _relative,
        ),
        (rf"{_B}(?:{_HALF}|{_NUM}{_UNIT})\s+(?P<rel>ago){_E}", _relative),
        # A bare duration ("48h trend", "over 24 hours", "for 3 days"): the last that long.
        (
            rf"{_B}(?<![\d.])(?<!since\s)(?:(?P<rel>over|for|during|within|in)\s+(?:the\s+)?)?"
            rf"(?P<digits>\d+(?:\.\d+)?)\s*(?P<unit>h|hrs?|hours?|d|days?|mins?|minutes?"
            rf"|w|wks?|weeks?){_E}",
            _bare_duration,
        ),
        (rf"{_B}(?:today|yesterday){_E}", _day),
        (rf"{_B}{_DAY_BEFORE}{_E}", _day_before_yesterday),
        (rf"{_B}(?P<prep>since(?:\s+last)?|on(?:\s+last)?|last)\s+{_WEEKDAY_RE}{_E}", _weekday),
        (rf"{_B}this\s+(?P<period>week|month){_E}", _this_period),
        (
            rf"{_B}(?:(?:on|for|during)\s+)?the\s+(?P<dom>\d{{1,2}})(?:st|nd|rd|th)"
            rf"(?:\s+of\s+(?P<mon>{_MONTH_RE})\.?(?:,?\s+(?P<year>\d{{4}}))?)?{_E}",
            _day_of_month,
        ),
        (rf"{_B}(?:on|for|during)\s+(?:the\s+)?(?P<date>{_DATE}){_E}", _on_date),
        (rf"{_B}(?P<which>this|yesterday)\s+(?P<part>morning|afternoon|evening){_E}", _day_part),
        (rf"{_B}(?P<which>to)(?P<part>night){_E}", _day_part),
        (rf"{_B}(?P<which>last)\s+(?P<part>night){_E}", _day_part),
        (
            rf"{_B}(?:since|after)\s+(?:(?P<rel>yesterday|today|{_DAY_BEFORE})"
            rf"(?:\s+(?:at\s+)?(?P<relclock>{_CLOCK}))?"
            rf"|(?P<date>{_DATE})|(?P<clock>{_CLOCK})"
            rf"|(?P<hour>\d{{1,2}})(?P<oclock>\s*o['’]?clock)?(?:(?<=\d)h)?)"
            rf"(?:\s+(?P<part>(?:this|yesterday)\s+(?:morning|afternoon|evening)|today"
            rf"|yesterday|tonight))?{_E}",
            _since,
        ),
        (
            rf"{_B}(?:(?:over|at|on|during|for|in)\s+)?(?P<which>this|the|last)\s+weekend{_E}",
            _weekend,
        ),
        (
            rf"{_B}(?:between|from)\s+(?P<a>{_CLOCK}|\d{{1,2}})\s*"
            rf"(?:and|to|until|till|-|–)\s*(?P<b>{_CLOCK})"
            rf"(?:\s+(?:on\s+)?(?P<when>yesterday|today))?{_E}",
            _between,
        ),
        (rf"{_B}(?:since|from)?\s*(?:this|the same)\s+time\s+yesterday{_E}", _day_ago),
        (
            rf"{_B}(?:at|around|about)\s+(?P<clock>{_CLOCK}|\d{{1,2}}\s*o['’]?clock)"
            rf"(?:\s+(?:on\s+)?(?P<when>yesterday|today|this morning|this afternoon"
            rf"|this evening|last night))?{_E}",
            _at_clock,
        ),
        (rf"{_B}(?:over\s*night|overnight|during the night){_E}", _overnight),
        (rf"{_B}earlier\s+today{_E}", _day),
        (
            rf"{_B}(?:between|from)\s+(?P<a>\d{{1,2}}(?::\d{{2}})?)\s*(?:and|to|until|till|-|–)\s*"
            rf"(?P<b>\d{{1,2}}(?::\d{{2}})?)(?!\s*[ap]\.?m(?![a-z]))(?:\s*o'?clock)?"
            rf"(?:\s+(?P<when>(?:this|yesterday)\s+(?:morning|afternoon|evening)"
            rf"|tonight|today|yesterday))?{_E}",
            _bare_between,
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
        seconds = amount * _UNIT_SECONDS[_UNIT_ALIASES[relative.group("unit").lower()]]
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


def format_clock(ts: float, now: float, tz: tzinfo) -> str:
    """Say a moment as '14:20', 'yesterday 14:20', 'Nov 24 14:20' or 'Nov 24 2025 14:20'."""
    moment = datetime.fromtimestamp(ts, tz)
    today = _local_date(now, tz)
    clock = f"{moment.hour:02d}:{moment.minute:02d}"
    if moment.date() == today:
        return clock
    if moment.date() == today - timedelta(days=1):
        return f"yesterday {clock}"
    year = "" if moment.year == today.year else f" {moment.year}"
    return f"{_MONTHS[moment.month - 1]} {moment.day}{year} {clock}"


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
