"""Outbox edge cases a reporter meets in the field: the bounds it is given, files it cannot open,
old files, a disk that refuses writes for a while, what is said on /healthz, and what the
forwarder is handed (which events, which ids, in which order) through all of it.

Found by mutation testing (`make mutate MODULES=outbox`): each test fails on a behaviour-changing
edit of edge_reporter/outbox.py that the older tests let through.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from edge_reporter import outbox as outbox_module
from edge_reporter import outbox_file
from edge_reporter.outbox import Outbox, OutboxError
from edge_reporter.status import Status

T0 = 1_764_115_200.0


class Clock:
    """A monotonic clock the test moves (the outbox retries its disk every few seconds)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def refuse_writes(box: Outbox, refuse: bool = True) -> None:
    """Make the outbox's file refuse every write (as a failing disk does)."""
    assert box._db is not None
    box._db.execute(f"PRAGMA query_only = {'ON' if refuse else 'OFF'}")


def ns(box: Outbox, limit: int = 100) -> list[Any]:
    return [json.loads(e.body).get("n") for e in box.peek(limit)]


# --- bounds ------------------------------------------------------------------------------------


def test_max_events_must_be_at_least_one(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^max_events=0: expected at least 1$"):
        Outbox(tmp_path / "o.db", node="n", max_events=0)
    box = Outbox(tmp_path / "o.db", node="n", max_events=1)  # one is a valid bound
    box.put("aggregate", {"n": 1}, now=T0)
    box.put("aggregate", {"n": 2}, now=T0)
    assert ns(box) == [2]
    assert box.dropped() == {"aggregate": 1}
    box.close()


def test_a_memory_bound_under_one_still_holds_one_event(tmp_path: Path) -> None:
    clock = Clock()
    box = Outbox(tmp_path / "o.db", node="n", max_events=10, memory_max=0, clock=clock)
    refuse_writes(box)
    box.put("aggregate", {"n": 1}, now=T0)
    box.put("aggregate", {"n": 2}, now=T0)
    assert box.held_in_memory() == 1
    assert ns(box) == [2]  # the newest kept
    assert box.dropped() == {"aggregate": 1}
    box.close()


def test_memory_drops_lowest_priority_then_oldest_and_counts_them(tmp_path: Path) -> None:
    clock = Clock()
    status = Status()
    box = Outbox(
        tmp_path / "o.db", node="n", max_events=100, memory_max=3, status=status, clock=clock
    )
    refuse_writes(box)
    box.put_many([("warning", {"n": 0}), ("heartbeat", {"n": 1}), ("aggregate", {"n": 2})], now=T0)
    box.put("critical", {"n": 3}, now=T0)  # the heartbeat goes
    assert box.dropped() == {"heartbeat": 1}
    box.put("aggregate", {"n": 4}, now=T0)  # the older aggregate goes, not the new one
    assert sorted(ns(box)) == [0, 3, 4]
    box.put("warning", {"n": 5}, now=T0)  # then the aggregate
    box.put("warning", {"n": 6}, now=T0)  # then the oldest warning
    assert ns(box) == [3, 5, 6]  # the critical first, then in order
    assert box.dropped() == {"heartbeat": 1, "aggregate": 2, "warning": 1}
    assert status.snapshot()["counters"] == {"outbox_held_in_memory": 7}
    box.close()


def test_a_full_outbox_drops_in_several_rounds_when_asked_to(tmp_path: Path) -> None:
    """Written back from memory, more events than the bound at once: all the excess goes."""
    clock = Clock()
    box = Outbox(tmp_path / "o.db", node="n", max_events=2, clock=clock)
    refuse_writes(box)
    box.put_many([("aggregate", {"n": n}) for n in range(5)], now=T0)
    refuse_writes(box, False)
    clock.now += 60
    box.retry()
    assert box.held_in_memory() == 0
    assert ns(box) == [3, 4]
    assert box.depth() == 2
    assert box.dropped() == {"aggregate": 3}
    box.close()


# --- opening the file --------------------------------------------------------------------------


def test_a_data_directory_that_is_a_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a directory")
    with pytest.raises(OutboxError, match=r"cannot create the outbox directory .*data"):
        Outbox(tmp_path / "data" / "outbox.db", node="n", max_events=10)


def test_an_outbox_path_that_is_a_directory_stops_the_reporter_at_start(tmp_path: Path) -> None:
    (tmp_path / "outbox.db").mkdir()
    with pytest.raises(OutboxError, match=r"^cannot open outbox .*outbox\.db: "):
        Outbox(tmp_path / "outbox.db", node="n", max_events=10)


def test_the_file_is_durable_wal_with_full_sync(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", node="n", max_events=10)
    assert box._db is not None
    assert box._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert box._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert box._db.isolation_level is None  # autocommit: `put` commits before it returns
    box.put("critical", {"n": 1}, now=T0)
    # Another process (the reporter after a kill) sees it without any close.
    other = sqlite3.connect(tmp_path / "o.db")
    assert other.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    other.close()
    box.close()


def test_an_outbox_file_of_an_older_reporter_is_upgraded_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
            priority INTEGER NOT NULL, created REAL NOT NULL, body TEXT NOT NULL);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('instance', 'cafe0001');
        INSERT INTO events (kind, priority, created, body)
            VALUES ('critical', 4, 1764115200.0, '{"id":"pi-1:cafe0001:1","n":1}');
        """
    )
    old.commit()
    old.close()
    clock = Clock()
    box = Outbox(path, node="pi-1", max_events=10, clock=clock)
    assert box.instance == "cafe0001"
    [pending] = box.peek(10)
    assert (pending.seq, pending.id, pending.kind) == (1, "pi-1:cafe0001:1", "critical")
    refuse_writes(box)
    [held_id] = box.put_many([("critical", {"n": 2})], now=T0)
    refuse_writes(box, False)
    clock.now += 60
    box.retry()
    box.close()
    box = Outbox(path, node="pi-1", max_events=10)
    assert [e.id for e in box.peek(10)] == ["pi-1:cafe0001:1", held_id]
    assert box.instance == "cafe0001"
    box.close()


def test_a_file_that_cannot_be_opened_is_retried_every_few_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A passing problem at start (disk I/O error): the reporter starts, holds events in memory,
    says so on /healthz, tries the file again every REOPEN_EVERY_S and then writes them there."""
    clock = Clock()
    status = Status()
    real_connect = outbox_file.connect
    failing = {"on": True, "calls": 0}

    def connect(path: Path) -> sqlite3.Connection:
        failing["calls"] += 1
        if failing["on"]:
            raise sqlite3.OperationalError("disk I/O error")
        return real_connect(path)

    monkeypatch.setattr("edge_reporter.outbox.connect", connect)
    box = Outbox(tmp_path / "o.db", node="pi-1", max_events=10, status=status, clock=clock)
    assert len(box.instance) == 8  # memory ids need one too
    problem = status.snapshot()["problems"]["outbox"]
    assert problem["detail"] == f"cannot open {tmp_path / 'o.db'}: disk I/O error"
    assert problem["consequence"] == (
        "events are held in memory (up to 10000; criticals kept longest and sent first) and "
        "written to the outbox once it takes writes again; a kill or power cut now loses them"
    )
    [first] = box.put_many([("critical", {"n": 1})], now=T0)
    assert first.startswith(f"pi-1:{box.instance}:m")
    assert box.depth() == 1
    assert box.has_pending()
    assert failing["calls"] == 1  # not tried again at once
    failing["on"] = False
    clock.now += outbox_module.REOPEN_EVERY_S - 0.1
    box.put("aggregate", {"n": 2}, now=T0)
    box.retry()
    assert failing["calls"] == 1
    assert status.has_problem("outbox")  # not cleared before the file is back
    assert box.held_in_memory() == 2
    clock.now += 0.1
    box.retry()
    assert failing["calls"] == 2
    assert box.held_in_memory() == 0
    assert status.snapshot()["status"] == "ok"
    assert box.peek(1)[0].id == first
    assert ns(box) == [1, 2]
    box.close()


# --- a disk that refuses writes for a while ----------------------------------------------------


def test_memory_is_written_back_at_most_every_retry_interval(tmp_path: Path) -> None:
    clock = Clock()
    status = Status()
    box = Outbox(tmp_path / "o.db", node="n", max_events=100, status=status, clock=clock)
    refuse_writes(box)
    box.put("critical", {"n": 1}, now=T0)
    box.put("critical", {"n": 2}, now=T0)  # tries the file (with what memory holds): refused
    assert status.snapshot()["problems"]["outbox"]["detail"] == (
        f"cannot write {tmp_path / 'o.db'}: attempt to write a readonly database"
    )
    refuse_writes(box, False)
    clock.now += outbox_module.RETRY_EVERY_S - 0.1
    box.retry()
    assert box.held_in_memory() == 2  # not yet: one attempt per interval, not per put
    box.put("aggregate", {"n": 3}, now=T0)
    assert box.held_in_memory() == 3  # order kept: behind the held ones
    clock.now += 0.1
    box.retry()
    assert box.held_in_memory() == 0
    assert not status.has_problem("outbox")
    assert ns(box) == [1, 2, 3]
    assert [e.seq > 0 for e in box.peek(10)] == [True, True, True]
    box.close()


def test_state_saved_while_the_disk_refused_it_reaches_the_file(tmp_path: Path) -> None:
    clock = Clock()
    box = Outbox(tmp_path / "o.db", node="n", max_events=100, clock=clock)
    box.put_many([("aggregate", {"n": 0})], now=T0, state={"cursor": "a"})
    assert box.state("cursor") == "a"
    refuse_writes(box)
    box.put_many([("aggregate", {"n": 1})], now=T0, state={"cursor": "b"})
    assert box.state("cursor") == "b"  # the newest, although only memory has it
    refuse_writes(box, False)
    clock.now += 60
    box.retry()
    assert box.state("cursor") == "b"
    assert box._memory_state == {}
    box.put_many([("aggregate", {"n": 2})], now=T0, state={"cursor": "c"})
    box.close()
    box = Outbox(tmp_path / "o.db", node="n", max_events=100)
    assert box.state("cursor") == "c"
    assert box.state("other") is None
    box.close()


def test_held_criticals_are_handed_out_first_then_the_file_in_order(tmp_path: Path) -> None:
    clock = Clock()
    box = Outbox(tmp_path / "o.db", node="n", max_events=100, clock=clock)
    box.put_many([("aggregate", {"n": n}) for n in range(3)], now=T0)
    refuse_writes(box)
    box.put_many(
        [("aggregate", {"n": 10}), ("critical", {"n": 11}), ("aggregate", {"n": 12})], now=T0
    )
    assert ns(box) == [11, 10, 12, 0, 1, 2]
    assert ns(box, 2) == [11, 10]  # the limit counts memory too
    assert ns(box, 4) == [11, 10, 12, 0]
    assert box.depth() == 6
    # Acknowledging held and stored events together removes both.
    box.ack(e.seq for e in box.peek(4))
    assert ns(box) == [1, 2]
    assert box.held_in_memory() == 0
    box.close()


def test_events_acknowledged_while_the_delete_fails_are_skipped_and_deleted_later(
    tmp_path: Path,
) -> None:
    clock = Clock()
    box = Outbox(tmp_path / "o.db", node="n", max_events=100, clock=clock)
    box.put_many([("aggregate", {"n": n}) for n in range(4)], now=T0)
    refuse_writes(box)
    box.ack(e.seq for e in box.peek(2))
    assert ns(box, 2) == [2, 3]  # the limit is filled past the skipped ones
    assert ns(box, 1) == [2]
    assert box.depth() == 2
    assert box.has_pending()
    box.ack(e.seq for e in box.peek(2))
    assert not box.has_pending()
    assert box.depth() == 0
    assert box.peek(10) == []
    refuse_writes(box, False)
    clock.now += 60
    box.retry()
    assert box._deleted == set()
    assert box.depth() == 0
    box.close()
    assert Outbox(tmp_path / "o.db", node="n", max_events=100).depth() == 0


def test_a_later_ack_also_deletes_what_an_earlier_one_could_not(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", node="n", max_events=100)
    box.put_many([("aggregate", {"n": n}) for n in range(3)], now=T0)
    first = box.peek(1)
    refuse_writes(box)
    box.ack(e.seq for e in first)
    refuse_writes(box, False)
    box.ack(e.seq for e in box.peek(1))  # the DELETE works again: both go
    assert box._deleted == set()
    box.close()
    assert ns(Outbox(tmp_path / "o.db", node="n", max_events=100)) == [2]


def test_oldest_age_counts_memory_and_file(tmp_path: Path) -> None:
    clock = Clock()
    box = Outbox(tmp_path / "o.db", node="n", max_events=100, clock=clock)
    assert box.oldest_age(T0) == 0.0
    box.put("aggregate", {"n": 0}, now=T0 + 50)
    assert box.oldest_age(T0 + 60) == 10.0
    refuse_writes(box)
    box.put("critical", {"n": 1}, now=T0 + 20)  # held in memory, older by its time
    assert box.oldest_age(T0 + 60) == 40.0
    assert box.oldest_age(T0) == 0.0  # never negative
    box.ack(e.seq for e in box.peek(10) if e.seq > 0)
    box.close()


def test_close_writes_what_memory_holds(tmp_path: Path) -> None:
    clock = Clock()
    box = Outbox(tmp_path / "o.db", node="n", max_events=100, clock=clock)
    refuse_writes(box)
    box.put("critical", {"n": 1}, now=T0)
    refuse_writes(box, False)
    clock.now += 60
    box.close()
    assert box._db is None
    assert ns(Outbox(tmp_path / "o.db", node="n", max_events=100)) == [1]


# --- damaged files -----------------------------------------------------------------------------


def test_what_is_readable_of_a_damaged_file_is_kept_except_acknowledged_or_unreadable_events(
    tmp_path: Path,
) -> None:
    status = Status()
    box = Outbox(tmp_path / "o.db", node="n", max_events=100, status=status)
    ids = box.put_many([("aggregate", {"n": n}) for n in range(4)], now=T0)
    assert box._db is not None
    box._db.execute("UPDATE events SET body = 'not json' WHERE seq = 3")
    refuse_writes(box)
    box.ack([1])  # acknowledged, but the DELETE failed
    refuse_writes(box, False)
    box._failed(sqlite3.DatabaseError("database disk image is malformed"))
    assert status.snapshot()["counters"] == {"outbox_quarantined": 1}
    assert list(tmp_path.glob("o.db.corrupt-*"))
    pending = box.peek(10)
    assert [e.id for e in pending] == [ids[1], ids[3]]  # same ids, in order
    assert all(e.seq < 0 for e in pending)
    assert box._deleted == set()
    box.put("critical", {"n": 9}, now=T0)  # the fresh file takes it, behind the salvaged ones
    box.retry()
    assert ns(box) == [1, 3, 9]
    box.close()


def test_a_damaged_file_keeps_what_memory_held_and_names_the_damage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    box = Outbox(tmp_path / "o.db", node="n", max_events=100, clock=clock)
    box.put_many([("aggregate", {"n": n}) for n in range(2)], now=T0)
    refuse_writes(box)
    box.put("critical", {"n": 5}, now=T0)  # held in memory
    refuse_writes(box, False)
    box._failed(sqlite3.DatabaseError("database disk image is malformed"))
    quarantined = [r.getMessage() for r in caplog.records if "QUARANTINED" in r.getMessage()]
    assert len(quarantined) == 1
    assert "(database disk image is malformed)" in quarantined[0]
    assert sorted(ns(box)) == [0, 1, 5]  # the salvaged events and the one memory held
    box.close()


def test_a_damaged_file_that_cannot_be_replaced_leaves_events_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    status = Status()
    box = Outbox(tmp_path / "o.db", node="n", max_events=100, status=status, clock=clock)
    box.put("aggregate", {"n": 0}, now=T0)

    def no_file(path: Path) -> sqlite3.Connection:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr("edge_reporter.outbox.connect", no_file)
    box._failed(sqlite3.DatabaseError("database disk image is malformed"))
    assert status.has_problem("outbox")
    clock.now += 60
    box.put("critical", {"n": 1}, now=T0)  # no file to write to: held, and no crash
    assert ns(box) == [1, 0]  # the critical first
    assert box.depth() == 2
    box.close()


def test_a_batch_holds_exactly_the_events_that_fit_its_byte_bound(tmp_path: Path) -> None:
    """Each event counts its body and the comma that joins it to the next in the envelope."""
    box = Outbox(tmp_path / "o.db", node="n", max_events=100)
    box.put_many([("aggregate", {"pad": "x" * 50}) for _ in range(6)], now=T0)
    size = len(box.peek(1)[0].body) + 1
    assert len(box.peek(10, max_bytes=3 * size)) == 3
    assert len(box.peek(10, max_bytes=3 * size - 1)) == 2
    assert len(box.peek(10, max_bytes=3 * size + 1)) == 3
    box.close()


def test_a_write_failing_halfway_is_rolled_back_and_the_next_one_works(tmp_path: Path) -> None:
    """A statement failing inside the transaction (SQLite keeps the transaction open): nothing
    of it stays, neither the events nor the state saved with them, and the file takes the
    events held meanwhile once it works again."""
    clock = Clock()
    status = Status()
    box = Outbox(tmp_path / "o.db", node="n", max_events=100, status=status, clock=clock)
    assert box._db is not None
    box._db.execute(
        "CREATE TRIGGER failing BEFORE INSERT ON events "
        "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
    )
    box.put_many([("critical", {"n": 1})], now=T0, state={"cursor": "a"})
    assert box.held_in_memory() == 1
    assert status.snapshot()["problems"]["outbox"]["detail"].endswith(": disk I/O error")
    assert not box._db.in_transaction
    other = sqlite3.connect(tmp_path / "o.db")
    assert other.execute("SELECT count(*) FROM meta WHERE key = 'state:cursor'").fetchone() == (0,)
    other.close()
    box._db.execute("DROP TRIGGER failing")
    clock.now += 60
    box.put("aggregate", {"n": 2}, now=T0)
    assert box.held_in_memory() == 0
    box.close()
    box = Outbox(tmp_path / "o.db", node="n", max_events=100)
    assert ns(box) == [1, 2]
    assert box.state("cursor") == "a"
    box.close()


def test_a_missing_data_directory_is_created_with_its_parents(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "data" / "reporter" / "outbox.db", node="n", max_events=10)
    box.put("aggregate", {"n": 1}, now=T0)
    assert (tmp_path / "data" / "reporter" / "outbox.db").exists()
    box.close()


def test_a_file_that_cannot_be_reopened_at_run_time_does_not_stop_the_reporter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At start a CANTOPEN is the operator's to fix (OutboxError); later, after a damaged file
    was moved aside, the same error only degrades the outbox."""
    status = Status()
    box = Outbox(tmp_path / "o.db", node="n", max_events=100, status=status)
    real_connect = outbox_file.connect
    monkeypatch.setattr("edge_reporter.outbox.connect", lambda _p: real_connect(tmp_path))
    box._failed(sqlite3.DatabaseError("database disk image is malformed"))  # no raise
    assert "unable to open database file" in status.snapshot()["problems"]["outbox"]["detail"]
    box.put("critical", {"n": 1}, now=T0)
    assert box.held_in_memory() == 1
    box.close()
