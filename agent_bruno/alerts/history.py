"""Stored history as the alert engine sees it: replay after a restart, and backtests.

The engine evaluates observations and episode events; storage holds buckets, episodes and
flagged readings. These functions read the one and hand the other, in worker threads (the
caller's `asyncio.to_thread`): `replay` re-evaluates what a crash may have left unevaluated,
`backtest_rule` runs a rule over stored history with the same engine, hold and hysteresis
as live evaluation (node rules over the nodes' stored data: `node_backtest`).
"""

from __future__ import annotations

from typing import Literal

from agent_bruno.alerts.backtest import (
    BacktestResult,
    SeriesHistory,
    backtest_episodes,
    backtest_series,
    backtest_silent,
)
from agent_bruno.alerts.engine import EpisodeEvent, Observation
from agent_bruno.alerts.episodes import EpisodeTracker
from agent_bruno.alerts.evaluator import AlertChange, Evaluator, SeriesLabels
from agent_bruno.alerts.model import (
    AnyRule,
    EpisodeRule,
    NodeRule,
    RateRule,
    SilentRule,
    ThresholdRule,
)
from agent_bruno.alerts.node_backtest import HEARTBEAT_S, NodeHistory, backtest_nodes
from agent_bruno.health import HEALTH_METRICS, Thresholds
from agent_bruno.storage.base import (
    AnomalyQuery,
    EpisodeQuery,
    EpisodeRow,
    SeriesQuery,
    Storage,
)
from agent_bruno.storage.episodes import episode_id
from agent_bruno.wire import EpisodeEvent as WireEpisode

MAX_REPLAYED = 10_000  # episodes or flagged readings read for one replay or backtest


def replay(storage: Storage, evaluator: Evaluator, since: float, now: float) -> list[AlertChange]:
    """Evaluate again what was stored since `since`: a write acknowledged just before a crash
    may not have been evaluated. Harmless for what was: every step ignores an observation no
    newer than its state's, and a firing alert does not fire twice."""
    changes: list[AlertChange] = []
    for r in storage.extremes(SeriesQuery(since, now, 300)):
        s = SeriesLabels(r.cluster, r.node, r.location, r.sensor, r.metric, r.unit)
        for t, lo, hi, last, last_ts in r.rows:
            # Up to the bucket's last reading: a later aggregate inside it stays new.
            end = max(t, min(t + r.step, last_ts))
            changes.extend(evaluator.observe(s, Observation(t, end, lo, hi, last)))
    query = EpisodeQuery(since, now, MAX_REPLAYED, changed_since=since)
    for row in sorted(storage.query_episodes(query), key=lambda e: e.last):
        s = SeriesLabels(row.cluster, row.node, row.location, row.sensor, row.metric, row.unit)
        for _, ep in episode_events(row):
            changes.extend(evaluator.observe_episode(s, ep))
    return changes


def backtest_rule(
    storage: Storage, rule: AnyRule, start: float, end: float, thresholds: Thresholds
) -> BacktestResult:
    """Any rule over the stored history between `start` and `end`."""
    if isinstance(rule, NodeRule):
        return backtest_node_rule(storage, rule, start, end, thresholds)
    if isinstance(rule, EpisodeRule):
        return backtest_episode_rule(storage, rule, start, end)
    return backtest_series_rule(storage, rule, start, end)


def backtest_node_rule(
    storage: Storage, rule: NodeRule, start: float, end: float, thresholds: Thresholds
) -> BacktestResult:
    """A node rule over each node's stored 5-minute data, its health series included."""
    sc = rule.scope
    q = SeriesQuery(start, end, 300, None, sc.location, sc.node, None, sc.cluster)
    intervals = {n.node: n.interval_s for n in storage.list_nodes()}
    merged: dict[str, dict[float, tuple[float, dict[str, float]]]] = {}
    for r in storage.extremes(q):
        buckets = merged.setdefault(r.node, {})
        health = r.metric in HEALTH_METRICS
        for t, _, _, last, last_ts in r.rows:
            seen, values = buckets.get(t, (t, {}))
            if health:
                values[r.metric] = last
            buckets[t] = (max(seen, min(last_ts, t + r.step)), values)
    histories = [
        NodeHistory(
            node,
            intervals.get(node) or HEARTBEAT_S,
            [(t, seen, values) for t, (seen, values) in sorted(buckets.items())],
        )
        for node, buckets in sorted(merged.items())
    ]
    return backtest_nodes(rule, histories, start, end, thresholds)


