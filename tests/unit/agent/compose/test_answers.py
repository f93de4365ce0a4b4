"""The wording of each answer shape, from tool results as the tools return them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent_bruno.agent.compose import readings, status, values
from agent_bruno.agent.compose.fmt import Formatter

NOW = datetime(2026, 11, 26, 14, 20, tzinfo=UTC).timestamp()
TZ = ZoneInfo("UTC")
SINCE_9 = {"span": {"label": "since 09:00"}}
TODAY = {"span": {"label": "today"}}


def fmt(unit: str | None = None) -> Formatter:
    return Formatter(NOW, TZ, unit)


def flag(i: int, severity: str = "warning", **extra: Any) -> dict[str, Any]:
    return {"ts": NOW - 600 * (i + 1), "severity": severity, "metric": "temperature",
            "value": 31.5, "unit": "°C", "node": "pi-node-1", "location": "warehouse",
            "sensor": "dht22-1", "reason": "4.1σ above the baseline", **extra}  # fmt: skip


def flagged(rows: list[dict[str, Any]], **filters: Any) -> dict[str, Any]:
    counts = {s: sum(1 for r in rows if r["severity"] == s) for s in ("critical", "warning")}
    return {"counts": counts, "total": len(rows), "filters": filters, "anomalies": rows}


def series(node: str, location: str, **extra: Any) -> dict[str, Any]:
    return {"node": node, "location": location, "sensor": "dht22-1", "metric": "temperature",
            "unit": "°C", "latest": 21.0, "latest_ts": NOW - 120, "count": 12, "mean": 20.0,
            "min": 18.0, "max": 23.0, **extra}  # fmt: skip


@pytest.mark.parametrize(
    ("hints", "expected"),
    [
        ({}, "No anomalies over the last 24 hours."),
        (TODAY, "No anomalies today."),  # regression: "No anomalies in today"
        (SINCE_9, "No anomalies since 09:00."),
    ],
)
def test_no_anomalies(hints, expected):
    assert status.anomalies(fmt(), flagged([]), hints) == expected


def test_no_critical_anomalies_in_a_place():
    data = flagged([], severity="critical", location="warehouse")
    assert status.anomalies(fmt(), data, {}) == (
        "No critical anomalies over the last 24 hours (location warehouse)."
    )


def test_anomalies_counted_by_severity_then_listed():
    rows = [flag(0, "critical"), *(flag(i) for i in range(1, 6))]
    text = status.anomalies(fmt(), flagged(rows), SINCE_9)
    lines = text.split("\n")
    # Regression: "6 anomalies in since 09:00".
    assert lines[0] == "6 anomalies since 09:00: 1 critical and 5 warnings."
    assert lines[1] == (
        "- 14:10 critical: temperature 31.5 °C on pi-node-1 (warehouse, dht22-1): "
        "4.1σ above the baseline"
    )
    assert len(lines) == 7


def test_one_anomaly_of_the_asked_severity():
    text = status.anomalies(fmt(), flagged([flag(0, "critical")], severity="critical"), {})
    assert text.split("\n")[0] == ("1 anomaly over the last 24 hours, the only one is critical.")


def test_a_dropout_has_no_value_and_the_asked_unit_applies():
    rows = [flag(0, value=None), flag(1)]
    text = status.anomalies(fmt("°F"), flagged(rows), {})
    assert "temperature no reading (dropout) on pi-node-1" in text
    assert "temperature 88.7 °F on pi-node-1" in text


def test_a_long_list_is_cut_and_says_how_many_more():
    rows = [flag(i) for i in range(30)]
    lines = status.anomalies(fmt(), flagged(rows), {}).split("\n")
    assert len(lines) == 1 + status.MAX_LISTED + 1
    assert lines[-1] == "… and 5 more not listed here."


def test_two_places_compared_with_the_difference_in_the_asked_unit():
    a = {"filters": {"location": "warehouse"}, "series": [series("pi-node-1", "warehouse",
         latest=35.2)]}  # fmt: skip
    b = {"filters": {"location": "office"}, "series": [series("pi-node-2", "office",
         latest=21.8)]}  # fmt: skip
    text = readings.compare(fmt("°F"), [a, b], {})
    # Regression (mutation check): 13.4 °C apart is 24.1 °F apart, not 56.1 °F; the difference
    # is that of the values shown (95.4 - 71.2), so a reader's subtraction agrees.
    assert text.split("\n")[0] == (
        "warehouse is warmer than office: 95.4 °F vs 71.2 °F, a difference of 24.2 °F "
        "(latest readings)."
    )
    colder = readings.compare(fmt(), [b, a], {}).split("\n")[0]
    assert colder.startswith("office is colder than warehouse: 21.8 °C vs 35.2 °C")
    assert "a difference of 13.4 °C" in colder


def test_places_reading_the_same_say_so():
    a = {"filters": {"location": "warehouse"}, "series": [series("pi-node-1", "warehouse")]}
    b = {"filters": {"location": "office"}, "series": [series("pi-node-2", "office")]}
    assert readings.compare(fmt(), [a, b], {}).startswith(
        "warehouse and office read the same temperature: 21.0 °C (latest readings)."
    )


def test_places_with_no_shared_metric_cannot_be_compared():
    a = {"filters": {"location": "warehouse"}, "series": [series("pi-node-1", "warehouse")]}
    b = {"filters": {"location": "office"}, "series": []}
    assert readings.compare(fmt(), [a, b], {}) == (
        "Not enough data to compare warehouse and office: they share no metric with data."
    )


def test_now_against_yesterday_with_a_signed_difference_in_fahrenheit():
    now = {"filters": {"location": "warehouse", "metric": "temperature"},
           "series": [series("pi-node-1", "warehouse", latest=25.0)]}  # fmt: skip
    then = {"filters": {"location": "warehouse", "metric": "temperature"},
            "series": [series("pi-node-1", "warehouse", mean=30.0)]}  # fmt: skip
    text = readings.compare_time(fmt("°F"), [now, then], {"periods": ["now", "yesterday"]})
    assert text == (
        "Temperature in warehouse, now vs yesterday:\n"
        "- warehouse, pi-node-1 (dht22-1): 77.0 °F as of 14:18, 2 min ago vs avg 86.0 °F "
        "yesterday (−9.0 °F)"
    )


def test_a_period_without_data_is_said_not_guessed():
    now = {"filters": {"location": "warehouse"}, "series": [series("pi-node-1", "warehouse")]}
    then = {"filters": {"location": "warehouse"}, "series": []}
    text = readings.compare_time(fmt(), [now, then], {"periods": ["now", "last week"]})
    assert text.endswith(
        "- warehouse, pi-node-1 (dht22-1): not enough data in both periods to compare"
    )


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"metric": "temperature", "location": "warehouse"}, "Temperature in warehouse"),
        ({"metric": "cpu_percent", "node": "pi-node-3"}, "CPU on pi-node-3"),
        ({"metric": "humidity", "node": "pi-node-1", "sensor": "dht22-1"},
         "Humidity on pi-node-1's dht22-1"),
        ({}, "Readings"),
    ],
)  # fmt: skip
def test_what_an_answer_is_about(filters, expected):
    assert values.subject(filters) == expected


def test_latest_values_say_how_fresh_or_how_stale():
    f = fmt()
    assert values.latest(f, series("pi-node-1", "warehouse")) == "21.0 °C, as of 14:18, 2 min ago"
    stale = series("pi-node-1", "warehouse", latest_ts=NOW - 7200)
    assert values.latest(f, stale) == "no reading since 12:20 (2 h ago; last 21.0 °C)"
    assert values.latest(f, series("pi-node-1", "warehouse", latest=None)) == "no reading stored"


def test_node_lines_give_status_reasons_numbers_and_workloads():
    f = fmt()
    node = {"node": "pi-node-3", "location": "server-room", "status": "warning",
            "reasons": ["CPU 97% above 90%"], "health": {"cpu_percent": 97.0},
            "last_heartbeat": NOW - 30, "workloads": ["edge-reporter", "frigate"]}  # fmt: skip
    assert status.node_line(f, node) == (
        "- pi-node-3 (server-room): warning (CPU 97% above 90%); CPU 97.0 %; "
        "last heartbeat 14:19 (just now); runs edge-reporter, frigate"
    )
    offline = {**node, "status": "offline", "last_heartbeat": NOW - 7200, "workloads": []}
    assert status.node_line(f, offline) == (
        "- pi-node-3 (server-room): offline: last heartbeat 12:20 (2 h ago)"
    )
