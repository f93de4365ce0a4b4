"""Knowledge routes: incidents and root causes people record (`/v1/incidents`), the graph's
context of a node, sensor or location, export and import of what people taught, and rebuild.

Writes need the API token (like every read here outside the loopback demo) and are logged with
who asked (`by` in the body, else "api").
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from agent_bruno.api import alert_schemas as A
from agent_bruno.api.deps import ApiAuth, ServicesDep
from agent_bruno.api.errors import ApiError, json_response
from agent_bruno.api.openapi import documented, json_body
from agent_bruno.api.params import parse_limit, time_range
from agent_bruno.knowledge.backend import GraphError
from agent_bruno.knowledge.model import IncidentInput, RootCauseInput
from agent_bruno.knowledge.runtime import Knowledge
from agent_bruno.knowledge.service import FOREVER, IncidentNotFound
from agent_bruno.knowledge.transfer import TransferError, import_knowledge, parse_knowledge

router = APIRouter(tags=["knowledge"])
log = logging.getLogger(__name__)
DAY = 86_400.0
Text = Annotated[str, Field(max_length=2000)]
Name = Annotated[str, Field(min_length=1, max_length=128)]
When = float | datetime


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CauseBody(_Strict):
    """A root cause as a person states it."""

    description: Annotated[str, Field(min_length=1, max_length=500)]
    resolution: Text | None = None
    recommendation: Text | None = None


class IncidentBody(_Strict):
    """`POST /v1/incidents`: where and when, the cause, and optionally the episodes to link
    (omitted: those active at the place within 15 minutes of `started`)."""

    location: Name
    started: When = Field(description="Unix seconds or ISO 8601")
    ended: When | None = None
    title: Annotated[str, Field(max_length=200)] = ""
    status: Literal["open", "resolved"] = "open"
    summary: Text = ""
    root_cause: CauseBody | None = None
    episodes: Annotated[list[Name], Field(max_length=200)] = []
    metric: Name | None = None
    by: Annotated[str, Field(min_length=1, max_length=128)] = "api"


class CorrectionBody(_Strict):
    """`PATCH /v1/incidents/{id}`: the fields that change."""

    location: Name | None = None
    started: When | None = None
    ended: When | None = None
    title: Annotated[str, Field(max_length=200)] | None = None
    status: Literal["open", "resolved"] | None = None
    summary: Text | None = None
    root_cause: CauseBody | None = None
    episodes: Annotated[list[Name], Field(max_length=200)] | None = None
    by: Annotated[str, Field(min_length=1, max_length=128)] = "api"


def _seconds(value: When | None) -> float | None:
    if value is None or isinstance(value, float | int):
        return value
    return value.timestamp()


def _knowledge(services: Any) -> Knowledge:
    knowledge: Knowledge | None = services.knowledge
    if knowledge is None:
        raise ApiError(
            503,
            "the knowledge graph is off or could not be opened; see /readyz and the log",
            reason="graph_unavailable",
        )
    return knowledge


def _unavailable(exc: GraphError) -> ApiError:
    return ApiError(503, f"knowledge graph: {exc}", reason="graph_unavailable")


async def _body(request: Request, model: type[BaseModel]) -> Any:
    """The JSON body validated by `model`; 422 naming each bad field."""
    raw = await request.body()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        fields = [".".join(str(p) for p in e["loc"]) for e in exc.errors(include_url=False)]
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in exc.errors(include_url=False)[:5]
        )
        raise ApiError(
            422, f"invalid body: {problems}", reason="invalid_body", fields=fields
        ) from None


_INCIDENT_EXAMPLE = {
    "location": "warehouse-b",
    "started": "2025-11-26T14:23:00Z",
    "status": "resolved",
    "title": "temperature spike",
    "root_cause": {"description": "HVAC malfunction", "resolution": "compressor restarted"},
}


@router.post(
    "/v1/incidents",
    status_code=201,
    openapi_extra=json_body(IncidentBody, _INCIDENT_EXAMPLE),
    responses=documented(
        503, ok=A.IncidentEnvelope, status=201, description="The incident as recorded"
    ),
)
async def post_incident(request: Request, services: ServicesDep, _auth: ApiAuth) -> Response:
    """Record an incident and its root cause; returns it with the episodes it was linked to."""
    knowledge = _knowledge(services)
    body: IncidentBody = await _body(request, IncidentBody)
    cause = body.root_cause
    incident = IncidentInput(
        location=body.location,
        started=_seconds(body.started) or 0.0,
        title=body.title,
        ended=_seconds(body.ended),
        status=body.status,
        summary=body.summary,
        root_cause=RootCauseInput(cause.description, cause.resolution, cause.recommendation)
        if cause
        else None,
        episodes=tuple(body.episodes),
        metric=body.metric,
    )
    try:
        stored = await knowledge.graph.record_incident(incident, body.by, time.time())
    except GraphError as exc:
        raise _unavailable(exc) from None
    log.info("api: incident %s recorded by %s", stored["id"], body.by)
    return json_response({"incident": stored}, 201)


@router.patch(
    "/v1/incidents/{incident_id}",
    openapi_extra=json_body(CorrectionBody, {"root_cause": {"description": "door left open"}}),
    responses=documented(503, ok=A.IncidentEnvelope),
)
async def patch_incident(
    incident_id: str, request: Request, services: ServicesDep, _auth: ApiAuth
) -> Response:
    """Correct an incident: the fields given replace the recorded ones."""
    knowledge = _knowledge(services)
    body: CorrectionBody = await _body(request, CorrectionBody)
    try:
        current = await knowledge.graph.incident(incident_id)
        if current is None:
            raise ApiError(404, f"no incident {incident_id!r}", reason="not_found")
        old = current["root_causes"][0] if current["root_causes"] else None
        cause = body.root_cause
        root = (
            RootCauseInput(cause.description, cause.resolution, cause.recommendation)
            if cause
            else (
                RootCauseInput(old["description"], old["resolution"], old["recommendation"])
                if old
                else None
            )
        )
        moved = body.location is not None or body.started is not None
        episodes = (
            body.episodes
            if body.episodes is not None
            else ([] if moved else [e["id"] for e in current["episodes"]])
        )
        changed = IncidentInput(
            location=body.location or current["location"],
            started=_seconds(body.started) or float(current["started"]),
            title=body.title if body.title is not None else current["title"],
            ended=_seconds(body.ended) if body.ended is not None else current["ended"],
            status=body.status or current["status"],
            summary=body.summary if body.summary is not None else (current["summary"] or ""),
            root_cause=root,
            episodes=tuple(episodes),
        )
        stored = await knowledge.graph.correct_incident(incident_id, changed, body.by, time.time())
    except IncidentNotFound:
        raise ApiError(404, f"no incident {incident_id!r}", reason="not_found") from None
    except GraphError as exc:
        raise _unavailable(exc) from None
    log.info("api: incident %s corrected by %s", incident_id, body.by)
    return json_response({"incident": stored})


@router.get("/v1/incidents", responses=documented(503, ok=A.IncidentList))
async def get_incidents(
    services: ServicesDep,
    _auth: ApiAuth,
    location: str | None = None,
    start: str | None = None,
    end: str | None = None,
    limit: str | None = None,
) -> Response:
    """Incidents with their root causes and episodes, newest first (all time by default)."""
    knowledge = _knowledge(services)
    since, until = 0.0, FOREVER
    if start is not None or end is not None:
        since, until = time_range(start, end, time.time(), 30 * DAY)
    try:
        found = await knowledge.graph.incidents(
            location=location, since=since, until=until, limit=parse_limit(limit, 50, 1000)
        )
    except GraphError as exc:
        raise _unavailable(exc) from None
    return json_response({"incidents": found})


@router.get("/v1/incidents/{incident_id}", responses=documented(503, ok=A.IncidentEnvelope))
async def get_incident(incident_id: str, services: ServicesDep, _auth: ApiAuth) -> Response:
    """One incident."""
    knowledge = _knowledge(services)
    try:
        found = await knowledge.graph.incident(incident_id)
    except GraphError as exc:
        raise _unavailable(exc) from None
    if found is None:
        raise ApiError(404, f"no incident {incident_id!r}", reason="not_found")
    return json_response({"incident": found})


@router.get("/v1/graph/context", responses=documented(404, 503, ok=A.GraphContext))
async def get_context(
    services: ServicesDep,
    _auth: ApiAuth,
    node: str | None = None,
    sensor: str | None = None,
    location: str | None = None,
) -> Response:
    """What the graph knows of one node, sensor (`node` + `sensor`, or `sensor` alone) or
    location: where it is, what runs there, recent episodes, incidents."""
    graph = _knowledge(services).graph
    try:
        if sensor is not None:
            keys = await graph.sensor_keys(sensor, node)
            found: Any = [await graph.sensor_context(k) for k in keys] or None
        elif node is not None:
            found = await graph.node_context(node)
        elif location is not None:
            found = await graph.location_context(location)
        else:
            raise ApiError(422, "name a node, a sensor or a location", reason="bad_parameter")
    except GraphError as exc:
        raise _unavailable(exc) from None
    if found is None:
        raise ApiError(404, "the graph knows nothing by that name", reason="not_found")
    return json_response({"context": found})


@router.get("/v1/graph/export", responses=documented(503, ok=A.KnowledgeExport))
async def export_knowledge(services: ServicesDep, _auth: ApiAuth) -> Response:
    """What people taught (incidents, root causes, their episodes) as one JSON file."""
    try:
        doc = await _knowledge(services).graph.export_knowledge()
    except GraphError as exc:
        raise _unavailable(exc) from None
    return json_response(
        doc, headers={"Content-Disposition": 'attachment; filename="agent-bruno-knowledge.json"'}
    )


@router.post(
    "/v1/graph/import",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
    responses=documented(422, 503, ok=A.Imported),
)
async def import_file(request: Request, services: ServicesDep, _auth: ApiAuth) -> Response:
    """Import an export file (importing it twice changes nothing)."""
    knowledge = _knowledge(services)
    try:
        doc = parse_knowledge(orjson.loads(await request.body()))
        counts = await import_knowledge(knowledge.graph, doc)
    except (TransferError, orjson.JSONDecodeError) as exc:
        raise ApiError(422, str(exc), reason="invalid_body") from None
    except GraphError as exc:
        raise _unavailable(exc) from None
    log.info("api: knowledge imported: %s", counts)
    return json_response({"imported": counts})


@router.post("/v1/graph/rebuild", responses=documented(503, ok=A.Rebuilt))
async def rebuild(services: ServicesDep, _auth: ApiAuth) -> Response:
    """Rebuild the graph from storage, keeping what people taught."""
    try:
        result = await _knowledge(services).upkeep.rebuild()
    except GraphError as exc:
        raise _unavailable(exc) from None
    return json_response(result)
