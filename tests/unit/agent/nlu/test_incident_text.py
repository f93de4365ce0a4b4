"""Incidents in words: what a person says happened, and corrections of it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from agent_bruno.agent.nlu.incidents import at_clock, parse_correction, parse_report

TZ = ZoneInfo("Europe/Lisbon")
NOW = datetime(2026, 11, 30, 16, 5, tzinfo=TZ).timestamp()
PLACES = ["warehouse", "warehouse-b", "server-room"]


def at(hour: int, minute: int, day: int = 30) -> float:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ).timestamp()


@pytest.mark.parametrize(
    ("text", "place", "when", "cause", "status", "metric"),
    [
        ("the 14:23 spike in warehouse-b was an HVAC malfunction, resolved",
         "warehouse-b", at(14, 23), "HVAC malfunction", "resolved", None),
        ("The temperature jump in the warehouse at 9:05 was the heater, still open",
         "warehouse", at(9, 5), "heater", "open", "temperature"),
        ("yesterday 23:40 the co2 in server-room was caused by a door left open. fixed",
         "server-room", at(23, 40, 29), "door left open", "resolved", "co2"),
        ("that spike in warehouse-b was due to a cleaning crew",
         "warehouse-b", NOW, "cleaning crew", "open", None),
        # a cause ending in a one-letter name is kept whole
        ("the 14:23 spike in warehouse-b was a fan failure on rack X",
         "warehouse-b", at(14, 23), "fan failure on rack X", "open", None),
    ],
)  # fmt: skip
def test_reports(text, place, when, cause, status, metric):
    report = parse_report(text, NOW, TZ, PLACES)
    assert report is not None
    assert (report.location, report.at, report.cause, report.status, report.metric) == (
        place, when, cause, status, metric,
    )  # fmt: skip


@pytest.mark.parametrize(
    "text",
    ["what happened in warehouse-b before?", "the 14:23 spike in the kitchen was the oven",
     "warehouse-b was"],
)  # fmt: skip
def test_not_reports(text):
    assert parse_report(text, NOW, TZ, PLACES) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no, it was the door left open", ("door left open", None)),
        ("No it was a blocked vent, resolved", ("blocked vent", "resolved")),
        ("actually it's not resolved", (None, "open")),
        ("nope: a failing fan", ("failing fan", None)),
        ("what runs on pi-node-3?", None),
    ],
)
def test_corrections(text, expected):
    assert parse_correction(text) == expected


TOKYO = ZoneInfo("Asia/Tokyo")  # NOW is 01:05 on 1 December there


@pytest.mark.parametrize(
    ("text", "tz", "when"),
    [
        ("14:23", TZ, at(14, 23)),
        ("17:00", TZ, at(17, 0, day=29)),  # later today is yesterday's
        ("yesterday 14:23", TZ, at(14, 23, day=29)),
        ("14:23", TOKYO, datetime(2026, 11, 30, 14, 23, tzinfo=TOKYO).timestamp()),
        ("yesterday 14:23", TOKYO, datetime(2026, 11, 30, 14, 23, tzinfo=TOKYO).timestamp()),
        ("the spike at 14:23", TZ, None),  # not a clock phrase alone
    ],
)
def test_a_clock_phrase_alone_is_the_latest_such_moment(text: str, tz: ZoneInfo, when):
    assert at_clock(text, NOW, tz) == when
