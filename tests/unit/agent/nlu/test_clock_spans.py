"""Clock times in questions: "at 9am" (the 5-minute bucket that starts then), "between 10 and
2pm" (the meridiem of the second clock read back onto the first), past midnight, yesterday's,
and clocks that are not clocks ("at 13pm", "9:60")."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from agent_bruno.agent.nlu.timeexpr import find_time_spans

NOW = datetime(2026, 11, 30, 16, 5, tzinfo=UTC).timestamp()  # a Monday, 16:05 UTC


def at(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("at 9am", at(30, 9), at(30, 9, 5), "at 09:00"),
        ("at 9 am", at(30, 9), at(30, 9, 5), "at 09:00"),
        ("at 9 o'clock", at(30, 9), at(30, 9, 5), "at 09:00"),
        ("at 12am", at(30, 0), at(30, 0, 5), "at midnight"),
        ("at midnight", at(30, 0), at(30, 0, 5), "at midnight"),
        ("at 12pm", at(30, 12), at(30, 12, 5), "at 12:00"),
        ("at noon", at(30, 12), at(30, 12, 5), "at 12:00"),
        ("at noon yesterday", at(29, 12), at(29, 12, 5), "at 12:00 yesterday"),
        # a clock later today is yesterday's; one just now ends now
        ("at 23:59", at(29, 23, 59), at(30, 0, 4), "at 23:59 yesterday"),
        ("at 4:06pm", at(29, 16, 6), at(29, 16, 11), "at 16:06 yesterday"),
        ("at 4:05 pm", NOW, NOW, "at 16:05"),
        ("between 9 and 11am", at(30, 9), at(30, 11), "between 09:00 and 11:00"),
        ("between 10 and 2pm", at(30, 10), at(30, 14), "between 10:00 and 14:00"),
        ("between 10 and 2 p.m.", at(30, 10), at(30, 14), "between 10:00 and 14:00"),
        ("between 1 and 3 pm", at(30, 13), at(30, 15), "between 13:00 and 15:00"),
        ("between 9pm and 11pm", at(29, 21), at(29, 23), "between 21:00 and 23:00"),
        ("between 11pm and 1am", at(29, 23), at(30, 1), "between 23:00 and 01:00"),
        ("between 22:00 and 02:00", at(29, 22), at(30, 2), "between 22:00 and 02:00"),
        ("between 14:00 and 15:30", at(30, 14), at(30, 15, 30), "between 14:00 and 15:30"),
        ("between 14:00 and 15:30 yesterday", at(29, 14), at(29, 15, 30),
         "between 14:00 and 15:30 yesterday"),
        ("between 17:00 and 18:00", at(29, 17), at(29, 18), "between 17:00 and 18:00"),
        ("between midnight and noon", at(30, 0), at(30, 12), "between midnight and 12:00"),
    ],
)  # fmt: skip
def test_clock_times_and_ranges(text: str, start: float, end: float, label: str):
    [found] = find_time_spans(text, NOW, UTC)
    assert (found.span.start, found.span.end, found.span.label) == (start, end, label)


@pytest.mark.parametrize(
    "text", ["at 0am", "at 13pm", "at 9:60", "at 24:00", "between 9am and 9:60"]
)
def test_clocks_that_are_not_clocks_give_no_span(text: str):
    assert find_time_spans(text, NOW, UTC) == []


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("since today", at(30, 0), NOW, "since today"),
        ("since today at 9am", at(30, 9), NOW, "since today 09:00"),
        ("since 9am yesterday", at(29, 9), NOW, "since 09:00 yesterday"),
        ("since 9 yesterday", at(29, 9), NOW, "since 09:00 yesterday"),
        ("since 3 this afternoon", at(30, 15), NOW, "since 15:00"),
        ("since 12 this afternoon", at(30, 12), NOW, "since 12:00"),
        ("at 3 o'clock this afternoon", at(30, 15), at(30, 15, 5), "at 15:00"),
        ("at 12 o'clock this afternoon", at(30, 12), at(30, 12, 5), "at 12:00"),
        ("at 10 o'clock last night", at(29, 22), at(29, 22, 5), "at 22:00 yesterday"),
        ("between 12 and 3 this afternoon", at(30, 12), at(30, 15), "between 12:00 and 15:00"),
        ("between 2:30 and 4 this afternoon", at(30, 14, 30), at(30, 16),
         "between 14:30 and 16:00"),
        ("between 2 and 4:30 this afternoon", at(30, 14), NOW, "between 14:00 and 16:30"),
    ],
)  # fmt: skip
def test_clocks_with_the_part_of_the_day_they_belong_to(
    text: str, start: float, end: float, label: str
):
    [found] = find_time_spans(text, NOW, UTC)
    assert (found.span.start, found.span.end, found.span.label) == (start, end, label)


TOKYO = ZoneInfo("Asia/Tokyo")  # NOW is 01:05 on Tuesday 1 December there


def jst(day: int, hour: int, minute: int = 0) -> float:
    month = 12 if day == 1 else 11
    return datetime(2026, month, day, hour, minute, tzinfo=TOKYO).timestamp()


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("since 9am", jst(30, 9), NOW, "since 09:00 yesterday"),
        ("since today", jst(1, 0), NOW, "since today"),
        ("since yesterday", jst(30, 0), NOW, "since yesterday"),
        ("since 9am yesterday", jst(30, 9), NOW, "since 09:00 yesterday"),
        ("since 3 this afternoon", jst(30, 15), NOW, "since 15:00 yesterday"),
        ("since November 28", jst(28, 0), NOW, "since Nov 28"),
        ("at 9am", jst(30, 9), jst(30, 9, 5), "at 09:00 yesterday"),
        ("at 10 o'clock last night", jst(30, 22), jst(30, 22, 5), "at 22:00 yesterday"),
        ("overnight", jst(30, 22), NOW, "overnight (22:00 to 06:00)"),
        ("on November 28", jst(28, 0), jst(29, 0), "Nov 28"),
        ("on December 1", jst(1, 0), NOW, "Dec 1"),  # today there, tomorrow in UTC
        ("the 28th", jst(28, 0), jst(29, 0), "Nov 28"),
        ("yesterday", jst(30, 0), jst(1, 0), "yesterday"),
        ("today", jst(1, 0), NOW, "today"),
        ("this morning", jst(1, 0), NOW, "this morning"),
        ("last night", jst(30, 18), NOW, "last night"),
        ("between 9 and 11am", jst(30, 9), jst(30, 11), "between 09:00 and 11:00"),
        ("between 2 and 4 this afternoon", jst(30, 14), jst(30, 16), "between 14:00 and 16:00"),
    ],
)  # fmt: skip
def test_clock_times_are_read_in_the_askers_time_zone(
    text: str, start: float, end: float, label: str
):
    [found] = find_time_spans(text, NOW, TOKYO)
    assert (found.span.start, found.span.end, found.span.label) == (start, end, label)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("at midday", at(30, 12), at(30, 12, 5), "at 12:00"),
        # "11" before "1pm" is the morning's: a range does not run backwards
        ("between 11 and 1pm", at(30, 11), at(30, 13), "between 11:00 and 13:00"),
        ("the 1st", at(1, 0), at(2, 0), "Nov 1"),
        ("since November 28, 2025", utc(2025, 11, 28), NOW, "since Nov 28 2025"),
        ("on 28 Nov 2025", utc(2025, 11, 28), utc(2025, 11, 29), "Nov 28 2025"),
        # the longest range there is: a hundred years of 365 days
        ("over 36500 days", NOW - 36_500 * 86_400, NOW, "the last 36500 days"),
    ],
)
def test_dates_and_ranges_at_their_edges(text: str, start: float, end: float, label: str):
    [found] = find_time_spans(text, NOW, UTC)
    assert (found.span.start, found.span.end, found.span.label) == (start, end, label)


def test_a_range_longer_than_a_hundred_years_is_no_range():
    assert find_time_spans("over 36501 days", NOW, UTC) == []


def test_a_date_of_last_year_says_its_year_in_the_askers_zone():
    """At 16:05 UTC on 31 December it is already 1 January 2027 in Tokyo: 31 December is
    last year's there."""
    now = datetime(2026, 12, 31, 16, 5, tzinfo=UTC).timestamp()
    [found] = find_time_spans("on December 31", now, TOKYO)
    start = datetime(2026, 12, 31, tzinfo=TOKYO).timestamp()
    assert (found.span.start, found.span.end, found.span.label) == (
        start,
        start + 86_400,
        "Dec 31 2026",
    )


@pytest.mark.parametrize("text", ["for a day", "over an hour"])
def test_a_stretch_said_without_a_number_is_no_range(text: str):
    """ "for a day" is how long something lasted, not the last day."""
    assert find_time_spans(text, NOW, UTC) == []
