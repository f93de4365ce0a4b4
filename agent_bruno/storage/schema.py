"""SQLite schema, its migrations, and connection settings shared by the writer and readers.

A database of an older schema version is migrated on open, one version at a time, each step
in its own transaction (`MIGRATIONS`); a newer one is refused with what to do. New tables that
need no data moved can be added to `SCHEMA` alone (`CREATE ... IF NOT EXISTS`); anything that
changes or moves existing rows bumps `SCHEMA_VERSION` and adds a migration.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from agent_bruno.storage import blocks, episodes, faults, sql
from agent_bruno.storage.base import StorageError

log = logging.getLogger(__name__)

# 1: a `samples` row per reading. 2: raw readings packed in `sample_blocks`.
SCHEMA_VERSION = 2
# A WAL that was restarted is cut back to this size (it is reused from its start, not shrunk).
WAL_SIZE_LIMIT = 16 * 1024 * 1024
BUCKET_5M = 300
BUCKET_1H = 3600

# Tables pruned by retention, with their time column; rollups keep `bucket`.
# (`samples` names the raw readings, kept in `sample_blocks`.)
HOT_TABLES = ("samples", "anomalies", "episodes", "event_ids", "pending_explanations")
ROLLUP_TABLES = ("rollup_5m", "rollup_1h")
# Pruned like the rollups, but shaped differently (times of the extremes): created apart.
FAULT_TABLES = (faults.FAULT_TABLE,)

# Every rollup resolution has the same shape: mergeable count/min/max/sum/last per bucket.
_ROLLUP_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    series_id INTEGER NOT NULL,
    bucket    INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    min       REAL NOT NULL,
    max       REAL NOT NULL,
    sum       REAL NOT NULL,
    last      REAL NOT NULL,
    last_ts   REAL NOT NULL,
    PRIMARY KEY (series_id, bucket)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS {table}_bucket ON {table} (bucket);
"""

# Raw readings of bulk imports, one compressed block per series and hour (`blocks.py`). A rowid
# table: blobs of a few KB fill their overflow pages there, not in a WITHOUT ROWID one.
_SAMPLE_BLOCKS = (
    """CREATE TABLE IF NOT EXISTS sample_blocks (
    series_id INTEGER NOT NULL,
    start     INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    first_ts  REAL NOT NULL,
    last_ts   REAL NOT NULL,
    data      BLOB NOT NULL,
    UNIQUE (series_id, start)
)""",
    "CREATE INDEX IF NOT EXISTS sample_blocks_start ON sample_blocks (start)",
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id        INTEGER PRIMARY KEY,
    cluster   TEXT NOT NULL,
    node      TEXT NOT NULL,
    location  TEXT NOT NULL,
    sensor    TEXT NOT NULL,
    metric    TEXT NOT NULL,
    unit      TEXT NOT NULL,
    first_ts  REAL NOT NULL,
    last_ts   REAL NOT NULL,
    UNIQUE (cluster, node, location, sensor, metric, unit)
);
CREATE INDEX IF NOT EXISTS series_metric ON series (metric, node);
CREATE INDEX IF NOT EXISTS series_node ON series (node);


CREATE TABLE IF NOT EXISTS anomalies (
    id                INTEGER PRIMARY KEY,
    series_id         INTEGER NOT NULL,
    node              TEXT NOT NULL,
    event_id          TEXT NOT NULL,
    ts                REAL NOT NULL,
    value             REAL,
    severity          TEXT NOT NULL,
    score             REAL NOT NULL,
    reason            TEXT NOT NULL,
    baseline_mean     REAL,
    baseline_std      REAL,
    explanation       TEXT,
    explanation_model TEXT,
    UNIQUE (node, event_id)
);
CREATE INDEX IF NOT EXISTS anomalies_ts ON anomalies (ts);
CREATE INDEX IF NOT EXISTS anomalies_series_ts ON anomalies (series_id, ts);

CREATE TABLE IF NOT EXISTS pending_explanations (
    node   TEXT NOT NULL,
    ref    TEXT NOT NULL,
    ts     REAL NOT NULL,
    text   TEXT NOT NULL,
    model  TEXT NOT NULL,
    PRIMARY KEY (node, ref)
);

CREATE TABLE IF NOT EXISTS nodes (
    node                TEXT PRIMARY KEY,
    cluster             TEXT NOT NULL,
    location            TEXT NOT NULL,
    ts                  REAL NOT NULL,
    last_seen           REAL NOT NULL,
    interval_s          REAL NOT NULL,
    health              TEXT NOT NULL,
    sensors             TEXT NOT NULL,
    workloads           TEXT NOT NULL,
    outbox_depth        INTEGER NOT NULL,
    outbox_dropped      INTEGER NOT NULL,
    outbox_oldest_age_s REAL NOT NULL,
    prev_outbox_depth   INTEGER,
    read_url            TEXT
);

