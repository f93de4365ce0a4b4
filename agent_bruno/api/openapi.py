"""The OpenAPI document: the plain routes (ingest, series), error responses, security schemes.

- The ingest and series routes are plain Starlette routes (see `ingest.py`, `series.py`), which
  FastAPI does not document; their entries come from the pydantic models of their bodies.
- Routes declare their answers with `documented(...)`: the success schema and the error
  statuses they can give. Every error is a problem (`application/problem+json`, RFC 9457); after
  generation, every 4xx/5xx response's content is the `Problem` schema, an operation with
  parameters or a body also documents 422, one with path parameters 404, and one that needs a
  token 401 and its security scheme, found from its dependencies (`require_api_token`,
  `api_principal`), so a route added later is covered without repeating it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter

from agent_bruno.api.deps import api_principal, require_api_token
from agent_bruno.api.schemas import Answer, Problem, SeriesPage, problem_content
from agent_bruno.wire import READINGS_BODY_ADAPTER, EventBatch, IngestResponse

_REF = "#/components/schemas/{model}"

ERRORS: dict[int, str] = {
    400: "The request cannot be read (malformed body or question)",
    401: "Missing or wrong bearer token",
    403: "The token may not do this",
    404: "No such resource",
    409: "Conflicts with the current state",
    413: "Body (or its decompressed size) over the limit",
    415: "Unsupported Content-Type or Content-Encoding",
    422: "A parameter or the body is invalid; the problem names it",
    429: "Too many requests; retry after Retry-After seconds",
    500: "The agent failed answering (a bug; the log has the details)",
    503: "Storage or the knowledge graph unavailable; nothing was changed, retry later",
}

API_SCHEME = "apiToken"
REPORTER_SCHEME = "reporterToken"
SLACK_SCHEME = "slackSignature"
SECURITY_SCHEMES = {
    API_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "AGENT_BRUNO_API_TOKEN, or a token of AGENT_BRUNO_API_PRINCIPALS. "
        "An agent listening on loopback only without a token needs none (the demo).",
    },
    REPORTER_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "A reporter's own token (AGENT_BRUNO_REPORTER_TOKENS: token → node).",
    },
    SLACK_SCHEME: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Slack-Signature",
        "description": "Slack's request signature (v0=HMAC-SHA256 of "
        "v0:<X-Slack-Request-Timestamp>:<body> under AGENT_BRUNO_SLACK_SIGNING_SECRET).",
    },
}


def error(status: int, description: str | None = None) -> dict[str, Any]:
    """An error response entry: a problem."""
    return {"description": description or ERRORS[status], "content": problem_content()}


def documented(
    *errors: int | tuple[int, str],
    ok: type[BaseModel] | None = None,
    status: int = 200,
    media: dict[str, Any] | None = None,
    description: str = "Successful response",
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: its success schema (`ok`, or raw `media` content) and the
    error statuses it can answer (a status, or `(status, description)`)."""
    success: dict[str, Any] = {"description": description}
    if ok is not None:
        success["model"] = ok
    if media is not None:
        success["content"] = media
    out: dict[int | str, dict[str, Any]] = {status: success}
    for item in errors:
        code, text = item if isinstance(item, tuple) else (item, None)
        out[code] = error(code, text)
    return out


_BODIES: dict[str, type[BaseModel]] = {}


def json_body(model: type[BaseModel], example: dict[str, Any] | None = None) -> dict[str, Any]:
    """`openapi_extra=` of a route that validates its JSON body itself with `model`."""
    _BODIES[model.__name__] = model
    media: dict[str, Any] = {"schema": {"$ref": _REF.format(model=model.__name__)}}
    if example is not None:
        media["example"] = example
    return {"requestBody": {"required": True, "content": {"application/json": media}}}


def _schema(adapter: TypeAdapter[Any], components: dict[str, Any]) -> dict[str, Any]:
    """The adapter's JSON Schema with its definitions moved into `components`."""
    schema = adapter.json_schema(ref_template=_REF)
    components.update(schema.pop("$defs", {}))
    return schema


def ingest_paths(components: dict[str, Any]) -> dict[str, Any]:
    """Path items of `POST /v1/events` and `POST /v1/readings`."""
    events = _schema(TypeAdapter(EventBatch), components)
    readings = _schema(READINGS_BODY_ADAPTER, components)
    ok = {
        "description": "Valid items committed (fsync'd); duplicates counted; refused items "
        "named with the reason (`rejected`, the first 100; `rejected_total` counts all)",
        "content": {
            "application/json": {
                "schema": _schema(TypeAdapter(IngestResponse), components),
                "example": {
                    "accepted": 3,
                    "duplicates": 1,
                    "rejected": [{"index": 2, "id": "pi-node-1:8c1f:42", "error": "events.2: …"}],
                },
            }
        },
    }
    common = {
        "400": error(400, "Malformed JSON, NDJSON, CSV or gzip, with the position of the error"),
        "401": error(401),
        "413": error(413),
        "415": error(415),
        "422": error(422, "The envelope does not match the schema; `errors` names the fields"),
        "503": error(503, "Storage unavailable: nothing was stored, retry (Retry-After)"),
    }
    gzip = {
        "name": "Content-Encoding",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "enum": ["gzip", "identity"]},
    }
    return {
        "/v1/events": {
            "post": {
                "tags": ["ingest"],
                "summary": "Ingest a batch of edge events (wire format v1)",
                "description": "Bearer token of a reporter; `reporter.node` must be its node.",
                "operationId": "post_events",
                "parameters": [gzip],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": events}},
                },
                "responses": {
                    "200": ok,
                    **common,
                    "403": error(403, "reporter.node is not the token's node"),
                },
                "security": [{REPORTER_SCHEME: []}],
            }
        },
        "/v1/readings": {
            "post": {
                "tags": ["ingest"],
                "summary": "Bulk import of raw readings (JSON, NDJSON or CSV with a header row)",
                "description": "API token. Rows are deduplicated on (series, ts).",
                "operationId": "post_readings",
                "parameters": [gzip],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": readings},
                        "application/x-ndjson": {"schema": {"type": "string"}},
                        "text/csv": {
                            "schema": {"type": "string"},
                            "example": "ts,node,location,sensor,metric,value,unit\n"
                            "1764160000,pi-node-1,warehouse,dht22-1,temperature,21.5,°C\n",
                        },
                    },
                },
                "responses": {"200": ok, **common},
                "security": [{API_SCHEME: []}],
            }
        },
    }


