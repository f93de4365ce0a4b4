"""Anomaly episodes at the agent: stored once per (node, series, start), newest revision wins,
listed by `/v1/anomalies`, queried by scope, state and time through the storage read API."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agent_bruno.storage.base import AnomalyQuery, EpisodeQuery, EventsWrite
from agent_bruno.storage.episodes import episode_id
from agent_bruno.storage.retention import RetentionPolicy, prune
from agent_bruno.storage.schema import connect, create_schema
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.storage.writer import GroupCommitWriter
from agent_bruno.wire import EVENT_ADAPTER
from tests.unit.agent.helpers import (
    API_TOKEN,
    NODE1_TOKEN,
    NOW,
    auth,
    envelope,
    episode,
    reading,
)

DAY = 86_400.0


def write(store: SqliteStorage, events: list[dict[str, Any]], node: str = "pi-node-1",
          location: str = "warehouse-b", at: float = NOW) -> None:  # fmt: skip
    parsed = [EVENT_ADAPTER.validate_python(e) for e in events]
    (outcome,) = store.apply_batch([EventsWrite("homelab", node, location, parsed, at)])
    assert not isinstance(outcome, Exception), outcome


@pytest.fixture
def store(tmp_path: Path) -> SqliteStorage:
    s = SqliteStorage(tmp_path / "db.sqlite")
    s.open_writer()
    yield s
    s.close_writer()
    s.close()


def everything(**filters: Any) -> EpisodeQuery:
    return EpisodeQuery(NOW - DAY, NOW + DAY, 100, **filters)


def test_one_row_per_episode_and_the_highest_revision_wins(store: SqliteStorage) -> None:
    write(store, [episode(1, phase="open", revision=1, count=1, readings=1, last=NOW, ts=NOW)])
    write(store, [episode(3, revision=3, count=3, readings=37, last=NOW + 480, ts=NOW + 480)])
    write(store, [episode(2, revision=2)])  # late, older: ignored
    (ep,) = store.query_episodes(everything())
    assert ep.id == episode_id("homelab", "pi-node-1", "dht22-1", "humidity", NOW)
    assert (ep.revision, ep.count, ep.readings, ep.last, ep.reminders) == (3, 3, 37, NOW + 480, 2)
    assert ep.is_open
    assert ep.end is None
    assert (ep.location, ep.kind, ep.rule, ep.severity) == (
        "warehouse-b",
        "sensor_fault",
        "stuck_value",
        "warning",
    )
    assert store.get_episode(ep.id) == ep
    assert store.get_episode("ep-nope") is None


def test_close_sets_the_end_and_moves_it_out_of_the_open_list(store: SqliteStorage) -> None:
    write(store, [episode(1)])
    write(store, [episode(2, phase="close", end=NOW + 600, last=NOW + 600, revision=5)])
    (ep,) = store.query_episodes(everything())
    assert (ep.end, ep.closed_by, ep.is_open) == (NOW + 600, "reporter", False)
    assert store.query_episodes(everything(state="open")) == []
    assert [e.id for e in store.query_episodes(everything(state="closed"))] == [ep.id]


def test_a_newer_open_episode_of_the_series_supersedes_a_stale_one(store: SqliteStorage) -> None:
    """A reporter that restarted mid-episode cannot close the old one; the agent does."""
    write(store, [episode(1)])
    write(store, [episode(2, start=NOW + 3600, last=NOW + 3600, ts=NOW + 3600, revision=1)])
    newer, older = store.query_episodes(everything())
    assert (newer.start, newer.is_open) == (NOW + 3600, True)
    assert (older.end, older.closed_by) == (NOW + 120, "superseded")
    # Another series is not touched.
    write(store, [episode(3, sensor="dht22-2", start=NOW + 7200, last=NOW + 7200, revision=1)])
    assert len(store.query_episodes(everything(state="open"))) == 2


def test_query_by_scope_kind_rule_time_and_change(store: SqliteStorage) -> None:
    write(store, [episode(1)], at=NOW)
    spike = episode(
        2, metric="temperature", unit="°C", kind="process_anomaly", rule="jump",
        severity="critical", start=NOW + 7200, last=NOW + 7260, ts=NOW + 7260,
    )  # fmt: skip
    write(store, [spike], node="pi-node-2", location="office", at=NOW + 7300)
    assert len(store.query_episodes(everything())) == 2
    assert [e.node for e in store.query_episodes(everything(location="office"))] == ["pi-node-2"]
    assert [e.rule for e in store.query_episodes(everything(kind="sensor_fault"))] == [
        "stuck_value"
    ]
    assert [e.metric for e in store.query_episodes(everything(rule="jump"))] == ["temperature"]
    assert store.query_episodes(everything(severity="critical"))[0].node == "pi-node-2"
    # Active in a range: started before its end, and open or ended after its start.
    late = EpisodeQuery(NOW + 7000, NOW + 8000, 10)
    assert {e.node for e in store.query_episodes(late)} == {"pi-node-1", "pi-node-2"}
    early = EpisodeQuery(NOW - 600, NOW - 1, 10)
    assert store.query_episodes(early) == []
    assert [e.node for e in store.query_episodes(everything(changed_since=NOW + 7000))] == [
        "pi-node-2"
    ]
    assert store.count_episodes(everything()) == {
        ("sensor_fault", "warning"): 1,
        ("process_anomaly", "critical"): 1,
    }
    assert len(store.query_episodes(EpisodeQuery(NOW - DAY, NOW + DAY, 1))) == 1


def test_open_episodes_come_first_then_newest(store: SqliteStorage) -> None:
    write(store, [episode(1, sensor="a")])
    write(store, [episode(2, sensor="b", start=NOW + 60, last=NOW + 120, phase="close",
                          end=NOW + 130)])  # fmt: skip
    write(store, [episode(3, sensor="c", start=NOW + 30, last=NOW + 120)])
    assert [e.sensor for e in store.query_episodes(everything())] == ["c", "a", "b"]


def test_flagged_readings_name_rule_kind_and_episode(store: SqliteStorage) -> None:
    write(store, [
        reading(1, sensor="dht22-1", metric="humidity", unit="%", severity="warning",
                rule="stuck_value", kind="sensor_fault", episode_start=NOW),
        reading(2, ts=NOW + 60),  # an older reporter: no rule, kind or episode
        episode(3),
    ])  # fmt: skip
    (ep,) = store.query_episodes(everything())
    (linked,) = store.query_anomalies(AnomalyQuery(NOW - DAY, NOW + DAY, 10, episode=ep.id))
    assert (linked.id, linked.rule, linked.kind, linked.episode_id) == (
        "r-1",
        "stuck_value",
        "sensor_fault",
        ep.id,
    )
    faults = store.query_anomalies(AnomalyQuery(NOW - DAY, NOW + DAY, 10, kind="sensor_fault"))
    assert [a.id for a in faults] == ["r-1"]
    old = store.query_anomalies(AnomalyQuery(NOW - DAY, NOW + DAY, 10, severity="critical"))
    assert (old[0].rule, old[0].kind, old[0].episode_id) == (None, None, None)


def test_a_database_from_before_episodes_gains_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE anomalies (id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL, "
        "node TEXT NOT NULL, event_id TEXT NOT NULL, ts REAL NOT NULL, value REAL, "
        "severity TEXT NOT NULL, score REAL NOT NULL, reason TEXT NOT NULL, baseline_mean REAL, "
        "baseline_std REAL, explanation TEXT, explanation_model TEXT, UNIQUE (node, event_id));"
        "PRAGMA user_version = 1;"
    )
    conn.close()
    create_schema(path)
    conn = connect(path)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(anomalies)")}
    assert {"rule", "kind", "episode_id"} <= columns
    assert conn.execute("SELECT count(*) FROM episodes").fetchone() == (0,)
    conn.close()


async def test_retention_prunes_episodes_by_their_last_reading(store: SqliteStorage) -> None:
    write(store, [episode(1, start=NOW - 40 * DAY, last=NOW - 35 * DAY, ts=NOW - 35 * DAY)])
    write(store, [episode(2, sensor="dht22-2")])
    store.close_writer()
    writer = GroupCommitWriter(store)
    writer.start()
    try:
        deleted = await prune(writer, RetentionPolicy(), NOW)
    finally:
        writer.stop()
        store.open_writer()
    assert deleted["episodes"] == 1
    assert [e.sensor for e in store.query_episodes(EpisodeQuery(0, NOW + DAY, 10))] == ["dht22-2"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"end": NOW + 600}, "end must be set exactly when phase is close"),
        ({"phase": "close"}, "end must be set exactly when phase is close"),
        ({"last": NOW - 1}, "before start"),
        ({"count": 20}, "exceeds readings"),
        ({"kind": "glitch"}, "kind"),
        ({"revision": 0}, "revision"),
        ({"phase": "close", "end": NOW + 60}, "before last"),
    ],
)
def test_episode_event_rules(change: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        EVENT_ADAPTER.validate_python({**episode(1), **change})


async def test_api_lists_episodes_by_default_and_readings_on_request(client: Any) -> None:
    events = [
        reading(1, sensor="dht22-1", metric="humidity", unit="%", severity="warning",
                rule="stuck_value", kind="sensor_fault", episode_start=NOW),
        episode(2),
    ]  # fmt: skip
    r = await client.post("/v1/events", json=envelope(events), headers=auth(NODE1_TOKEN))
    assert r.json()["accepted"] == 2
    window = {"start": str(NOW - 3600), "end": str(NOW + 3600)}
    headers = auth(API_TOKEN)
    body = (await client.get("/v1/anomalies", params=window, headers=headers)).json()
    assert body["view"] == "episodes"
    (ep,) = body["episodes"]
    assert (ep["rule"], ep["kind"], ep["open"], ep["reminders"], ep["count"]) == (
        "stuck_value",
        "sensor_fault",
        True,
        1,
        2,
    )
    params = {**window, "episode": ep["id"]}
    body = (await client.get("/v1/anomalies", params=params, headers=headers)).json()
    assert body["view"] == "readings"
    assert [(a["id"], a["rule"]) for a in body["anomalies"]] == [("r-1", "stuck_value")]
    params = {**window, "state": "closed"}
    body = (await client.get("/v1/anomalies", params=params, headers=headers)).json()
    assert body["episodes"] == []
