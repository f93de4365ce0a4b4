"""Ingest routes: `POST /v1/events` (reporters) and `POST /v1/readings` (bulk import).

These are plain Starlette routes: FastAPI's per-request dependency solving cost a third of the
time of a single-event request. They take their services from `app.state` like the dependencies
do, so tests swap `app.state.services` to substitute them.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent_bruno.admission import Admitted, TimePolicy, admit_events, admit_readings
from agent_bruno.api.body import media_type, read_body
from agent_bruno.api.deps import Services, reporter_node, require_api_token
from agent_bruno.api.errors import ApiError, json_response
from agent_bruno.importers import BodyError, json_error, parse_json, parse_ndjson
from agent_bruno.importers_csv import parse_csv
from agent_bruno.metrics import SensorValue
from agent_bruno.settings import Settings
from agent_bruno.storage.base import (
    EdgeEvent,
    EventsWrite,
    ReadingsWrite,
    StorageError,
    WriteOutcome,
    WriteRequest,
)
from agent_bruno.wire import (
    BATCH_ADAPTER,
    EVENT_ADAPTER,
    HEADER_ADAPTER,
    MAX_REJECTED_LISTED,
    AggregateEvent,
    EpisodeEvent,
    ReadingEvent,
    Rejected,
    Reporter,
    describe_error,
)

_TYPES = frozenset({"reading", "aggregate", "heartbeat", "explanation", "episode"})

PARSERS = {  # the bulk import's media types
    "application/json": parse_json,
    "application/x-ndjson": parse_ndjson,
    "application/ndjson": parse_ndjson,
    "text/csv": parse_csv,
}


def _unsupported(kind: str, allowed: str) -> ApiError:
    """A 415 naming what was sent and what is accepted."""
    return ApiError(
        415,
        f"Content-Type {kind!r} is not supported; send {allowed}",
        reason="unsupported_media_type",
    )


def _envelope_error(exc: ValidationError) -> ApiError:
    """A 422 naming the envelope fields that are wrong."""
    fields = [".".join(str(p) for p in e["loc"]) for e in exc.errors(include_url=False)]
    return ApiError(
        422, f"invalid envelope: {describe_error(exc)}", reason="invalid_envelope", fields=fields
    )


@dataclass(slots=True)
class Parsed:
    """A validated batch: the valid events with their indices in the batch, the first
    MAX_REJECTED_LISTED refused ones and the count of all refused per type."""

    reporter: Reporter
    sent_at: float | None
    events: list[EdgeEvent]
    positions: list[int]
    rejected: list[Rejected] = field(default_factory=list)
    types: Counter[str] = field(default_factory=Counter)


def parse_events(body: bytes) -> Parsed:
    """Validate a batch: all at once when it is clean, item by item when some events are bad."""
    try:
        batch = BATCH_ADAPTER.validate_json(body)
        valid = list(batch.events)
        return Parsed(batch.reporter, batch.sent_at, valid, list(range(len(valid))))
    except ValidationError:
        pass  # slow path: locate the syntax error, or validate items one by one
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        error = json_error(exc)
        raise ApiError(400, error.message, reason="malformed_json", **error.detail) from None
    try:
        header = HEADER_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise _envelope_error(exc) from None
    events: list[EdgeEvent] = []
    positions: list[int] = []
    rejected: list[Rejected] = []
    types: Counter[str] = Counter()
    for index, item in enumerate(header.events):
        try:
            events.append(EVENT_ADAPTER.validate_python(item))
            positions.append(index)
        except ValidationError as exc:
            ident = item.get("id") if isinstance(item, dict) else None
            kind = item.get("type") if isinstance(item, dict) else None
            types[kind if isinstance(kind, str) and kind in _TYPES else "unknown"] += 1
            if len(rejected) >= MAX_REJECTED_LISTED:
                continue  # counted, not described
            rejected.append(
                Rejected(
                    index=index,
                    id=ident if isinstance(ident, str) else None,
                    error=describe_error(exc, prefix=f"events.{index}"),
                )
            )
    return Parsed(header.reporter, header.sent_at, events, positions, rejected, types)


def _cap_series(services: Services, node: str, admitted: Admitted[EdgeEvent]) -> list[Rejected]:
    """Take out of `admitted` the items that would give `node` more series than it may have."""
    limit = services.settings.max_series_per_reporter
    reporters = services.reporters
    items: list[EdgeEvent] = []
    positions: list[int] = []
    refused: list[Rejected] = []
    for event, pos in zip(admitted.items, admitted.positions, strict=True):
        if not isinstance(event, ReadingEvent | AggregateEvent | EpisodeEvent) or (
            reporters.admit_series(node, (event.sensor, event.metric, event.unit), limit)
        ):
            items.append(event)
            positions.append(pos)
            continue
        refused.append(
            Rejected(
                index=pos,
                id=event.id,
                error=f"events.{pos}: reporter {node} already has {limit} series, the most "
                "AGENT_BRUNO_MAX_SERIES_PER_REPORTER allows; this item would start another",
            )
        )
    admitted.items, admitted.positions = items, positions
    if refused:
        services.metrics.rejections.labels("series_cap").inc(len(refused))
    return refused


def time_policy(settings: Settings, now: float) -> TimePolicy:
    """What ingest stores of a request received at `now`: within retention and tolerance."""
    return TimePolicy.at(
        now,
        future_s=settings.max_future_s,
        hot_days=settings.hot_retention_days,
        rollup_days=settings.rollup_retention_days,
    )


async def _store(services: Services, request: WriteRequest) -> WriteOutcome:
    """Submit to the writer; a storage failure becomes 503 with nothing acknowledged."""
    try:
        return await services.writer.submit(request)
    except StorageError as exc:
        services.metrics.rejections.labels("storage_unavailable").inc()
        raise ApiError(
            503,
            f"storage unavailable, nothing was stored: {exc}",
            reason="storage_unavailable",
            headers={"Retry-After": "5"},
        ) from None


def _answer(outcome: WriteOutcome, rejected: list[Rejected], uncounted: int = 0) -> Response:
    """The 200 body: counts and the first refused items (all of them counted, with
    `uncounted` more refused but not described)."""
    payload: dict[str, Any] = {
        "accepted": outcome.accepted,
        "duplicates": outcome.duplicates,
        "rejected": [r.model_dump(exclude_none=True) for r in rejected[:MAX_REJECTED_LISTED]],
    }
    if len(rejected) + uncounted > MAX_REJECTED_LISTED:
        payload["rejected_total"] = len(rejected) + uncounted
    return json_response(payload)


def _values(events: list[EdgeEvent]) -> list[tuple[SensorValue, float]]:
    """The sensor values a batch carries: each aggregate's last value, each flagged reading."""
    out: list[tuple[SensorValue, float]] = []
    for event in events:
        if isinstance(event, AggregateEvent):
            out.append((event, event.last))
        elif isinstance(event, ReadingEvent) and event.value is not None:
            out.append((event, event.value))
    return out


