"""Storage: durability across restarts and crashes, group commit, rollup merging."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from agent_bruno.storage import schema
from agent_bruno.storage import sqlite as sqlite_storage
from agent_bruno.storage.base import EventsWrite, ReadingsWrite, StorageError
from agent_bruno.storage.rollups import hourly, merge_point
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.storage.writer import GroupCommitWriter, WriterUnavailable
from agent_bruno.wire import EVENT_ADAPTER
from tests.unit.agent.helpers import NOW, aggregate, stored_samples


def bulk(n: int, offset: int = 0) -> ReadingsWrite:
    """`n` readings of one series, a second apart."""
    return ReadingsWrite(
        [
            {
                "ts": NOW + offset + i,
                "node": "n",
                "location": "l",
                "sensor": "s",
                "metric": "m",
                "value": float(i),
                "unit": "u",
            }
            for i in range(n)
        ]
    )


def events(*ids: int) -> EventsWrite:
    """Aggregates with the given ids, each in its own 5-minute window."""
    parsed = [EVENT_ADAPTER.validate_python(aggregate(i, start=NOW + 300 * i)) for i in ids]
    return EventsWrite("c", "pi", "loc", parsed, received_at=NOW)


def count(path: Path, table: str) -> int:
    """Rows of a table, read by a fresh storage (`samples`: raw readings in their blocks)."""
    if table == "samples":
        SqliteStorage(path).close()  # recovers the WAL, as the agent would
        return len(stored_samples(path))
    storage = SqliteStorage(path)
    try:
        conn = storage._reader()
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
    finally:
        storage.close()


async def test_acknowledged_data_survives_reopening(tmp_path: Path):
    path = tmp_path / "db.sqlite"
    writer = GroupCommitWriter(SqliteStorage(path))
    writer.start()
    outcomes = await asyncio.gather(*(writer.submit(events(i)) for i in range(20)))
    assert sum(o.accepted for o in outcomes) == 20
    writer.stop()
    assert count(path, "event_ids") == 20
    assert count(path, "rollup_5m") == 20
    assert (
        not (tmp_path / "db.sqlite-wal").exists()
        or (tmp_path / "db.sqlite-wal").stat().st_size == 0
    )


async def test_group_commit_batches_concurrent_requests(tmp_path: Path):
    sizes: list[int] = []
    writer = GroupCommitWriter(SqliteStorage(tmp_path / "db.sqlite"), on_batch=sizes.append)
    writer.start()
    try:
        await asyncio.gather(*(writer.submit(bulk(10, offset=100 * i)) for i in range(200)))
    finally:
        writer.stop()
    assert sum(sizes) == 200
    assert len(sizes) < 200  # several requests shared a transaction
    assert count(tmp_path / "db.sqlite", "samples") == 2000


async def test_submit_after_stop_is_refused(tmp_path: Path):
    writer = GroupCommitWriter(SqliteStorage(tmp_path / "db.sqlite"))
    writer.start()
    writer.stop()
    with pytest.raises(WriterUnavailable):
        await writer.submit(bulk(1))


async def test_a_saturated_writer_refuses_beyond_its_queue_and_then_recovers(
    tmp_path: Path, monkeypatch
):
    storage = SqliteStorage(tmp_path / "db.sqlite")
    writer = GroupCommitWriter(storage, queue_size=2, max_batch=1)
    writer.start()
    gate, entered = threading.Event(), threading.Event()
    apply = storage.apply_batch

    def slow(requests):
        entered.set()
        gate.wait(10)
        return apply(requests)

    monkeypatch.setattr(storage, "apply_batch", slow)
    try:
        first = asyncio.ensure_future(writer.submit(bulk(1)))
        assert await asyncio.to_thread(entered.wait, 10)  # the first is in its commit
        queued = [asyncio.ensure_future(writer.submit(bulk(1, offset=i))) for i in (1, 2)]
        await asyncio.sleep(0)
        with pytest.raises(WriterUnavailable, match="has 2 requests queued; retry later"):
            await writer.submit(bulk(1, offset=3))
        gate.set()
        outcomes = await asyncio.gather(first, *queued)
        assert [o.accepted for o in outcomes] == [1, 1, 1]
        assert (await writer.submit(bulk(1, offset=4))).accepted == 1
    finally:
        gate.set()
        writer.stop()


async def test_commit_failure_fails_every_request_of_the_batch(tmp_path: Path, monkeypatch):
    storage = SqliteStorage(tmp_path / "db.sqlite")
    writer = GroupCommitWriter(storage)
    writer.start()

    def broken(requests):
        raise StorageError("disk full")

    monkeypatch.setattr(storage, "apply_batch", broken)
    results = await asyncio.gather(
        *(writer.submit(bulk(1, offset=i)) for i in range(5)), return_exceptions=True
    )
    writer.stop()
    assert all(isinstance(r, StorageError) for r in results)
    assert count(tmp_path / "db.sqlite", "samples") == 0


def test_failing_request_does_not_sink_its_batch(tmp_path: Path):
    storage = SqliteStorage(tmp_path / "db.sqlite")
    storage.open_writer()
    bad = ReadingsWrite([{"ts": NOW}])  # type: ignore[typeddict-item]
    results = storage.apply_batch([bulk(3), bad, bulk(2, offset=10)])
    storage.close_writer()
    assert [getattr(r, "accepted", None) for r in results] == [3, None, 2]
    assert isinstance(results[1], StorageError)
    assert count(tmp_path / "db.sqlite", "samples") == 5


def test_unwritable_directory_is_named(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StorageError, match="cannot open the database"):
        SqliteStorage(blocker / "sub" / "db.sqlite")


CRASHER = textwrap.dedent(
    """
    import asyncio, sys
    from agent_bruno.storage.base import ReadingsWrite
    from agent_bruno.storage.sqlite import SqliteStorage
    from agent_bruno.storage.writer import GroupCommitWriter

    async def main():
        writer = GroupCommitWriter(SqliteStorage(__import__("pathlib").Path(sys.argv[1])))
        writer.start()
        i = 0
        while True:
            rows = [{"ts": 1.7e9 + i * 100 + k, "node": "n", "location": "l", "sensor": "s",
                     "metric": "m", "value": 1.0, "unit": "u"} for k in range(100)]
            await asyncio.gather(*(writer.submit(ReadingsWrite(rows[j::4])) for j in range(4)))
            i += 1
            print(i * 100, flush=True)  # acknowledged so far

    asyncio.run(main())
    """
)


@pytest.mark.e2e  # starts a process
def test_acknowledged_data_survives_a_kill(tmp_path: Path):
    path = tmp_path / "db.sqlite"
    acknowledged = 0
    with subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", CRASHER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            acknowledged = int(line)
            if acknowledged >= 3000:
                break
        proc.send_signal(signal.SIGKILL)  # mid-stream: more batches are in flight
        proc.wait()
    assert acknowledged >= 3000
    assert count(path, "samples") >= acknowledged


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_rollup_merge_is_associative_and_commutative(order):
    parts = [
        [3, 1.0, 5.0, 9.0, 5.0, 100.0],
        [1, 0.5, 0.5, 0.5, 0.5, 50.0],
        [2, 2.0, 7.0, 9.0, 2.0, 200.0],
        [4, -1.0, 3.0, 4.0, 3.0, 150.0],
    ]
    groups: dict[tuple[int, int], list[float]] = {}
    for i in order:
        merge_point(groups, (1, 0), parts[i])
    assert groups[(1, 0)] == [10, -1.0, 7.0, 22.5, 2.0, 200.0]


def test_hourly_folds_five_minute_buckets_of_each_series():
    five = {
        (1, 3600): [2, 1.0, 3.0, 4.0, 3.0, 3700.0],
        (1, 3900): [1, 9.0, 9.0, 9.0, 9.0, 4000.0],
        (1, 7200): [1, 5.0, 5.0, 5.0, 5.0, 7300.0],
        (2, 3600): [1, 7.0, 7.0, 7.0, 7.0, 3650.0],
    }
    assert hourly(five) == {
        (1, 3600): [3, 1.0, 9.0, 13.0, 9.0, 4000.0],
        (1, 7200): [1, 5.0, 5.0, 5.0, 5.0, 7300.0],
        (2, 3600): [1, 7.0, 7.0, 7.0, 7.0, 3650.0],
    }


def test_database_of_another_schema_version_is_refused(tmp_path: Path):
    path = tmp_path / "db.sqlite"
    SqliteStorage(path).close()
    SqliteStorage(path).close()  # the same version reopens
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StorageError, match="schema version 99, this agent-bruno uses 2"):
        SqliteStorage(path)


def _objects(path: Path) -> set[tuple[str, str, str]]:
    conn = sqlite3.connect(path)
    try:
        return set(conn.execute("SELECT type, name, sql FROM sqlite_master"))
    finally:
        conn.close()


def test_a_new_database_gets_every_table_or_none(tmp_path: Path, monkeypatch):
    """The tables are made in one transaction: a failure half way leaves an empty version-0
    file, which the next start completes; nothing of the scripts is lost in splitting them."""
    path = tmp_path / "db.sqlite"

    def fails(conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    with monkeypatch.context() as m:
        m.setattr(schema.faults, "create", fails)
        with pytest.raises(StorageError, match="disk I/O error"):
            SqliteStorage(path)
    assert _objects(path) == set()
    SqliteStorage(path).close()
    whole = tmp_path / "whole.sqlite"  # each script as a whole, one commit per statement
    conn = sqlite3.connect(whole, isolation_level=None)
    conn.executescript(schema.SCHEMA)
    schema.episodes.create(conn)
    conn.executescript(schema.faults.FAULTS_SCHEMA)
    conn.close()
    assert _objects(path) == _objects(whole)
    assert len(_objects(path)) > 20


V1_SCHEMA = """
CREATE TABLE series (id INTEGER PRIMARY KEY, cluster TEXT NOT NULL, node TEXT NOT NULL,
    location TEXT NOT NULL, sensor TEXT NOT NULL, metric TEXT NOT NULL, unit TEXT NOT NULL,
    first_ts REAL NOT NULL, last_ts REAL NOT NULL,
    UNIQUE (cluster, node, location, sensor, metric, unit));