_SERIES_PARAMS = {
    "metric": "Only this metric, e.g. temperature",
    "location": "Only series at this location",
    "node": "Only this node's series",
    "sensor": "Only this sensor's series",
    "cluster": "Only this cluster's series",
    "start": "Start of the range: Unix seconds, ISO 8601 (naive is UTC), now, or -30m/-1h/-7d "
    "(default: end minus one day)",
    "end": "End of the range, same forms (default: now)",
    "step": "Bucket width in seconds or 5m/1h: below 300, or a multiple of 300 (default: 300 up "
    "to two days, else 3600); at most 10,000 points",
    "include_faults": "true/false (1/0, yes/no): count the readings the reporter judged sensor "
    "faults in the points (default false: left out, and described under each series' faults)",
}
_SERIES_EXAMPLES = {"metric": "temperature", "location": "warehouse", "start": "-6h", "step": "5m"}


def series_path(components: dict[str, Any]) -> dict[str, Any]:
    """Path item of `GET /v1/series` (a plain Starlette route, see `series.py`)."""
    answer = _schema(TypeAdapter(SeriesPage), components)
    parameters = []
    for name, text in _SERIES_PARAMS.items():
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": False,
            "description": text,
            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
        }
        if name in _SERIES_EXAMPLES:
            param["example"] = _SERIES_EXAMPLES[name]
        parameters.append(param)
    return {
        "/v1/series": {
            "get": {
                "tags": ["read"],
                "summary": "Points per (node, sensor, metric) at `step` seconds",
                "description": "Mean, min, max, count and last value per bucket. Readings the "
                "reporter judged sensor faults are left out (each series says how many and their "
                "extremes under `faults`) unless `include_faults=true`.",
                "operationId": "get_series",
                "parameters": parameters,
                "responses": {
                    "200": {
                        "description": "The matching series (an empty list when none)",
                        "content": {"application/json": {"schema": answer}},
                    },
                    "422": error(422),
                    "503": error(503),
                },
                "security": [{API_SCHEME: []}],
            }
        }
    }


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every dependency callable under `dependant`."""
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def secured_operations(routers: Sequence[APIRouter]) -> set[tuple[str, str]]:
    """(path, method) of the routers' routes that need the API token."""
    out: set[tuple[str, str]] = set()
    for route in (r for router in routers for r in router.routes):
        if not isinstance(route, APIRoute):
            continue
        if any(c in (require_api_token, api_principal) for c in _calls(route.dependant)):
            out |= {(route.path, m.lower()) for m in route.methods or ()}
    return out


# Routes that authenticate inside their handler rather than by a dependency.
_HANDLER_SECURITY = {("/slack/commands", "post"): SLACK_SCHEME}


def finish(spec: dict[str, Any], secured: set[tuple[str, str]]) -> None:
    """Every error a problem; 422, 404 and 401 where an operation can give them; security."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    models: list[type[BaseModel]] = [Problem, Answer, *_BODIES.values()]
    for model in models:
        schemas[model.__name__] = _schema(TypeAdapter(model), schemas)
    for path, item in spec["paths"].items():
        for method, op in item.items():
            responses = op.setdefault("responses", {})
            if op.get("parameters") or op.get("requestBody"):
                responses.setdefault("422", error(422))
            if "{" in path:
                responses.setdefault("404", error(404))
            scheme = _HANDLER_SECURITY.get((path, method))
            if (path, method) in secured:
                scheme = API_SCHEME
            if scheme is not None:
                op.setdefault("security", [{scheme: []}])
            if op.get("security"):
                responses.setdefault("401", error(401))
            for code, response in responses.items():
                if int(code) >= 400:
                    response["content"] = problem_content()
                    continue
                content = response.get("content", {})
                # FastAPI's default JSON entry, beside the media a route declared (SSE, text).
                if len(content) > 1 and content.get("application/json") == {"schema": {}}:
                    del content["application/json"]
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    spec["components"].setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)


def install(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """Make `app.openapi()` include the ingest routes, problems and security schemes."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()
            schemas = spec.setdefault("components", {}).setdefault("schemas", {})
            spec["paths"] = {**ingest_paths(schemas), **series_path(schemas), **spec["paths"]}
            finish(spec, secured_operations(routers))
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