def backtest_series_rule(
    storage: Storage, rule: ThresholdRule | RateRule | SilentRule, start: float, end: float
) -> BacktestResult:
    """A threshold, rate or silence rule over the stored 5-minute extremes of its series."""
    sc = rule.scope
    q = SeriesQuery(start, end, 300, rule.metric, sc.location, sc.node, sc.sensor, sc.cluster)
    histories = []
    for r in storage.extremes(q):
        w = r.step
        obs = [Observation(t, t + w, lo, hi, last) for t, lo, hi, last, _ in r.rows]
        histories.append(SeriesHistory(f"{r.node}/{r.sensor}/{r.metric}", float(w), obs))
    if isinstance(rule, SilentRule):
        return backtest_silent(rule, histories, start, end)
    return backtest_series(rule, histories, start, end)


def backtest_episode_rule(
    storage: Storage, rule: EpisodeRule, start: float, end: float
) -> BacktestResult:
    """An episode rule over stored episodes, or, where none are stored (reporters that send
    flagged readings only), over episodes rebuilt from the flagged readings."""
    sc = rule.scope
    stored = storage.query_episodes(
        EpisodeQuery(
            start, end, MAX_REPLAYED, sc.cluster, sc.node, sc.location, sc.sensor, rule.metric
        )
    )
    if stored:
        replayed = sorted(
            (e for row in stored for e in episode_events(row)), key=lambda pair: pair[1].ts
        )
        result = backtest_episodes(rule, replayed, start, end)
        result.notes.append("Each stored episode is replayed at the highest severity it reached.")
        return result
    rows = storage.query_anomalies(
        AnomalyQuery(
            start, end, MAX_REPLAYED, sc.cluster, sc.node, sc.location, None, sc.sensor, rule.metric
        )
    )
    tracker = EpisodeTracker()
    events: list[tuple[str, EpisodeEvent]] = []
    for r in sorted(rows, key=lambda r: r.ts):
        name = f"{r.node}/{r.sensor}/{r.metric}"
        for series, ep in tracker.tick(r.ts):
            events.append((str(series), ep))
        severity: Literal["warning", "critical"] = (
            "critical" if r.severity == "critical" else "warning"
        )
        events.append((name, tracker.flag(name, name, r.ts, severity, r.value, r.reason)))
    for series, ep in tracker.tick(end + tracker.quiet_s + 1):
        events.append((str(series), ep))
    result = backtest_episodes(rule, events, start, end)
    if len(rows) >= MAX_REPLAYED:
        result.notes.append(f"Only the newest {MAX_REPLAYED:,} flagged readings were replayed.")
    return result


def from_wire(cluster: str, node: str, e: WireEpisode) -> EpisodeEvent:
    """A reporter's episode event as the engine sees it."""
    ts = e.end if e.phase == "close" and e.end is not None else e.last
    return EpisodeEvent(
        episode_id(cluster, node, e.sensor, e.metric, e.start),
        e.phase,
        ts,
        e.severity,
        e.kind,
        e.peak_value,
        e.reason,
    )


def episode_events(row: EpisodeRow) -> list[tuple[str, EpisodeEvent]]:
    """A stored episode as its open and (when it ended) close events."""
    name = f"{row.node}/{row.sensor}/{row.metric}"
    severity: Literal["warning", "critical"] = (
        "critical" if row.severity == "critical" else "warning"
    )
    kind: Literal["sensor_fault", "process_anomaly", "unknown"] = (
        row.kind if row.kind in ("sensor_fault", "process_anomaly") else "unknown"  # type: ignore[assignment]
    )
    out = [
        (name, EpisodeEvent(row.id, "open", row.start, severity, kind, row.peak_value, row.reason))
    ]
    if row.end is not None:
        out.append(
            (
                name,
                EpisodeEvent(row.id, "close", row.end, severity, kind, row.peak_value, row.reason),
            )
        )
    return out
