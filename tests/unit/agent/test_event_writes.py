"""Reporter batches as the agent stores them: what the counters, the node list, the anomaly list
and the statistics show after duplicates, retried heartbeats, fault windows and a restart."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agent_bruno.storage.base import EventsWrite, SeriesQuery, WriteOutcome
from agent_bruno.storage.retention import DAY, RetentionPolicy, prune
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.storage.writer import GroupCommitWriter
from agent_bruno.wire import EVENT_ADAPTER
from tests.unit.agent.helpers import (
    API_TOKEN,
    NODE1_TOKEN,
    NOW,
    aggregate,
    auth,
    envelope,
    heartbeat,
    reading,
    stored_samples,
)
from tests.unit.agent.test_retention import NOW as PRUNE_NOW
from tests.unit.agent.test_retention import rows

H1 = auth(NODE1_TOKEN)


def stored(store: SqliteStorage, *events: dict[str, Any]) -> WriteOutcome:
    """Apply one reporter batch straight to storage; the outcome the API would count."""
    parsed = [EVENT_ADAPTER.validate_python(e) for e in events]
    (outcome,) = store.apply_batch([EventsWrite("homelab", "pi-node-1", "warehouse", parsed, NOW)])
    assert isinstance(outcome, WriteOutcome), outcome
    return outcome


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = SqliteStorage(tmp_path / "db.sqlite")
    s.open_writer()
    yield s
    s.close_writer()
    s.close()


async def metric_lines(client: Any, prefix: str) -> list[str]:
    text = (await client.get("/metrics", headers=auth(API_TOKEN))).text
    return sorted(line for line in text.splitlines() if line.startswith(prefix))


async def test_the_ingest_counter_counts_each_type_once_per_event(client: Any) -> None:
    """One aggregate, one heartbeat, then the aggregate re-sent beside a new one: the
    per-type counters read 2 accepted and 1 duplicate aggregate, 1 accepted heartbeat."""
    first = await client.post("/v1/events", json=envelope([aggregate(1), heartbeat(1)]), headers=H1)
    assert first.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    again = envelope([aggregate(1), aggregate(2, start=NOW + 300)])
    second = await client.post("/v1/events", json=again, headers=H1)
    assert second.json() == {"accepted": 1, "duplicates": 1, "rejected": []}
    assert await metric_lines(client, "agent_bruno_ingest_events_total{") == [
        'agent_bruno_ingest_events_total{outcome="accepted",type="aggregate"} 2.0',
        'agent_bruno_ingest_events_total{outcome="accepted",type="heartbeat"} 1.0',
        'agent_bruno_ingest_events_total{outcome="duplicate",type="aggregate"} 1.0',
    ]


def test_one_id_twice_in_a_batch_is_stored_once_and_counted_once(
    store: SqliteStorage, caplog: pytest.LogCaptureFixture
) -> None:
    """Counted as a duplicate at once, not by the item-by-item fallback after a failed
    statement, which the agent's log would report as a refused request."""
    outcome = stored(store, aggregate(1), aggregate(1), aggregate(1))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert (outcome.accepted, outcome.duplicates) == (1, 2)
    assert outcome.by_type == {"aggregate": (1, 2)}
    (s,) = store.summarize(SeriesQuery(NOW, NOW + 300, 300, metric="humidity"))
    assert s.count == 5  # the window's readings once, not three times


async def test_a_retried_older_heartbeat_does_not_set_the_outbox_gauges(client: Any) -> None:
    """The newest heartbeat said the outbox holds 4; a retry of an older one (12 queued) arrives
    after it: the node list and the gauges still show 4."""
    newer = heartbeat(2, ts=NOW + 300, outbox={"depth": 4, "dropped": 0, "oldest_age_s": 2.0})
    older = heartbeat(1, ts=NOW, outbox={"depth": 12, "dropped": 1, "oldest_age_s": 90.0})
    await client.post("/v1/events", json=envelope([newer]), headers=H1)
    r = await client.post("/v1/events", json=envelope([older]), headers=H1)
    assert r.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert await metric_lines(client, "agent_bruno_reporter_outbox_") == [
        'agent_bruno_reporter_outbox_depth{node="pi-node-1"} 4.0',
        'agent_bruno_reporter_outbox_dropped{node="pi-node-1"} 0.0',
    ]
    (node,) = (await client.get("/v1/nodes", headers=auth(API_TOKEN))).json()["nodes"]
    assert node["last_heartbeat"] == NOW + 300
    assert node["outbox"] == {"depth": 4, "dropped": 0, "oldest_age_s": 2.0}