CREATE TABLE IF NOT EXISTS event_ids (
    node TEXT NOT NULL,
    id   TEXT NOT NULL,
    ts   REAL NOT NULL,
    PRIMARY KEY (node, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_ids_ts ON event_ids (ts);
"""
SCHEMA += "".join(f"{statement};\n" for statement in _SAMPLE_BLOCKS)
SCHEMA += "".join(_ROLLUP_TABLE.format(table=t) for t in ROLLUP_TABLES)
_SCHEMA_STATEMENTS = sql.split(SCHEMA)

TIME_COLUMN = {
    "samples": "start",
    "anomalies": "ts",
    "episodes": "last_ts",
    "event_ids": "ts",
    "pending_explanations": "ts",
    "rollup_5m": "bucket",
    "rollup_1h": "bucket",
    faults.FAULT_TABLE: "bucket",
}


def connect(
    path: Path, *, readonly: bool = False, autocheckpoint: bool = True
) -> sqlite3.Connection:
    """Open a connection in autocommit mode with WAL and durable commits."""
    if readonly:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA query_only = ON")
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        if not autocheckpoint:
            conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -32000")
    return conn


def _sample_rows(conn: sqlite3.Connection) -> Iterator[tuple[int, int, list[float], list[float]]]:
    """The old `samples` rows as (series, block start, times, values), block by block."""
    current: tuple[int, int] | None = None
    ts: list[float] = []
    values: list[float] = []
    rows = conn.execute("SELECT series_id, ts, value FROM samples ORDER BY series_id, ts")
    for sid, t, v in rows:
        key = (sid, blocks.window(t))
        if key != current:
            if current is not None:
                yield (*current, ts, values)
            current, ts, values = key, [], []
        ts.append(t)
        values.append(v)
    if current is not None:
        yield (*current, ts, values)


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    """Pack the `samples` rows (one per reading) into `sample_blocks`."""
    for statement in _SAMPLE_BLOCKS:  # not executescript: that would commit
        conn.execute(statement)
    has_samples = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'samples'"
    ).fetchone()
    if has_samples is None:
        return
    moved = 0
    for sid, start, ts, values in _sample_rows(conn):
        t, v = np.array(ts, dtype=np.float64), np.array(values, dtype=np.float64)
        conn.execute(
            "INSERT INTO sample_blocks (series_id, start, count, first_ts, last_ts, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (sid, start, len(ts), ts[0], ts[-1], blocks.encode(t, v)),
        )
        moved += len(ts)
    conn.execute("DROP TABLE samples")
    log.info("schema 1 -> 2: packed %d samples into blocks", moved)


# version -> the step to version + 1, run in one transaction with the new version number.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_1_to_2}


@contextmanager
def _transaction(conn: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> Iterator[None]:
    """One transaction on an autocommit connection: committed, or rolled back on any error."""
    conn.execute(begin)
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _create_tables(conn: sqlite3.Connection) -> None:
    """Every table and index that does not exist yet (in the caller's transaction)."""
    sql.run(conn, _SCHEMA_STATEMENTS)
    episodes.create(conn)  # and the columns it adds to `anomalies`
    faults.create(conn)


def create_schema(path: Path) -> None:
    """Create the database file and its tables, or migrate an older one to SCHEMA_VERSION."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION or (version and version not in _path_from(version)):
            raise StorageError(
                f"{path} has schema version {version}, this agent-bruno uses {SCHEMA_VERSION} "
                f"and migrates from {min(MIGRATIONS)} on: run an agent-bruno that uses version "
                f"{version}, or move the file away to start afresh"
            )
        if version == 0:  # a new file: its tables and version in one commit
            with _transaction(conn):
                _create_tables(conn)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return
        migrated = version < SCHEMA_VERSION
        while version < SCHEMA_VERSION:
            log.warning("migrating %s from schema version %d to %d", path, version, version + 1)
            with _transaction(conn):
                MIGRATIONS[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            version += 1
        # Tables added since, without a version of their own; deferred: none to add, no lock.
        with _transaction(conn, "BEGIN"):
            _create_tables(conn)
        if migrated:
            conn.execute("VACUUM")  # give the space of the moved rows back to the disk
    finally:
        conn.close()


def _path_from(version: int) -> set[int]:
    """The versions a database at `version` can be migrated through (itself included)."""
    steps = {version}
    while version in MIGRATIONS:
        version += 1
        steps.add(version)
    return steps if SCHEMA_VERSION in steps else set()
