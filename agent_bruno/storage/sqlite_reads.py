"""The SQLite read path: series at a resolution, anomalies, nodes, catalog."""

from __future__ import annotations

import operator
import sqlite3
from typing import Any

import numpy as np
import orjson

from agent_bruno.storage import blocks, faults
from agent_bruno.storage.base import (
    AnomalyQuery,
    AnomalyRow,
    CatalogRow,
    NodeRow,
    Point,
    SeriesExtremes,
    SeriesQuery,
    SeriesResult,
    SeriesSummary,
)
from agent_bruno.storage.block_cache import DecodedBlocks
from agent_bruno.storage.blocks import BLOCK_S
from agent_bruno.storage.rollups import Rollup, merge_point
from agent_bruno.storage.schema import BUCKET_1H, BUCKET_5M


def source_for_step(step: int) -> str:
    """The table that answers a query at `step` seconds: hourly, 5-minute rollups or samples."""
    if step % BUCKET_1H == 0:
        return "rollup_1h"
    if step % BUCKET_5M == 0:
        return "rollup_5m"
    return "samples"


def _bucketed(
    conn: sqlite3.Connection,
    ids: list[int],
    table: str,
    step: int,
    start: int,
    end: float,
    with_faults: bool = False,
    decoded: DecodedBlocks | None = None,
) -> list[Point]:
    """Points of the merged series `ids` from one table, in buckets of `step` seconds.

    `with_faults` merges the sensor-fault readings in too (rollups leave them out); `decoded`
    keeps decoded sample blocks between reads.
    """
    if table == "samples":
        return _from_blocks(conn, ids, step, start, end, decoded)
    buckets: dict[tuple[int, int], Rollup] = {}
    for sid in ids:
        rows = conn.execute(
            f"SELECT bucket, count, min, max, sum, last, last_ts FROM {table} "  # noqa: S608 - only column names are formatted in
            "WHERE series_id = ? AND bucket >= ? AND bucket < ?",
            (sid, start, end),
        )
        for bucket, *p in rows:
            merge_point(buckets, (0, bucket - bucket % step), p)
        if with_faults:
            for bucket, *p in faults.buckets(conn, sid, start, end):
                merge_point(buckets, (0, bucket - bucket % step), list(p))
    return [
        Point(ts=float(b), mean=p[3] / p[0], min=p[1], max=p[2], count=int(p[0]), last=p[4])
        for (_, b), p in sorted(buckets.items())
    ]


def _from_blocks(
    conn: sqlite3.Connection,
    ids: list[int],
    step: int,
    start: int,
    end: float,
    decoded: DecodedBlocks | None = None,
) -> list[Point]:
    """Points of the merged series `ids` from their raw sample blocks."""
    decode = blocks.decode if decoded is None else decoded.decode
    parts_ts, parts_values = [], []
    for sid in ids:
        rows = conn.execute(
            "SELECT data FROM sample_blocks WHERE series_id = ? AND start > ? AND start < ? "
            "AND last_ts >= ? ORDER BY start",
            (sid, start - BLOCK_S, end, start),
        )
        for (data,) in rows:
            ts, values = decode(data)
            lo, hi = np.searchsorted(ts, (start, end))  # a block's times are sorted
            parts_ts.append(ts[lo:hi])
            parts_values.append(values[lo:hi])
    if not parts_ts:
        return []
    ts = np.concatenate(parts_ts)
    values = np.concatenate(parts_values)
    if len(ids) > 1:  # a moved node: its series' points interleave
        order = np.argsort(ts, kind="stable")
        ts, values = ts[order], values[order]
    g = blocks.buckets_of(ts, values, step)
    # map over columns: a comprehension building each Point cost more than the rest of the read
    means = map(operator.truediv, g.sums, g.counts)
    return list(map(Point, map(float, g.starts), means, g.mins, g.maxs, g.counts, g.lasts))


def _where(filters: dict[str, str | None]) -> tuple[str, list[Any]]:
    """An AND of equality filters on `series` columns, skipping None."""
    parts, params = [], []
    for column, value in filters.items():
        if value is not None:
            parts.append(f"s.{column} = ?")
            params.append(value)
    return (" AND ".join(parts) or "1"), params