def test_the_newest_of_several_heartbeats_in_one_batch_is_kept(store: SqliteStorage) -> None:
    beats = [heartbeat(i, ts=NOW + 60 * i, outbox={"depth": i, "dropped": 0, "oldest_age_s": 0.0})
             for i in (2, 3, 1)]  # fmt: skip
    outcome = stored(store, *beats)
    assert outcome.heartbeat is not None
    assert (outcome.heartbeat.ts, outcome.heartbeat.outbox.depth) == (NOW + 180, 3)
    (node,) = store.list_nodes()
    assert (node.ts, node.outbox_depth) == (NOW + 180, 3)


async def test_workload_fields_sent_as_null_are_not_listed(client: Any) -> None:
    pod = {"name": "mqtt-bridge", "namespace": "iot", "cpu_percent": None, "memory_mib": 48.0}
    body = envelope([heartbeat(1, workloads=["edge-reporter", pod])])
    assert (await client.post("/v1/events", json=body, headers=H1)).status_code == 200
    (node,) = (await client.get("/v1/nodes", headers=auth(API_TOKEN))).json()["nodes"]
    assert node["workloads"] == [
        "edge-reporter",
        {"name": "mqtt-bridge", "namespace": "iot", "memory_mib": 48.0},
    ]


async def test_flagged_readings_keep_their_baseline_or_none(client: Any) -> None:
    """A reading flagged against a baseline lists it; one flagged by a rule (no baseline) is
    stored all the same, listed with none."""
    ruled = reading(2, ts=NOW + 60, baseline=None, reason="above 85 °C", rule="range")
    r = await client.post("/v1/events", json=envelope([reading(1), ruled]), headers=H1)
    assert r.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    params = {"view": "readings", "start": str(NOW - 60), "end": str(NOW + 120)}
    listed = (await client.get("/v1/anomalies", params=params, headers=auth(API_TOKEN))).json()
    assert [(a["id"], a["baseline"]) for a in listed["anomalies"]] == [
        ("r-2", None),
        ("r-1", {"mean": 21.4, "std": 1.08}),
    ]


def test_fault_readings_count_with_their_sum_when_included(store: SqliteStorage) -> None:
    """Three fault readings (88, 89, 93 °C) beside two clean ones: with faults included the
    window's mean is that of all five."""
    window = aggregate(
        1, NOW, metric="temperature", unit="°C", count=5, min=21.0, max=93.0, mean=62.48,
        last=21.4, clean={"count": 2, "min": 21.0, "max": 21.4, "mean": 21.2, "last": 21.4},
        faults={"count": 3, "min": 88.0, "max": 93.0, "mean": 90.0, "last": 89.0,
                "min_ts": NOW + 10.0, "max_ts": NOW + 200.0},
    )  # fmt: skip
    stored(store, window)
    query = SeriesQuery(NOW, NOW + 300, 300, metric="temperature", include_faults=True)
    (s,) = store.summarize(query)
    assert s.count == 5
    assert s.mean == pytest.approx((2 * 21.2 + 3 * 90.0) / 5)
    (series,) = store.query_series(query)
    assert series.points[0].mean == pytest.approx(62.48)
    # The fault readings' extremes keep the times the reporter sent (not the window's start).
    assert s.faults is not None
    assert (s.faults.min_ts, s.faults.max_ts) == (NOW + 10.0, NOW + 200.0)


