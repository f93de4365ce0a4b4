"""The SQLite write path: events, bulk readings and pruning, run on the writer's connection."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Sequence
from operator import itemgetter

import numpy as np
import orjson

from agent_bruno.storage import blocks, episodes, faults
from agent_bruno.storage.base import (
    EventsWrite,
    PruneWrite,
    ReadingsWrite,
    SeriesKey,
    WriteOutcome,
    WriteRequest,
)
from agent_bruno.storage.blocks import BLOCK_S, Floats
from agent_bruno.storage.items import UnstorableItem
from agent_bruno.storage.rollups import UPSERT_1H, UPSERT_5M, Rollup, hourly, merge_point
from agent_bruno.storage.schema import BUCKET_5M, TIME_COLUMN
from agent_bruno.wire import (
    DEFAULT_CLUSTER,
    AggregateEvent,
    EpisodeEvent,
    ExplanationEvent,
    HeartbeatEvent,
    ReadingEvent,
    WorkloadInfo,
)

_MAX_PARAMS = 500
_NAMES = itemgetter("node", "location", "sensor", "metric", "unit")
_POINT = itemgetter("ts", "value")
_EMPTY: Floats = np.empty(0, dtype=np.float64)
_UPSERT_BLOCK = """
INSERT INTO sample_blocks (series_id, start, count, first_ts, last_ts, data)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (series_id, start) DO UPDATE SET
    count = excluded.count, first_ts = excluded.first_ts, last_ts = excluded.last_ts,
    data = excluded.data
"""

_UPSERT_NODE = """
INSERT INTO nodes (node, cluster, location, ts, last_seen, interval_s, health, sensors, workloads,
                   outbox_depth, outbox_dropped, outbox_oldest_age_s, prev_outbox_depth, read_url)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)
ON CONFLICT (node) DO UPDATE SET
    cluster = excluded.cluster, location = excluded.location, ts = excluded.ts,
    last_seen = excluded.last_seen, interval_s = excluded.interval_s, health = excluded.health,
    sensors = excluded.sensors, workloads = excluded.workloads,
    prev_outbox_depth = nodes.outbox_depth, outbox_depth = excluded.outbox_depth,
    outbox_dropped = excluded.outbox_dropped, outbox_oldest_age_s = excluded.outbox_oldest_age_s,
    read_url = excluded.read_url