async def post_events(request: Request) -> Response:
    """Store a reporter's batch of events; answer once they are durably committed."""
    services: Services = request.app.state.services
    node = await reporter_node(request, services)
    metrics = services.metrics
    try:
        kind = media_type(request)
        if kind not in ("application/json", ""):
            raise _unsupported(kind, "application/json")
        body = await read_body(request, services.settings.max_body_bytes)
        parsed = parse_events(body)
        reporter, rejected, rejected_types = parsed.reporter, parsed.rejected, parsed.types
        if reporter.node != node:
            raise ApiError(
                403,
                f"reporter.node {reporter.node!r} does not match the token's node {node!r}; "
                "each reporter must use its own token",
                reason="wrong_node",
            )
        try:
            await services.reporters.load(services.storage)
        except StorageError as exc:
            raise ApiError(
                503, f"storage unavailable: {exc}", reason="storage_unavailable",
                headers={"Retry-After": "5"},
            ) from None  # fmt: skip
        place = (reporter.cluster, reporter.location)
        wrong = services.reporters.check_place(node, place, services.settings.reporter_moves)
        if wrong is not None:
            raise ApiError(403, wrong, reason="wrong_place")
    except ApiError as exc:
        metrics.rejections.labels(exc.reason).inc()
        raise
    invalid = sum(rejected_types.values())
    uncounted = invalid - len(rejected)
    if invalid:
        metrics.rejections.labels("invalid_event").inc(invalid)
    received_at = time.time()
    shift = 0.0
    if parsed.sent_at is not None:
        shift = services.clocks.observe(
            node, parsed.sent_at, received_at, services.settings.clock_warn_s
        )
        metrics.clock_offset.labels(node).set(parsed.sent_at - received_at)
    admitted = admit_events(
        parsed.events, parsed.positions, time_policy(services.settings, received_at), shift=shift
    )
    if admitted.rejected:
        metrics.rejections.labels("inadmissible").inc(len(admitted.rejected))
    if admitted.partial:
        metrics.rejections.labels("faults_not_stored").inc(len(admitted.partial))
    admitted.rejected += _cap_series(services, node, admitted)
    events = admitted.items
    if admitted.rejected:
        type_at = {pos: e.type for e, pos in zip(parsed.events, parsed.positions, strict=True)}
        rejected_types.update(type_at.get(r.index or 0, "unknown") for r in admitted.rejected)
    outcome = WriteOutcome()
    if events:
        write = EventsWrite(reporter.cluster, node, reporter.location, events, received_at)
        outcome = await _store(services, write)
        services.alerts.observe(write, outcome)  # evaluated off the request path
        if services.knowledge is not None:  # hands over, never waits on the graph
            services.knowledge.upkeep.offer(write, outcome)
    unstorable = [
        Rejected(
            index=admitted.positions[i],
            id=events[i].id,
            error=f"events.{admitted.positions[i]}: {why}",
        )
        for i, why in outcome.rejected
    ]
    if unstorable:
        metrics.rejections.labels("unstorable").inc(len(unstorable))
        rejected_types.update(events[i].type for i, _ in outcome.rejected)
    for kind_name, (acc, dup) in outcome.by_type.items():
        metrics.count_outcome(kind_name, acc, dup, 0)
    for name, n in rejected_types.items():
        metrics.count_outcome(name, 0, 0, n)
    # An aggregate stored without its unstorable fault readings is named too (and counted as
    # accepted): the reporter logs what the agent could not keep.
    rejected = sorted(
        [*rejected, *admitted.rejected, *unstorable, *admitted.partial], key=lambda r: r.index or 0
    )
    if events:
        refused = {i for i, _ in outcome.rejected}
        stored = [e for i, e in enumerate(events) if i not in refused]
        metrics.observe_values(reporter.cluster, node, reporter.location, _values(stored))
    if outcome.heartbeat is not None:  # only the one storage kept as the node's latest
        metrics.outbox_depth.labels(node).set(outcome.heartbeat.outbox.depth)
        metrics.outbox_dropped.labels(node).set(outcome.heartbeat.outbox.dropped)
    return _answer(outcome, rejected, uncounted)


