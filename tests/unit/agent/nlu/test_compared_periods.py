"""What a comparison over time compares when the question names only the other period: a
stretch running to now with the same stretch before it, a past day with today so far (in the
asker's time zone), anything else with the latest value."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from agent_bruno.agent.nlu.periods import compared_periods

NOW = datetime(2026, 11, 30, 16, 5, tzinfo=UTC).timestamp()
HOUR = 3600.0
TOKYO = ZoneInfo("Asia/Tokyo")  # NOW is 01:05 on 1 December there


def test_a_stretch_to_now_is_compared_with_the_stretch_before_it():
    asked, before = compared_periods({"start": NOW - 36 * HOUR, "end": NOW}, NOW, UTC)
    assert asked == {"start": NOW - 36 * HOUR, "end": NOW, "label": "the last 36 hours"}
    assert before == {"start": NOW - 72 * HOUR, "end": NOW - 36 * HOUR,
                      "label": "the 36 hours before"}  # fmt: skip
    asked, before = compared_periods({"start": NOW - 24 * HOUR, "end": NOW}, NOW, UTC)
    assert (asked["label"], before["label"]) == ("the last 1 day", "the 1 day before")
    # a range ending a minute ago still runs to now
    asked, _ = compared_periods({"start": NOW - 7 * 24 * HOUR, "end": NOW - 60}, NOW, UTC)
    assert asked == {"start": NOW - 7 * 24 * HOUR + 60, "end": NOW, "label": "the last 168 hours"}


def test_yesterday_is_compared_with_today_so_far_in_the_askers_zone():
    midnight = datetime(2026, 12, 1, tzinfo=TOKYO).timestamp()
    yesterday = {"start": midnight - 24 * HOUR, "end": midnight, "label": "yesterday"}
    asked, other = compared_periods(yesterday, NOW, TOKYO)
    assert asked == {"start": midnight, "end": NOW, "label": "today so far"}
    assert other == yesterday


def test_another_past_range_is_compared_with_the_latest_value():
    monday_morning = {"start": NOW - 30 * HOUR, "end": NOW - 27 * HOUR, "label": "x"}
    assert compared_periods(monday_morning, NOW, UTC) == (None, monday_morning)
