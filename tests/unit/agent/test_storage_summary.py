"""`summarize` and `count_anomalies`: the statistics and counts the agent's tools quote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_bruno.storage.base import AnomalyQuery, EventsWrite, SeriesQuery
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.wire import AggregateEvent, ReadingEvent

T0 = 1_764_150_000.0 // 3600 * 3600  # an hour boundary


def _agg(i: int, start: float, mean: float, count: int = 60) -> AggregateEvent:
    return AggregateEvent(
        id=f"a{i}", type="aggregate", ts=start + 300, sensor="dht22-1", metric="temperature",
        unit="°C", start=start, end=start + 300, count=count, min=mean - 1, max=mean + 1,
        mean=mean, last=mean + 0.5,
    )  # fmt: skip


def _flag(i: int, ts: float, severity: str) -> ReadingEvent:
    return ReadingEvent(
        id=f"r{i}", type="reading", ts=ts, sensor="dht22-1", metric="temperature", unit="°C",
        value=40.0, severity=severity, score=0.9, reason="spike",  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqliteStorage]:
    store = SqliteStorage(tmp_path / "db.sqlite")
    store.open_writer()
    # 30 hours of 5-minute aggregates: value = hour index, so means are easy to check.
    events = [_agg(i, T0 + i * 300, float(i // 12)) for i in range(30 * 12)]
    events += [_flag(1, T0 + 100, "warning"), _flag(2, T0 + 200, "critical"),
               _flag(3, T0 + 7200, "warning")]  # fmt: skip
    for chunk in range(0, len(events), 100):
        write = EventsWrite("homelab", "pi-node-1", "warehouse", events[chunk : chunk + 100], T0)
        assert not any(isinstance(r, Exception) for r in store.apply_batch([write]))
    yield store
    store.close_writer()
    store.close()


def test_summary_merges_buckets_starting_in_the_range(storage: SqliteStorage) -> None:
    (s,) = storage.summarize(SeriesQuery(T0 + 3600, T0 + 7200, 300, metric="temperature"))
    assert (s.count, s.mean, s.min, s.max) == (720, 1.0, 0.0, 2.0)
    # The latest value is the newest stored, before the range's end, whatever the range.
    assert (s.latest, s.latest_ts) == (1.5, T0 + 7200)


def test_long_ranges_read_hourly_rollups_with_the_same_result(storage: SqliteStorage) -> None:
    start, end = T0 + 1800, T0 + 25 * 3600 + 600  # unaligned edges around 24 whole hours
    (s,) = storage.summarize(SeriesQuery(start, end, 300, metric="temperature"))
    buckets = [T0 + i * 300 for i in range(30 * 12) if start <= T0 + i * 300 < end]
    values = [(b - T0) // 3600 for b in buckets]
    assert s.count == 60 * len(buckets)
    assert s.mean == pytest.approx(sum(values) / len(values))
    assert (s.min, s.max) == (min(values) - 1, max(values) + 1)


def test_a_range_without_data_keeps_the_latest_value(storage: SqliteStorage) -> None:
    (s,) = storage.summarize(SeriesQuery(T0 + 40 * 3600, T0 + 41 * 3600, 300))
    assert (s.count, s.mean, s.min, s.max) == (0, None, None, None)
    assert s.latest == 29.5


def test_unknown_filters_match_nothing(storage: SqliteStorage) -> None:
    assert storage.summarize(SeriesQuery(T0, T0 + 3600, 300, location="kitchen")) == []


def test_count_anomalies_by_severity_ignores_the_limit(storage: SqliteStorage) -> None:
    query = AnomalyQuery(T0, T0 + 86_400, 1)
    assert storage.count_anomalies(query) == {"warning": 2, "critical": 1}
    assert len(storage.query_anomalies(query)) == 1
    narrow = AnomalyQuery(T0, T0 + 3600, 10, severity="warning", metric="temperature")
    assert storage.count_anomalies(narrow) == {"warning": 1}
    assert storage.count_anomalies(AnomalyQuery(T0, T0 + 3600, 10, sensor="pir-1")) == {}
