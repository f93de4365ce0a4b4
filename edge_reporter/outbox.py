"""Durable, ordered, bounded outbox of events waiting for the agent's acknowledgement (SQLite).

When the disk refuses writes (full, failing) the outbox does not refuse events: it holds them
in memory (bounded, criticals kept longest) and hands them to the forwarder first, so criticals
still go out; they are written to the file as soon as it accepts writes again. A damaged file is
moved aside (what can still be read of it is kept) and a fresh one started. The `Status` says
which of these is happening, once per change.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from edge_reporter.outbox_file import (
    FATAL_AT_START,
    connect,
    count_dropped,
    enforce_bound,
    read_meta,
    salvage,
    save_state,
)
from edge_reporter.sqlite_files import is_corrupt, quarantine
from edge_reporter.status import Status

log = logging.getLogger(__name__)
_T = TypeVar("_T")

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
CRITICAL = KIND_PRIORITY["critical"]
MEMORY_MAX_EVENTS = 10_000  # events held in memory while the disk refuses writes
REOPEN_EVERY_S = 5.0  # how often a file that could not be opened is tried again
RETRY_EVERY_S = 5.0  # how often memory is written back while the disk refuses writes
COMPONENT = "outbox"


class OutboxError(RuntimeError):
    """The outbox file cannot be opened at start (e.g. no permission on the data directory)."""


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """One pending event: its sequence number (negative: held in memory), id, kind and body."""

    seq: int
    id: str
    kind: str
    body: str


@dataclass(frozen=True, slots=True)
class _Held:
    seq: int
    id: str
    kind: str
    priority: int
    created: float
    body: str


class Outbox:
    """Events in strict sequence order; `put` returns once the event is on disk (or, while the
    disk refuses writes, held in memory: see the module docstring).

    Ids are `{node}:{instance}:{seq}`: `instance` is random per outbox file and `seq` comes
    from AUTOINCREMENT, so an id is never reused, across restarts included. Events held in
    memory get `{node}:{instance}:m{random}`.
    """

    def __init__(
        self,
        path: Path,
        *,
        node: str,
        max_events: int,
        memory_max: int = MEMORY_MAX_EVENTS,
        status: Status | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_events < 1:
            raise ValueError(f"max_events={max_events}: expected at least 1")
        self.path = path
        self._node = node
        self._max = max_events
        self._memory_max = max(1, memory_max)
        self.status = status or Status()
        self._clock = clock
        self._db: sqlite3.Connection | None = None
        self._instance = ""
        self._memory: list[_Held] = []
        self._next_memory_seq = -1
        self._memory_dropped: Counter[str] = Counter()
        self._memory_state: dict[str, str] = {}  # `state` saved while the disk refused it
        self._deleted: set[int] = set()  # acknowledged stored events whose DELETE failed
        self._next_open = 0.0
        self._next_retry = 0.0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutboxError(f"cannot create the outbox directory {path.parent}: {exc}") from exc
        self._open(at_start=True)
        if not self._instance:  # memory only until the file opens
            self._instance = secrets.token_hex(4)

    # --- the file ---------------------------------------------------------------------------

    def _open(self, *, at_start: bool = False) -> bool:
        """Open (or create) the file; a damaged one is moved aside first. False if it cannot."""
        self._next_open = self._clock() + REOPEN_EVERY_S
        try:
            try:
                db = connect(self.path)
            except sqlite3.Error as exc:
                if not is_corrupt(exc):
                    raise
                self._quarantine(exc)
                db = connect(self.path)
            instance = read_meta(db, "instance")
            if instance is None:
                instance = secrets.token_hex(4)
                db.execute("INSERT INTO meta (key, value) VALUES ('instance', ?)", (instance,))
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if at_start and code in FATAL_AT_START:
                raise OutboxError(f"cannot open outbox {self.path}: {exc}") from exc
            self._degrade(f"cannot open {self.path}: {exc}")
            return False
        self._db = db
        self._instance = self._instance or instance
        self._deleted.clear()
        return True

    def _quarantine(self, exc: BaseException) -> None:
        """Move a damaged file aside, keeping in memory every event that can still be read."""
        salvaged = [
            self._held(e.id, e.kind, e.priority, e.created, e.body)
            for e in salvage(self.path, self._deleted)
        ]
        if self._db is not None:
            self._db.close()
            self._db = None
        quarantine(self.path, exc)
        self.status.count("outbox_quarantined")
        if salvaged:
            log.warning("outbox: %d events read back from the damaged file", len(salvaged))
            self._memory[:0] = salvaged
        self._deleted.clear()

    def _failed(self, exc: sqlite3.Error) -> None:
        """React to a database error: quarantine a damaged file, note any other problem."""
        if is_corrupt(exc):
            self._quarantine(exc)
            self._open()
        else:
            self._degrade(f"cannot write {self.path}: {exc}")

    def _degrade(self, detail: str) -> None:
        self.status.problem(
            COMPONENT,
            detail,
            f"events are held in memory (up to {self._memory_max}; criticals kept longest and "
            "sent first) and written to the outbox once it takes writes again; "
            "a kill or power cut now loses them",
        )

    def _write(self, fn: Callable[[sqlite3.Connection], _T]) -> _T | None:
        """Run `fn` in one fsync'd transaction; None if the database refused it."""
        db = self._db
        if db is None:
            return None
        try:
            db.execute("BEGIN IMMEDIATE")
            result = fn(db)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:  # SQLite may already have rolled back (it does on a full disk)
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            self._failed(exc)
            return None
        return result

    def _read(self, fn: Callable[[sqlite3.Connection], _T]) -> _T | None:
        db = self._db
        if db is None:
            return None
        try:
            return fn(db)
        except sqlite3.Error as exc:
            self._failed(exc)
            return None

    def _recover(self) -> bool:
        """Reopen the file if needed and write the events held in memory; True when clean."""
        if self._db is None and (self._clock() < self._next_open or not self._open()):
            return False
        if not (self._memory or self._deleted or self._memory_dropped or self._memory_state):
            return True
        if self._clock() < self._next_retry:  # each attempt writes all memory holds: not per put
            return False
        self._next_retry = self._clock() + RETRY_EVERY_S
        held, deleted, dropped = list(self._memory), set(self._deleted), self._memory_dropped
        state = dict(self._memory_state)

        def persist(db: sqlite3.Connection) -> bool:
            save_state(db, state)
            if deleted:
                db.executemany("DELETE FROM events WHERE seq = ?", [(s,) for s in deleted])
            db.executemany(
                "INSERT INTO events (kind, priority, created, body, ext_id) VALUES (?, ?, ?, ?, ?)",
                [(h.kind, h.priority, h.created, h.body, h.id) for h in held],
            )
            for kind, n in dropped.items():
                count_dropped(db, kind, n)
            enforce_bound(db, self._max)
            return True

        if self._write(persist) is None:
            return False
        log.info("outbox: %d events held in memory are now on disk", len(held))
        self._memory = self._memory[len(held) :]
        self._deleted -= deleted
        self._memory_dropped = Counter()
        for key, value in state.items():
            if self._memory_state.get(key) == value:
                del self._memory_state[key]
        return not self._memory

    def retry(self) -> None:
        """Write what memory holds (events, an outage's drop counts and state): every step."""
        held = self._memory or self._deleted or self._memory_dropped or self._memory_state
        if (held or self._db is None) and self._recover():
            self.status.resolved(COMPONENT)

    # --- the queue --------------------------------------------------------------------------

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
        While the disk refuses writes the events (and the state) are held in memory instead
        (never raises for that); see the module docstring.
        """
        batch = list(items)
        for kind, _ in batch:
            if kind not in KIND_PRIORITY:
                raise ValueError(f"kind={kind!r}: expected one of {sorted(KIND_PRIORITY)}")
        saved = dict(state or {})
        if self._recover():  # nothing held in memory: order is kept by writing to the file
            ids = self._write(lambda db: self._insert(db, batch, now, saved))
            if ids is not None:
                self.status.resolved(COMPONENT)
                return ids
        self._memory_state.update(saved)
        return self._hold(batch, now)

    def state(self, key: str) -> str | None:
        """What the last `put_many(..., state=...)` saved under `key`."""
        if key in self._memory_state:
            return self._memory_state[key]
        return self._read(lambda db: read_meta(db, f"state:{key}"))

    def _insert(
        self,
        db: sqlite3.Connection,
        batch: list[tuple[str, Mapping[str, Any]]],
        now: float,
        state: Mapping[str, str],
    ) -> list[str]:
        save_state(db, state)
        ids: list[str] = []
        for kind, event in batch:
            cur = db.execute(
                "INSERT INTO events (kind, priority, created, body) VALUES (?, ?, ?, '')",
                (kind, KIND_PRIORITY[kind], now),
            )
            seq = int(cur.lastrowid or 0)
            event_id = f"{self._node}:{self._instance}:{seq}"
            db.execute("UPDATE events SET body = ? WHERE seq = ?", (_body(event_id, event), seq))
            ids.append(event_id)
        enforce_bound(db, self._max)
        return ids

    def _held(self, event_id: str, kind: str, priority: int, created: float, body: str) -> _Held:
        seq = self._next_memory_seq
        self._next_memory_seq -= 1
        return _Held(seq, event_id, kind, priority, created, body)

    def _hold(self, batch: list[tuple[str, Mapping[str, Any]]], now: float) -> list[str]:
        """Keep events in memory (the disk refuses them), dropping the least important first."""
        ids: list[str] = []
        for kind, event in batch:
            event_id = f"{self._node}:{self._instance}:m{secrets.token_hex(8)}"
            self._memory.append(
                self._held(event_id, kind, KIND_PRIORITY[kind], now, _body(event_id, event))
            )
            ids.append(event_id)
        excess = len(self._memory) - self._memory_max
        if excess > 0:
            doomed = sorted(self._memory, key=lambda h: (h.priority, -h.seq))[:excess]
            gone = {h.seq for h in doomed}
            self._memory = [h for h in self._memory if h.seq not in gone]
            counts = Counter(h.kind for h in doomed)
            self._memory_dropped.update(counts)
            for kind, n in counts.items():
                log.warning(
                    "outbox: %d events held in memory (disk refuses writes): dropped %d oldest %s",
                    self._memory_max,
                    n,
                    kind,
                )
        self.status.count("outbox_held_in_memory", len(batch))
        return ids

    def peek(self, limit: int, *, max_bytes: int | None = None) -> list[PendingEvent]:
        """Return pending events: those held in memory first (criticals first), then the oldest
        stored ones in sequence order (at least one if any)."""
        candidates = [
            PendingEvent(h.seq, h.id, h.kind, h.body)
            for h in sorted(self._memory, key=lambda h: h.priority < CRITICAL)[:limit]
        ]
        room = limit - len(candidates)
        if room > 0:
            skip = self._deleted
            rows = self._read(
                lambda db: db.execute(
                    "SELECT seq, kind, body, ext_id FROM events ORDER BY seq LIMIT ?",
                    (room + len(skip),),
                ).fetchall()
            )
            for seq, kind, body, ext_id in rows or []:
                if int(seq) in skip:
                    continue
                event_id = ext_id or f"{self._node}:{self._instance}:{seq}"
                candidates.append(PendingEvent(int(seq), str(event_id), str(kind), str(body)))
        out: list[PendingEvent] = []
        size = 0
        for event in candidates[:limit]:
            size += len(event.body) + 1
            if max_bytes is not None and out and size > max_bytes:
                break
            out.append(event)
        return out

    def ack(self, seqs: Iterable[int]) -> None:
        """Delete acknowledged events."""
        acked = set(seqs)
        if any(s < 0 for s in acked):
            self._memory = [h for h in self._memory if h.seq not in acked]
        stored = {s for s in acked if s > 0} | self._deleted
        if not stored:
            return
        done = self._write(
            lambda db: db.executemany("DELETE FROM events WHERE seq = ?", [(s,) for s in stored])
        )
        if done is None:
            self._deleted |= stored  # sent and acknowledged: never sent again, deleted later
        else:
            self._deleted.clear()

    def depth(self) -> int:
        """Number of events waiting."""
        n = self._read(lambda db: int(db.execute("SELECT count(*) FROM events").fetchone()[0]))
        return max(0, (n or 0) - len(self._deleted)) + len(self._memory)

    def held_in_memory(self) -> int:
        """Events waiting in memory because the disk refused them."""
        return len(self._memory)

    def has_pending(self) -> bool:
        """Whether any event waits."""
        if self._memory:
            return True
        skip = self._deleted
        rows = self._read(
            lambda db: db.execute(
                "SELECT seq FROM events ORDER BY seq LIMIT ?", (len(skip) + 1,)
            ).fetchall()
        )
        return any(int(seq) not in skip for (seq,) in rows or [])

    def oldest_age(self, now: float) -> float:
        """Seconds since the oldest pending event was stored (0 when empty)."""
        stored = self._read(lambda db: db.execute("SELECT min(created) FROM events").fetchone()[0])
        times = [h.created for h in self._memory]
        if stored is not None:
            times.append(float(stored))
        return max(0.0, now - min(times)) if times else 0.0

    def dropped(self) -> dict[str, int]:
        """Events dropped so far because the outbox (or memory) was full, by kind."""
        rows = self._read(
            lambda db: db.execute(
                "SELECT key, value FROM meta WHERE key LIKE 'dropped:%'"
            ).fetchall()
        )
        counts: Counter[str] = Counter({str(k).split(":", 1)[1]: int(v) for k, v in rows or []})
        counts.update(self._memory_dropped)
        return dict(counts)

    def close(self) -> None:
        """Write what memory holds if the disk allows, then close the database."""
        self.retry()
        if self._memory:
            log.error(
                "outbox: %d events held in memory are lost at exit (the disk refuses writes)",
                len(self._memory),
            )
        if self._db is not None:
            self._db.close()
            self._db = None


def _body(event_id: str, event: Mapping[str, Any]) -> str:
    return json.dumps({"id": event_id, **event}, separators=(",", ":"), ensure_ascii=False)