async def test_retention_after_a_restart_deletes_what_expired(tmp_path: Path) -> None:
    """Blocks written before the agent restarted are not in the new writer's memory: the first
    retention pass after it still deletes every expired reading and keeps the fresh ones."""
    path = tmp_path / "db.sqlite"
    writer = GroupCommitWriter(SqliteStorage(path))
    writer.start()
    try:
        await writer.submit(rows(PRUNE_NOW - 40 * DAY, 30))  # 30 hours, 10 days past the cutoff
        hour = rows(PRUNE_NOW - 30 * DAY, 6)  # one hour's block, ten minutes apart
        for i, r in enumerate(hour.rows):
            r["ts"] = PRUNE_NOW - 30 * DAY + 600 * i
        await writer.submit(hour)
    finally:
        writer.stop()
    writer = GroupCommitWriter(SqliteStorage(path))
    writer.start()
    try:
        # half an hour later: the cutoff falls inside that block
        deleted = await prune(writer, RetentionPolicy(30, 365, batch_rows=4), PRUNE_NOW + 1800)
    finally:
        writer.stop()
    cutoff = PRUNE_NOW + 1800 - 30 * DAY
    kept = [t for _, t, _ in stored_samples(path)]
    assert deleted["samples"] == 30 + 3
    assert kept == [cutoff, cutoff + 600, cutoff + 1200]
    conn = sqlite3.connect(path)  # the trimmed block's row describes what it now holds
    try:
        rows_left = conn.execute("SELECT count, first_ts, last_ts FROM sample_blocks").fetchall()
    finally:
        conn.close()
    assert rows_left == [(3, cutoff, cutoff + 1200)]


def test_an_aggregate_whose_total_overflows_is_refused_naming_it(store: SqliteStorage) -> None:
    """count × mean past the float range: the aggregate is refused with both numbers, the
    other events of the batch are stored."""
    huge = aggregate(1, min=1e308, max=1e308, mean=1e308, last=1e308, count=10)
    outcome = stored(store, huge, aggregate(2, start=NOW + 300))
    assert outcome.rejected == [
        (0, "cannot be stored: aggregate a-1: count 10 × mean 1e+308 overflows a float")
    ]
    assert (outcome.accepted, outcome.by_type) == (1, {"aggregate": (1, 0)})


@pytest.mark.parametrize("kind", ["aggregate", "reading"])
def test_a_batch_widens_a_series_span_to_its_earliest_and_latest_event(
    store: SqliteStorage, kind: str
) -> None:
    """A series already stored later than a new batch: the batch's first event moves the span's
    start, whichever event of the batch comes last."""
    make = aggregate if kind == "aggregate" else reading
    stored(store, make(1, NOW + 3000))
    stored(store, make(2, NOW), make(3, NOW + 600))
    conn = sqlite3.connect(store.path)
    try:
        span = conn.execute("SELECT first_ts, last_ts FROM series").fetchall()
    finally:
        conn.close()
    end = 300 if kind == "aggregate" else 0
    assert span == [(NOW, NOW + 3000 + end)]


def test_a_heartbeat_stores_the_node_health_and_sensors(store: SqliteStorage) -> None:
    stored(store, heartbeat(1))
    (node,) = store.list_nodes()
    assert node.sensors == [{"sensor": "dht22-1", "metric": "temperature", "unit": "°C"}]
    assert node.health["cpu_percent"] == 12.5


def test_more_than_a_thousand_ids_are_all_checked_and_explained(
    store: SqliteStorage, caplog: pytest.LogCaptureFixture
) -> None:
    """Ids are looked up 500 to a statement: a resent batch of 1,001 readings is 1,001
    duplicates, found in one pass (not by the item-by-item fallback), and an explanation
    parked for the 1,001st attaches when it arrives."""
    caplog.set_level(logging.WARNING, "agent_bruno.storage.sqlite")
    many = [reading(i, ts=NOW + i) for i in range(1001)]
    note = {"id": "x-1", "type": "explanation", "ts": NOW, "ref": "r-1000", "text": "a draught"}
    stored(store, note)
    assert stored(store, *many).accepted == 1001
    again = stored(store, *many)
    assert (again.accepted, again.duplicates) == (0, 1001)
    assert caplog.messages == []
    conn = sqlite3.connect(store.path)
    try:
        found = conn.execute("SELECT explanation FROM anomalies WHERE event_id = 'r-1000'")
        assert found.fetchall() == [("a draught",)]
    finally:
        conn.close()
