"""Time expressions: spans found in questions, tool-argument times, clock and age wording."""

from __future__ import annotations

import random
import string
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from agent_bruno.agent.nlu.timeexpr import find_time_span, parse_time_arg
from agent_bruno.agent.nlu.timefmt import format_age, format_clock
from agent_bruno.agent.nlu.timespans import TimeSpan

TZ = ZoneInfo("Europe/Berlin")


def local(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=TZ).timestamp()


NOW = local(11, 26, 14, 30)
H = 3600.0
D = 86_400.0


@pytest.mark.parametrize(
    ("text", "start", "label"),
    [
        ("last hour", NOW - H, "the last hour"),
        ("past hour", NOW - H, "the past hour"),
        ("the last hour", NOW - H, "the last hour"),
        ("in the last 2 hours", NOW - 2 * H, "the last 2 hours"),
        ("last 15 minutes", NOW - 900, "the last 15 minutes"),
        ("past 30 minutes", NOW - 1800, "the past 30 minutes"),
        ("last 90 min", NOW - 5400, "the last 90 minutes"),
        ("last 24h", NOW - 24 * H, "the last 24 hours"),
        ("past 24 hours", NOW - 24 * H, "the past 24 hours"),
        ("last 3 days", NOW - 3 * D, "the last 3 days"),
        ("past 30 days", NOW - 30 * D, "the past 30 days"),
        ("over the past week", NOW - 7 * D, "the past week"),
        ("last week", NOW - 7 * D, "last week"),
        ("last 2 weeks", NOW - 14 * D, "the last 2 weeks"),
        ("last month", NOW - 30 * D, "last month"),
        ("in the last day", NOW - D, "the last day"),
        ("the last day", NOW - D, "the last day"),
        ("past day", NOW - D, "the past day"),
        ("2 hours ago", NOW - 2 * H, "the last 2 hours"),
        ("an hour ago", NOW - H, "the last hour"),
        ("last 5m", NOW - 300, "the last 5 minutes"),
        ("past 1h", NOW - H, "the past hour"),
        ("in the last 7d", NOW - 7 * D, "the last 7 days"),
        ("last 90s", NOW - 90, "the last 90 seconds"),
        ("last 1.5 hours", NOW - 1.5 * H, "the last 1.5 hours"),
        ("last two hours", NOW - 2 * H, "the last 2 hours"),
        ("past three days", NOW - 3 * D, "the past 3 days"),
        ("within the last twelve hours", NOW - 12 * H, "the last 12 hours"),
        ("in the last half hour", NOW - 1800, "the last half hour"),
        ("past half an hour", NOW - 1800, "the past half hour"),
    ],
)
def test_relative_windows_end_now(text: str, start: float, label: str) -> None:
    found = find_time_span(text, NOW, TZ)
    assert found is not None
    assert found.span == TimeSpan(start, NOW, label)


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("today", local(11, 26), NOW, "today"),
        ("yesterday", local(11, 25), local(11, 26), "yesterday"),
        ("since yesterday", local(11, 25), NOW, "since yesterday"),
        ("since 9am", local(11, 26, 9), NOW, "since 09:00"),
        ("since 9 am", local(11, 26, 9), NOW, "since 09:00"),
        ("since 9:30", local(11, 26, 9, 30), NOW, "since 09:30"),
        ("since 09:00", local(11, 26, 9), NOW, "since 09:00"),
        ("since 2 p.m.", local(11, 26, 14), NOW, "since 14:00"),
        ("since noon", local(11, 26, 12), NOW, "since 12:00"),
        ("since midnight", local(11, 26), NOW, "since midnight"),
        ("since 3pm", local(11, 25, 15), NOW, "since 15:00 yesterday"),
        ("since Nov 24", local(11, 24), NOW, "since Nov 24"),
        ("since 24th November", local(11, 24), NOW, "since Nov 24"),
        ("since 2026-11-01", local(11, 1), NOW, "since Nov 1"),
        ("since Dec 1", local(12, 1, year=2025), NOW, "since Dec 1 2025"),
        ("this morning", local(11, 26, 6), local(11, 26, 12), "this morning"),
        ("this afternoon", local(11, 26, 12), NOW, "this afternoon"),
        ("this evening", local(11, 25, 18), local(11, 26), "yesterday evening"),
        ("tonight", local(11, 25, 18), local(11, 26), "yesterday evening"),
        ("yesterday afternoon", local(11, 25, 12), local(11, 25, 18), "yesterday afternoon"),
        ("last night", local(11, 25, 18), local(11, 26, 6), "last night"),
        ("between 9am and 11am", local(11, 26, 9), local(11, 26, 11), "between 09:00 and 11:00"),
        ("from 9am to 11am", local(11, 26, 9), local(11, 26, 11), "between 09:00 and 11:00"),
        ("from 9 to 11am", local(11, 26, 9), local(11, 26, 11), "between 09:00 and 11:00"),
        ("from 11 to 1pm", local(11, 26, 11), local(11, 26, 13), "between 11:00 and 13:00"),
        ("between 13:00 and 16:00", local(11, 26, 13), NOW, "between 13:00 and 16:00"),
        ("between 22:00 and 02:00", local(11, 25, 22), local(11, 26, 2), "between 22:00 and 02:00"),
    ],
)
def test_calendar_spans_are_local(text: str, start: float, end: float, label: str) -> None:
    found = find_time_span(text, NOW, TZ)
    assert found is not None
    assert found.span == TimeSpan(start, end, label)