def query_series(
    conn: sqlite3.Connection, q: SeriesQuery, decoded: DecodedBlocks | None = None
) -> list[SeriesResult]:
    """Bucketed points per (cluster, node, sensor, metric, unit).

    Series that differ only in location (a node moved) are merged: the values are the same
    sensor's. A different unit or cluster is a different series; averaging those would be wrong.
    `decoded` keeps decoded sample blocks between reads.
    """
    start = int(q.start // q.step) * q.step
    grouped = _matching_series(conn, q, start - BUCKET_1H)
    results = []
    for meta, ids in grouped.values():
        step, source = q.step, source_for_step(q.step)
        points = _bucketed(conn, ids, source, step, start, q.end, q.include_faults, decoded)
        first = start
        if not points and source == "samples":
            # Edge series reach the agent as 5-minute aggregates only (raw data stays on the
            # Pi, behind its read endpoint): answer at the finest resolution stored.
            step, source = BUCKET_5M, "rollup_5m"
            first = int(q.start // step) * step
            points = _bucketed(conn, ids, source, step, first, q.end, q.include_faults)
        found = None if source == "samples" else faults.excluded(conn, ids, first, q.end)
        if points or found is not None:
            cluster, node, location, sensor, metric, unit = meta
            results.append(
                SeriesResult(
                    cluster, node, location, sensor, metric, unit, points, step, source,
                    found, q.include_faults,
                )
            )  # fmt: skip
    return results


def extremes(conn: sqlite3.Connection, q: SeriesQuery) -> list[SeriesExtremes]:
    """(start, min, max, last, last_ts) per 5-minute bucket of each matching series, oldest
    first (bulk imports are in the rollups too).

    Unlike `query_series`, a node that moved is not merged: alerts are per place (a series'
    labels include its location, and live evaluation sees each write at the place it was
    sent from), so a replay must evaluate each place's data under that place's labels.
    """
    start = int(q.start // BUCKET_5M) * BUCKET_5M
    out = []
    for meta, ids in _matching_series(conn, q, start - BUCKET_1H, by_location=True).values():
        marks = ",".join("?" * len(ids))
        rows: list[tuple[float, float, float, float, float]] = conn.execute(
            "SELECT bucket, MIN(min), MAX(max), last, MAX(last_ts) FROM rollup_5m "  # noqa: S608 - placeholders only
            f"WHERE series_id IN ({marks}) AND bucket >= ? AND bucket < ? "
            "GROUP BY bucket ORDER BY bucket",
            (*ids, start, q.end),
        ).fetchall()
        if rows:
            cluster, node, location, sensor, metric, unit = meta
            out.append(
                SeriesExtremes(cluster, node, location, sensor, metric, unit, BUCKET_5M, rows)
            )
    return out


def _matching_series(
    conn: sqlite3.Connection, q: SeriesQuery, since: float, by_location: bool = False
) -> dict[tuple[str, ...], tuple[list[Any], list[int]]]:
    """Series ids matching the filters and seen after `since`, grouped by what they measure
    (and, with `by_location`, by where)."""
    where, params = _where(
        {
            "metric": q.metric,
            "location": q.location,
            "node": q.node,
            "sensor": q.sensor,
            "cluster": q.cluster,
        }
    )
    series = conn.execute(
        "SELECT s.id, s.cluster, s.node, s.location, s.sensor, s.metric, s.unit FROM series s "  # noqa: S608 - only column names are formatted in
        f"WHERE {where} AND s.last_ts >= ? AND s.first_ts < ? "
        "ORDER BY s.cluster, s.node, s.sensor, s.metric, s.unit, s.last_ts",
        (*params, since, q.end),
    ).fetchall()
    grouped: dict[tuple[str, ...], tuple[list[Any], list[int]]] = {}
    for sid, cluster, node, location, sensor, metric, unit in series:
        key = (cluster, node, sensor, metric, unit) + ((location,) if by_location else ())
        meta, ids = grouped.setdefault(key, ([], []))
        meta[:] = [cluster, node, location, sensor, metric, unit]  # latest location wins
        ids.append(sid)
    return grouped


def summarize(conn: sqlite3.Connection, q: SeriesQuery) -> list[SeriesSummary]:
    """Per series: count/mean/min/max of the 5-minute buckets starting in [start, end), and
    the newest value stored (before `end`), however old.

    Long ranges read hourly rollups for whole hours inside the range, 5-minute ones elsewhere.
    """
    results = []
    for meta, ids in _matching_series(conn, q, float("-inf")).values():
        count, total, low, high = 0, 0.0, None, None
        latest: tuple[float, float] | None = None
        pieces = _pieces(q.start, q.end)
        if q.include_faults:
            pieces.append((faults.FAULT_TABLE, q.start, q.end))
        for sid in ids:
            for table, lo, hi in pieces:
                n, s, mn, mx = conn.execute(
                    f"SELECT SUM(count), SUM(sum), MIN(min), MAX(max) FROM {table} "  # noqa: S608 - only table names are formatted in
                    "WHERE series_id = ? AND bucket >= ? AND bucket < ?",
                    (sid, lo, hi),
                ).fetchone()
                if n:
                    count += int(n)
                    total += s
                    low = mn if low is None else min(low, mn)
                    high = mx if high is None else max(high, mx)
            row = conn.execute(
                "SELECT last_ts, last FROM rollup_5m WHERE series_id = ? AND bucket < ? "
                "ORDER BY bucket DESC LIMIT 1",
                (sid, q.end),
            ).fetchone()
            if row is not None and (latest is None or row[0] > latest[0]):
                latest = (row[0], row[1])
        cluster, node, location, sensor, metric, unit = meta
        results.append(
            SeriesSummary(
                cluster, node, location, sensor, metric, unit, count,
                total / count if count else None, low, high,
                None if latest is None else latest[1], None if latest is None else latest[0],
                faults.excluded(conn, ids, q.start, q.end), q.include_faults,
            )
        )  # fmt: skip
    return results


def _pieces(start: float, end: float) -> list[tuple[str, float, float]]:
    """Split [start, end) into 5-minute-rollup edges around whole hours read from hourly ones."""
    first_hour = -(-start // BUCKET_1H) * BUCKET_1H
    last_hour = end // BUCKET_1H * BUCKET_1H
    if last_hour - first_hour < 2 * BUCKET_1H:
        return [("rollup_5m", start, end)]
    return [
        ("rollup_5m", start, first_hour),
        ("rollup_1h", first_hour, last_hour),
        ("rollup_5m", last_hour, end),
    ]


def _anomaly_where(q: AnomalyQuery) -> tuple[str, list[Any]]:
    """The WHERE clause of an anomaly query, time range included."""
    where, params = _where(
        {
            "cluster": q.cluster,
            "node": q.node,
            "location": q.location,
            "sensor": q.sensor,
            "metric": q.metric,
        }
    )
    for column, value in (("severity", q.severity), ("kind", q.kind), ("episode_id", q.episode)):
        if value is not None:
            where += f" AND a.{column} = ?"
            params.append(value)
    return f"{where} AND a.ts >= ? AND a.ts < ?", [*params, q.start, q.end]


def count_anomalies(conn: sqlite3.Connection, q: AnomalyQuery) -> dict[str, int]:
    """How many flagged readings match, by severity."""
    where, params = _anomaly_where(q)
    rows = conn.execute(
        "SELECT a.severity, COUNT(*) FROM anomalies a JOIN series s ON s.id = a.series_id "  # noqa: S608 - only column names are formatted in
        f"WHERE {where} GROUP BY a.severity",
        params,
    ).fetchall()
    return {severity: int(n) for severity, n in rows}


def query_anomalies(conn: sqlite3.Connection, q: AnomalyQuery) -> list[AnomalyRow]:
    """Flagged readings matching the filters, newest first."""
    where, params = _anomaly_where(q)
    rows = conn.execute(
        "SELECT a.event_id, a.ts, s.cluster, s.node, s.location, s.sensor, s.metric, s.unit, "  # noqa: S608 - only column names are formatted in
        "a.value, a.severity, a.score, a.reason, a.baseline_mean, a.baseline_std, "
        "a.explanation, a.explanation_model, a.rule, a.kind, a.episode_id "
        "FROM anomalies a JOIN series s ON s.id = a.series_id "
        f"WHERE {where} ORDER BY a.ts DESC LIMIT ?",
        (*params, q.limit),
    ).fetchall()
    return [_anomaly(r) for r in rows]


def _anomaly(r: tuple[Any, ...]) -> AnomalyRow:
    """An `anomalies` row joined with its series."""
    return AnomalyRow(
        id=r[0],
        ts=r[1],
        cluster=r[2],
        node=r[3],
        location=r[4],
        sensor=r[5],
        metric=r[6],
        unit=r[7],
        value=r[8],
        severity=r[9],
        score=r[10],
        reason=r[11],
        baseline=None if r[12] is None else {"mean": r[12], "std": r[13]},
        explanation=r[14],
        explanation_model=r[15],
        rule=r[16],
        kind=r[17],
        episode_id=r[18],
    )


_NODE_COLUMNS = (
    "SELECT node, cluster, location, ts, last_seen, interval_s, health, sensors, workloads, "
    "outbox_depth, outbox_dropped, outbox_oldest_age_s, prev_outbox_depth, read_url FROM nodes"
)


def list_nodes(conn: sqlite3.Connection, node: str | None = None) -> list[NodeRow]:
    """Every node with its latest heartbeat (only `node`, by its exact name, when given)."""
    if node is not None:
        rows = conn.execute(f"{_NODE_COLUMNS} WHERE node = ?", (node,)).fetchall()
    else:
        rows = conn.execute(f"{_NODE_COLUMNS} ORDER BY node").fetchall()
    return [_node(r) for r in rows]


def _node(r: tuple[Any, ...]) -> NodeRow:
    """A `nodes` row."""
    return NodeRow(
        node=r[0],
        cluster=r[1],
        location=r[2],
        ts=r[3],
        last_seen=r[4],
        interval_s=r[5],
        health=orjson.loads(r[6]),
        sensors=orjson.loads(r[7]),
        workloads=orjson.loads(r[8]),
        outbox_depth=r[9],
        outbox_dropped=r[10],
        outbox_oldest_age_s=r[11],
        previous_outbox_depth=r[12],
        read_url=r[13],
    )


def catalog(conn: sqlite3.Connection) -> list[CatalogRow]:
    """Every stored series with its first and last time."""
    rows = conn.execute(
        "SELECT cluster, node, location, sensor, metric, unit, first_ts, last_ts FROM series "
        "ORDER BY cluster, location, node, sensor, metric"
    ).fetchall()
    return [CatalogRow(*r) for r in rows]
