"""SQLite schema and connection settings shared by the writer and the readers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from agent_bruno.storage import episodes
from agent_bruno.storage.base import StorageError

SCHEMA_VERSION = 1
BUCKET_5M = 300
BUCKET_1H = 3600

# Tables pruned by retention, with their time column; rollups keep `bucket`.
HOT_TABLES = ("samples", "anomalies", "episodes", "event_ids", "pending_explanations")
ROLLUP_TABLES = ("rollup_5m", "rollup_1h")

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

CREATE TABLE IF NOT EXISTS samples (
    series_id INTEGER NOT NULL,
    ts        REAL NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;

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
""" + "".join(_ROLLUP_TABLE.format(table=t) for t in ROLLUP_TABLES)

TIME_COLUMN = {
    "samples": "ts",
    "anomalies": "ts",
    "episodes": "last_ts",
    "event_ids": "ts",
    "pending_explanations": "ts",
    "rollup_5m": "bucket",
    "rollup_1h": "bucket",
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
        if not autocheckpoint:
            conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -32000")
    return conn


def create_schema(path: Path) -> None:
    """Create the database file and its tables if they do not exist yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version not in (0, SCHEMA_VERSION):  # 0: a new file
            raise StorageError(
                f"{path} has schema version {version}, this agent-bruno uses {SCHEMA_VERSION}: "
                "run the matching version, or move the file away to start afresh"
            )
        conn.executescript(SCHEMA)
        episodes.create(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    finally:
        conn.close()
