"""`/v1/incidents` and the graph routes through the real app: record, correct, list, export,
import, rebuild; bad bodies and missing tokens refused with what was wrong."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agent_bruno.app import create_app
from tests.unit.agent.helpers import API_TOKEN, NODE1_TOKEN, NOW, auth, envelope, make_settings
from tests.unit.knowledge.test_upkeep import episode_event, heartbeat

API = auth(API_TOKEN)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(tmp_path, graph_flush_s=0.02))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
            r = await c.post(
                "/v1/events",
                json=envelope([heartbeat(1), episode_event(1, NOW)]),
                headers=auth(NODE1_TOKEN),
            )
            assert r.status_code == 200
            for _ in range(200):
                where = {"location": "warehouse"}
                ctx = await c.get("/v1/graph/context", params=where, headers=API)
                if ctx.status_code == 200 and ctx.json()["context"]["episodes"]:
                    break
                await asyncio.sleep(0.02)
            yield c


async def test_record_an_incident_and_its_cause(client: httpx.AsyncClient):
    body = {
        "location": "warehouse", "started": NOW + 60, "status": "resolved", "by": "alice",
        "root_cause": {"description": "HVAC malfunction", "resolution": "compressor replaced"},
    }  # fmt: skip
    r = await client.post("/v1/incidents", json=body, headers=API)
    assert r.status_code == 201, r.text
    incident = r.json()["incident"]
    assert incident["created_by"] == "alice"
    assert len(incident["episodes"]) == 1  # the episode at that place and time
    assert incident["root_causes"][0]["resolution"] == "compressor replaced"
    listed = (await client.get("/v1/incidents?location=warehouse", headers=API)).json()
    assert [i["id"] for i in listed["incidents"]] == [incident["id"]]
    fixed = await client.patch(
        f"/v1/incidents/{incident['id']}",
        json={"root_cause": {"description": "door left open"}, "by": "bob"},
        headers=API,
    )
    assert fixed.status_code == 200
    again = fixed.json()["incident"]
    assert [c["description"] for c in again["root_causes"]] == ["door left open"]
    assert len(again["episodes"]) == 1
    assert again["updated_by"] == "bob"


async def test_export_import_and_rebuild_keep_what_people_taught(client: httpx.AsyncClient):
    body = {"location": "warehouse", "started": NOW, "root_cause": {"description": "door open"}}
    created = (await client.post("/v1/incidents", json=body, headers=API)).json()["incident"]
    exported = await client.get("/v1/graph/export", headers=API)
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    rebuilt = await client.post("/v1/graph/rebuild", headers=API)
    assert rebuilt.status_code == 200, rebuilt.text
    assert rebuilt.json()["imported"]["incidents"] == 1
    imported = await client.post("/v1/graph/import", content=exported.content, headers=API)
    assert imported.json()["imported"] == {"incidents": 1, "episodes": 1}
    got = (await client.get(f"/v1/incidents/{created['id']}", headers=API)).json()["incident"]
    assert got["root_causes"][0]["description"] == "door open"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"started": NOW}, "location"),
        ({"location": "warehouse", "started": "yesterday-ish"}, "started"),
        ({"location": "warehouse", "started": NOW, "status": "fixed"}, "status"),
        (
            {"location": "warehouse", "started": NOW, "root_cause": {"description": ""}},
            "root_cause",
        ),
        ({"location": "warehouse", "started": NOW, "colour": "red"}, "colour"),
    ],
)
async def test_a_bad_incident_is_refused_naming_the_field(client, body, field):
    r = await client.post("/v1/incidents", json=body, headers=API)
    assert r.status_code == 422
    assert any(f.startswith(field) for f in r.json()["fields"])


async def test_unknown_ids_and_files(client: httpx.AsyncClient):
    assert (await client.get("/v1/incidents/inc-nope", headers=API)).status_code == 404
    r = await client.patch("/v1/incidents/inc-nope", json={"status": "resolved"}, headers=API)
    assert r.status_code == 404
    bad = await client.post("/v1/graph/import", content=b'{"format": "x"}', headers=API)
    assert bad.status_code == 422
    assert "not an agent-bruno knowledge file" in bad.json()["detail"]


async def test_writes_need_the_api_token(client: httpx.AsyncClient):
    r = await client.post("/v1/incidents", json={"location": "warehouse", "started": NOW})
    assert r.status_code == 401
