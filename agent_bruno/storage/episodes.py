"""Anomaly episodes in SQLite: the table, its writes (upsert by revision) and its reads.

An episode is identified by (cluster, node, sensor, metric, start); its id is a hash of those,
so every event of one episode, retried or not, lands on the same row. An event updates the row
only when its `revision` is higher than the stored one. A series has at most one open episode:
when a newer one opens (a reporter restarted mid-episode and lost track), older open ones of
the series are closed at their last reading, `closed_by = 'superseded'`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from agent_bruno.storage import sql
from agent_bruno.storage.base import EpisodeQuery, EpisodeRow
from agent_bruno.wire import EpisodeEvent

EPISODES_SCHEMA = """
CREATE TABLE IF NOT EXISTS episodes (
    id             TEXT PRIMARY KEY,
    series_id      INTEGER NOT NULL,
    node           TEXT NOT NULL,
    start          REAL NOT NULL,
    "end"          REAL,
    last_ts        REAL NOT NULL,
    kind           TEXT NOT NULL,
    rule           TEXT NOT NULL,
    severity       TEXT NOT NULL,
    count          INTEGER NOT NULL,
    readings       INTEGER NOT NULL,
    peak_value     REAL,
    peak_ts        REAL,
    peak_deviation REAL,
    reason         TEXT NOT NULL,
    revision       INTEGER NOT NULL,
    opened_at      REAL NOT NULL,
    updated_at     REAL NOT NULL,
    closed_by      TEXT
);
CREATE INDEX IF NOT EXISTS episodes_open ON episodes (series_id) WHERE "end" IS NULL;
CREATE INDEX IF NOT EXISTS episodes_series_start ON episodes (series_id, start);
CREATE INDEX IF NOT EXISTS episodes_last ON episodes (last_ts);
CREATE INDEX IF NOT EXISTS episodes_updated ON episodes (updated_at);
"""

_EPISODES_STATEMENTS = sql.split(EPISODES_SCHEMA)

# Columns added to `anomalies` by this module: the rule and kind of a flagged reading, and the
# episode it belongs to. Added with ALTER TABLE on files made before them.
ANOMALY_COLUMNS = {"rule": "TEXT", "kind": "TEXT", "episode_id": "TEXT"}


def create(conn: sqlite3.Connection) -> None:
    """Create the episodes table and add the episode columns to `anomalies` where missing."""
    sql.run(conn, _EPISODES_STATEMENTS)
    have = {row[1] for row in conn.execute("PRAGMA table_info(anomalies)")}
    for column, kind in ANOMALY_COLUMNS.items():
        if column not in have:
            conn.execute(f"ALTER TABLE anomalies ADD COLUMN {column} {kind}")
    conn.execute("CREATE INDEX IF NOT EXISTS anomalies_episode ON anomalies (episode_id)")


def episode_id(cluster: str, node: str, sensor: str, metric: str, start: float) -> str:
    """The stable id of the episode of one series starting at `start`."""
    key = "\x1f".join((cluster, node, sensor, metric, repr(float(start))))
    return "ep-" + hashlib.blake2b(key.encode(), digest_size=10).hexdigest()


_UPSERT = """
INSERT INTO episodes (id, series_id, node, start, "end", last_ts, kind, rule, severity, count,
                      readings, peak_value, peak_ts, peak_deviation, reason, revision,
                      opened_at, updated_at, closed_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    series_id = excluded.series_id, "end" = excluded."end", last_ts = excluded.last_ts,
    kind = excluded.kind, rule = excluded.rule, severity = excluded.severity,
    count = excluded.count, readings = excluded.readings, peak_value = excluded.peak_value,
    peak_ts = excluded.peak_ts, peak_deviation = excluded.peak_deviation,
    reason = excluded.reason, revision = excluded.revision, updated_at = excluded.updated_at,
    closed_by = excluded.closed_by
WHERE excluded.revision > episodes.revision
"""

_SUPERSEDE = """
UPDATE episodes SET "end" = last_ts, closed_by = 'superseded', updated_at = ?
WHERE "end" IS NULL AND start < ? AND id != ? AND series_id IN (
    SELECT id FROM series WHERE cluster = ? AND node = ? AND sensor = ? AND metric = ?)
"""


def write(
    conn: sqlite3.Connection,
    cluster: str,
    node: str,
    series_ids: Sequence[int],
    events: Sequence[EpisodeEvent],
    received_at: float,
) -> None:
    """Upsert episode events (`series_ids[i]` is the series of `events[i]`)."""
    rows = []
    for sid, e in zip(series_ids, events, strict=True):
        eid = episode_id(cluster, node, e.sensor, e.metric, e.start)
        rows.append(
            (eid, sid, node, e.start, e.end, e.last, e.kind, e.rule, e.severity, e.count,
             e.readings, e.peak_value, e.peak_ts, e.peak_deviation, e.reason, e.revision,
             received_at, received_at, "reporter" if e.end is not None else None)
        )  # fmt: skip
    conn.executemany(_UPSERT, rows)
    for (eid, *_), e in zip(rows, events, strict=True):
        if e.end is None:
            conn.execute(_SUPERSEDE, (received_at, e.start, eid, cluster, node, e.sensor, e.metric))


_COLUMNS = (
    'e.id, s.cluster, s.node, s.location, s.sensor, s.metric, s.unit, e.start, e."end", '
    "e.last_ts, e.kind, e.rule, e.severity, e.count, e.readings, e.peak_value, e.peak_ts, "
    "e.peak_deviation, e.reason, e.revision, e.opened_at, e.updated_at, e.closed_by"
)
STATES = ("open", "closed")


def _where(q: EpisodeQuery) -> tuple[str, list[Any]]:
    """The WHERE clause of an episode query."""
    parts = ["e.start < ?", '(e."end" IS NULL OR e."end" >= ?)']
    params: list[Any] = [q.end, q.start]
    for column, value in (
        ("s.cluster", q.cluster),
        ("s.node", q.node),
        ("s.location", q.location),
        ("s.sensor", q.sensor),
        ("s.metric", q.metric),
        ("e.kind", q.kind),
        ("e.rule", q.rule),
        ("e.severity", q.severity),
    ):
        if value is not None:
            parts.append(f"{column} = ?")
            params.append(value)
    if q.state == "open":
        parts.append('e."end" IS NULL')
    elif q.state == "closed":
        parts.append('e."end" IS NOT NULL')
    elif q.state is not None:
        raise ValueError(f"state={q.state!r}: expected one of {', '.join(STATES)} or None")
    if q.changed_since is not None:
        parts.append("e.updated_at >= ?")
        params.append(q.changed_since)
    return " AND ".join(parts), params


def query(conn: sqlite3.Connection, q: EpisodeQuery) -> list[EpisodeRow]:
    """Episodes matching the query: open ones first, then by start, newest first."""
    where, params = _where(q)
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM episodes e JOIN series s ON s.id = e.series_id "  # noqa: S608 - only fixed column names are formatted in
        f'WHERE {where} ORDER BY e."end" IS NOT NULL, e.start DESC LIMIT ?',
        (*params, q.limit),
    ).fetchall()
    return [EpisodeRow(*r) for r in rows]


def count(conn: sqlite3.Connection, q: EpisodeQuery) -> dict[tuple[str, str], int]:
    """How many episodes match, by (kind, severity)."""
    where, params = _where(q)
    rows = conn.execute(
        "SELECT e.kind, e.severity, COUNT(*) FROM episodes e JOIN series s ON s.id = e.series_id "  # noqa: S608 - only fixed column names are formatted in
        f"WHERE {where} GROUP BY e.kind, e.severity",
        params,
    ).fetchall()
    return {(kind, severity): int(n) for kind, severity, n in rows}


def get(conn: sqlite3.Connection, eid: str) -> EpisodeRow | None:
    """One episode by id."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM episodes e JOIN series s ON s.id = e.series_id "  # noqa: S608 - only fixed column names are formatted in
        "WHERE e.id = ?",
        (eid,),
    ).fetchone()
    return None if row is None else EpisodeRow(*row)


def get_many(conn: sqlite3.Connection, ids: Sequence[str]) -> list[EpisodeRow]:
    """The episodes with these ids, in one query (ids not stored are skipped; any order)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM episodes e JOIN series s ON s.id = e.series_id "  # noqa: S608 - only fixed column names are formatted in
        "WHERE e.id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(ids)),),
    ).fetchall()
    return [EpisodeRow(*r) for r in rows]
