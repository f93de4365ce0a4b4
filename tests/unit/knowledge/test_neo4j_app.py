"""The agent configured for a Neo4j it cannot use (nothing listening, refused credentials):
ingest and the read API go on, /readyz names the graph's problem, and no password is shown."""

from __future__ import annotations

from pathlib import Path

import httpx
from pydantic import SecretStr

from agent_bruno.app import create_app
from agent_bruno.knowledge.runtime import neo4j_config
from agent_bruno.settings import Settings
from tests.fakes.bolt import BoltServer, Scripted
from tests.servers.loopback import refused_port
from tests.unit.agent.helpers import (
    API_TOKEN,
    NODE1_TOKEN,
    auth,
    envelope,
    heartbeat,
    make_settings,
)

WRONG = "wrong-neo4j-secret-8d1f"


def neo4j_settings(tmp_path: Path, uri: str, retry_s: float = 5.0) -> Settings:
    return make_settings(
        tmp_path, neo4j_uri=uri, neo4j_password=SecretStr(WRONG), neo4j_retry_s=retry_s
    )


async def ready_after_ingest(settings: Settings) -> dict[str, object]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
            r = await client.post(
                "/v1/events", json=envelope([heartbeat(1)]), headers=auth(NODE1_TOKEN)
            )
            assert r.status_code == 200
            nodes = await client.get("/v1/nodes", headers=auth(API_TOKEN))
            assert nodes.status_code == 200
            ready = await client.get("/readyz")
            assert ready.status_code == 200  # the graph is reported, not required
            body: dict[str, object] = ready.json()
            return body


async def test_an_unreachable_neo4j_is_named_in_readyz(tmp_path: Path):
    with refused_port() as port:
        # Nothing listens: retrying longer than a moment only makes start-up and shutdown wait.
        body = await ready_after_ingest(neo4j_settings(tmp_path, f"bolt://127.0.0.1:{port}", 0.02))
        graph = body["graph"]
        assert isinstance(graph, dict)
        assert (graph["backend"], graph["state"]) == ("neo4j", "unavailable")
        assert f"127.0.0.1:{port}" in str(graph["problem"])
        assert "unreachable" in str(graph["problem"])


async def test_refused_neo4j_credentials_are_named_in_readyz_without_the_password(
    tmp_path: Path,
):
    async with BoltServer(Scripted()) as server:
        body = await ready_after_ingest(neo4j_settings(tmp_path, server.uri))
    graph = body["graph"]
    assert isinstance(graph, dict)
    assert graph["state"] == "unavailable"
    assert "refused the credentials" in str(graph["problem"])
    assert WRONG not in str(body)


def test_the_retry_time_of_graph_transactions_is_a_setting(tmp_path: Path):
    config = neo4j_config(neo4j_settings(tmp_path, "bolt://127.0.0.1:7687", 0.2))
    assert config is not None
    assert config.max_retry_time_s == 0.2
    assert config.first_retry_delay_s == 0.05  # a short retry time is not overrun by back-off
    default = neo4j_config(neo4j_settings(tmp_path, "bolt://127.0.0.1:7687"))
    assert default is not None
    assert default.max_retry_time_s == 5.0
    assert default.first_retry_delay_s == 1.0  # the driver's own