CREATE TABLE samples (series_id INTEGER NOT NULL, ts REAL NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (series_id, ts)) WITHOUT ROWID;
PRAGMA user_version = 1;
"""


def test_a_version_1_database_is_migrated_with_every_sample(tmp_path: Path):
    """Schema 1 kept a row per reading; opening it packs them into blocks, none lost."""
    path = tmp_path / "db.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.execute("INSERT INTO series VALUES (1, 'c', 'n', 'l', 's', 'm', 'u', ?, ?)",
                 (NOW, NOW + 7199.5))  # fmt: skip
    rows = [(1, NOW + i * 0.5, round(20 + i * 0.01, 2)) for i in range(14_400)]  # two hours
    conn.executemany("INSERT INTO samples VALUES (?, ?, ?)", rows)
    conn.commit()
    conn.close()
    storage = SqliteStorage(path)
    storage.close()
    assert stored_samples(path) == [("s", ts, v) for _, ts, v in rows]
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone() == (2,)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert "samples" not in tables
    assert {"sample_blocks", "rollup_5m", "anomalies"} <= tables


async def test_wal_stays_bounded_during_a_continuous_import(tmp_path: Path, monkeypatch):
    """Regression: with the writer never idle, checkpoints from another connection never
    caught up, the WAL never started over and grew with the import (219 MB for 1M readings)."""
    monkeypatch.setattr(schema, "WAL_SIZE_LIMIT", 256 * 1024)
    # By changes, not by time: a clock-based bound let a fast machine write 4 MB between two.
    monkeypatch.setattr(sqlite_storage, "WRITER_CHECKPOINT_EVERY_S", 1e9)
    monkeypatch.setattr(sqlite_storage, "WRITER_CHECKPOINT_EVERY_CHANGES", 200)
    storage = SqliteStorage(tmp_path / "db.sqlite")
    writer = GroupCommitWriter(storage, max_batch=2)
    writer.start()
    largest = 0
    stop = asyncio.Event()

    async def watch() -> None:
        nonlocal largest
        while not stop.is_set():
            largest = max(largest, storage.wal_bytes())
            await asyncio.sleep(0.005)

    async def stream(k: int) -> None:
        for i in range(40):  # 40 requests of 500 readings over 20 series, new hours each
            rows = [
                {"ts": NOW + 3600 * (i * 4 + k) + j // 20, "node": "n", "location": "l",
                 "sensor": f"s{j % 20}", "metric": "m", "value": float(j), "unit": "u"}
                for j in range(500)
            ]  # fmt: skip
            await writer.submit(ReadingsWrite(rows))

    watcher = asyncio.create_task(watch())
    try:
        await asyncio.gather(*(stream(k) for k in range(4)))  # the queue is never empty
    finally:
        stop.set()
        await watcher
        writer.stop()
    assert count(tmp_path / "db.sqlite", "samples") == 4 * 40 * 500
    assert largest <= 2 * 1024 * 1024, f"the WAL reached {largest:,} bytes"


def test_a_series_span_after_a_restart_widens_only_where_readings_fall_outside_it(
    tmp_path: Path,
):
    # The span (first and last time) /v1/series shows: a restarted writer reads it back from
    # the table, and a later import inside it moves neither end; one past the end moves only
    # that end. The outcomes carry the per-type counts of the ingest counters.
    path = tmp_path / "db.sqlite"
    storage = SqliteStorage(path)
    storage.open_writer()
    first = storage.apply_batch([bulk(3), ReadingsWrite([])])
    storage.close_writer()
    storage.close()
    assert [getattr(o, "by_type", None) for o in first] == [
        {"reading": (3, 0)},
        {"reading": (0, 0)},
    ]
    storage = SqliteStorage(path)
    storage.open_writer()
    inside = ReadingsWrite(
        [
            {
                "ts": NOW + 1.5,
                "node": "n",
                "location": "l",
                "sensor": "s",
                "metric": "m",
                "value": 0.5,
                "unit": "u",
            }
        ]
    )
    later = storage.apply_batch([inside, bulk(3), bulk(1, offset=10)])
    storage.close_writer()
    assert [getattr(o, "by_type", None) for o in later] == [
        {"reading": (1, 0)},
        {"reading": (0, 3)},
        {"reading": (1, 0)},
    ]
    conn = storage._reader()
    try:
        span = conn.execute("SELECT first_ts, last_ts FROM series").fetchall()
    finally:
        storage.close()
    assert span == [(NOW, NOW + 10)]


def test_a_reading_whose_rollup_sum_would_overflow_is_refused_alone(tmp_path: Path):
    # Two readings of 1.7e308 in one 5-minute bucket: their sum is no float. The second is
    # refused with the reason, the others stored; nothing infinite reaches the rollups.
    storage = SqliteStorage(tmp_path / "db.sqlite")
    storage.open_writer()
    rows = [
        {
            "ts": NOW + i,
            "node": "n",
            "location": "l",
            "sensor": "s",
            "metric": "m",
            "value": v,
            "unit": "u",
        }
        for i, v in enumerate([1.7e308, 1.7e308, 1.0])
    ]
    (outcome,) = storage.apply_batch([ReadingsWrite(rows)])  # type: ignore[arg-type]
    storage.close_writer()
    storage.close()
    assert (outcome.accepted, outcome.by_type) == (2, {"reading": (2, 0)})
    assert [i for i, _ in outcome.rejected] == [1]
    assert "rollup_5m.sum" in outcome.rejected[0][1]
    assert count(tmp_path / "db.sqlite", "samples") == 2


def test_a_rollup_whose_sum_overflows_is_refused_with_its_reason(tmp_path: Path):
    """A 5-minute group whose sum is infinite (its count, extremes and last finite) is refused
    before any row is written (the check reads the sum, not the last value)."""
    from agent_bruno.storage.items import UnstorableItem
    from agent_bruno.storage.sqlite_writes import SqliteWriter

    SqliteStorage(tmp_path / "agent.db").close()
    conn = sqlite3.connect(tmp_path / "agent.db")
    try:
        writer = SqliteWriter(conn)
        group = [2.0, 1e308, 1e308, float("inf"), 1e308, NOW]
        with pytest.raises(UnstorableItem):
            writer.merge_rollups({(1, int(NOW // 300) * 300): group})
        stored = conn.execute("SELECT count(*) FROM rollup_5m").fetchone()[0]
        stored += conn.execute("SELECT count(*) FROM rollup_1h").fetchone()[0]
        assert stored == 0
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("offered", "kept"),
    [
        # one time offered twice: the first value wins (a batch of two is deduplicated too)
        ([("a", 0, 1.0), ("a", 0, 2.0)], [("a", 0, 1.0)]),
        # two series at one time are two points
        ([("a", 0, 1.0), ("b", 0, 2.0)], [("a", 0, 1.0), ("b", 0, 2.0)]),
        # the second series' time repeated, after the first series at that time
        ([("a", 0, 1.0), ("b", 0, 2.0), ("b", 0, 3.0)], [("a", 0, 1.0), ("b", 0, 2.0)]),
        # a later time of one series repeated
        ([("a", 0, 1.0), ("a", 1, 2.0), ("a", 1, 3.0)], [("a", 0, 1.0), ("a", 1, 2.0)]),
    ],
)
def test_a_batch_keeps_one_point_per_series_and_time_the_first_offered(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    offered: list[tuple[str, float, float]],
    kept: list[tuple[str, float, float]],
) -> None:
    # In one statement: the item-by-item fallback (which dedups against what it stored) would
    # hide a batch that fails.
    caplog.set_level(logging.WARNING, "agent_bruno.storage.sqlite")
    path = tmp_path / "db.sqlite"
    storage = SqliteStorage(path)
    storage.open_writer()
    rows = [
        {"ts": NOW + t, "node": "n", "location": "l", "sensor": sensor, "metric": "m",
         "value": v, "unit": "u"}
        for sensor, t, v in offered
    ]  # fmt: skip
    (outcome,) = storage.apply_batch([ReadingsWrite(rows)])  # type: ignore[arg-type]
    storage.close_writer()
    storage.close()
    assert (outcome.accepted, outcome.duplicates) == (len(kept), len(offered) - len(kept))
    assert stored_samples(path) == [(sensor, NOW + t, v) for sensor, t, v in kept]
    assert caplog.messages == []


def test_an_import_over_several_hours_widens_the_span_to_its_first_reading(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A series stored later; one import with readings in two hours (two blocks): the span
    starts at the import's first reading and still ends at the stored last one."""
    caplog.set_level(logging.WARNING, "agent_bruno.storage.sqlite")
    path = tmp_path / "db.sqlite"
    storage = SqliteStorage(path)
    storage.open_writer()
    try:
        storage.apply_batch([bulk(1, offset=10_000)])
        earlier = [
            {"ts": NOW + t, "node": "n", "location": "l", "sensor": "s", "metric": "m",
             "value": 1.0, "unit": "u"}
            for t in (0, 60, 3600)
        ]  # fmt: skip
        (outcome,) = storage.apply_batch([ReadingsWrite(earlier)])  # type: ignore[arg-type]
        conn = storage._reader()
        span = conn.execute("SELECT first_ts, last_ts FROM series").fetchall()
    finally:
        storage.close_writer()
        storage.close()
    assert getattr(outcome, "accepted", None) == 3
    assert span == [(NOW, NOW + 10_000)]
    assert caplog.messages == []


