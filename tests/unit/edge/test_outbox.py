"""Outbox: durable, ordered, bounded, with the drop policy; survives a kill before sending."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from edge_reporter import outbox_file
from edge_reporter.forwarder import Forwarder, Outcome, Reporter
from edge_reporter.outbox import REOPEN_EVERY_S, RETRY_EVERY_S, Outbox
from edge_reporter.status import Status

T0 = 1_764_115_200.0
REPO = Path(__file__).resolve().parents[3]


def test_ids_are_unique_ordered_and_survive_reopen(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=100)
    first = box.put_many([("aggregate", {"n": 1}), ("critical", {"n": 2})], now=T0)
    box.close()
    box = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=100)
    third = box.put("heartbeat", {"n": 3}, now=T0 + 1)
    assert first[0].startswith(f"pi-1:{box.instance}:")
    assert [int(i.rsplit(":", 1)[1]) for i in [*first, third]] == [1, 2, 3]
    pending = box.peek(10)
    assert [json.loads(e.body)["n"] for e in pending] == [1, 2, 3]
    assert [json.loads(e.body)["id"] for e in pending] == [*first, third]
    box.ack([pending[0].seq])
    assert box.depth() == 2
    assert box.oldest_age(T0 + 10) == 10.0
    box.close()


def test_sequence_is_never_reused_after_ack(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", node="n", max_events=100)
    a = box.put("aggregate", {}, now=T0)
    box.ack(e.seq for e in box.peek(10))
    b = box.put("aggregate", {}, now=T0)
    assert a != b
    box.close()


def test_other_file_other_instance(tmp_path: Path) -> None:
    a = Outbox(tmp_path / "a.db", node="n", max_events=100)
    b = Outbox(tmp_path / "b.db", node="n", max_events=100)
    assert a.instance != b.instance
    a.close()
    b.close()


def test_peek_respects_byte_limit_but_returns_at_least_one(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", node="n", max_events=100)
    box.put_many([("aggregate", {"pad": "x" * 100})] * 5, now=T0)
    assert len(box.peek(10, max_bytes=300)) == 2
    assert len(box.peek(10, max_bytes=10)) == 1
    box.close()


def test_full_outbox_drops_heartbeats_then_aggregates_then_warnings_then_criticals(
    tmp_path: Path,
) -> None:
    box = Outbox(tmp_path / "o.db", node="n", max_events=4)
    box.put_many(
        [
            ("critical", {"n": 0}),
            ("aggregate", {"n": 1}),
            ("warning", {"n": 2}),
            ("heartbeat", {"n": 3}),
        ],
        now=T0,
    )
    box.put("aggregate", {"n": 4}, now=T0)  # drops the heartbeat
    box.put("aggregate", {"n": 5}, now=T0)  # drops the oldest aggregate (1)
    assert [json.loads(e.body)["n"] for e in box.peek(10)] == [0, 2, 4, 5]
    box.put_many([("critical", {"n": 6}), ("critical", {"n": 7})], now=T0)  # drops 4 and 5
    box.put("critical", {"n": 8}, now=T0)  # drops the warning
    box.put("critical", {"n": 9}, now=T0)  # only criticals left: the oldest goes
    assert [json.loads(e.body)["n"] for e in box.peek(10)] == [6, 7, 8, 9]
    assert box.dropped() == {"heartbeat": 1, "aggregate": 3, "warning": 1, "critical": 1}
    box.close()
    assert Outbox(tmp_path / "o.db", node="n", max_events=4).dropped()["aggregate"] == 3


def test_unknown_kind_is_refused(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", node="n", max_events=4)
    with pytest.raises(ValueError, match="kind='gossip'"):
        box.put("gossip", {}, now=T0)
    assert box.depth() == 0
    box.close()


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from edge_reporter.outbox import Outbox
    box = Outbox(Path(sys.argv[1]), node="pi-1", max_events=1000)
    for i in range(50):
        kind = "critical" if i % 10 == 0 else "aggregate"
        box.put(kind, {"type": "aggregate", "n": i}, now=1764115200.0 + i)
    print("ready", flush=True)
    time.sleep(60)
    """
)