@pytest.mark.parametrize(
    ("now", "text", "start", "end", "label"),
    [
        (local(11, 26, 4), "this morning", local(11, 26), local(11, 26, 4), "this morning"),
        (local(11, 26, 9), "this morning", local(11, 26, 6), local(11, 26, 9), "this morning"),
        (local(11, 26, 20), "tonight", local(11, 26, 18), local(11, 26, 20), "tonight"),
        (local(11, 26, 3), "last night", local(11, 25, 18), local(11, 26, 3), "last night"),
    ],
)
def test_parts_of_day_are_clipped_to_now(
    now: float, text: str, start: float, end: float, label: str
) -> None:
    found = find_time_span(text, now, TZ)
    assert found is not None
    assert found.span == TimeSpan(start, end, label)


def test_yesterday_is_a_local_day_across_a_dst_change() -> None:
    now = local(3, 30, 10)
    found = find_time_span("yesterday", now, TZ)
    assert found is not None
    assert found.span.end - found.span.start == 23 * H


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        ("What was the temperature in the warehouse over the past week?", "over the past week"),
        ("How did CO2 change in the last 2 hours, compared with yesterday?", "in the last 2 hours"),
        ("MAX TEMP SINCE 9AM!!", "SINCE 9AM"),
        ("motion (last 15 minutes)?", "last 15 minutes"),
        ("was pi-node-3 hot since yesterday?", "since yesterday"),
    ],
)
def test_match_indices_cover_the_expression(text: str, expression: str) -> None:
    found = find_time_span(text, NOW, TZ)
    assert found is not None
    assert text[found.start_index : found.end_index] == expression


@pytest.mark.parametrize(
    "text",
    [
        "What's the temperature in the warehouse?",
        "",
        "hourly stats for pi-node-3",
        "is the weekend-room humid?",
        "show the yesterday-lab sensor",
        "the last reading from the kitchen",
        "in the past, was it colder?",
        "last 0 hours",
        "last 99999999999999999999999 days",
        "since 25:00",
        "since 13pm",
        "since Feb 30",
        "between 9 and 11 degrees",
        "last am",
    ],
)
def test_no_time_expression(text: str) -> None:
    assert find_time_span(text, NOW, TZ) is None


def test_random_text_never_raises() -> None:
    rng = random.Random(7)
    words = ["last", "past", "since", "between", "and", "to", "ago", "9am", "12:61", "half"]
    words += ["hour", "days", "h", "m", "yesterday", "tonight", "Nov", "31", "2026-02-30", "-"]
    alphabet = string.printable + "°–é"
    for _ in range(2000):
        if rng.random() < 0.5:
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        else:
            text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
        found = find_time_span(text, NOW, TZ)
        if found is not None:
            assert found.span.start <= found.span.end
            assert 0 <= found.start_index < found.end_index <= len(text)


