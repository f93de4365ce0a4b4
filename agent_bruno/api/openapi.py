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


def install(app: FastAPI) -> None:
    """Make `app.openapi()` include the ingest routes and the bearer scheme."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()
            components = spec.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            spec["paths"] = {**ingest_paths(schemas), **spec["paths"]}
            components.setdefault("securitySchemes", {})["bearer"] = {
                "type": "http",
                "scheme": "bearer",
            }
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
