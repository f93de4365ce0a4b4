"""Reporter events into the database: dedup by id, aggregates into rollups, flagged readings
as anomalies, episodes, heartbeats and explanations (run on the writer's connection)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import orjson

from agent_bruno.storage import episodes, faults
from agent_bruno.storage.base import EventsWrite, WriteOutcome
from agent_bruno.storage.items import UnstorableItem
from agent_bruno.storage.rollups import Rollup, merge_point
from agent_bruno.storage.schema import BUCKET_5M
from agent_bruno.wire import (
    AggregateEvent,
    EpisodeEvent,
    ExplanationEvent,
    HeartbeatEvent,
    ReadingEvent,
    WorkloadInfo,
)

if TYPE_CHECKING:
    from agent_bruno.storage.sqlite_writes import SqliteWriter

_MAX_PARAMS = 500

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


def _workload(item: str | WorkloadInfo) -> str | dict[str, object]:
    """A workload as stored: its name, or the fields the reporter sent."""
    return item if isinstance(item, str) else item.model_dump(exclude_none=True, exclude_unset=True)


def _known_ids(w: SqliteWriter, node: str, ids: list[str]) -> set[str]:
    """Which of `ids` were already stored for `node`."""
    known: set[str] = set()
    for i in range(0, len(ids), _MAX_PARAMS):
        chunk = ids[i : i + _MAX_PARAMS]
        marks = ",".join("?" * len(chunk))
        rows = w.conn.execute(
            f"SELECT id FROM event_ids WHERE node = ? AND id IN ({marks})",  # noqa: S608
            (node, *chunk),
        )
        known.update(r[0] for r in rows)
    return known


def write_events(w: SqliteWriter, req: EventsWrite) -> WriteOutcome:
    """Store one reporter batch; events already stored count as duplicates."""
    out = WriteOutcome()
    known = _known_ids(w, req.node, [e.id for e in req.events])
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
    w.conn.execute(_SEEN, (req.received_at, req.node))
    if not fresh:
        return out
    w.conn.executemany(
        "INSERT INTO event_ids (node, id, ts) VALUES (?, ?, ?)",
        # keyed by arrival, so a retry is recognised for the whole hot window after it
        [(req.node, e.id, req.received_at) for e in fresh],
    )
    base = (req.cluster, req.node, req.location)
    readings = [e for e in fresh if isinstance(e, ReadingEvent)]
    aggregates = [e for e in fresh if isinstance(e, AggregateEvent)]
    spans: dict[int, tuple[float, float]] = {}
    if aggregates:
        _aggregates(w, base, aggregates, spans)
    if readings:
        _flagged(w, base, readings, spans)
    runs = [e for e in fresh if isinstance(e, EpisodeEvent)]
    if runs:
        sids = [w.series_id((*base, e.sensor, e.metric, e.unit), e.start) for e in runs]
        episodes.write(w.conn, req.cluster, req.node, sids, runs, req.received_at)
        out.episodes = [
            episodes.episode_id(req.cluster, req.node, e.sensor, e.metric, e.start) for e in runs
        ]
    w.touch(spans)
    beats = [e for e in fresh if isinstance(e, HeartbeatEvent)]
    if beats:
        latest = max(beats, key=lambda b: b.ts)
        if _heartbeat(w, req, latest):
            out.heartbeat = latest

    notes = [e for e in fresh if isinstance(e, ExplanationEvent)]
    if notes:
        _explanations(w, req.node, notes)
    return out


def _aggregates(
    w: SqliteWriter,
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
        sid = w.series_id((*base, e.sensor, e.metric, e.unit), e.start)
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
    w.merge_rollups(groups)
    if fault_parts:
        faults.write(w.conn, fault_parts)


def _flagged(
    w: SqliteWriter,
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
        sid = w.series_id((*base, e.sensor, e.metric, e.unit), e.ts)
        b = e.baseline
        start = e.episode_start
        eid = (
            None if start is None else episodes.episode_id(cluster, node, e.sensor, e.metric, start)
        )
        anomalies.append(
            (sid, node, e.id, e.ts, e.value, e.severity, e.score, e.reason,
             b.mean if b else None, b.std if b else None, e.rule, e.kind, eid)
        )  # fmt: skip
        lo, hi = spans.get(sid, (e.ts, e.ts))
        spans[sid] = (min(lo, e.ts), max(hi, e.ts))
    w.conn.executemany(
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
        rows = w.conn.execute(
            f"DELETE FROM pending_explanations WHERE node = ? AND ref IN ({marks}) "  # noqa: S608
            "RETURNING text, model, ref",
            (node, *chunk),
        ).fetchall()
        parked.extend((text, model, node, ref) for text, model, ref in rows)
    if parked:
        w.conn.executemany(
            "UPDATE anomalies SET explanation = ?, explanation_model = ? "
            "WHERE node = ? AND event_id = ?",
            parked,
        )


def _heartbeat(w: SqliteWriter, req: EventsWrite, e: HeartbeatEvent) -> bool:
    """Keep the newest heartbeat of the node; return whether this one is it."""
    cur = w.conn.execute(
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


def _explanations(w: SqliteWriter, node: str, events: Iterable[ExplanationEvent]) -> None:
    """Attach explanations to their anomalies, or park them until the anomaly arrives."""
    for e in events:
        cur = w.conn.execute(
            "UPDATE anomalies SET explanation = ?, explanation_model = ? "
            "WHERE node = ? AND event_id = ?",
            (e.text, e.model, node, e.ref),
        )
        if cur.rowcount == 0:
            w.conn.execute(
                "INSERT OR REPLACE INTO pending_explanations (node, ref, ts, text, model) "
                "VALUES (?, ?, ?, ?, ?)",
                (node, e.ref, e.ts, e.text, e.model),
            )
