"""Thread memory (threads.db): bounded by age and count, compact for one-shot questions,
quarantined when damaged, and never the reason a question or ingest fails."""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph.checkpoint.base import empty_checkpoint

from agent_bruno.agent.memory import (
    MemoryPolicy,
    ThreadMemory,
    is_corrupt,
    open_thread_memory,
)
from agent_bruno.app import create_app
from agent_bruno.settings import Settings
from agent_bruno.storage.schema import connect
from tests.unit.agent.helpers import (
    API_TOKEN,
    NODE1_TOKEN,
    NODE2_TOKEN,
    aggregate,
    auth,
    envelope,
    make_settings,
)

HA = auth(API_TOKEN)
JSON = {"Accept": "application/json"}
QUESTION = "What's the temperature in the warehouse?"
DAY = 86_400.0


def warehouse_events() -> list[dict[str, Any]]:
    """Three 5-minute temperature aggregates from pi-node-1 (the warehouse), ending now."""
    start = float(int(time.time() // 300) * 300 - 900)
    return [
        aggregate(i, start=start + 300 * i, metric="temperature", unit="°C",
                  min=21.0, max=22.0, mean=21.5, last=21.8)
        for i in range(3)
    ]  # fmt: skip


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan, and a client with warehouse data already stored."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
            client.app = app  # type: ignore[attr-defined]
            r = await client.post(
                "/v1/events", json=envelope(warehouse_events()), headers=auth(NODE1_TOKEN)
            )
            assert r.status_code == 200, r.text
            yield client


def memory_gauges(text: str) -> dict[str, float]:
    """`agent_bruno_thread_memory{what=...}` values of a /metrics body."""
    return {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("agent_bruno_thread_memory{")
    }


def checkpointed_threads(path: Path) -> set[str]:
    """Threads that have a full checkpoint in a threads.db file."""
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT DISTINCT thread_id FROM checkpoints")}
    finally:
        conn.close()


FILLERS = (
    "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, type, checkpoint, "
    "metadata) VALUES (?, '', 'x', 'filler', zeroblob(?), zeroblob(1))",
    "INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, "
    "value) VALUES (?, '', 'x', 't', 0, 'c', 'filler', zeroblob(?))",
    "INSERT INTO thread_seen (thread_id, updated_at) VALUES (? || hex(zeroblob(? / 2)), 0)",
    "INSERT INTO one_shots (thread_id, updated_at, state) VALUES (?, 0, zeroblob(?))",
)


async def fill_up(conn: Any) -> None:
    """Make threads.db behave as on a full disk: 'database or disk is full' on the next page it
    needs (max_page_count), with the free room of the pages it has used up (bigger rows first)."""
    cursor = await conn.execute("PRAGMA page_count")
    ((pages,),) = await cursor.fetchall()
    cursor = await conn.execute(f"PRAGMA max_page_count = {pages}")
    assert await cursor.fetchall() == [(pages,)]
    n = 0
    for sql in FILLERS:
        for size in (1024, 128, 16, 1):
            while True:
                n += 1
                try:
                    await conn.execute(sql, (f"filler-{n:05d}", size))
                    await conn.commit()
                except sqlite3.OperationalError:  # full, or a table older code does not have
                    await conn.rollback()
                    break


async def test_threads_db_is_pruned_by_age_and_count(tmp_path: Path) -> None:
    """Regression (issue 7, defect 8): threads.db was never pruned (24 MB after 30 s of chats)."""
    settings = make_settings(tmp_path, threads_max_count=2, retention_interval_s=0.05)
    async with running(settings) as client:
        for i in range(4):
            r = await client.post(
                f"/query?thread_id=t{i}", content=QUESTION, headers={**HA, **JSON}
            )
            assert r.status_code == 200, r.text
            assert r.json()["memory"] is None, r.json()["memory"]  # the turn was remembered
        # The retention pass runs every 0.05 s; wait for its verdict on real time, not on a
        # count of polls (a loaded machine runs fewer passes per poll).
        deadline = time.monotonic() + 30
        while (kept := checkpointed_threads(settings.threads_path)) != {"t2", "t3"}:
            assert time.monotonic() < deadline, kept
            await asyncio.sleep(0.02)
        gauges = memory_gauges((await client.get("/metrics", headers=HA)).text)
        assert gauges["threads"] == 2
        assert gauges["pruned"] >= 2
        memory = client.app.state.services.agent.memory  # type: ignore[attr-defined]
        assert await memory.prune(time.time() + 31 * DAY) == 2  # past the 30-day age
        assert checkpointed_threads(settings.threads_path) == set()
        assert "agent_bruno_file_bytes{" in (await client.get("/metrics", headers=HA)).text


async def test_a_follow_up_answered_while_retention_runs_is_not_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a retention pass that ran while a turn of an old thread was being recorded
    (its new checkpoint written, the turn not yet marked as the thread's newest) deleted the
    thread, new checkpoint and all, so the next follow-up in it remembered nothing."""
    settings = make_settings(tmp_path, threads_max_count=1)  # retention only when called
    async with running(settings) as client:
        office = envelope(warehouse_events(), node="pi-node-2", location="office")
        r = await client.post("/v1/events", json=office, headers=auth(NODE2_TOKEN))
        assert r.status_code == 200, r.text
        for thread in ("a", "b"):  # "a" is the older thread, beyond the count of one
            r = await client.post(f"/query?thread_id={thread}", content=QUESTION, headers=HA)
            assert r.status_code == 200, r.text
        memory = client.app.state.services.agent.memory  # type: ignore[attr-defined]
        touch = ThreadMemory.touch

        async def retention_first(self: ThreadMemory, thread_id: str, now: float) -> None:
            await self.prune(time.time())  # a pass lands in the turn's last step
            await touch(self, thread_id, now)

        with monkeypatch.context() as patched:
            patched.setattr(ThreadMemory, "touch", retention_first)
            r = await client.post("/query?thread_id=a", content="and in fahrenheit?", headers=HA)
        assert r.status_code == 200, r.text
        assert "°F" in r.text
        r = await client.post("/query?thread_id=a", content="and in kelvin?", headers=HA)
        assert r.status_code == 200, r.text
        # The thread still knows what was asked: the warehouse, not every place.
        assert "warehouse" in r.text.lower(), r.text
        assert "office" not in r.text.lower(), r.text
        assert " K" in r.text, r.text
        assert await memory.prune(time.time()) == 1  # "b" is the older one now
        assert checkpointed_threads(settings.threads_path) == {"a"}


async def test_a_one_shot_question_keeps_a_compact_entry_its_follow_up_can_use(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    async with running(settings) as client:
        first = await client.post("/query", content=QUESTION, headers=HA)
        assert first.status_code == 200, first.text
        thread = first.headers["X-Thread-Id"]
        assert checkpointed_threads(settings.threads_path) == set()  # no full checkpoint
        conn = sqlite3.connect(settings.threads_path)
        try:
            ((size,),) = conn.execute("SELECT length(state) FROM one_shots").fetchall()
        finally:
            conn.close()
        assert size < 1500
        follow = await client.post(
            f"/query?thread_id={thread}", content="and in fahrenheit?", headers=HA
        )
        assert follow.status_code == 200, follow.text
        assert "°F" in follow.text
        assert "warehouse" in follow.text.lower()
        assert checkpointed_threads(settings.threads_path) == {thread}


async def test_corrupt_threads_db_is_quarantined_and_ingest_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression (issue 7, defect 11): a corrupt threads.db stopped the agent, ingest
    included, and the error did not name the file."""
    settings = make_settings(tmp_path)
    settings.data_dir.mkdir(parents=True)
    garbage = b"this is not an SQLite database " * 200
    settings.threads_path.write_bytes(garbage)
    caplog.set_level(logging.ERROR)
    async with running(settings) as client:  # ingest of the warehouse data worked
        r = await client.post("/query", content=QUESTION, headers=HA)
        assert r.status_code == 200, r.text
        assert "warehouse" in r.text.lower()
        gauges = memory_gauges((await client.get("/metrics", headers=HA)).text)
        assert gauges["quarantined"] == 1
    (aside,) = settings.data_dir.glob("threads.db.corrupt-*")
    assert aside.read_bytes() == garbage
    assert str(settings.threads_path) in caplog.text
    assert str(aside) in caplog.text


async def test_query_answers_without_thread_memory_when_the_disk_is_full(tmp_path: Path) -> None:
    """Regression (issue 7, defect 12): with the agent's disk full, /query answered 500."""
    settings = make_settings(tmp_path)
    async with running(settings) as client:
        # The saver's own connection (the same before and after thread memory had a module).
        conn = client.app.state.services.agent.checkpointer.conn  # type: ignore[attr-defined]
        await fill_up(conn)
        r = await client.post("/query?thread_id=full-disk", content=QUESTION, headers=HA)
        assert r.status_code == 200, r.text
        assert "21.8" in r.text
        assert "warehouse" in r.text.lower()
        assert "full" in r.headers.get("X-Agent-Memory", ""), (r.headers, r.text)
        assert "thread memory is unavailable" in r.text
        js = await client.post(
            "/query?thread_id=full-disk-2",
            content=QUESTION,
            headers={**HA, "Accept": "application/json"},
        )
        assert js.status_code == 200, js.text
        assert "full" in js.json()["memory"]
        gauges = memory_gauges((await client.get("/metrics", headers=HA)).text)
        assert gauges["failures"] >= 2


async def test_threads_from_before_the_bookkeeping_are_pruned_and_their_pages_freed(
    tmp_path: Path,
) -> None:
    """Threads a saver wrote without thread memory's bookkeeping (an older threads.db) age from
    the first start that knows them; pruning gives all their pages back, not one per pass."""
    path = tmp_path / "threads.db"
    async with open_thread_memory(path, MemoryPolicy(max_age_days=1.0)) as memory:
        saver = memory.saver
        for i in range(40):  # ~40 checkpoints written straight through the saver
            config: Any = {"configurable": {"thread_id": f"old-{i}", "checkpoint_ns": ""}}
            checkpoint = empty_checkpoint()
            checkpoint["channel_values"] = {"answer": "x" * 4000}
            await saver.aput(config, checkpoint, {}, {})
    async with open_thread_memory(path, MemoryPolicy(max_age_days=1.0)) as memory:
        assert memory.stats.threads == 40
        assert await memory.prune(time.time()) == 0  # adopted now: not yet a day old
        assert await memory.prune(time.time() + 2 * DAY) == 40
        assert memory.conn is not None
        cursor = await memory.conn.execute("PRAGMA freelist_count")
        ((free,),) = await cursor.fetchall()
    assert checkpointed_threads(path) == set()
    assert free == 0


async def test_threads_wal_stays_near_one_mebibyte(tmp_path: Path) -> None:
    """Each turn commits a few pages; the WAL grew to 4 MiB and stayed there."""
    path = tmp_path / "threads.db"
    wal = tmp_path / "threads.db-wal"
    largest = 0
    async with open_thread_memory(path) as memory:
        assert memory.conn is not None
        await memory.conn.execute("PRAGMA synchronous = OFF")  # the same pages, without fsyncs
        state = {"focus": {"location": "lab"}, "question": QUESTION, "answer": "21.5 °C " * 40}
        for i in range(150):
            await memory.save_one_shot(f"one-shot-{i}", state, time.time())
            largest = max(largest, wal.stat().st_size)
    assert largest <= 1.1 * 2**20


async def damage(conn: Any, path: Path) -> None:
    """Overwrite every page of threads.db but the first with noise, as a failing disk would, and
    make the connection read them again (its cache emptied)."""
    await (await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")).fetchall()
    with path.open("r+b") as f:
        size = f.seek(0, 2)
        f.seek(4096)
        f.write(random.Random(7).randbytes(size - 4096))
    await (await conn.execute("PRAGMA shrink_memory")).fetchall()


async def test_a_threads_db_damaged_while_running_is_quarantined_then(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression (issue 15): a threads.db found damaged while running was used, failing, until
    the next start moved it aside."""
    settings = make_settings(tmp_path)
    caplog.set_level(logging.ERROR)
    async with running(settings) as client:
        for i in range(20):  # pages enough that a follow-up must read some from the disk
            r = await client.post(f"/query?thread_id=t{i}", content=QUESTION, headers=HA)
            assert r.status_code == 200, r.text
        conn = client.app.state.services.agent.checkpointer.conn  # type: ignore[attr-defined]
        await damage(conn, settings.threads_path)
        r = await client.post("/query?thread_id=t3", content="and in fahrenheit?", headers=HA)
        assert r.status_code == 200, r.text
        (aside,) = settings.data_dir.glob("threads.db.corrupt-*Z")  # with its -wal and -shm
        assert str(aside) in caplog.text
        assert "damaged" in r.headers.get("X-Agent-Memory", "")
        assert checkpointed_threads(settings.threads_path) == {"t3"}  # on in the new file
        again = await client.post("/query?thread_id=t3", content="and in kelvin?", headers=HA)
        assert again.status_code == 200, again.text
        assert "X-Agent-Memory" not in again.headers
        assert "warehouse" in again.text.lower()  # the turn kept in the new file is used
        gauges = memory_gauges((await client.get("/metrics", headers=HA)).text)
        assert gauges["quarantined"] == 1
        r = await client.post(
            "/v1/events", json=envelope(warehouse_events()), headers=auth(NODE1_TOKEN)
        )
        assert r.status_code == 200, r.text


def test_only_a_damaged_file_counts_as_damage(tmp_path: Path) -> None:
    """A constraint or a closed connection is a bug to log, not a reason to move the file."""
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
    conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError) as constraint:
        conn.execute("INSERT INTO t VALUES (1)")
    conn.close()
    with pytest.raises(sqlite3.ProgrammingError) as closed:
        conn.execute("SELECT 1")
    (tmp_path / "junk.db").write_bytes(b"not a database " * 400)
    with pytest.raises(sqlite3.DatabaseError) as foreign:
        sqlite3.connect(tmp_path / "junk.db").execute("SELECT * FROM sqlite_master")
    assert not is_corrupt(constraint.value)
    assert not is_corrupt(closed.value)
    assert not is_corrupt(sqlite3.OperationalError("database or disk is full"))
    assert is_corrupt(foreign.value)
    assert is_corrupt(sqlite3.DatabaseError("quick_check: *** in database main ***"))


async def test_threads_db_commits_without_an_fsync_while_readings_stay_durable(
    tmp_path: Path,
) -> None:
    """Conversation memory is not acknowledged sensor data: threads.db is WAL with
    synchronous=NORMAL (no answer waits on an fsync; ~2 ms each at FULL), while the readings
    database keeps FULL."""
    async with open_thread_memory(tmp_path / "threads.db") as memory:
        assert memory.conn is not None
        modes = []
        for pragma in ("journal_mode", "synchronous"):
            cursor = await memory.conn.execute(f"PRAGMA {pragma}")
            ((value,),) = await cursor.fetchall()
            modes.append(value)
    assert modes == ["wal", 1]  # 1: NORMAL (2 is FULL)
    readings = connect(tmp_path / "agent-bruno.db")
    try:
        assert readings.execute("PRAGMA synchronous").fetchone() == (2,)
    finally:
        readings.close()