def test_shifted_keeps_the_width() -> None:
    span = TimeSpan(NOW - H, NOW, "the last hour")
    assert span.shifted(D, "the same time yesterday") == TimeSpan(
        NOW - H - D, NOW - D, "the same time yesterday"
    )


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("2026-11-26T09:00:00Z", local(11, 26, 10), local(11, 26, 10)),
        ("2026-11-26T09:00:00+01:00", local(11, 26, 9), local(11, 26, 9)),
        ("2026-11-26T09:00:00 01:00", local(11, 26, 9), local(11, 26, 9)),
        ("2026-11-26T09:00:00", local(11, 26, 9), local(11, 26, 9)),
        ("2026-11-26", local(11, 26), local(11, 27)),
        ("1732610000", 1732610000.0, 1732610000.0),
        ("1732610000.5", 1732610000.5, 1732610000.5),
        ("-90s", NOW - 90, NOW - 90),
        ("-15m", NOW - 900, NOW - 900),
        ("-1h", NOW - H, NOW - H),
        ("-30d", NOW - 30 * D, NOW - 30 * D),
        (" now ", NOW, NOW),
        ("last hour", NOW - H, NOW),
        ("Yesterday", local(11, 25), local(11, 26)),
        ("since 9am", local(11, 26, 9), NOW),
    ],
)
def test_parse_time_arg(value: str, start: float, end: float) -> None:
    assert parse_time_arg(value, NOW, TZ, role="start") == start
    assert parse_time_arg(value, NOW, TZ, role="end") == end


@pytest.mark.parametrize(
    "value", ["", "soon", "last hour in the kitchen", "2026-13-01", "nan", "inf", "-1y", "12:61"]
)
def test_parse_time_arg_names_the_value_and_the_accepted_forms(value: str) -> None:
    with pytest.raises(ValueError, match="ISO-8601") as info:
        parse_time_arg(value, NOW, TZ, role="start")
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (local(11, 26, 14, 20), "14:20"),
        (local(11, 26, 0, 5), "00:05"),
        (local(11, 25, 23, 59), "yesterday 23:59"),
        (local(11, 24, 14, 20), "Nov 24 14:20"),
        (local(12, 31, 8, 0, year=2025), "Dec 31 2025 08:00"),
    ],
)
def test_format_clock(ts: float, expected: str) -> None:
    assert format_clock(ts, NOW, TZ) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-5, "just now"),
        (0, "just now"),
        (59.9, "just now"),
        (60, "1 min ago"),
        (150, "3 min ago"),
        (89 * 60, "89 min ago"),
        (90 * 60, "2 h ago"),
        (5 * H, "5 h ago"),
        (35 * H, "35 h ago"),
        (36 * H, "2 days ago"),
        (10 * D, "10 days ago"),
        (float("nan"), "just now"),
    ],
)
def test_format_age(seconds: float, expected: str) -> None:
    assert format_age(seconds) == expected


