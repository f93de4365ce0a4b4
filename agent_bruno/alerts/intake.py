"""A committed write as the alert engine sees it: observations, episode events, heartbeats.

Aggregates are observed over their window (a threshold crossed inside one is caught from its
min/max); flagged readings as points, and as episodes when the reporter sends none of its
own; reporters' episode events as they are; heartbeats as node facts. Bulk-imported rows are
live data only when recent (`BULK_LIVE_S`): older ones are history, for backtests.
"""

from __future__ import annotations

from agent_bruno.alerts.engine import Observation
from agent_bruno.alerts.episodes import EpisodeTracker
from agent_bruno.alerts.evaluator import AlertChange, Evaluator, NodeFacts, SeriesLabels
from agent_bruno.alerts.history import from_wire
from agent_bruno.health import Beat
from agent_bruno.storage.base import EventsWrite, ReadingsWrite, WriteOutcome, WriteRequest
from agent_bruno.wire import AggregateEvent, HeartbeatEvent, ReadingEvent
from agent_bruno.wire import EpisodeEvent as WireEpisode

BULK_LIVE_S = 900.0  # bulk rows newer than this are evaluated as live data; older is history


def accepted(request: WriteRequest, outcome: WriteOutcome | None) -> WriteRequest:
    """The write without the items the storage refused (`outcome.rejected`)."""
    if outcome is None or not outcome.rejected:
        return request
    refused = {i for i, _ in outcome.rejected}
    if isinstance(request, EventsWrite):
        kept = [e for i, e in enumerate(request.events) if i not in refused]
        return EventsWrite(
            request.cluster, request.node, request.location, kept, request.received_at
        )
    if isinstance(request, ReadingsWrite):
        return ReadingsWrite([r for i, r in enumerate(request.rows) if i not in refused])
    return request


def evaluate(
    evaluator: Evaluator, tracker: EpisodeTracker, request: WriteRequest, now: float
) -> list[AlertChange]:
    """The alert changes one committed write makes."""
    if isinstance(request, EventsWrite):
        return _events(evaluator, tracker, request)
    if isinstance(request, ReadingsWrite):
        return _rows(evaluator, request, now - BULK_LIVE_S)
    return []


def _events(ev: Evaluator, tracker: EpisodeTracker, request: EventsWrite) -> list[AlertChange]:
    out: list[AlertChange] = []
    for e in request.events:
        if isinstance(e, HeartbeatEvent):
            known = ev.nodes.get(request.node)
            ev.heartbeat(
                NodeFacts(
                    request.node,
                    request.cluster,
                    request.location,
                    Beat(
                        request.received_at,  # liveness by the agent's clock
                        e.interval_s,
                        e.health.model_dump(),
                        e.outbox.depth,
                        e.outbox.dropped,
                        known.beat.outbox_depth if known else None,
                    ),
                )
            )
            continue
        if not isinstance(e, AggregateEvent | ReadingEvent | WireEpisode):
            continue
        s = SeriesLabels(
            request.cluster, request.node, request.location, e.sensor, e.metric, e.unit
        )
        if isinstance(e, AggregateEvent):
            out.extend(ev.observe(s, Observation(e.start, e.end, e.min, e.max, e.last)))
        elif isinstance(e, ReadingEvent):
            if e.value is not None:
                out.extend(ev.observe(s, Observation.point(e.ts, e.value)))
            if e.episode_start is None:  # a reporter that does not send episodes
                name = f"{s.node}/{s.sensor}/{s.metric}"
                ep = tracker.flag(s, name, e.ts, e.severity, e.value, e.reason)
                out.extend(ev.observe_episode(s, ep))
        else:
            out.extend(ev.observe_episode(s, from_wire(request.cluster, request.node, e)))
    return out


def _rows(ev: Evaluator, request: ReadingsWrite, horizon: float) -> list[AlertChange]:
    out: list[AlertChange] = []
    rows = sorted((r for r in request.rows if r["ts"] >= horizon), key=lambda r: r["ts"])
    for r in rows:
        s = SeriesLabels(
            r.get("cluster", "default"),
            r["node"],
            r["location"],
            r["sensor"],
            r["metric"],
            r["unit"],
        )
        out.extend(ev.observe(s, Observation.point(r["ts"], r["value"])))
    return out