def enqueue_then_get_killed(path: Path) -> None:
    """Run a writer process that enqueues 50 events, then SIGKILL it before it sends any."""
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.e2e  # starts a process
async def test_outbox_survives_a_kill_between_write_and_send(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    await asyncio.to_thread(enqueue_then_get_killed, path)
    received: list[int] = []

    def agent(request: httpx.Request) -> httpx.Response:
        events = json.loads(gzip.decompress(request.content))["events"]
        received.extend(e["n"] for e in events)
        return httpx.Response(200, json={"accepted": len(events), "duplicates": 0, "rejected": []})

    box = Outbox(path, node="pi-1", max_events=1000)
    async with httpx.AsyncClient(transport=httpx.MockTransport(agent)) as client:
        forwarder = Forwarder(
            box,
            client,
            url="http://agent/v1/events",
            token="t" * 20,
            reporter=Reporter("pi-1", "lab", "homelab"),
            batch_events=20,
        )
        assert await forwarder.drain() is Outcome.EMPTY
    assert received == list(range(50))
    assert box.depth() == 0
    box.close()


# --- what a disk outage leaves behind, once the disk is back -----------------------------------
# Found by mutation testing (`make mutate MODULES=outbox`): each test fails on an edit of
# edge_reporter/outbox.py or outbox_file.py that the other outbox tests let through.


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def refuse_writes(box: Outbox, refuse: bool = True) -> None:
    assert box._db is not None
    box._db.execute(f"PRAGMA query_only = {'ON' if refuse else 'OFF'}")


def send_all(box: Outbox) -> None:
    """The forwarder's part: hand out every pending event and have it acknowledged."""
    box.ack(e.seq for e in box.peek(100))


def test_a_retry_the_disk_still_refuses_leaves_the_problem_on_healthz(tmp_path: Path) -> None:
    clock, status = Clock(), Status()
    box = Outbox(tmp_path / "o.db", node="n", max_events=10, status=status, clock=clock)
    refuse_writes(box)
    box.put("critical", {"n": 1}, now=T0)
    clock.now += RETRY_EVERY_S
    box.retry()  # tries the file again: still refused
    assert status.has_problem("outbox")
    assert box.held_in_memory() == 1
    refuse_writes(box, False)
    clock.now += RETRY_EVERY_S
    box.retry()
    assert not status.has_problem("outbox")
    assert box.held_in_memory() == 0
    box.close()


@pytest.mark.parametrize("cursor", ["b", None])
def test_drops_and_state_of_an_outage_reach_the_file_after_what_memory_held_was_sent(
    tmp_path: Path, cursor: str | None
) -> None:
    """While the disk refused writes, memory overflowed (one aggregate dropped) and a cursor
    was saved; the held events were then sent and acknowledged. Once the disk is back the drop
    count and the cursor are written, and a restart still reports them."""
    clock, status = Clock(), Status()
    box = Outbox(
        tmp_path / "o.db", node="n", max_events=10, memory_max=1, status=status, clock=clock
    )
    refuse_writes(box)
    state = {} if cursor is None else {"cursor": cursor}
    box.put_many([("aggregate", {"n": 1})], now=T0, state=state)
    box.put("aggregate", {"n": 2}, now=T0)  # memory holds one: n=1 is dropped
    assert box.dropped() == {"aggregate": 1}
    send_all(box)
    assert box.depth() == 0
    refuse_writes(box, False)
    clock.now += RETRY_EVERY_S
    box.retry()
    assert not status.has_problem("outbox")
    box.close()
    box = Outbox(tmp_path / "o.db", node="n", max_events=10)
    assert box.dropped() == {"aggregate": 1}
    assert box.state("cursor") == cursor
    box.close()


def test_a_second_outage_after_a_recovery_counts_its_drops_too(tmp_path: Path) -> None:
    clock = Clock()
    box = Outbox(tmp_path / "o.db", node="n", max_events=10, memory_max=1, clock=clock)
    for outage in range(2):
        refuse_writes(box)
        box.put("heartbeat", {"n": 1}, now=T0)
        box.put("heartbeat", {"n": 2}, now=T0)  # drops the first
        refuse_writes(box, False)
        clock.now += RETRY_EVERY_S
        box.retry()
        assert box.held_in_memory() == 0
        assert box.dropped() == {"heartbeat": outage + 1}
    assert [json.loads(e.body)["n"] for e in box.peek(10)] == [2, 2]
    box.close()


def test_a_file_that_cannot_be_reopened_stays_a_problem_until_it_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The damaged file was moved aside and no new one can be created: every retry tries the
    path again, and /healthz names the problem until one opens, nothing being held meanwhile."""
    clock, status = Clock(), Status()
    box = Outbox(tmp_path / "o.db", node="n", max_events=10, status=status, clock=clock)
    real_connect = outbox_file.connect
    refused = {"on": True}

    def connect(path: Path) -> sqlite3.Connection:
        if refused["on"]:
            raise sqlite3.OperationalError("disk I/O error")
        return real_connect(path)

    monkeypatch.setattr("edge_reporter.outbox.connect", connect)
    box._failed(sqlite3.DatabaseError("database disk image is malformed"))
    for _ in range(2):
        clock.now += REOPEN_EVERY_S
        box.retry()
        assert status.snapshot()["problems"]["outbox"]["detail"] == (
            f"cannot open {tmp_path / 'o.db'}: disk I/O error"
        )
    refused["on"] = False
    clock.now += REOPEN_EVERY_S
    box.retry()
    assert not status.has_problem("outbox")
    box.put("aggregate", {"n": 1}, now=T0)
    assert box.held_in_memory() == 0
    box.close()


class _FailingReads:
    """A connection whose every statement fails as a failing disk's do."""

    def execute(self, *_: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    def close(self) -> None:
        pass


def test_a_failed_read_is_named_on_healthz_until_a_write_works(tmp_path: Path) -> None:
    status = Status()
    box = Outbox(tmp_path / "o.db", node="n", max_events=10, status=status)
    box.put("aggregate", {"n": 1}, now=T0)
    real, box._db = box._db, _FailingReads()  # type: ignore[assignment]
    assert box.depth() == 0  # what could not be read is not counted, and nothing raises
    assert status.snapshot()["problems"]["outbox"]["detail"] == (
        f"cannot write {tmp_path / 'o.db'}: disk I/O error"
    )
    box._db = real
    box.retry()  # nothing held: the problem stays until a write shows the file works
    assert status.has_problem("outbox")
    box.put("aggregate", {"n": 2}, now=T0)
    assert not status.has_problem("outbox")
    assert box.depth() == 2
    box.close()


class _Checked:
    """The first connection to a file whose check finds damage that opening it did not."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.startswith("PRAGMA quick_check"):
            return self._db.execute("SELECT '*** in database main *** Page 3: btree damaged'")
        return self._db.execute(sql, *args)

    def executescript(self, sql: str) -> Any:
        return self._db.executescript(sql)

    def close(self) -> None:
        self._db.close()


def test_a_file_failing_its_check_at_start_is_moved_aside_and_the_damage_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "o.db"
    Outbox(path, node="n", max_events=10).close()
    opened = {"n": 0}
    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        opened["n"] += 1
        db = real_connect(*args, **kwargs)
        return _Checked(db) if opened["n"] == 1 else db

    monkeypatch.setattr(outbox_file, "sqlite3", SimpleNamespace(
        connect=connect, DatabaseError=sqlite3.DatabaseError
    ))  # fmt: skip
    status = Status()
    box = Outbox(path, node="n", max_events=10, status=status)
    (message,) = [r.getMessage() for r in caplog.records if "QUARANTINED" in r.getMessage()]
    assert "is damaged (database disk image is malformed (*** in database main *** Page 3" in (
        message
    )
    assert status.snapshot()["counters"] == {"outbox_quarantined": 1}
    assert not status.has_problem("outbox")
    aside = [p.name for p in tmp_path.glob("o.db.corrupt-*") if not p.name.endswith("-wal")]
    assert len([a for a in aside if not a.endswith("-shm")]) == 1
    box.put("aggregate", {"n": 1}, now=T0)
    assert box.depth() == 1
    box.close()