# NOW is Thursday 2026-11-26 14:30 Berlin; that Monday is Nov 23.
@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("the day before yesterday", local(11, 24), local(11, 25), "the day before yesterday"),
        ("day before yesterday", local(11, 24), local(11, 25), "the day before yesterday"),
        (
            "since the day before yesterday",
            local(11, 24),
            NOW,
            "since the day before yesterday",
        ),
        ("on monday", local(11, 23), local(11, 24), "Monday"),
        ("on Monday", local(11, 23), local(11, 24), "Monday"),
        ("last monday", local(11, 23), local(11, 24), "Monday"),
        ("on last Monday", local(11, 23), local(11, 24), "Monday"),
        ("on thursday", local(11, 19), local(11, 20), "Thursday"),
        ("last thursday", local(11, 19), local(11, 20), "Thursday"),
        ("on friday", local(11, 20), local(11, 21), "Friday"),
        ("since monday", local(11, 23), NOW, "since Monday"),
        ("since Sunday", local(11, 22), NOW, "since Sunday"),
        ("since thursday", local(11, 26), NOW, "since Thursday"),
        ("since last thursday", local(11, 19), NOW, "since Thursday"),
        ("this week", local(11, 23), NOW, "this week"),
        ("this month", local(11, 1), NOW, "this month"),
        ("on the 21st", local(11, 21), local(11, 22), "Nov 21"),
        ("the 21st", local(11, 21), local(11, 22), "Nov 21"),
        ("on the 26th", local(11, 26), NOW, "Nov 26"),
        ("on the 27th", local(10, 27), local(10, 28), "Oct 27"),
        ("on the 21st of November", local(11, 21), local(11, 22), "Nov 21"),
        ("on nov 21", local(11, 21), local(11, 22), "Nov 21"),
        ("on Nov. 21st", local(11, 21), local(11, 22), "Nov 21"),
        ("on 21 november", local(11, 21), local(11, 22), "Nov 21"),
        ("on 2026-11-21", local(11, 21), local(11, 22), "Nov 21"),
        ("for 2025-12-24", local(12, 24, year=2025), local(12, 25, year=2025), "Dec 24 2025"),
        ("on Dec 24", local(12, 24, year=2025), local(12, 25, year=2025), "Dec 24 2025"),
        ("between 9 and 11", local(11, 26, 9), local(11, 26, 11), "between 09:00 and 11:00"),
        ("from 9 to 11", local(11, 26, 9), local(11, 26, 11), "between 09:00 and 11:00"),
        ("from 9:30 to 11", local(11, 26, 9, 30), local(11, 26, 11), "between 09:30 and 11:00"),
        (
            "between 9 and 11 this morning",
            local(11, 26, 9),
            local(11, 26, 11),
            "between 09:00 and 11:00",
        ),
        ("between 9 and 11 today", local(11, 26, 9), local(11, 26, 11), "between 09:00 and 11:00"),
        (
            "between 9 and 11 yesterday",
            local(11, 25, 9),
            local(11, 25, 11),
            "between 09:00 and 11:00",
        ),
        ("between 10 and 2", local(11, 26, 10), local(11, 26, 14), "between 10:00 and 14:00"),
        ("between 1 and 3 this afternoon", local(11, 26, 13), NOW, "between 13:00 and 15:00"),
        ("between 15 and 17", local(11, 25, 15), local(11, 25, 17), "between 15:00 and 17:00"),
        ("between 22 and 2", local(11, 25, 22), local(11, 26, 2), "between 22:00 and 02:00"),
    ],
)
def test_days_weekdays_dates_and_bare_hour_ranges(
    text: str, start: float, end: float, label: str
) -> None:
    found = find_time_span(text, NOW, TZ)
    assert found is not None
    assert found.span == TimeSpan(start, end, label)


@pytest.mark.parametrize(
    ("now", "text", "start", "end", "label"),
    [
        (local(11, 23, 10), "on monday", local(11, 16), local(11, 17), "Monday"),
        (local(11, 23, 10), "since monday", local(11, 23), local(11, 23, 10), "since Monday"),
        (local(11, 23, 10), "this week", local(11, 23), local(11, 23, 10), "this week"),
        (local(3, 5), "the 31st", local(1, 31), local(2, 1), "Jan 31"),
        (
            local(1, 5),
            "on the 20th",
            local(12, 20, year=2025),
            local(12, 21, year=2025),
            "Dec 20 2025",
        ),
        (
            local(3, 30, 10),
            "day before yesterday",
            local(3, 28),
            local(3, 29),
            "the day before yesterday",
        ),
    ],
)
def test_weekdays_and_month_days_at_other_times(
    now: float, text: str, start: float, end: float, label: str
) -> None:
    found = find_time_span(text, now, TZ)
    assert found is not None
    assert found.span == TimeSpan(start, end, label)


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        ("was it hot between 9 and 11 this morning?", "between 9 and 11 this morning"),
        ("what happened on Monday in the lab?", "on Monday"),
        ("humidity the day before yesterday", "the day before yesterday"),
        ("max CO2 since Monday, please", "since Monday"),
        ("what was the peak on the 21st?", "on the 21st"),
        ("readings from 9 to 11 in the kitchen", "from 9 to 11"),
        ("warehouse temp this week vs last week", "this week"),
    ],
)
def test_new_expressions_cover_their_words(text: str, expression: str) -> None:
    found = find_time_span(text, NOW, TZ)
    assert found is not None
    assert text[found.start_index : found.end_index] == expression


