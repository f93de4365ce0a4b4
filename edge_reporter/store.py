"""Local raw readings (SQLite, WAL): kept RAW_RETENTION_DAYS, bounded in size, pruned hourly."""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from edge_reporter.model import Reading
from edge_reporter.sqlite_files import is_corrupt, quarantine
from edge_reporter.status import Status

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0
REOPEN_EVERY_S = 30.0  # how often a store that could not be opened is tried again
_FATAL_AT_START = {8, 14, 23}  # SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_AUTH: the operator's

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id     INTEGER PRIMARY KEY,
    sensor TEXT NOT NULL,
    metric TEXT NOT NULL,
    unit   TEXT NOT NULL,
    UNIQUE (sensor, metric)
);
CREATE TABLE IF NOT EXISTS readings (
    series INTEGER NOT NULL REFERENCES series (id),
    ts     REAL    NOT NULL,
    value  REAL
);
CREATE INDEX IF NOT EXISTS readings_series_ts ON readings (series, ts);
"""


class StoreError(RuntimeError):
    """The local store cannot be opened or queried."""


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """One stored series with its extent."""

    sensor: str
    metric: str
    unit: str
    count: int
    first_ts: float | None
    last_ts: float | None


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    try:
        if readonly:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            db.execute("PRAGMA query_only=ON")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, isolation_level=None)
            # Must precede table creation to take effect; lets pruning hand pages back.
            db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL: a power cut may lose the last raw readings, never corrupt the file. The
            # outbox, not this store, is what must not lose data.
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        db.execute("PRAGMA busy_timeout=5000")
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"cannot open local store {path}: {exc}") from exc
    return db


class LocalStore:
    """Writer side: append readings, prune by age and size.

    Best effort by design (the outbox is what must not lose data): a file that cannot be opened
    (a full disk at start) is retried every REOPEN_EVERY_S while `append` raises `StoreError`,
    and a damaged file is moved aside and replaced by a fresh one.
    """

    def __init__(
        self,
        path: Path,
        *,
        retention_days: float,
        max_bytes: int,
        status: Status | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._retention_s = retention_days * 86400
        self._max_bytes = max_bytes
        self._status = status or Status()
        self._clock = clock
        self._db: sqlite3.Connection | None = None
        self._series: dict[tuple[str, str], int] = {}
        self._next_prune: float | None = None
        self._next_open = 0.0
        self._open_error = ""
        self._open(at_start=True)

    def _open(self, *, at_start: bool = False) -> None:
        """Open the file (a damaged one is quarantined first); on failure remember why."""
        self._next_open = self._clock() + REOPEN_EVERY_S
        try:
            try:
                db = _connect(self.path, readonly=False)
            except StoreError as exc:
                if not is_corrupt(exc.__cause__ or exc):
                    raise
                self._quarantine(exc.__cause__ or exc)
                db = _connect(self.path, readonly=False)
            try:
                self._db = db
                self._series = self._load_series()
            except sqlite3.Error as exc:
                self._db = None
                db.close()
                if not is_corrupt(exc):
                    raise StoreError(f"local store {self.path}: {exc}") from exc
                self._quarantine(exc)
                self._db = _connect(self.path, readonly=False)
                self._series = {}
        except StoreError as exc:
            cause = exc.__cause__
            code = getattr(cause, "sqlite_errorcode", 0) & 0xFF
            if at_start and (code in _FATAL_AT_START or not isinstance(cause, sqlite3.Error)):
                raise
            self._db = None
            self._open_error = str(exc)

    def _quarantine(self, exc: BaseException) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        quarantine(self.path, exc)
        self._status.count("raw_store_quarantined")
        self._series = {}

    def append(self, readings: Iterable[Reading]) -> None:
        """Store readings in one transaction; prune when an hour has passed since the last time."""
        if self._db is None and self._clock() >= self._next_open:
            self._open()
        db = self._db
        if db is None:
            raise StoreError(f"local store {self.path} is not open: {self._open_error}")
        rows: list[tuple[int, float, float | None]] = []
        latest = -math.inf
        try:
            db.execute("BEGIN")
            try:
                for r in readings:
                    rows.append((self._series_id(r), r.ts, r.value))
                    latest = max(latest, r.ts)
                db.executemany("INSERT INTO readings (series, ts, value) VALUES (?, ?, ?)", rows)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite rolls back by itself on a full disk
                    db.execute("ROLLBACK")
                # Series inserted in the rolled-back transaction are gone: forget their ids.
                self._series = self._load_series()
                raise
            if rows:
                self.maybe_prune(latest)
        except sqlite3.Error as exc:  # e.g. a full disk: the caller logs it and carries on
            if is_corrupt(exc):
                self._quarantine(exc)
                self._open()
            raise StoreError(f"local store {self.path}: {exc}") from exc

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise sqlite3.OperationalError(f"local store {self.path} is not open")
        return self._db

    def _load_series(self) -> dict[tuple[str, str], int]:
        rows = self._conn().execute("SELECT id, sensor, metric FROM series")
        return {(sensor, metric): i for i, sensor, metric in rows}

    def _series_id(self, r: Reading) -> int:
        key = (r.sensor, r.metric)
        sid = self._series.get(key)
        if sid is None:
            cur = self._conn().execute(
                "INSERT INTO series (sensor, metric, unit) VALUES (?, ?, ?)",
                (r.sensor, r.metric, r.unit),
            )
            sid = self._series[key] = int(cur.lastrowid or 0)
        return sid

    def readings_between(self, start: float, end: float) -> list[Reading]:
        """Stored readings with `start <= ts <= end`, oldest first (for recovery at start)."""
        if self._db is None:
            raise StoreError(f"local store {self.path} is not open: {self._open_error}")
        try:
            rows = self._db.execute(
                "SELECT r.ts, s.sensor, s.metric, s.unit, r.value FROM readings r "
                "JOIN series s ON s.id = r.series WHERE r.ts >= ? AND r.ts <= ? ORDER BY r.ts",
                (start, end),
            ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"local store {self.path}: {exc}") from exc
        return [Reading(ts, se, me, un, va) for ts, se, me, un, va in rows]

    def maybe_prune(self, now: float) -> int:
        """Prune if due (hourly, and at the first call); return rows deleted."""
        if self._next_prune is not None and now < self._next_prune:
            return 0
        self._next_prune = now + PRUNE_EVERY_S
        return self.prune(now)

    def prune(self, now: float) -> int:
        """Delete readings older than the retention, then the oldest beyond the size bound."""
        db = self._conn()
        deleted = db.execute(
            "DELETE FROM readings WHERE ts < ?", (now - self._retention_s,)
        ).rowcount
        used = self.used_bytes()
        if used > self._max_bytes:
            (rows,) = db.execute("SELECT count(*) FROM readings").fetchone()
            if rows:
                # Aim 10% under the bound so pruning is not needed again at the next reading.
                per_row = used / rows
                excess = math.ceil((used - 0.9 * self._max_bytes) / per_row)
                deleted += db.execute(
                    "DELETE FROM readings WHERE rowid IN "
                    "(SELECT rowid FROM readings ORDER BY rowid LIMIT ?)",
                    (excess,),
                ).rowcount
        if deleted:
            db.execute("PRAGMA incremental_vacuum")
            log.info(
                "local store pruned %d readings (%.1f MiB used)", deleted, self.used_bytes() / 2**20
            )
        return deleted

    def used_bytes(self) -> int:
        """Bytes of pages in use (the file minus its free pages)."""
        db = self._conn()
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        (free,) = db.execute("PRAGMA freelist_count").fetchone()
        (size,) = db.execute("PRAGMA page_size").fetchone()
        return int((pages - free) * size)

    def close(self) -> None:
        """Close the database."""
        if self._db is not None:
            self._db.close()
            self._db = None


class StoreReader:
    """Read side: one read-only connection, for one thread (the read API opens one per request)."""

    def __init__(self, path: Path) -> None:
        self._db = _connect(path, readonly=True)

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def readings(
        self,
        *,
        start: float,
        end: float,
        limit: int,
        sensor: str | None = None,
        metric: str | None = None,
    ) -> list[Reading]:
        """Readings with `start <= ts < end`, oldest first, optionally of one sensor/metric."""
        sql = (
            "SELECT r.ts, s.sensor, s.metric, s.unit, r.value FROM readings r "
            "JOIN series s ON s.id = r.series WHERE r.ts >= ? AND r.ts < ?"
        )
        args: list[object] = [start, end]
        if sensor is not None:
            sql += " AND s.sensor = ?"
            args.append(sensor)
        if metric is not None:
            sql += " AND s.metric = ?"
            args.append(metric)
        sql += " ORDER BY r.ts, s.sensor, s.metric LIMIT ?"
        args.append(limit)
        return [Reading(ts, se, me, un, va) for ts, se, me, un, va in self._db.execute(sql, args)]

    def series(self) -> list[SeriesInfo]:
        """Every stored series with its reading count and time extent."""
        rows = self._db.execute(
            "SELECT s.sensor, s.metric, s.unit, count(r.ts), min(r.ts), max(r.ts) FROM series s "
            "LEFT JOIN readings r ON r.series = s.id GROUP BY s.id ORDER BY s.sensor, s.metric"
        ).fetchall()
        return [SeriesInfo(*row) for row in rows]

    def close(self) -> None:
        """Close the connection."""
        self._db.close()