def test_an_import_after_stored_points_keeps_new_ones_of_every_series_in_time_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A series whose points of the batch are all stored already, then another series' new
    point: the new one is stored. A point earlier in an hour than the stored one (series c) is
    merged in time order (not appended after it)."""
    caplog.set_level(logging.WARNING, "agent_bruno.storage.sqlite")
    path = tmp_path / "db.sqlite"
    storage = SqliteStorage(path)
    storage.open_writer()

    def one(sensor: str, t: float) -> dict[str, object]:
        return {"ts": NOW + t, "node": "n", "location": "l", "sensor": sensor, "metric": "m",
                "value": t, "unit": "u"}  # fmt: skip

    try:
        storage.apply_batch([ReadingsWrite([one("a", 100), one("c", 100)])])  # type: ignore[list-item]
        (outcome,) = storage.apply_batch(
            [ReadingsWrite([one("a", 100), one("b", 100), one("c", 50)])]  # type: ignore[list-item]
        )
    finally:
        storage.close_writer()
        storage.close()
    assert (getattr(outcome, "accepted", None), getattr(outcome, "duplicates", None)) == (2, 1)
    assert stored_samples(path) == [
        ("a", NOW + 100, 100.0),
        ("b", NOW + 100, 100.0),
        ("c", NOW + 50, 50.0),
        ("c", NOW + 100, 100.0),
    ]
    assert caplog.messages == []


@pytest.mark.parametrize(
    "later", [[(3610.0,)], [(30.0, 3610.0)], [(30.0,), (3610.0,)], [(5.0, 3610.0)]]
)
def test_a_block_grown_in_parts_is_made_whole_once_its_series_moves_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, later: list[tuple[float, ...]]
) -> None:
    """One reading per import: the hour's block grows by parts (a second import appends one),
    and is encoded whole again, with every point, when an import reaches the next hour (alone,
    with one more point of the first hour, after a third part, or with a point before the
    stored ones, which makes the first hour's block whole in that same import)."""
    from agent_bruno.storage import blocks

    caplog.set_level(logging.WARNING, "agent_bruno.storage.sqlite")
    path = tmp_path / "db.sqlite"
    hour = NOW - NOW % 3600
    storage = SqliteStorage(path)
    storage.open_writer()

    def at(*offsets: float) -> ReadingsWrite:
        return ReadingsWrite(
            [
                {
                    "ts": hour + o,
                    "node": "n",
                    "location": "l",
                    "sensor": "s",
                    "metric": "m",
                    "value": o,
                    "unit": "u",
                }
                for o in offsets
            ]
        )

    def parts() -> list[int]:
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute("SELECT data FROM sample_blocks ORDER BY start").fetchall()
        finally:
            conn.close()
        return [blocks.parts_of(data) for (data,) in rows]

    try:
        storage.apply_batch([at(10)])
        storage.apply_batch([at(20)])
        grown = parts()
        for offsets in later:
            storage.apply_batch([at(*offsets)])
        moved_on = parts()
    finally:
        storage.close_writer()
        storage.close()
    assert (grown, moved_on) == ([2], [1, 1])
    assert stored_samples(path) == [
        ("s", hour + o, o) for o in sorted((10, 20, *itertools.chain(*later)))
    ]
    assert caplog.messages == []
