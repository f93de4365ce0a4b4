"""Items that can never be stored are refused one by one; the rest of the batch is stored.

Issue 7, defects 2 and 3: a poison aggregate made every retry of its batch answer 503 (the
reporter's ordered outbox stuck behind it, the critical in it never stored), and a finite value
of 1e27 was accepted, after which every answer about it failed for as long as it was kept.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from agent_bruno.agent.nlu.units import format_value
from agent_bruno.plausible import BY_METRIC, BY_UNIT, bounds, problem
from agent_bruno.storage.base import EventsWrite, ReadingsWrite, WriteOutcome
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.wire import EVENT_ADAPTER, READING_ADAPTER
from tests.unit.agent.helpers import (
    API_TOKEN,
    NODE1_TOKEN,
    NOW,
    aggregate,
    auth,
    count,
    envelope,
    heartbeat,
    query,
    reading,
)

H1 = auth(NODE1_TOKEN)
HA = auth(API_TOKEN)
HUGE = 1.7e308


def poison_pair(start: float = NOW) -> list[dict[str, object]]:
    """Two aggregates of one series in one 5-minute bucket whose sums overflow to ±inf."""
    return [
        aggregate(1, start=start, count=2, min=HUGE, max=HUGE, mean=HUGE, last=HUGE),
        aggregate(2, start=start, count=2, min=-HUGE, max=-HUGE, mean=-HUGE, last=-HUGE),
    ]


async def test_poison_aggregate_blocks_a_reporter_forever(client, settings):
    """Regression (defect 2): the batch answered 503 on every retry; now the two aggregates
    are rejected by item, the critical beside them is stored, and the retry is a duplicate."""
    batch = envelope([*poison_pair(), reading(1), aggregate(3, start=NOW + 300)])
    r = await client.post("/v1/events", json=batch, headers=H1)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 2
    assert [item["index"] for item in body["rejected"]] == [0, 1]
    assert all(item["id"] in ("a-1", "a-2") for item in body["rejected"])
    assert "physically" in body["rejected"][0]["error"]
    assert query(settings, "SELECT severity FROM anomalies") == [("critical",)]
    assert query(settings, "SELECT count, sum FROM rollup_5m") == [(5, pytest.approx(202.5))]
    again = await client.post("/v1/events", json=batch, headers=H1)
    assert again.status_code == 200
    assert again.json()["duplicates"] == 2


def _events(*items: dict[str, object]) -> EventsWrite:
    events = [EVENT_ADAPTER.validate_python(i) for i in items]
    return EventsWrite("homelab", "pi-node-1", "warehouse", events, time.time())


def test_storage_refuses_an_overflowing_item_alone(tmp_path: Path) -> None:
    """Below ingest's plausibility check (defence in depth): storage arithmetic never
    overflows; the item that would is rejected by position, the others are committed."""
    storage = SqliteStorage(tmp_path / "agent.db")
    storage.open_writer()
    big = {"count": 1, "min": 1e308, "max": 1e308, "mean": 1e308, "last": 1e308}
    try:
        (outcome,) = storage.apply_batch([_events(*poison_pair(), reading(1), heartbeat(1))])
        assert isinstance(outcome, WriteOutcome)
        assert [i for i, _ in outcome.rejected] == [0, 1]
        assert "overflows" in outcome.rejected[0][1]
        assert (outcome.accepted, outcome.heartbeat is not None) == (2, True)
        assert len(storage.list_nodes()) == 1
        # Each finite alone, but the second would overflow the stored sum: the SQL refuses it.
        (first,) = storage.apply_batch([_events(aggregate(8, start=NOW, **big))])
        (second,) = storage.apply_batch([_events(aggregate(9, start=NOW, **big), reading(2))])
        assert isinstance(first, WriteOutcome)
        assert isinstance(second, WriteOutcome)
        assert (first.accepted, first.rejected) == (1, [])
        assert [i for i, _ in second.rejected] == [0]
        assert second.accepted == 1
    finally:
        storage.close_writer()
        storage.close()
    conn = sqlite3.connect(tmp_path / "agent.db")
    sums = [s for (s,) in conn.execute("SELECT sum FROM rollup_5m UNION ALL "
                                        "SELECT sum FROM rollup_1h")]  # fmt: skip
    conn.close()
    assert sums == [1e308, 1e308]


def test_a_bulk_row_that_cannot_be_stored_is_rejected_alone(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "agent.db")
    storage.open_writer()
    row = {"ts": NOW, "node": "n", "location": "l", "sensor": "s", "metric": "m", "unit": ""}
    rows = [
        READING_ADAPTER.validate_python({**row, "ts": NOW + i, "value": v})
        for i, v in enumerate([HUGE, HUGE, 1.0])
    ]
    try:
        (outcome,) = storage.apply_batch([ReadingsWrite(rows)])
        assert isinstance(outcome, WriteOutcome)
        assert [i for i, _ in outcome.rejected] == [1]
        assert outcome.accepted == 2
    finally:
        storage.close_writer()
        storage.close()


async def test_a_finite_value_over_1e27_breaks_answers(client, settings):
    """Regression (defect 3): 1e27 °C was accepted with 200; then /query answered 500 and
    /chat an error event (decimal.InvalidOperation) for as long as the data was kept."""
    now = time.time()
    start = float(int(now // 300) * 300 - 600)
    batch = envelope(
        [
            aggregate(1, start=start, metric="temperature", unit="°C", min=1e27, max=1e27,
                      mean=1e27, last=1e27),
            reading(1, ts=now - 60, value=1e27),
            aggregate(2, start=start + 300, metric="temperature", unit="°C", min=21.0,
                      max=22.0, mean=21.5, last=21.8),
            heartbeat(1, ts=now),
        ]
    )  # fmt: skip
    r = await client.post("/v1/events", json=batch, headers=H1)
    body = r.json()
    assert r.status_code == 200
    assert body["accepted"] == 3
    (refused,) = body["rejected"]
    assert refused["index"] == 0
    assert "outside what temperature can physically be (-273.15 … 10000 °C" in refused["error"]
    # The critical is kept, and says its value cannot be real.
    ((value, reason),) = query(settings, "SELECT value, reason FROM anomalies")
    assert value == 1e27
    assert reason.startswith("physically implausible value")
    assert count(settings, "rollup_5m") == 1
    for question in ("What's the temperature in the warehouse?", "Any anomalies today?"):
        answer = await client.post("/query", content=question, headers=HA)
        assert answer.status_code == 200, answer.text
    chat = await client.get("/chat", params={"q": "Show me sensor anomalies"}, headers=HA)
    assert "event: error" not in chat.text
    assert "event: done" in chat.text


async def test_implausible_bulk_rows_are_named_by_line(client, settings):
    body = (
        "ts,node,location,sensor,metric,value,unit\n"
        f"{NOW},pi-9,lab,dht22-1,humidity,40,%\n"
        f"{NOW + 60},pi-9,lab,dht22-1,humidity,140,%\n"
        f"{NOW + 120},pi-9,lab,dht22-1,temperature,-300,°C\n"
        f"{NOW + 180},pi-9,lab,x,weird,1e27,\n"
    )
    r = await client.post("/v1/readings", content=body, headers={**HA, "Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["accepted"] == 1
    assert [(item["line"], item["error"].split(" is ")[0]) for item in out["rejected"]] == [
        (3, "value 140 %"),
        (4, "value -300 °C"),
        (5, "value 1e+27"),
    ]
    assert count(settings, "samples") == 1


@pytest.mark.parametrize(
    "value", [1e27, -1e27, 1.7e308, -1.7e308, 1e15, 123456789012345.678, 5e-324, -0.0, 0.0]
)
@pytest.mark.parametrize("unit", ["°C", "%", "hPa", "ppm", "count", "K", ""])
def test_no_value_makes_formatting_raise(value: float, unit: str) -> None:
    text = format_value(value, unit)
    assert text
    assert "E+" not in text or "e+" in text.lower()


@pytest.mark.parametrize(
    ("metric", "unit", "value", "ok"),
    [
        ("temperature", "°C", -273.15, True),
        ("temperature", "°C", -273.2, False),
        ("temperature", "°C", 90.0, True),  # a DHT22 glitch past its range is still data
        ("temperature", "C", -300.0, False),  # spellings of a unit share its bounds
        ("temperature", "°F", -459.0, True),
        ("soc_temp_c", "°C", 1e27, False),
        ("humidity", "%", 100.0, True),
        ("humidity", "%", 100.5, False),
        ("cpu_percent", "%", 380.0, True),  # 4 cores
        ("pressure", "hPa", -1.0, False),
        ("co2", "ppm", 1_000_001.0, False),
        ("motion", "count", -1.0, False),
        ("anything", "widgets", 1e12, True),
        ("anything", "widgets", 1.1e12, False),
    ],
)
def test_plausible_bounds(metric: str, unit: str, value: float, ok: bool) -> None:
    assert (problem(metric, unit, [value]) is None) is ok


def test_every_bound_keeps_sums_finite() -> None:
    """Within any bound, 2**53 readings of one bucket sum to a finite float."""
    for b in [*BY_UNIT.values(), *BY_METRIC.values(), bounds("x", "y")]:
        assert b.low <= b.high
        assert abs(max(abs(b.low), abs(b.high)) * 2.0**53) < 1e300
