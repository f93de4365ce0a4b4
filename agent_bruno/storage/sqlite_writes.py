"""The SQLite write path: `SqliteWriter` applies write requests on the writer's connection.

Reporter events are written by `event_writes`, bulk readings by `sample_writes` (blocks); both
share the series ids, the rollup upserts and the series spans kept here.
"""

from __future__ import annotations

import math
import sqlite3

import numpy as np

from agent_bruno.reading_columns import SeriesKey
from agent_bruno.storage import event_writes, faults
from agent_bruno.storage.base import (
    EventsWrite,
    PruneWrite,
    ReadingsWrite,
    WriteOutcome,
    WriteRequest,
)
from agent_bruno.storage.items import UnstorableItem
from agent_bruno.storage.rollups import UPSERT_1H, UPSERT_5M, Rollup, hourly
from agent_bruno.storage.sample_writes import SampleBlocks
from agent_bruno.storage.schema import TIME_COLUMN


class SqliteWriter:
    """Applies write requests on one connection; keeps a cache of series ids."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._series: dict[SeriesKey, int] = {}
        self._span: dict[int, tuple[float, float]] = {}
        self.samples = SampleBlocks(conn)

    def forget_cache(self) -> None:
        """Drop cached ids after a rollback (they may name rows that no longer exist)."""
        self._series.clear()
        self._span.clear()

    def forget_blocks(self) -> None:
        """Drop the blocks changed by a transaction that was rolled back."""
        self.samples.forget()

    def flush_blocks(self) -> None:
        """Write the blocks this transaction changed, before its commit."""
        self.samples.flush()

    def committed(self) -> None:
        """The transaction is durable."""
        self.samples.committed()

    def apply(self, request: WriteRequest) -> WriteOutcome:
        """Apply one request inside the caller's transaction."""
        if isinstance(request, EventsWrite):
            return event_writes.write_events(self, request)
        if isinstance(request, ReadingsWrite):
            return self._readings(request)
        return self._prune(request)

    def series_id(self, key: SeriesKey, ts: float) -> int:
        """Id of the series `key`, created on first sight."""
        sid = self._series.get(key)
        if sid is not None:
            return sid
        row = self.conn.execute(
            "SELECT id, first_ts, last_ts FROM series WHERE cluster = ? AND node = ? "
            "AND location = ? AND sensor = ? AND metric = ? AND unit = ?",
            key,
        ).fetchone()
        if row is None:
            cur = self.conn.execute(
                "INSERT INTO series (cluster, node, location, sensor, metric, unit, first_ts, "
                "last_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*key, ts, ts),
            )
            sid = int(cur.lastrowid or 0)
            self._span[sid] = (ts, ts)
        else:
            sid = int(row[0])
            self._span[sid] = (float(row[1]), float(row[2]))
        self._series[key] = sid
        return sid

    def touch(self, spans: dict[int, tuple[float, float]]) -> None:
        """Widen the stored first/last time of series where needed."""
        updates = []
        for sid, (lo, hi) in spans.items():
            first, last = self._span[sid]
            if lo < first or hi > last:
                first, last = min(first, lo), max(last, hi)
                self._span[sid] = (first, last)
                updates.append((first, last, sid))
        if updates:
            self.conn.executemany(
                "UPDATE series SET first_ts = ?, last_ts = ? WHERE id = ?", updates
            )

    def merge_rollups(self, groups: dict[tuple[int, int], Rollup]) -> None:
        """Upsert 5-minute groups and their hourly folds; a sum that overflows is refused."""
        if not groups:
            return
        hours = hourly(groups)
        if not all(math.isfinite(p[3]) for p in (*groups.values(), *hours.values())):
            raise UnstorableItem("a rollup sum would overflow a float")
        self.conn.executemany(UPSERT_5M, [(s, b, *p) for (s, b), p in groups.items()])
        self.conn.executemany(UPSERT_1H, [(s, b, *p) for (s, b), p in hours.items()])

    def _readings(self, req: ReadingsWrite) -> WriteOutcome:
        """Store imported readings not seen before (first offered wins) and merge them into
        the rollups."""
        columns = req.columns
        if len(columns) == 0:
            return WriteOutcome(by_type={"reading": (0, 0)})
        # Only series with readings (admission may have refused all of one's); a new one
        # starts at its first reading as offered.
        present, first = np.unique(columns.series, return_index=True)
        sids = {
            k: self.series_id(columns.keys[k], t)
            for k, t in zip(present.tolist(), columns.ts[first].tolist(), strict=True)
        }
        rollups: dict[tuple[int, int], Rollup] = {}
        spans: dict[int, tuple[float, float]] = {}
        accepted, changed = self.samples.merge(columns, sids, rollups, spans)
        self.merge_rollups(rollups)  # an overflowing sum: UnstorableItem, item by item
        self.touch(spans)
        self.samples.adopt(changed)  # only once this request's statements all worked
        duplicates = len(columns) - accepted
        return WriteOutcome(
            accepted=accepted, duplicates=duplicates, by_type={"reading": (accepted, duplicates)}
        )

    def _prune(self, req: PruneWrite) -> WriteOutcome:
        """Delete one small batch of rows older than the cutoff."""
        if req.table == "samples":
            return self.samples.prune(req)
        column = TIME_COLUMN[req.table]
        key = "rowid" if req.table == "anomalies" else _KEYS[req.table]
        cur = self.conn.execute(
            f"DELETE FROM {req.table} WHERE ({key}) IN "  # noqa: S608 - names from TIME_COLUMN
            f"(SELECT {key} FROM {req.table} WHERE {column} < ? LIMIT ?)",
            (req.before, req.batch),
        )
        return WriteOutcome(accepted=max(cur.rowcount, 0))


_KEYS = {
    "episodes": "id",
    faults.FAULT_TABLE: "series_id, bucket",
    "event_ids": "node, id",
    "pending_explanations": "node, ref",
    "rollup_5m": "series_id, bucket",
    "rollup_1h": "series_id, bucket",
}
