"""CORS: off unless AGENT_BRUNO_CORS_ORIGINS names the origins whose pages may call the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from agent_bruno.app import create_app, front_door
from tests.unit.agent.helpers import API_TOKEN, auth, make_settings

GRAFANA = "https://grafana.lan:3000"
PREFLIGHT = {
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "authorization",
}


async def _client(tmp_path: Path, **overrides: object) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(tmp_path, **overrides)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=front_door(app, settings))  # as `serve` serves it
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
            yield client


async def test_cors_is_off_by_default(tmp_path: Path):
    async for client in _client(tmp_path):
        r = await client.get("/v1/nodes", headers={**auth(API_TOKEN), "Origin": GRAFANA})
        assert r.status_code == 200
        assert "access-control-allow-origin" not in r.headers
        r = await client.options("/v1/nodes", headers={"Origin": GRAFANA, **PREFLIGHT})
        assert "access-control-allow-origin" not in r.headers


async def test_named_origins_may_call_the_api_with_their_token(tmp_path: Path):
    async for client in _client(tmp_path, cors_origins=f"{GRAFANA}, http://localhost:5173"):
        r = await client.options("/v1/nodes", headers={"Origin": GRAFANA, **PREFLIGHT})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == GRAFANA
        assert "authorization" in r.headers["access-control-allow-headers"].lower()
        r = await client.post("/query", headers={**auth(API_TOKEN), "Origin": GRAFANA},
                              content="List all Pi nodes")  # fmt: skip
        assert r.headers["access-control-allow-origin"] == GRAFANA
        assert "x-thread-id" in r.headers["access-control-expose-headers"].lower()
        # Another origin is not let in.
        r = await client.options(
            "/v1/nodes", headers={"Origin": "https://evil.example", **PREFLIGHT}
        )
        assert r.status_code == 400
        assert "access-control-allow-origin" not in r.headers
        r = await client.get(
            "/v1/nodes", headers={**auth(API_TOKEN), "Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in r.headers
        # CORS never stands in for the token.
        r = await client.get("/v1/nodes", headers={"Origin": GRAFANA})
        assert r.status_code == 401
        # The series answered ahead of the FastAPI stack still say who may read them.
        r = await client.get("/v1/series", headers={**auth(API_TOKEN), "Origin": GRAFANA})
        assert (r.status_code, r.headers["access-control-allow-origin"]) == (200, GRAFANA)


@pytest.mark.parametrize(
    "value", ["grafana.lan", "https://grafana.lan/dashboards", "ftp://grafana.lan", "https://"]
)
def test_a_bad_origin_is_refused_naming_it(tmp_path: Path, value: str):
    with pytest.raises(ValidationError, match="AGENT_BRUNO_CORS_ORIGINS"):
        make_settings(tmp_path, cors_origins=value)