@pytest.mark.parametrize(
    "text",
    [
        "pi-node-3",
        "what is pi-node-3 reading?",
        "mon",
        "mon temperature",
        "last mon",
        "the sun room",
        "is the sun room warm?",
        "what may cause this",
        "may I see the readings?",
        "on may",
        "monday",
        "Monday report for the lab",
        "is the monday-sensor ok?",
        "the temperature on the 3rd floor",
        "the 2nd sensor in the kitchen",
        "on the 45th",
        "on the 0th",
        "on Feb 30",
        "on 2027-01-01",
        "between 9 and 11%",
        "from 5 to 10 ppm",
        "between 9 and 11 °C",
        "between 9 and 30",
        "this weekend-room",
    ],
)
def test_no_spurious_weekday_month_or_range(text: str) -> None:
    assert find_time_span(text, NOW, TZ) is None


# NOW is Thursday 2026-11-26; the weekend before it is Sat Nov 21 - Mon Nov 23 00:00.
@pytest.mark.parametrize(
    ("now", "text", "start", "end", "label"),
    [
        (NOW, "over the weekend", local(11, 21), local(11, 23), "the weekend"),
        (NOW, "this weekend", local(11, 21), local(11, 23), "the weekend"),
        (NOW, "the weekend", local(11, 21), local(11, 23), "the weekend"),
        (NOW, "last weekend", local(11, 21), local(11, 23), "last weekend"),
        (NOW, "at the weekend", local(11, 21), local(11, 23), "the weekend"),
        (NOW, "on the weekend", local(11, 21), local(11, 23), "the weekend"),
        (NOW, "Over The Weekend", local(11, 21), local(11, 23), "the weekend"),
        (local(11, 23, 0, 5), "the weekend", local(11, 21), local(11, 23), "the weekend"),
        (local(11, 27, 23), "last weekend", local(11, 21), local(11, 23), "last weekend"),
        (local(11, 28, 10), "this weekend", local(11, 28), local(11, 28, 10), "the weekend"),
        (local(11, 29, 20), "over the weekend", local(11, 28), local(11, 29, 20), "the weekend"),
        (local(11, 29, 20), "the weekend", local(11, 28), local(11, 29, 20), "the weekend"),
        (local(11, 28, 10), "last weekend", local(11, 21), local(11, 23), "last weekend"),
        (local(11, 29, 20), "last weekend", local(11, 21), local(11, 23), "last weekend"),
        (local(3, 31, 9), "the weekend", local(3, 28), local(3, 30), "the weekend"),
    ],
)
def test_weekends(now: float, text: str, start: float, end: float, label: str) -> None:
    found = find_time_span(text, now, TZ)
    assert found is not None
    assert found.span == TimeSpan(start, end, label)


def test_a_weekend_across_a_dst_change_is_47_hours() -> None:
    found = find_time_span("last weekend", local(3, 31, 9), TZ)
    assert found is not None
    assert found.span.end - found.span.start == 47 * H


