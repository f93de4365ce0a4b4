"""Sensor-fault readings kept apart from the rollups, so statistics leave them out by default.

Reporters mark, per aggregate window, the readings triage judged sensor faults (past the
physical range, stuck) and send their statistics separately (`AggregateEvent.faults`). The
rollups (`rollup_5m`, `rollup_1h`) hold the other readings; this module's `fault_rollup_5m` the
faults, with when each window's extremes were read. Both are mergeable count/min/max/sum/last,
so "everything" is the two merged (`include_faults`). Faults are rare, so one 5-minute table
serves every range.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from agent_bruno.storage import sql

FAULT_TABLE = "fault_rollup_5m"

FAULTS_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {FAULT_TABLE} (
    series_id INTEGER NOT NULL,
    bucket    INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    min       REAL NOT NULL,
    max       REAL NOT NULL,
    sum       REAL NOT NULL,
    last      REAL NOT NULL,
    last_ts   REAL NOT NULL,
    min_ts    REAL NOT NULL,
    max_ts    REAL NOT NULL,
    PRIMARY KEY (series_id, bucket)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS {FAULT_TABLE}_bucket ON {FAULT_TABLE} (bucket);
"""

_FAULTS_STATEMENTS = sql.split(FAULTS_SCHEMA)

_UPSERT = """
INSERT INTO fault_rollup_5m (series_id, bucket, count, min, max, sum, last, last_ts, min_ts, max_ts)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (series_id, bucket) DO UPDATE SET
    count = count + excluded.count,
    min_ts = CASE WHEN excluded.min < min THEN excluded.min_ts ELSE min_ts END,
    min = MIN(min, excluded.min),
    max_ts = CASE WHEN excluded.max > max THEN excluded.max_ts ELSE max_ts END,
    max = MAX(max, excluded.max),
    sum = sum + excluded.sum,
    last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last ELSE last END,
    last_ts = MAX(last_ts, excluded.last_ts)
"""


@dataclass(frozen=True, slots=True)
class FaultPart:
    """The sensor-fault readings of one series in one 5-minute bucket."""

    series_id: int
    bucket: int
    count: int
    min: float
    max: float
    sum: float
    last: float
    last_ts: float
    min_ts: float
    max_ts: float


@dataclass(frozen=True, slots=True)
class Excluded:
    """Sensor-fault readings of a series in a range: how many, and their extremes with times."""

    count: int
    min: float
    max: float
    min_ts: float
    max_ts: float


def create(conn: sqlite3.Connection) -> None:
    """Create the fault table if it does not exist."""
    sql.run(conn, _FAULTS_STATEMENTS)


def write(conn: sqlite3.Connection, parts: Sequence[FaultPart]) -> None:
    """Merge fault parts into their buckets."""
    rows = [
        (p.series_id, p.bucket, p.count, p.min, p.max, p.sum, p.last, p.last_ts, p.min_ts, p.max_ts)
        for p in parts
    ]
    conn.executemany(_UPSERT, rows)


def excluded(
    conn: sqlite3.Connection, ids: Sequence[int], start: float, end: float
) -> Excluded | None:
    """The fault readings of the series `ids` in buckets starting in [start, end), if any."""
    total = 0
    low: tuple[float, float] | None = None
    high: tuple[float, float] | None = None
    for sid in ids:
        rows = conn.execute(
            f"SELECT count, min, min_ts, max, max_ts FROM {FAULT_TABLE} "  # noqa: S608 - a constant table name
            "WHERE series_id = ? AND bucket >= ? AND bucket < ?",
            (sid, start, end),
        )
        for n, mn, mn_ts, mx, mx_ts in rows:
            total += int(n)
            if low is None or mn < low[0]:
                low = (mn, mn_ts)
            if high is None or mx > high[0]:
                high = (mx, mx_ts)
    if low is None or high is None:
        return None
    return Excluded(total, low[0], high[0], low[1], high[1])


def buckets(
    conn: sqlite3.Connection, sid: int, start: float, end: float
) -> list[tuple[int, int, float, float, float, float, float]]:
    """(bucket, count, min, max, sum, last, last_ts) of one series' fault parts in a range."""
    rows = conn.execute(
        f"SELECT bucket, count, min, max, sum, last, last_ts FROM {FAULT_TABLE} "  # noqa: S608 - a constant table name
        "WHERE series_id = ? AND bucket >= ? AND bucket < ?",
        (sid, start, end),
    ).fetchall()
    return [tuple(r) for r in rows]
