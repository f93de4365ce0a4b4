"""The spans a time expression means: one builder per kind of phrase ("last 3 hours",
"yesterday", "since 9am", "between 2 and 4 pm"), each taking the phrase's match, the clock and
the time zone, and the dates, clocks and words they share. `timeexpr.py` holds the grammar
that finds the phrases and calls these."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "couple": 2, "few": 3,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip

UNIT_SECONDS = {
    "second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86_400.0,
    "week": 604_800.0, "fortnight": 1_209_600.0, "month": 2_592_000.0,
}  # fmt: skip
UNIT_ALIASES = {
    "s": "second", "sec": "second", "secs": "second", "second": "second", "seconds": "second",
    "m": "minute", "min": "minute", "mins": "minute", "minute": "minute", "minutes": "minute",
    "h": "hour", "hr": "hour", "hrs": "hour", "hour": "hour", "hours": "hour",
    "d": "day", "day": "day", "days": "day",
    "w": "week", "wk": "week", "wks": "week", "week": "week", "weeks": "week",
    "fortnight": "fortnight", "fortnights": "fortnight",
    "month": "month", "months": "month",
}  # fmt: skip
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
# A number word up to 99 ("thirty", "twenty-four", "forty eight"), "a couple (of)" or "a few".

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Words that may follow a bare "the 21st" or "between 9 and 11" when they name a time,
# so that "the 3rd floor" or "between 9 and 11 degrees" are left alone.
TIME_FOLLOWS = re.compile(
    r"\s*(?:$|[?.!,;:)\]]|(?:at|in|on|from|between|since|until|till|and|or|compared|vs|versus"
    r"|this|last|of|for|when|was|were|did|is|morning|afternoon|evening|night)(?![\w-]))",
    re.IGNORECASE,
)
# Words that may follow a bare hour in "since 8", so that "since 8 sensors went offline"
# or "since 2 days" are not read as clock times.
HOUR_FOLLOWS = re.compile(
    r"\s*(?:$|[?.!,;:)\]](?!\d)|(?:today|tonight|yesterday|this|in|on|at|for|and|or"
    r"|until|till|compared|vs|versus)(?![\w-]))",
    re.IGNORECASE,
)
MAX_SPAN = 100 * 365 * 86_400.0
DAY_PARTS = {"morning": (6, 12), "afternoon": (12, 18), "evening": (18, 24), "night": (18, 30)}


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


def local_date(ts: float, tz: tzinfo) -> date:
    return datetime.fromtimestamp(ts, tz).date()


def local_ts(day: date, hour: int, minute: int, tz: tzinfo) -> float:
    extra, hour = divmod(hour, 24)
    return datetime.combine(day + timedelta(days=extra), time(hour, minute), tzinfo=tz).timestamp()


def clock_words(hour: int, minute: int) -> str:
    return "midnight" if (hour, minute) == (0, 0) else f"{hour:02d}:{minute:02d}"


def parse_clock(text: str, meridiem: str | None = None) -> tuple[int, int] | None:
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
    return sum(TENS.get(p) or WORD_NUMBERS[p] for p in parts)


def _amount(m: re.Match[str]) -> tuple[float, str] | None:
    if m.group("half"):
        return 1800.0, "half hour"
    if m.groupdict().get("quarter"):  # "the last quarter of an hour": 15 minutes
        return 15.0, "minute"
    unit = UNIT_ALIASES[m.group("unit").lower()]
    digits, word = m.group("digits"), m.group("word")
    if digits is None and len(m.group("unit")) == 1:
        return None
    amount = float(digits) if digits else float(_word_number(word or "one"))
    if not 0 < amount * UNIT_SECONDS[unit] <= MAX_SPAN:
        return None
    return amount, unit


def relative_span(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan | None:
    found = _amount(m)
    if found is None:
        return None
    amount, unit = found
    word = m.group("rel").lower().replace("ago", "last")
    if unit == "half hour":
        return TimeSpan(now - amount, now, f"the {word} half hour")
    no_number = m.group("digits") is None and m.group("word") is None
    if no_number and unit in ("week", "month") and not m.groupdict().get("the") and word == "last":
        return TimeSpan(now - UNIT_SECONDS[unit], now, f"last {unit}")
    return TimeSpan(now - amount * UNIT_SECONDS[unit], now, _relative_label(word, amount, unit))


def bare_duration_span(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan | None:
    unit = UNIT_ALIASES[m.group("unit").lower()]
    word = m.groupdict().get("word")
    if word is not None and word.lower() in ("a", "an"):
        return None  # "for a day": only a number says a stretch ("over two days")
    amount = float(_word_number(word) if word is not None else m.group("digits"))
    if not 0 < amount * UNIT_SECONDS[unit] <= MAX_SPAN:
        return None
    return TimeSpan(now - amount * UNIT_SECONDS[unit], now, _relative_label("last", amount, unit))


def day_span(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan:
    today = local_date(now, tz)
    if m.group(0).lower().endswith("today"):
        return TimeSpan(local_ts(today, 0, 0, tz), now, "today")
    yesterday = today - timedelta(days=1)
    return TimeSpan(local_ts(yesterday, 0, 0, tz), local_ts(today, 0, 0, tz), "yesterday")


def day_before_yesterday_span(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan:
    today = local_date(now, tz)
    start, end = (
        local_ts(today - timedelta(days=2), 0, 0, tz),
        local_ts(today - timedelta(days=1), 0, 0, tz),
    )
    return TimeSpan(start, end, "the day before yesterday")


def weekday_span(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan:
    today = local_date(now, tz)
    name = m.group("wd").title()
    prep = m.group("prep").lower()
    back = (today.weekday() - WEEKDAYS.index(name)) % 7
    if prep.startswith("since"):
        back = back or (7 if prep.endswith("last") else 0)
        return TimeSpan(local_ts(today - timedelta(days=back), 0, 0, tz), now, f"since {name}")
    day = today - timedelta(days=back or 7)
    return TimeSpan(local_ts(day, 0, 0, tz), local_ts(day + timedelta(days=1), 0, 0, tz), name)


def this_period_span(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan:
    today = local_date(now, tz)
    if m.group("period").lower() == "week":
        return TimeSpan(
            local_ts(today - timedelta(days=today.weekday()), 0, 0, tz), now, "this week"
        )
    return TimeSpan(local_ts(today.replace(day=1), 0, 0, tz), now, "this month")


def _whole_day(day: date, now: float, tz: tzinfo) -> TimeSpan | None:
    start = local_ts(day, 0, 0, tz)
    if start > now:
        return None
    today = local_date(now, tz)
    label = f"{MONTHS[day.month - 1]} {day.day}"
    label = label if day.year == today.year else f"{label} {day.year}"
    return TimeSpan(start, min(local_ts(day + timedelta(days=1), 0, 0, tz), now), label)


def day_of_month_span(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan | None:
    today = local_date(now, tz)
    dom = int(m.group("dom"))
    if m.group("mon"):
        text = f"{dom} {m.group('mon')} {m.group('year') or ''}".strip()
        return _whole_day(parse_date(text, today), now, tz)
    if not TIME_FOLLOWS.match(m.string, m.end()) or not 1 <= dom <= 31:
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


def on_date_span(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan | None:
    return _whole_day(parse_date(m.group("date"), local_date(now, tz)), now, tz)


def day_part_span(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan:
    which, part = m.group("which").lower(), m.group("part").lower()
    today = local_date(now, tz)
    label = {"to": "tonight", "last": "last night"}.get(which, f"{which} {part}")
    if which == "to":
        which, part = "this", "evening"
    day = today if which == "this" else today - timedelta(days=1)
    first, last = DAY_PARTS[part]
    start, end = local_ts(day, first, 0, tz), local_ts(day, last, 0, tz)
    if which == "this" and start > now:
        if part == "morning":
            start = local_ts(today, 0, 0, tz)
        else:
            day -= timedelta(days=1)
            start, end, label = (
                local_ts(day, first, 0, tz),
                local_ts(day, last, 0, tz),
                f"yesterday {part}",
            )
    return TimeSpan(start, min(end, now), label)


def parse_date(text: str, today: date) -> date:
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    if "-" in text:
        return date(numbers[0], numbers[1], numbers[2])
    month_name = re.search(MONTH_RE, text, re.IGNORECASE)
    month = MONTHS.index(month_name.group(0)[:3].title()) + 1 if month_name else 0
    if len(numbers) > 1:
        return date(numbers[1], month, numbers[0])
    candidate = date(today.year, month, numbers[0])
    return candidate if candidate <= today else date(today.year - 1, month, numbers[0])


def since_span(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan | None:
    today = local_date(now, tz)
    if m.group("rel"):
        rel = m.group("rel").lower()
        if rel not in ("today", "yesterday"):
            day, rel = today - timedelta(days=2), "the day before yesterday"
        else:
            day = today if rel == "today" else today - timedelta(days=1)
        at = parse_clock(m.group("relclock")) if m.group("relclock") else None
        if at is not None:
            return TimeSpan(local_ts(day, *at, tz), now, f"since {rel} {clock_words(*at)}")
        return TimeSpan(local_ts(day, 0, 0, tz), now, f"since {rel}")
    if m.group("date"):
        day = parse_date(m.group("date"), today)
        label = f"since {MONTHS[day.month - 1]} {day.day}"
        return TimeSpan(
            local_ts(day, 0, 0, tz), now, label if day.year == today.year else f"{label} {day.year}"
        )
    part = (m.group("part") or "").lower()
    if m.group("hour") is not None:
        bare = not (m.group("oclock") or part)
        if bare and not HOUR_FOLLOWS.match(m.string, m.end()):
            return None
        clock = parse_clock(m.group("hour"))
        if clock and clock[0] < 12 and part.endswith(("afternoon", "evening", "tonight")):
            clock = (clock[0] + 12, clock[1])
    else:
        clock = parse_clock(m.group("clock"))
    if clock is None:
        return None
    start, label = local_ts(today, *clock, tz), f"since {clock_words(*clock)}"
    if part.startswith("yesterday"):
        return TimeSpan(local_ts(today - timedelta(days=1), *clock, tz), now, label + " yesterday")
    if start > now:
        start, label = local_ts(today - timedelta(days=1), *clock, tz), label + " yesterday"
    return TimeSpan(start, now, label)


def weekend_span(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan:
    today = local_date(now, tz)
    last = m.group("which").lower() == "last"
    label = "last weekend" if last else "the weekend"
    if today.weekday() >= 5:
        saturday = today - timedelta(days=today.weekday() - 5)
        if not last:
            return TimeSpan(local_ts(saturday, 0, 0, tz), now, label)
        saturday -= timedelta(days=7)
    else:
        saturday = today - timedelta(days=today.weekday() + 2)
    return TimeSpan(
        local_ts(saturday, 0, 0, tz), local_ts(saturday + timedelta(days=2), 0, 0, tz), label
    )


def between_span(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan | None:
    second = parse_clock(m.group("b"))
    ap = re.search(r"([ap])\.?m\.?$", m.group("b"), re.IGNORECASE)
    first = parse_clock(m.group("a"), ap.group(1) if ap else None)
    if first is None or second is None:
        return None
    if ap and first > second and re.fullmatch(r"\d{1,2}", m.group("a")):
        first = parse_clock(m.group("a"), "a" if ap.group(1).lower() == "p" else "p") or first
    day = local_date(now, tz)
    when = (m.group("when") or "").lower()
    if when == "yesterday":
        day -= timedelta(days=1)
    end_day = day if second > first else day + timedelta(days=1)
    if local_ts(day, *first, tz) > now:
        day, end_day = day - timedelta(days=1), end_day - timedelta(days=1)
    label = f"between {clock_words(*first)} and {clock_words(*second)}"
    if when == "yesterday":
        label += " yesterday"
    return TimeSpan(local_ts(day, *first, tz), min(local_ts(end_day, *second, tz), now), label)


def at_clock_span(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan | None:
    """ "at 9am", "around noon yesterday": the 5-minute bucket that starts then."""
    text = re.sub(r"\s*o['’]?clock$", "", m.group("clock").strip(), flags=re.IGNORECASE)
    clock = parse_clock(text)
    if clock is None:
        return None
    when = (m.group("when") or "").lower()
    hour, minute = clock
    if when in ("this afternoon", "this evening", "last night") and hour < 12:
        hour += 12
    today = local_date(now, tz)
    day = today - timedelta(days=1) if when in ("yesterday", "last night") else today
    start = local_ts(day, hour, minute, tz)
    if start > now and not when:
        day, start = day - timedelta(days=1), local_ts(day - timedelta(days=1), hour, minute, tz)
    if start > now:
        return None
    label = f"at {clock_words(hour, minute)}" + (" yesterday" if day != today else "")
    return TimeSpan(start, min(start + 300.0, now), label)


def day_ago_span(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan:
    return TimeSpan(now - 86_400.0, now, "the last 24 hours")


def overnight_span(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan:
    today = local_date(now, tz)
    start, end = local_ts(today - timedelta(days=1), 22, 0, tz), local_ts(today, 6, 0, tz)
    return TimeSpan(start, min(end, now), "overnight (22:00 to 06:00)")


def bare_between_span(m: re.Match[str], now: float, tz: tzinfo) -> TimeSpan | None:
    if not TIME_FOLLOWS.match(m.string, m.end()):
        return None
    first, second = parse_clock(m.group("a")), parse_clock(m.group("b"))
    if first is None or second is None:
        return None
    when = re.sub(r"\s+", " ", (m.group("when") or "").lower())
    pm = when.endswith(("afternoon", "evening")) or when == "tonight"
    if pm:
        first = (first[0] + 12, first[1]) if first[0] < 12 else first
        second = (second[0] + 12, second[1]) if second[0] < 12 else second
    elif second < first and first[0] <= 12 and second[0] <= 12:
        second = (second[0] + 12, second[1])
    today = local_date(now, tz)
    day = today - timedelta(days=1) if when.startswith("yesterday") else today
    end_day = day if second > first else day + timedelta(days=1)
    if local_ts(day, *first, tz) > now:
        day, end_day = day - timedelta(days=1), end_day - timedelta(days=1)
    label = f"between {clock_words(*first)} and {clock_words(*second)}"
    return TimeSpan(local_ts(day, *first, tz), min(local_ts(end_day, *second, tz), now), label)