@pytest.mark.parametrize(
    ("text", "start", "label"),
    [
        ("since 8", local(11, 26, 8), "since 08:00"),
        ("since 8 o'clock", local(11, 26, 8), "since 08:00"),
        ("since 8 oclock", local(11, 26, 8), "since 08:00"),
        ("since 8h", local(11, 26, 8), "since 08:00"),
        ("since 14", local(11, 26, 14), "since 14:00"),
        ("since 0", local(11, 26), "since midnight"),
        ("since 16", local(11, 25, 16), "since 16:00 yesterday"),
        ("since 8 today", local(11, 26, 8), "since 08:00"),
        ("since 8 this morning", local(11, 26, 8), "since 08:00"),
        ("since 8 in the kitchen", local(11, 26, 8), "since 08:00"),
        ("since 8 on pi-node-3", local(11, 26, 8), "since 08:00"),
        ("since 8 at the warehouse", local(11, 26, 8), "since 08:00"),
        ("since 8 for the lab", local(11, 26, 8), "since 08:00"),
        ("since 8 and", local(11, 26, 8), "since 08:00"),
        ("since 8?", local(11, 26, 8), "since 08:00"),
        ("since 8, please", local(11, 26, 8), "since 08:00"),
        ("since 8 o'clock sharp", local(11, 26, 8), "since 08:00"),
    ],
)
def test_since_a_bare_hour(text: str, start: float, label: str) -> None:
    found = find_time_span(text, NOW, TZ)
    assert found is not None
    assert found.span == TimeSpan(start, NOW, label)


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        ("max temp since 8?", "since 8"),
        ("max temp since 8 o'clock in the lab", "since 8 o'clock"),
        ("humidity since 14h, please", "since 14h"),
        ("was the lab cold over the weekend?", "over the weekend"),
        ("CO2 last weekend vs this week", "last weekend"),
        ("peak over the last couple of days?", "over the last couple of days"),
        ("motion in the past twenty-four hours", "in the past twenty-four hours"),
    ],
)
def test_weekend_bare_hour_and_number_words_cover_their_words(text: str, expression: str) -> None:
    found = find_time_span(text, NOW, TZ)
    assert found is not None
    assert text[found.start_index : found.end_index] == expression


@pytest.mark.parametrize(
    ("text", "start", "label"),
    [
        ("last thirty days", NOW - 30 * D, "the last 30 days"),
        ("past twenty-four hours", NOW - 24 * H, "the past 24 hours"),
        ("past twenty four hours", NOW - 24 * H, "the past 24 hours"),
        ("last forty eight hours", NOW - 48 * H, "the last 48 hours"),
        ("last forty-eight hours", NOW - 48 * H, "the last 48 hours"),
        ("last ninety-nine minutes", NOW - 99 * 60, "the last 99 minutes"),
        ("last twenty hours", NOW - 20 * H, "the last 20 hours"),
        ("past fifteen minutes", NOW - 900, "the past 15 minutes"),
        ("last nineteen days", NOW - 19 * D, "the last 19 days"),
        ("the last couple of days", NOW - 2 * D, "the last 2 days"),
        ("last couple days", NOW - 2 * D, "the last 2 days"),
        ("over the last a couple of weeks", NOW - 14 * D, "the last 2 weeks"),
        ("past few hours", NOW - 3 * H, "the past 3 hours"),
        ("the last few minutes", NOW - 180, "the last 3 minutes"),
        ("a few hours ago", NOW - 3 * H, "the last 3 hours"),
        ("a couple of days ago", NOW - 2 * D, "the last 2 days"),
        ("thirty minutes ago", NOW - 1800, "the last 30 minutes"),
        ("Last Twenty-Four Hours", NOW - 24 * H, "the last 24 hours"),
    ],
)
def test_number_words_for_amounts(text: str, start: float, label: str) -> None:
    found = find_time_span(text, NOW, TZ)
    assert found is not None
    assert found.span == TimeSpan(start, NOW, label)


@pytest.mark.parametrize(
    "text",
    [
        "a few sensors",
        "thirty sensors",
        "a couple of sensors",
        "twenty-four readings from the lab",
        "the last few readings",
        "last few m",
        "since 8 sensors went offline",
        "since 2 days",
        "since 14 sensors",
        "since 8h sensors",
        "since 24",
        "since 99",
        "since 8.5 hours",
        "the weekend-room",
        "last weekends",
        "weekend",
    ],
)
def test_no_spurious_weekend_bare_hour_or_number_word(text: str) -> None:
    assert find_time_span(text, NOW, TZ) is None
