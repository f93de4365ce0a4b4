"""Durable, ordered, bounded outbox of events waiting for the agent's acknowledgement (SQLite)."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Drop order when the outbox is full: lowest priority first, oldest first within a priority.
# Old heartbeats are worthless once a newer one exists; aggregates are summaries; criticals last.
# Episode events go with criticals: a lost close would leave an episode open at the agent.
KIND_PRIORITY: Mapping[str, int] = {
    "heartbeat": 0,
    "aggregate": 1,
    "explanation": 2,
    "warning": 3,
    "critical": 4,
    "episode": 4,
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind     TEXT    NOT NULL,
    priority INTEGER NOT NULL,
    created  REAL    NOT NULL,
    body     TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS events_priority ON events (priority, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class OutboxError(RuntimeError):
    """The outbox file cannot be opened or written."""


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """One stored event: its sequence number, idempotency key, kind and JSON body."""

    seq: int
    id: str
    kind: str
    body: str


class Outbox:
    """Events in strict sequence order; `put` returns only once the event is on disk.

    Ids are `{node}:{instance}:{seq}`: `instance` is random per outbox file and `seq` comes
    from AUTOINCREMENT, so an id is never reused, across restarts included.
    """

    def __init__(self, path: Path, *, node: str, max_events: int) -> None:
        if max_events < 1:
            raise ValueError(f"max_events={max_events}: expected at least 1")
        self._node = node
        self._max = max_events
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsync'd at every commit, so an event `put` returned for survives
            # a power cut. Commits are rare (a critical, or one batch per aggregate interval),
            # so the cost on an SD card is a few fsyncs per 5 minutes.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._instance = self._meta("instance") or self._new_instance()
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open outbox {path}: {exc}") from exc

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _new_instance(self) -> str:
        instance = secrets.token_hex(4)
        self._db.execute("INSERT INTO meta (key, value) VALUES ('instance', ?)", (instance,))
        return instance

    @property
    def instance(self) -> str:
        """Random id of this outbox file, part of every event id."""
        return self._instance

    def put(self, kind: str, event: Mapping[str, Any], *, now: float) -> str:
        """Store one event durably and return its id."""
        return self.put_many([(kind, event)], now=now)[0]

    def put_many(
        self,
        items: Iterable[tuple[str, Mapping[str, Any]]],
        *,
        now: float,
        state: Mapping[str, str] | None = None,
    ) -> list[str]:
        """Store events in one fsync'd transaction, in the given order; return their ids.

        `state` (key → text) is saved in the same transaction, for `state()` after a restart.
        """
        ids: list[str] = []
        with self._transaction():
            for key, value in (state or {}).items():
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (f"state:{key}", value),
                )
            for kind, event in items:
                priority = KIND_PRIORITY.get(kind)
                if priority is None:
                    raise ValueError(f"kind={kind!r}: expected one of {sorted(KIND_PRIORITY)}")
                cur = self._db.execute(
                    "INSERT INTO events (kind, priority, created, body) VALUES (?, ?, ?, '')",
                    (kind, priority, now),
                )
                seq = int(cur.lastrowid or 0)
                event_id = f"{self._node}:{self._instance}:{seq}"
                body = json.dumps(
                    {"id": event_id, **event}, separators=(",", ":"), ensure_ascii=False
                )
                self._db.execute("UPDATE events SET body = ? WHERE seq = ?", (body, seq))
                ids.append(event_id)
            self._enforce_bound()
        return ids

    def _enforce_bound(self) -> None:
        (depth,) = self._db.execute("SELECT count(*) FROM events").fetchone()
        excess = int(depth) - self._max
        while excess > 0:
            rows = self._db.execute(
                "SELECT seq, kind FROM events ORDER BY priority, seq LIMIT ?", (excess,)
            ).fetchall()
            if not rows:
                return
            self._db.executemany("DELETE FROM events WHERE seq = ?", [(r[0],) for r in rows])
            counts: dict[str, int] = {}
            for _, kind in rows:
                counts[kind] = counts.get(kind, 0) + 1
            for kind, n in counts.items():
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) "
                    "DO UPDATE SET value = CAST(value AS INTEGER) + excluded.value",
                    (f"dropped:{kind}", str(n)),
                )
                log.warning("outbox full (%d events): dropped %d oldest %s", self._max, n, kind)
            excess -= len(rows)

    def _transaction(self) -> _Tx:
        return _Tx(self._db)

    def peek(self, limit: int, *, max_bytes: int | None = None) -> list[PendingEvent]:
        """Return the oldest pending events in sequence order (at least one if any)."""
        rows = self._db.execute(
            "SELECT seq, kind, body FROM events ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        out: list[PendingEvent] = []
        size = 0
        for seq, kind, body in rows:
            size += len(body) + 1
            if max_bytes is not None and out and size > max_bytes:
                break
            out.append(PendingEvent(int(seq), f"{self._node}:{self._instance}:{seq}", kind, body))
        return out

    def ack(self, seqs: Iterable[int]) -> None:
        """Delete acknowledged events."""
        with self._transaction():
            self._db.executemany("DELETE FROM events WHERE seq = ?", [(s,) for s in seqs])

    def depth(self) -> int:
        """Number of events waiting."""
        (n,) = self._db.execute("SELECT count(*) FROM events").fetchone()
        return int(n)

    def has_pending(self) -> bool:
        """Whether any event waits."""
        return self._db.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None

    def oldest_age(self, now: float) -> float:
        """Seconds since the oldest pending event was stored (0 when empty)."""
        (created,) = self._db.execute("SELECT min(created) FROM events").fetchone()
        return 0.0 if created is None else max(0.0, now - float(created))

    def state(self, key: str) -> str | None:
        """What the last `put_many(..., state=...)` saved under `key`."""
        return self._meta(f"state:{key}")

    def dropped(self) -> dict[str, int]:
        """Events dropped so far because the outbox was full, by kind (persisted)."""
        rows = self._db.execute("SELECT key, value FROM meta WHERE key LIKE 'dropped:%'").fetchall()
        return {str(k).split(":", 1)[1]: int(v) for k, v in rows}

    def close(self) -> None:
        """Close the database."""
        self._db.close()


class _Tx:
    """Explicit BEGIN IMMEDIATE / COMMIT / ROLLBACK on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox: {exc}") from exc

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self._db.execute("COMMIT")
        except sqlite3.Error as error:  # e.g. a full disk at commit: nothing was stored
            exc = error
        # SQLite may already have rolled back (it does on a full disk).
        if exc is not None and self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise OutboxError(f"outbox: {exc}") from exc