-- a stored heartbeat stamped after this one's arrival came from a clock running ahead
WHERE excluded.ts >= nodes.ts OR nodes.ts > excluded.last_seen
"""
# Any batch from a node shows it is alive, by the agent's clock (never the reporter's).
_SEEN = "UPDATE nodes SET last_seen = max(last_seen, ?) WHERE node = ?"


def _workload(w: str | WorkloadInfo) -> str | dict[str, object]:
    """A workload as stored: its name, or the fields the reporter sent."""
    return w if isinstance(w, str) else w.model_dump(exclude_none=True, exclude_unset=True)


class SqliteWriter:
    """Applies write requests on one connection; keeps a cache of series ids."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._series: dict[SeriesKey, int] = {}
        self._span: dict[int, tuple[float, float]] = {}
        # Blocks changed by this transaction, decoded; written by `flush_blocks`.
        self._dirty: dict[tuple[int, int], tuple[Floats, Floats]] = {}

    def forget_cache(self) -> None:
        """Drop cached ids after a rollback (they may name rows that no longer exist)."""
        self._series.clear()
        self._span.clear()

    def forget_blocks(self) -> None:
        """Drop the blocks changed by a transaction that was rolled back."""
        self._dirty.clear()

    def apply(self, request: WriteRequest) -> WriteOutcome:
        """Apply one request inside the caller's transaction."""
        if isinstance(request, EventsWrite):
            return self._events(request)
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

    def _touch(self, spans: dict[int, tuple[float, float]]) -> None:
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

    def _merge_rollups(self, groups: dict[tuple[int, int], Rollup]) -> None:
        """Upsert 5-minute groups and their hourly folds; a sum that overflows is refused."""
        if not groups:
            return
        hours = hourly(groups)
        if not all(math.isfinite(p[3]) for p in (*groups.values(), *hours.values())):
            raise UnstorableItem("a rollup sum would overflow a float")
        self.conn.executemany(UPSERT_5M, [(s, b, *p) for (s, b), p in groups.items()])
        self.conn.executemany(UPSERT_1H, [(s, b, *p) for (s, b), p in hours.items()])

    def _known_ids(self, node: str, ids: list[str]) -> set[str]:
        """Which of `ids` were already stored for `node`."""
        known: set[str] = set()
        for i in range(0, len(ids), _MAX_PARAMS):
            chunk = ids[i : i + _MAX_PARAMS]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT id FROM event_ids WHERE node = ? AND id IN ({marks})",  # noqa: S608
                (node, *chunk),
            )
            known.update(r[0] for r in rows)
        return known

    def _events(self, req: EventsWrite) -> WriteOutcome:
        """Store one reporter batch; events already stored count as duplicates."""
        out = WriteOutcome()
        known = self._known_ids(req.node, [e.id for e in req.events])
        fresh = []
        for e in req.events:
            acc, dup = out.by_type.get(e.type, (0, 0))
            if e.id in known:
                out.by_type[e.type] = (acc, dup + 1)
                out.duplicates += 1
                continue
            known.add(e.id)
            fresh.append(e)
            out.by_type[e.type] = (acc + 1, dup)
            out.accepted += 1
        self.conn.execute(_SEEN, (req.received_at, req.node))
        if not fresh:
            return out
        self.conn.executemany(
            "INSERT INTO event_ids (node, id, ts) VALUES (?, ?, ?)",
            # keyed by arrival, so a retry is recognised for the whole hot window after it
            [(req.node, e.id, req.received_at) for e in fresh],
        )
        base = (req.cluster, req.node, req.location)
        readings = [e for e in fresh if isinstance(e, ReadingEvent)]
        aggregates = [e for e in fresh if isinstance(e, AggregateEvent)]
        spans: dict[int, tuple[float, float]] = {}
        if aggregates:
            self._aggregates(base, aggregates, spans)
        if readings:
            self._flagged(base, readings, spans)
        runs = [e for e in fresh if isinstance(e, EpisodeEvent)]
        if runs:
            sids = [self.series_id((*base, e.sensor, e.metric, e.unit), e.start) for e in runs]
            episodes.write(self.conn, req.cluster, req.node, sids, runs, req.received_at)
            out.episodes = [
                episodes.episode_id(req.cluster, req.node, e.sensor, e.metric, e.start)
                for e in runs
            ]
        self._touch(spans)
        beats = [e for e in fresh if isinstance(e, HeartbeatEvent)]
        if beats:
            latest = max(beats, key=lambda b: b.ts)
            if self._heartbeat(req, latest):
                out.heartbeat = latest

        notes = [e for e in fresh if isinstance(e, ExplanationEvent)]
        if notes:
            self._explanations(req.node, notes)
        return out

    def _aggregates(
        self,
        base: tuple[str, str, str],
        events: Iterable[AggregateEvent],
        spans: dict[int, tuple[float, float]],
    ) -> None:
        """Merge edge aggregates into the rollups; their sensor-fault readings go apart."""
        groups: dict[tuple[int, int], Rollup] = {}
        fault_parts: list[faults.FaultPart] = []
        for e in events:
            total = e.mean * e.count
            if not math.isfinite(total):
                raise UnstorableItem(
                    f"aggregate {e.id}: count {e.count} × mean {e.mean:g} overflows a float"
                )
            sid = self.series_id((*base, e.sensor, e.metric, e.unit), e.start)
            bucket = int(e.start // BUCKET_5M) * BUCKET_5M
            clean = e.clean_part
            if clean is not None:
                point = [clean.count, clean.min, clean.max, clean.mean * clean.count, clean.last]
                merge_point(groups, (sid, bucket), [*point, e.end])
            f = e.faults
            if f is not None:
                fault_parts.append(
                    faults.FaultPart(
                        sid, bucket, f.count, f.min, f.max, f.mean * f.count, f.last, e.end,
                        f.min_ts if f.min_ts is not None else e.start,
                        f.max_ts if f.max_ts is not None else e.start,
                    )
                )  # fmt: skip
            lo, hi = spans.get(sid, (e.start, e.end))
            spans[sid] = (min(lo, e.start), max(hi, e.end))
        self._merge_rollups(groups)
        if fault_parts:
            faults.write(self.conn, fault_parts)

    def _flagged(
        self,
        base: tuple[str, str, str],
        events: Sequence[ReadingEvent],
        spans: dict[int, tuple[float, float]],
    ) -> None:
        """Store flagged readings as anomalies.

        Not as samples or rollups: the edge's aggregates already count them, and `samples` holds
        only raw series (bulk imports), so a fine-step query never mistakes a few flagged points
        for a whole series.
        """
        cluster, node = base[0], base[1]
        anomalies = []
        for e in events:
            sid = self.series_id((*base, e.sensor, e.metric, e.unit), e.ts)
            b = e.baseline
            start = e.episode_start
            eid = (
                None
                if start is None
                else episodes.episode_id(cluster, node, e.sensor, e.metric, start)
            )
            anomalies.append(
                (sid, node, e.id, e.ts, e.value, e.severity, e.score, e.reason,
                 b.mean if b else None, b.std if b else None, e.rule, e.kind, eid)
            )  # fmt: skip
            lo, hi = spans.get(sid, (e.ts, e.ts))
            spans[sid] = (min(lo, e.ts), max(hi, e.ts))
        self.conn.executemany(
            "INSERT OR IGNORE INTO anomalies (series_id, node, event_id, ts, value, severity, "
            "score, reason, baseline_mean, baseline_std, rule, kind, episode_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            anomalies,
        )
        # Explanations that arrived before their reading: one statement per chunk, not one per
        # reading (the table is almost always empty).
        ids = [e.id for e in events]
        parked: list[tuple[str, str, str, str]] = []
        for i in range(0, len(ids), _MAX_PARAMS):
            chunk = ids[i : i + _MAX_PARAMS]
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"DELETE FROM pending_explanations WHERE node = ? AND ref IN ({marks}) "  # noqa: S608
                "RETURNING text, model, ref",
                (node, *chunk),
            ).fetchall()
            parked.extend((text, model, node, ref) for text, model, ref in rows)
        if parked:
            self.conn.executemany(
                "UPDATE anomalies SET explanation = ?, explanation_model = ? "
                "WHERE node = ? AND event_id = ?",
                parked,
            )

    def _heartbeat(self, req: EventsWrite, e: HeartbeatEvent) -> bool:
        """Keep the newest heartbeat of the node; return whether this one is it."""
        cur = self.conn.execute(
            _UPSERT_NODE,
            (
                req.node, req.cluster, req.location, e.ts, req.received_at, e.interval_s,
                orjson.dumps(e.health.model_dump()).decode(),
                orjson.dumps([s.model_dump() for s in e.sensors]).decode(),
                orjson.dumps([_workload(w) for w in e.workloads]).decode(),
                e.outbox.depth, e.outbox.dropped, e.outbox.oldest_age_s, e.read_url,
            ),
        )  # fmt: skip
        return cur.rowcount > 0

    def _explanations(self, node: str, events: Iterable[ExplanationEvent]) -> None:
        """Attach explanations to their anomalies, or park them until the anomaly arrives."""
        for e in events:
            cur = self.conn.execute(
                "UPDATE anomalies SET explanation = ?, explanation_model = ? "
                "WHERE node = ? AND event_id = ?",
                (e.text, e.model, node, e.ref),
            )
            if cur.rowcount == 0:
                self.conn.execute(
                    "INSERT OR REPLACE INTO pending_explanations (node, ref, ts, text, model) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (node, e.ref, e.ts, e.text, e.model),
                )

    def _readings(self, req: ReadingsWrite) -> WriteOutcome:
        """Store imported readings not seen before and merge them into the rollups.

        Rows are grouped by series in one pass, then each series' points are deduplicated
        (first offered wins) and merged, hour block by hour block, into the blocks of this
        transaction (`flush_blocks` writes them before the commit).
        """
        grouped: dict[tuple[str, tuple[str, str, str, str, str]], list[tuple[float, float]]] = {}
        for r in req.rows:
            g = (r.get("cluster", DEFAULT_CLUSTER), _NAMES(r))
            points = grouped.get(g)
            if points is None:
                points = grouped[g] = []
            points.append(_POINT(r))
        changed: dict[tuple[int, int], tuple[Floats, Floats]] = {}
        rollup_groups: dict[tuple[int, int], Rollup] = {}
        spans: dict[int, tuple[float, float]] = {}
        offered = accepted = 0
        for (cluster, names), points in grouped.items():
            arr = np.array(points, dtype=np.float64)
            offered += len(arr)
            sid = self.series_id((cluster, *names), float(arr[0, 0]))
            ts, values = blocks.unique_first(arr[:, 0], arr[:, 1])
            wins = (ts // BLOCK_S).astype(np.int64)
            cuts = np.flatnonzero(wins[1:] != wins[:-1]) + 1
            for part_ts, part_values in zip(
                np.split(ts, cuts), np.split(values, cuts), strict=True
            ):
                key = (sid, blocks.window(float(part_ts[0])))
                old = changed.get(key) or self._block(key)
                merged = blocks.merge(*old, part_ts, part_values)
                if len(merged.fresh_ts) == 0:
                    continue
                changed[key] = (merged.ts, merged.values)
                accepted += len(merged.fresh_ts)
                for bucket, p in blocks.rollups(merged.fresh_ts, merged.fresh_values, BUCKET_5M):
                    rollup_groups[(sid, bucket)] = p  # one block per hour: no bucket twice
                lo, hi = float(merged.fresh_ts[0]), float(merged.fresh_ts[-1])
                span = spans.get(sid)
                spans[sid] = (lo, hi) if span is None else (min(span[0], lo), max(span[1], hi))
        self._merge_rollups(rollup_groups)  # an overflowing sum: UnstorableItem, item by item
        self._touch(spans)
        self._dirty.update(changed)  # only once this request's statements all worked
        duplicates = offered - accepted
        return WriteOutcome(
            accepted=accepted, duplicates=duplicates, by_type={"reading": (accepted, duplicates)}
        )

    def _block(self, key: tuple[int, int]) -> tuple[Floats, Floats]:
        """The points of one block as of this transaction (empty when there is none)."""
        pending = self._dirty.get(key)
        if pending is not None:
            return pending
        row = self.conn.execute(
            "SELECT data FROM sample_blocks WHERE series_id = ? AND start = ?", key
        ).fetchone()
        if row is None:
            return _EMPTY, _EMPTY
        return blocks.decode(row[0])

    def flush_blocks(self) -> None:
        """Write the blocks this transaction changed (one statement for all of them)."""
        if not self._dirty:
            return
        rows = [_block_row(sid, start, ts, v) for (sid, start), (ts, v) in self._dirty.items()]
        self._dirty.clear()
        self.conn.executemany(_UPSERT_BLOCK, rows)

    def _prune(self, req: PruneWrite) -> WriteOutcome:
        """Delete one small batch of rows older than the cutoff."""
        if req.table == "samples":
            return self._prune_samples(req)
        column = TIME_COLUMN[req.table]
        key = "rowid" if req.table == "anomalies" else _KEYS[req.table]
        cur = self.conn.execute(
            f"DELETE FROM {req.table} WHERE ({key}) IN "  # noqa: S608 - names from TIME_COLUMN
            f"(SELECT {key} FROM {req.table} WHERE {column} < ? LIMIT ?)",
            (req.before, req.batch),
        )
        return WriteOutcome(accepted=max(cur.rowcount, 0))

    def _prune_samples(self, req: PruneWrite) -> WriteOutcome:
        """Delete whole blocks older than the cutoff, about `batch` readings at a time; in the
        last round, cut the expired readings out of the blocks the cutoff falls in.

        Blocks this transaction changed are left to the next pass (they are written at commit).
        """
        whole = self.conn.execute(
            "SELECT rowid, count FROM sample_blocks WHERE start <= ? ORDER BY start LIMIT ?",
            (req.before - BLOCK_S, max(1, req.batch)),
        ).fetchall()
        picked, deleted = [], 0
        for rowid, n in whole:
            if deleted >= req.batch:
                break
            picked.append((rowid,))
            deleted += n
        self.conn.executemany("DELETE FROM sample_blocks WHERE rowid = ?", picked)
        if deleted >= req.batch:
            return WriteOutcome(accepted=deleted)
        straddling = self.conn.execute(
            "SELECT series_id, start, data FROM sample_blocks WHERE start > ? AND start < ?",
            (req.before - BLOCK_S, req.before),
        ).fetchall()
        trimmed = []
        for sid, start, data in straddling:
            if (sid, start) in self._dirty:
                continue
            ts, values = blocks.decode(data)
            keep = ts >= req.before
            deleted += int(len(ts) - np.count_nonzero(keep))
            if not keep.any():
                self.conn.execute(
                    "DELETE FROM sample_blocks WHERE series_id = ? AND start = ?", (sid, start)
                )
            elif not keep.all():
                trimmed.append(_block_row(sid, start, ts[keep], values[keep]))
        self.conn.executemany(_UPSERT_BLOCK, trimmed)
        return WriteOutcome(accepted=deleted)


def _block_row(sid: int, start: int, ts: Floats, values: Floats) -> tuple[object, ...]:
    """The `sample_blocks` row of a block's points."""
    return (sid, start, len(ts), float(ts[0]), float(ts[-1]), blocks.encode(ts, values))


_KEYS = {
    "episodes": "id",
    faults.FAULT_TABLE: "series_id, bucket",
    "event_ids": "node, id",
    "pending_explanations": "node, ref",
    "rollup_5m": "series_id, bucket",
    "rollup_1h": "series_id, bucket",
}
