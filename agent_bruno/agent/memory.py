"""Thread memory in `threads.db`: opened safely, kept small, and never worth more than ingest.

- A corrupt file, found at start or while running, is renamed aside
  (`threads.db.corrupt-<time>`, with its WAL), counted and logged with both paths; the agent
  goes on with a fresh one.
- A file that cannot be opened at all (a full or read-only disk) leaves the agent with
  in-process memory until restart, said in the log and in every answer's `memory` note.
- A one-shot question (no thread id) keeps only what a follow-up needs, compactly: its focus and
  the question and answer text, for `one_shot_ttl_s`. A follow-up with that id starts a full
  thread from it. Continued threads keep their latest checkpoint only.
- The file is in WAL mode with `synchronous = NORMAL`: a commit does not wait for an fsync; a
  power cut can lose the newest entries, never the file's consistency.
- `prune` drops threads idle longer than `max_age_days`, then the oldest beyond `max_threads`,
  never one with a turn in progress (`turn`), and only the rows it saw: a checkpoint written or a
  turn recorded while it runs is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
import orjson
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

log = logging.getLogger(__name__)
DAY = 86_400.0
WAL_PAGES = 256

_TABLES = """
CREATE TABLE IF NOT EXISTS thread_seen (thread_id TEXT PRIMARY KEY, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS thread_seen_updated ON thread_seen (updated_at);
CREATE TABLE IF NOT EXISTS one_shots (
    thread_id  TEXT PRIMARY KEY,
    updated_at REAL NOT NULL,
    state      BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS one_shots_updated ON one_shots (updated_at);
"""


def strict_serde() -> JsonPlusSerializer:
    """A checkpoint serializer that revives only LangGraph's safe types (messages, plain data)."""
    return JsonPlusSerializer(allowed_msgpack_modules=None)


@dataclass(frozen=True, slots=True)
class MemoryPolicy:
    """How long and how many threads are kept, and how long a one-shot question's entry lives."""

    max_age_days: float = 30.0
    max_threads: int = 10_000
    one_shot_ttl_s: float = DAY


@dataclass(slots=True)
class MemoryStats:
    """What /metrics says about thread memory."""

    threads: int = 0
    one_shots: int = 0
    pruned: int = 0
    quarantined: int = 0
    failures: int = 0


@dataclass(slots=True)
class ThreadMemory:
    """The checkpointer plus the compact entries and bookkeeping beside it."""

    saver: BaseCheckpointSaver[Any]
    conn: aiosqlite.Connection | None  # None: in-process only (the file could not be opened)
    policy: MemoryPolicy = field(default_factory=MemoryPolicy)
    stats: MemoryStats = field(default_factory=MemoryStats)
    unavailable: str | None = None  # why the file is not in use, for answers and the log
    path: Path | None = None
    generation: int = 0  # one more each time a damaged file is replaced while running
    retired: list[aiosqlite.Connection] = field(default_factory=list)  # closed at the end
    busy: dict[str, int] = field(default_factory=dict)  # turns in progress, per thread
    _replacing: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def recover(self, exc: sqlite3.Error, generation: int) -> Path | None:
        """After `exc` from the file of `generation`: when it says the file is damaged, move it
        aside and go on with a new one (in-process memory if that cannot be made); where the
        damaged file went, or None when nothing was done (another turn did it already)."""
        if not is_corrupt(exc) or self.path is None or self.conn is None:
            return None
        async with self._replacing:
            if generation != self.generation or self.conn is None:
                return None
            try:
                aside = set_aside(self.path, exc, self.stats, "while running")
            except OSError as move:
                log.error("thread memory %s is damaged (%s) but cannot be moved aside: %s",
                          self.path, exc, move)  # fmt: skip
                return None
            # Turns still reading the old file fail as memory failures; it closes at the end.
            self.retired.append(self.conn)
            self.generation += 1
            try:
                self.conn, self.saver = await _open(self.path)
            except (sqlite3.Error, OSError) as again:
                self.conn, self.saver = None, InMemorySaver(serde=strict_serde())
                self.unavailable = f"{self.path} cannot be used: {again}"
                log.error("thread memory %s; conversations are kept in this process only, "
                          "until restart", self.unavailable)  # fmt: skip
            return aside

    async def _commit(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        if self.conn is None:
            return
        await self.conn.execute(sql, params)
        await self.conn.commit()

    async def save_one_shot(self, thread_id: str, state: dict[str, Any], now: float) -> None:
        """Keep what a follow-up of a one-shot question needs (focus, question, answer)."""
        blob = orjson.dumps(
            {
                "focus": state.get("focus") or {},
                "question": state.get("question", ""),
                "answer": state.get("answer", ""),
            },
            default=str,
        )
        await self._commit(
            "INSERT OR REPLACE INTO one_shots (thread_id, updated_at, state) VALUES (?, ?, ?)",
            (thread_id, now, blob),
        )

    async def take_one_shot(self, thread_id: str, now: float) -> dict[str, Any] | None:
        """The live compact entry of `thread_id`, removed: the thread goes on in full."""
        if self.conn is None:
            return None
        cursor = await self.conn.execute(
            "SELECT updated_at, state FROM one_shots WHERE thread_id = ?", (thread_id,)
        )
        row = await cursor.fetchone()
        await cursor.close()
        if row is None:
            return None
        await self._commit("DELETE FROM one_shots WHERE thread_id = ?", (thread_id,))
        if now - float(row[0]) > self.policy.one_shot_ttl_s:
            return None
        data: dict[str, Any] = orjson.loads(row[1])
        return data

    @asynccontextmanager
    async def turn(self, thread_id: str) -> AsyncIterator[None]:
        """A turn of `thread_id` in progress: `prune` leaves the thread alone until it ends (the
        turn writes its checkpoint, then `touch` makes the thread the newest)."""
        self.busy[thread_id] = self.busy.get(thread_id, 0) + 1
        try:
            yield
        finally:
            left = self.busy.pop(thread_id) - 1
            if left:
                self.busy[thread_id] = left

    async def touch(self, thread_id: str, now: float) -> None:
        """Record a turn of a full thread and drop its older checkpoints (only the last is read)."""
        if self.conn is None:
            return
        await self.conn.execute(
            "INSERT OR REPLACE INTO thread_seen (thread_id, updated_at) VALUES (?, ?)",
            (thread_id, now),
        )
        for table in ("checkpoints", "writes"):
            await self.conn.execute(
                f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_id < "  # noqa: S608 - fixed names
                "(SELECT max(checkpoint_id) FROM checkpoints WHERE thread_id = ?)",
                (thread_id, thread_id),
            )
        await self.conn.commit()

    async def prune(self, now: float) -> int:
        """Drop threads and one-shot entries past their age or beyond the count; how many."""
        if self.conn is None:
            return 0
        p = self.policy
        conn = self.conn
        # Each old thread with what prune saw of it: when it was last seen, its latest checkpoint.
        cursor = await conn.execute(
            "SELECT s.thread_id, s.updated_at, (SELECT max(c.checkpoint_id) FROM checkpoints c "
            "WHERE c.thread_id = s.thread_id) FROM thread_seen s WHERE s.updated_at < ? OR "
            "s.thread_id NOT IN (SELECT thread_id FROM thread_seen ORDER BY updated_at DESC "
            "LIMIT ?)",
            (now - p.max_age_days * DAY, p.max_threads),
        )
        old = await cursor.fetchall()
        await cursor.close()
        gone = 0
        for thread_id, seen_at, latest in old:
            if thread_id in self.busy:  # answering now: it becomes the newest thread
                continue
            # Only what was seen: the statements below are separate steps, and a turn that
            # starts between them writes a later checkpoint and a later time, which stay.
            if latest is not None:
                for table in ("checkpoints", "writes"):
                    await conn.execute(
                        f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_id <= ?",  # noqa: S608 - fixed names
                        (thread_id, latest),
                    )
            cursor = await conn.execute(
                "DELETE FROM thread_seen WHERE thread_id = ? AND updated_at <= ?",
                (thread_id, seen_at),
            )
            gone += max(cursor.rowcount, 0)
            await cursor.close()
        cursor = await conn.execute(
            "DELETE FROM one_shots WHERE updated_at < ? OR thread_id IN (SELECT thread_id FROM "
            "one_shots ORDER BY updated_at DESC LIMIT -1 OFFSET ?)",
            (now - p.one_shot_ttl_s, p.max_threads),
        )
        gone += max(cursor.rowcount, 0)
        await cursor.close()
        await conn.commit()
        if gone:  # executescript steps it to the end: `execute` frees one page per call
            await conn.executescript("PRAGMA incremental_vacuum")
        self.stats.pruned += gone
        await self.count()
        return gone

    async def count(self) -> MemoryStats:
        """Refresh the counts of kept threads and one-shot entries."""
        if self.conn is not None:
            for attr, table in (("threads", "thread_seen"), ("one_shots", "one_shots")):
                try:
                    cursor = await self.conn.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
                    row = await cursor.fetchone()
                    await cursor.close()
                except sqlite3.Error:
                    continue  # keep the last count; the failure shows where it matters
                setattr(self.stats, attr, int(row[0]) if row else 0)
        return self.stats


def quarantine(path: Path, now: float | None = None) -> Path:
    """Rename a damaged database (and its WAL and shared-memory files) aside; the new name."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    path.rename(aside)
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            extra.rename(aside.with_name(aside.name + suffix))
    return aside


async def _open(path: Path) -> tuple[aiosqlite.Connection, AsyncSqliteSaver]:
    """Open and check the file, then set up the saver's tables and ours."""
    conn = await aiosqlite.connect(str(path))
    try:
        await conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # takes effect on a new file
        cursor = await conn.execute("PRAGMA quick_check(1)")
        row = await cursor.fetchone()
        await cursor.close()
        if row is None or row[0] != "ok":
            raise sqlite3.DatabaseError(f"quick_check: {row[0] if row else 'no answer'}")
        saver = AsyncSqliteSaver(conn, serde=strict_serde())
        await saver.setup()
        # Each turn commits a few pages: checkpoint every 1 MiB of WAL and cut it back to that
        # (by default it grew to 4 MiB and stayed there).
        await conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_PAGES}")
        # Conversation memory is not acknowledged sensor data: in WAL mode, NORMAL keeps the file
        # consistent and a power cut can lose only the newest entries, and no commit waits on an
        # fsync before its answer (FULL cost ~2 ms a question). Readings and events stay FULL.
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute(f"PRAGMA journal_size_limit = {WAL_PAGES * 4096}")
        await conn.executescript(_TABLES)
        # Threads checkpointed before this bookkeeping existed age from now, so they are pruned.
        await conn.execute(
            "INSERT OR IGNORE INTO thread_seen (thread_id, updated_at) "
            "SELECT DISTINCT thread_id, ? FROM checkpoints",
            (time.time(),),
        )
        await conn.commit()
    except BaseException:
        await conn.close()
        raise
    return conn, saver


def is_corrupt(exc: BaseException) -> bool:
    """A damaged or foreign file (SQLITE_CORRUPT, SQLITE_NOTADB, a failed quick_check), as
    opposed to a disk that refuses (full, read-only, absent) or a wrong statement."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    return type(exc) is sqlite3.DatabaseError  # our quick_check verdict


def set_aside(path: Path, exc: BaseException, stats: MemoryStats, when: str) -> Path:
    """Quarantine a damaged file, count it and say so with both paths; the new name."""
    aside = quarantine(path)
    stats.quarantined += 1
    log.error(
        "thread memory %s is damaged (%s), found %s: moved aside to %s; starting a new one "
        "(earlier conversations cannot be continued)",
        path,
        exc,
        when,
        aside,
    )
    return aside


async def _start(
    path: Path, stats: MemoryStats
) -> tuple[tuple[aiosqlite.Connection, AsyncSqliteSaver] | None, str | None]:
    """Open `path`, a damaged file moved aside first: (connection and saver, None), or (None,
    why the file cannot be used)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return await _open(path), None
    except sqlite3.Error as exc:
        if not is_corrupt(exc):
            return None, f"{path} cannot be opened: {exc}"
        set_aside(path, exc, stats, "at start")
    except OSError as exc:
        return None, f"{path} cannot be opened: {exc}"
    try:
        return await _open(path), None
    except (sqlite3.Error, OSError) as again:
        return None, f"{path} cannot be used: {again}"


@asynccontextmanager
async def open_thread_memory(
    path: Path, policy: MemoryPolicy | None = None
) -> AsyncIterator[ThreadMemory]:
    """Thread memory at `path`; a corrupt file is quarantined, an unusable disk means in-process
    memory. Never raises for the file's sake: conversation memory is not worth the agent."""
    stats = MemoryStats()
    policy = policy or MemoryPolicy()
    opened, unavailable = await _start(path, stats)
    if opened is None:
        log.error(
            "thread memory %s; conversations are kept in this process only, until restart",
            unavailable,
        )
        memory = ThreadMemory(InMemorySaver(serde=strict_serde()), None, policy, stats)
        memory.unavailable = unavailable
        yield memory
        return
    conn, saver = opened
    memory = ThreadMemory(saver, conn, policy, stats, path=path)
    try:
        await memory.count()
        yield memory
    finally:
        for used in [*memory.retired, memory.conn]:
            if used is not None:
                with contextlib.suppress(sqlite3.Error):  # a damaged file's connection
                    await used.close()
