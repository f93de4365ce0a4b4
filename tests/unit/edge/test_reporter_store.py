"""Aggregator windows and the local raw store: retention, size bound, queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_reporter.aggregate import Aggregate, Aggregator
from edge_reporter.model import Reading
from edge_reporter.store import LocalStore, StoreReader

T0 = 1_764_115_200.0


def r(
    ts: float, value: float | None, sensor: str = "dht22-1", metric: str = "temperature"
) -> Reading:
    return Reading(ts, sensor, metric, "°C", value)


def test_aggregates_per_series_and_window() -> None:
    agg = Aggregator(300)
    for i, v in enumerate([20.0, 22.0, None, 21.0, 23.0, 30.0]):
        agg.add(r(T0 + i * 60, v))
    agg.add(r(T0 + 10, 50.0, metric="humidity"))
    assert agg.due(T0 + 299) == []
    done = agg.due(T0 + 300)
    assert done == [
        Aggregate("dht22-1", "humidity", "°C", T0, T0 + 300, 1, 50.0, 50.0, 50.0, 50.0),
        Aggregate("dht22-1", "temperature", "°C", T0, T0 + 300, 4, 20.0, 23.0, 21.5, 23.0),
    ]
    assert agg.pending() == 1
    assert agg.drain(T0 + 330) == [
        Aggregate("dht22-1", "temperature", "°C", T0 + 300, T0 + 330, 1, 30.0, 30.0, 30.0, 30.0)
    ]


def test_window_of_only_dropouts_emits_nothing() -> None:
    agg = Aggregator(300)
    agg.add(r(T0, None))
    assert agg.due(T0 + 600) == []


def test_aggregator_rejects_bad_interval() -> None:
    with pytest.raises(ValueError, match="interval=0"):
        Aggregator(0)


def test_store_query_by_series_and_range(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "raw.db", retention_days=7, max_bytes=10**8)
    store.append([r(T0 + i, float(i)) for i in range(10)] + [r(T0 + 5, None, metric="humidity")])
    with StoreReader(tmp_path / "raw.db") as reader:
        got = reader.readings(
            start=T0 + 2, end=T0 + 5, limit=100, sensor="dht22-1", metric="temperature"
        )
        assert [x.value for x in got] == [2.0, 3.0, 4.0]
        assert reader.readings(start=T0, end=T0 + 10, limit=100, metric="humidity")[0].value is None
        assert len(reader.readings(start=T0, end=T0 + 100, limit=3)) == 3
        info = {s.metric: s for s in reader.series()}
        assert info["temperature"].count == 10
        assert (info["temperature"].first_ts, info["temperature"].last_ts) == (T0, T0 + 9)
    store.close()


def test_retention_prunes_hourly(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "raw.db", retention_days=1, max_bytes=10**8)
    store.append([r(T0, 1.0)])
    store.append([r(T0 + 3000, 2.0)])
    store.append([r(T0 + 86400 + 100, 3.0)])  # > 1 h since last prune, first reading too old
    with StoreReader(tmp_path / "raw.db") as reader:
        values = [x.value for x in reader.readings(start=0, end=T0 * 2, limit=10)]
    assert values == [2.0, 3.0]
    store.close()


def test_size_bound_prunes_oldest(tmp_path: Path) -> None:
    bound = 200 * 1024
    store = LocalStore(tmp_path / "raw.db", retention_days=365, max_bytes=bound)
    for hour in range(30):
        store.append([r(T0 + hour * 3600 + i, float(hour)) for i in range(2000)])
    assert store.used_bytes() <= bound
    with StoreReader(tmp_path / "raw.db") as reader:
        values = [x.value for x in reader.readings(start=0, end=T0 * 2, limit=10**6)]
    assert values[-1] == 29.0
    assert values[0] > 0.0  # the oldest went first
    store.close()


def test_store_reopens_with_its_series(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "raw.db", retention_days=7, max_bytes=10**8)
    store.append([r(T0, 1.0)])
    store.close()
    store = LocalStore(tmp_path / "raw.db", retention_days=7, max_bytes=10**8)
    store.append([r(T0 + 1, 2.0)])
    with StoreReader(tmp_path / "raw.db") as reader:
        assert [s.count for s in reader.series()] == [2]
    store.close()
