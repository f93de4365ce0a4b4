"""The answer writers' wording: units, differences, plurals, places, time phrases."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from agent_bruno.agent.compose.fmt import (
    Formatter,
    join,
    label,
    over,
    place,
    plural,
    range_words,
)

NOW = datetime(2026, 11, 26, 14, 20, tzinfo=UTC).timestamp()
TZ = ZoneInfo("UTC")


def fmt(unit: str | None = None) -> Formatter:
    return Formatter(NOW, TZ, unit)


@pytest.mark.parametrize(
    ("asked", "value", "unit", "metric", "expected"),
    [
        (None, 21.5, "°C", "temperature", "21.5 °C"),
        ("°C", 21.5, "°C", "temperature", "21.5 °C"),
        ("°F", 21.5, "°C", "temperature", "70.7 °F"),
        ("°F", -40.0, "°C", "temperature", "-40.0 °F"),
        ("K", 21.5, "°C", "temperature", "294.7 K"),  # kelvin like °C: 1 decimal
        (None, None, "°C", "temperature", "no value"),
        (None, 41.0, "%", "humidity", "41.0 %"),
    ],
)
def test_values_are_shown_in_the_asked_unit(asked, value, unit, metric, expected):
    assert fmt(asked).value(value, unit, metric) == expected


def test_a_unit_that_does_not_apply_keeps_the_value_and_says_so_once():
    f = fmt("°F")
    assert f.value(41.0, "%", "humidity") == "41.0 %"
    assert f.value(43.0, "%", "humidity") == "43.0 %"
    assert f.notes == ["°F does not apply to humidity; shown in %"]


@pytest.mark.parametrize(
    ("asked", "difference", "expected"),
    [
        (None, 13.4, "13.4 °C"),
        (None, -13.4, "13.4 °C"),  # the sign is the caller's ("+", "−", warmer/colder)
        # Regression (mutation check): a difference scales, it does not shift by 32 °F:
        # 13.4 °C apart is 24.1 °F apart, not 56.1 °F.
        ("°F", 13.4, "24.1 °F"),
        ("°F", -13.4, "24.1 °F"),
        ("K", 13.4, "13.4 K"),  # kelvin and Celsius differences are the same size
    ],
)
def test_differences_scale_between_units_without_the_offset(asked, difference, expected):
    assert fmt(asked).delta(difference, "°C", "temperature") == expected


def test_a_difference_in_a_unit_that_does_not_apply_stays_in_its_own():
    assert fmt("°F").delta(-2.5, "%", "humidity") == "2.5 %"


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        ("the last hour", "over the last hour"),
        ("the past 3 days", "over the past 3 days"),
        ("last week", "over last week"),
        ("this week", "over this week"),
        ("the weekend", "over the weekend"),
        # Regression: "6 anomalies in since 09:00", "No anomalies in today".
        ("since 09:00", "since 09:00"),
        ("between 09:00 and 10:00", "between 09:00 and 10:00"),
        ("today", "today"),
        ("yesterday", "yesterday"),
        ("Monday", "on Monday"),
        ("Nov 3", "on Nov 3"),
    ],
)
def test_time_phrases_read_as_english_after_a_value(span, expected):
    assert over(span) == expected


def test_range_words_default_when_the_question_named_no_range():
    assert range_words({}) == "the last hour"
    assert range_words({}, "the last 24 hours") == "the last 24 hours"
    assert range_words({"span": {"label": "yesterday"}}) == "yesterday"


@pytest.mark.parametrize(
    ("n", "one", "many", "expected"),
    [
        (0, "anomaly", "anomalies", "0 anomalies"),
        (1, "anomaly", "anomalies", "1 anomaly"),
        (6, "anomaly", "anomalies", "6 anomalies"),
        (1, "node", None, "1 node"),
        (2, "node", None, "2 nodes"),
        (0, "event", None, "0 events"),
    ],
)
def test_plurals(n, one, many, expected):
    assert plural(n, one, many) == expected


@pytest.mark.parametrize(
    ("words", "expected"),
    [([], ""), (["a"], "a"), (["a", "b"], "a and b"), (["a", "b", "c"], "a, b and c")],
)
def test_lists_in_english(words, expected):
    assert join(words) == expected


def test_metric_labels_and_places():
    assert label("co2") == "CO2"
    assert label("cpu_percent") == "CPU"
    assert label("wind_speed") == "wind speed"  # an unlabelled metric, readable
    assert label(None) == "readings"
    item = {"location": "warehouse", "node": "pi-node-1", "sensor": "dht22-1"}
    assert place(item) == "warehouse, pi-node-1 (dht22-1)"
    assert place(item, sensor=False) == "warehouse, pi-node-1"
    assert place({**item, "sensor": None}) == "warehouse, pi-node-1"


def test_times_freshness_and_durations():
    f = fmt()
    assert f.fresh(NOW - 180) == "as of 14:17, 3 min ago"
    assert f.fresh(None) == "time unknown"
    assert f.clock(NOW - 86_400) == "yesterday 14:20"
    assert f.age(NOW - 180) == "3 min ago"
    assert f.duration(30) == "under a minute"
    assert f.duration(480) == "8 min"
    assert f.duration(3 * 3600) == "3 h"


def test_a_value_is_stale_after_three_missed_aggregates():
    f = fmt()
    assert not f.stale(NOW - 900)
    assert f.stale(NOW - 901)
    assert f.stale(None)
