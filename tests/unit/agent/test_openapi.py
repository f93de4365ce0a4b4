"""/openapi.json documents the whole API, the ingest routes (plain Starlette) included."""

from __future__ import annotations

from typing import Any


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_openapi_documents_ingest_with_the_wire_models(client):
    """Regression: the fast ingest routes were missing from /openapi.json."""
    spec = (await client.get("/openapi.json")).json()
    events = spec["paths"]["/v1/events"]["post"]
    readings = spec["paths"]["/v1/readings"]["post"]
    body = events["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) >= {"schema_version", "reporter", "events"}
    assert {"application/json", "application/x-ndjson", "text/csv"} <= set(
        readings["requestBody"]["content"]
    )
    assert {"200", "400", "401", "403", "413", "415", "422"} <= set(events["responses"])
    schemas = spec["components"]["schemas"]
    assert {"ReadingEvent", "AggregateEvent", "HeartbeatEvent", "ExplanationEvent"} <= set(schemas)
    for ref in _refs(spec):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    assert "/v1/series" in spec["paths"]  # FastAPI's own routes are still there