async def post_readings(request: Request) -> Response:
    """Bulk-import readings as JSON, NDJSON or CSV; bad rows are named, good ones stored."""
    services: Services = request.app.state.services
    await require_api_token(request, services)
    metrics = services.metrics
    try:
        kind = media_type(request)
        parser = PARSERS.get(kind)
        if parser is None:
            raise _unsupported(kind, "application/json, application/x-ndjson or text/csv")
        body = await read_body(request, services.settings.max_body_bytes)
        try:
            parsed = parser(body)
        except BodyError as exc:
            reason = "malformed_body" if exc.status == 400 else "invalid_body"
            raise ApiError(exc.status, exc.message, reason=reason, **exc.detail) from None
    except ApiError as exc:
        metrics.rejections.labels(exc.reason).inc()
        raise
    if parsed.rejected:
        metrics.rejections.labels("invalid_reading").inc(
            len(parsed.rejected) + parsed.more_rejected
        )
    policy = time_policy(services.settings, time.time())
    admitted = admit_readings(parsed.columns, parsed.positions, policy, by_line=parsed.by_line)
    if admitted.rejected:
        metrics.rejections.labels("inadmissible").inc(len(admitted.rejected))
    outcome = WriteOutcome()
    if len(admitted.columns):
        write = ReadingsWrite(admitted.columns)
        outcome = await _store(services, write)
        services.alerts.observe(write, outcome)
    unstorable = [
        Rejected(
            index=None if parsed.by_line else admitted.positions[i],
            line=admitted.positions[i] if parsed.by_line else None,
            error=why,
        )
        for i, why in outcome.rejected
    ]
    if unstorable:
        metrics.rejections.labels("unstorable").inc(len(unstorable))
    rejected = [*parsed.rejected, *admitted.rejected, *unstorable]
    if admitted.rejected or unstorable:
        rejected.sort(key=lambda r: (r.line or 0) if parsed.by_line else (r.index or 0))
    refused = len(rejected) + parsed.more_rejected
    metrics.count_outcome("bulk_reading", outcome.accepted, outcome.duplicates, refused)
    return _answer(outcome, rejected, parsed.more_rejected)


routes = [
    Route("/v1/events", post_events, methods=["POST"]),
    Route("/v1/readings", post_readings, methods=["POST"]),
]
BY_PATH = {route.path: route for route in routes}  # what the front door answers (app.py)
