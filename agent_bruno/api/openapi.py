"""OpenAPI entries for the ingest routes, which are plain Starlette routes (see `ingest.py`).

FastAPI documents only its own routes; the wire format must be in `/openapi.json` too, so the
request and response schemas come from the same pydantic models that validate the bodies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import TypeAdapter

from agent_bruno.wire import READINGS_BODY_ADAPTER, EventBatch, IngestResponse

_REF = "#/components/schemas/{model}"


def _schema(adapter: TypeAdapter[Any], components: dict[str, Any]) -> dict[str, Any]:
    """The adapter's JSON Schema with its definitions moved into `components`."""
    schema = adapter.json_schema(ref_template=_REF)
    components.update(schema.pop("$defs", {}))
    return schema


def _error(description: str) -> dict[str, Any]:
    body = {
        "type": "object",
        "properties": {"error": {"type": "string", "description": "what was wrong, what to do"}},
        "required": ["error"],
    }
    return {"description": description, "content": {"application/json": {"schema": body}}}


def ingest_paths(components: dict[str, Any]) -> dict[str, Any]:
    """Path items of `POST /v1/events` and `POST /v1/readings`."""
    events = _schema(TypeAdapter(EventBatch), components)
    readings = _schema(READINGS_BODY_ADAPTER, components)
    ok = {
        "description": "Valid items committed (fsync'd); duplicates and rejected items named",
        "content": {
            "application/json": {"schema": _schema(TypeAdapter(IngestResponse), components)}
        },
    }
    common = {
        "400": _error("Malformed JSON, NDJSON or CSV, with the position of the error"),
        "401": _error("Missing or unknown bearer token"),
        "413": _error("Body (or its decompressed size) over the limit"),
        "415": _error("Unsupported Content-Type or Content-Encoding"),
        "422": _error("The envelope does not match the schema; the field path is named"),
        "503": _error("Storage unavailable: nothing was stored, retry later"),
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
                    "403": _error("reporter.node is not the token's node"),
                },
                "security": [{"bearer": []}],
            }
        },
        "/v1/readings": {
            "post": {
                "summary": "Bulk import of raw readings (JSON, NDJSON or CSV with a header row)",
                "description": "API token. Rows are deduplicated on (series, ts).",
                "operationId": "post_readings",
                "parameters": [gzip],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": readings},
                        "application/x-ndjson": {"schema": {"type": "string"}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "responses": {"200": ok, **common},
                "security": [{"bearer": []}],
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
_NUMBER = {"type": "number"}
_NAMES = ("cluster", "node", "location", "sensor", "metric", "unit")
_POINT = {
    "type": "object",
    "properties": {
        "ts": {"type": "number", "description": "bucket start, Unix seconds"},
        "mean": _NUMBER,
        "min": _NUMBER,
        "max": _NUMBER,
        "count": {"type": "integer"},
        "last": {"type": "number", "description": "the bucket's latest value"},
    },
    "required": ["ts", "mean", "min", "max", "count", "last"],
}
_SERIES = {
    "type": "object",
    "properties": {
        **{name: {"type": "string"} for name in _NAMES},
        "points": {"type": "array", "items": _POINT},
        "step": {"type": "integer", "description": "bucket width used (coarser when only "
                 "5-minute aggregates are stored)"},
        "source": {"type": "string", "enum": ["samples", "rollup_5m", "rollup_1h"]},
        "faults": {
            "description": "sensor-fault readings of the range (null: none): how many, their "
            "extremes and when",
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "count": {"type": "integer"},
                        **dict.fromkeys(("min", "max", "min_ts", "max_ts"), _NUMBER),
                    },
                    "required": ["count", "min", "max", "min_ts", "max_ts"],
                },
                {"type": "null"},
            ],
        },
        "faults_included": {"type": "boolean"},
    },
    "required": [*_NAMES, "points", "step", "source", "faults", "faults_included"],
}  # fmt: skip


def series_path() -> dict[str, Any]:
    """Path item of `GET /v1/series` (a plain Starlette route, see `series.py`)."""
    answer = {
        "type": "object",
        "properties": {
            "start": _NUMBER,
            "end": _NUMBER,
            "step": {"type": "integer"},
            "series": {"type": "array", "items": _SERIES},
        },
        "required": ["start", "end", "step", "series"],
    }
    return {
        "/v1/series": {
            "get": {
                "tags": ["read"],
                "summary": "Points per (node, sensor, metric) at `step` seconds",
                "description": "Mean, min, max, count and last value per bucket. API token "
                "(none on a loopback-only agent without one).",
                "operationId": "get_series",
                "parameters": [
                    {
                        "name": name,
                        "in": "query",
                        "required": False,
                        "description": text,
                        "schema": {"type": "string"},
                    }
                    for name, text in _SERIES_PARAMS.items()
                ],
                "responses": {
                    "200": {
                        "description": "The matching series (an empty list when none)",
                        "content": {"application/json": {"schema": answer}},
                    },
                    "401": _error("Missing or wrong API token"),
                    "422": _error("A bad query parameter, named with its value"),
                    "503": _error("Storage unavailable, retry later"),
                },
                "security": [{"bearer": []}],
            }
        }
    }


def install(app: FastAPI) -> None:
    """Make `app.openapi()` include the plain routes (ingest, series) and the bearer scheme."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()
            components = spec.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            spec["paths"] = {**ingest_paths(schemas), **series_path(), **spec["paths"]}
            components.setdefault("securitySchemes", {})["bearer"] = {
                "type": "http",
                "scheme": "bearer",
            }
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
