"""The outbox's SQLite file: its schema, opening it durably, the statements on it that are not
queue logic (saved state, drop counters, the bound), and reading back a damaged one.

Pure functions of a connection or a path; `edge_reporter.outbox.Outbox` decides when to call
them and what to do when the file refuses.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

log = logging.getLogger("edge_reporter.outbox")

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
# Events first held in memory keep the id they were sent with when they reach the file.
_ADD_EXT_ID = "ALTER TABLE events ADD COLUMN ext_id TEXT"
# Errors at start that are the operator's to fix (permissions, a directory that is a file).
FATAL_AT_START = {8, 14, 23}  # SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_AUTH


class Salvaged(NamedTuple):
    """One event read back from a damaged file."""

    id: str
    kind: str
    priority: int
    created: float
    body: str


def connect(path: Path) -> sqlite3.Connection:
    """Open (or create) the outbox file: WAL, fsync'd commits, schema current, checked."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        # FULL: the WAL is fsync'd at every commit, so an event `put` returned for survives
        # a power cut. Commits are rare (a critical, or one batch per aggregate interval),
        # so the cost on an SD card is a few fsyncs per 5 minutes.
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(events)")}
        if "ext_id" not in columns:
            db.execute(_ADD_EXT_ID)
        # The outbox is small (events waiting for the agent): checking it costs little
        # and finds damage before a send depends on it.
        (check,) = db.execute("PRAGMA quick_check(1)").fetchone()
        if check != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed ({check})")
    except BaseException:
        db.close()
        raise
    return db


def read_meta(db: sqlite3.Connection, key: str) -> str | None:
    """The `meta` value under `key`, if any."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def save_state(db: sqlite3.Connection, state: Mapping[str, str]) -> None:
    """Save `state` (key → text) under `state:<key>`, replacing earlier values."""
    for key, value in state.items():
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (f"state:{key}", value),
        )


def count_dropped(db: sqlite3.Connection, kind: str, n: int) -> None:
    """Add `n` to the count of `kind` events dropped for lack of room."""
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) "
        "DO UPDATE SET value = CAST(value AS INTEGER) + excluded.value",
        (f"dropped:{kind}", str(n)),
    )


def enforce_bound(db: sqlite3.Connection, max_events: int) -> None:
    """Drop events beyond `max_events`: lowest priority first, oldest first within one."""
    (depth,) = db.execute("SELECT count(*) FROM events").fetchone()
    excess = int(depth) - max_events
    while excess > 0:
        rows = db.execute(
            "SELECT seq, kind FROM events ORDER BY priority, seq LIMIT ?", (excess,)
        ).fetchall()
        if not rows:
            return
        db.executemany("DELETE FROM events WHERE seq = ?", [(r[0],) for r in rows])
        counts = Counter(str(kind) for _, kind in rows)
        for kind, n in counts.items():
            count_dropped(db, kind, n)
            log.warning("outbox full (%d events): dropped %d oldest %s", max_events, n, kind)
        excess -= len(rows)


def salvage(path: Path, deleted: set[int]) -> list[Salvaged]:
    """Events still readable in a damaged file, in order, except those in `deleted` (already
    acknowledged) and those whose body names no id."""
    out: list[Salvaged] = []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return out
    try:
        rows = db.execute("SELECT seq, kind, priority, created, body FROM events ORDER BY seq")
        for seq, kind, priority, created, body in rows:
            if int(seq) in deleted:
                continue
            try:
                event_id = str(json.loads(body)["id"])
            except (ValueError, KeyError, TypeError):
                continue
            out.append(Salvaged(event_id, str(kind), int(priority), float(created), body))
    except sqlite3.Error:
        pass  # what was read before the damaged page is kept
    finally:
        db.close()
    return out
