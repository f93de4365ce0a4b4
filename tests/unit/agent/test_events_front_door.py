"""POST /v1/events as `agent-bruno serve` serves it: straight from the front door (ahead of the
FastAPI stack, a seventh of a heartbeat request's event-loop CPU) with the same answers as the
app gives: the stored counts, the same problems for a bad token, a wrong node or broken
JSON, each request timed into the latency metrics and a crash answered as a 500 problem."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from agent_bruno.api import ingest
from agent_bruno.app import front_door
from tests.unit.agent.helpers import API_TOKEN, NODE1_TOKEN, auth, count, envelope, heartbeat

H1 = auth(NODE1_TOKEN)


async def answers(served: Any, first: int) -> list[tuple[int, str | None, Any]]:
    """Status, challenge and body of the same requests (heartbeat ids from `first`)."""
    bad_json = {**H1, "Content-Type": "application/json"}
    transport = httpx.ASGITransport(app=served)
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
        sent = [
            await c.post("/v1/events", json=envelope([heartbeat(first)]), headers=H1),
            await c.post("/v1/events", json=envelope([heartbeat(first)]), headers=H1),  # again
            await c.post("/v1/events", json=envelope([heartbeat(first)]), headers=auth("no-123")),
            await c.post(
                "/v1/events", json=envelope([heartbeat(first)], node="pi-node-2"), headers=H1
            ),
            await c.post("/v1/events", content=b'{"schema_version": 1,', headers=bad_json),
            await c.post("/v1/events", content=b"x", headers={**H1, "Content-Type": "text/csv"}),
        ]
    return [(r.status_code, r.headers.get("www-authenticate"), r.json()) for r in sent]


async def test_the_front_door_answers_events_as_the_app_does(app: FastAPI, settings) -> None:
    through_app = await answers(app, 1)
    direct = await answers(front_door(app, settings), 2)
    assert [a[0] for a in through_app] == [200, 200, 401, 403, 400, 415]
    assert direct[0][2] == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert direct[1][2] == {"accepted": 0, "duplicates": 1, "rejected": []}
    assert direct == through_app  # the same answers and problems, word for word
    assert direct[2][1] == "Bearer"
    assert count(settings, "nodes") == 1


async def test_the_front_door_times_events_and_answers_a_crash_as_a_problem(
    app: FastAPI, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = front_door(app, settings)
    transport = httpx.ASGITransport(app=served)
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
        ok = await client.post("/v1/events", json=envelope([heartbeat(1)]), headers=H1)
        assert ok.status_code == 200

        def broken(body: bytes) -> Any:
            raise RuntimeError("a bug")

        monkeypatch.setattr(ingest, "parse_events", broken)
        crash = await client.post("/v1/events", json=envelope([heartbeat(2)]), headers=H1)
        assert (crash.status_code, crash.headers["content-type"]) == (
            500, "application/problem+json"
        )  # fmt: skip
        assert crash.json()["detail"].startswith("internal error (RuntimeError)")
        exposed = (await client.get("/metrics", headers=auth(API_TOKEN))).text
    counts = {
        line.split("} ")[0]: float(line.split("} ")[1])
        for line in exposed.splitlines()
        if line.startswith("agent_bruno_http_requests_total{") and 'route="/v1/events"' in line
    }
    assert sorted(counts.values()) == [1.0, 1.0]  # one stored (2xx), one crash (5xx)


async def readings_answers(served: Any, base_ts: int) -> list[tuple[int, Any]]:
    """Status and body of the same bulk imports: stored, again (duplicates), a bad token,
    broken JSON, a wrong media type, one bad row among good ones."""
    headers = auth(API_TOKEN)
    row = {"node": "bulk-1", "location": "lab", "sensor": "t", "metric": "temperature",
           "unit": "°C", "value": 21.5}  # fmt: skip
    rows = [{**row, "ts": base_ts + i} for i in range(3)]
    transport = httpx.ASGITransport(app=served)
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
        sent = [
            await c.post("/v1/readings", json=rows, headers=headers),
            await c.post("/v1/readings", json=rows, headers=headers),
            await c.post("/v1/readings", json=rows, headers=auth("wrong-token")),
            await c.post(
                "/v1/readings",
                content=b"[{",
                headers={**headers, "Content-Type": "application/json"},
            ),
            await c.post(
                "/v1/readings", content=b"x", headers={**headers, "Content-Type": "text/plain"}
            ),
            await c.post("/v1/readings", json=[*rows[:1], {**row, "ts": "soon"}], headers=headers),
        ]
    return [(r.status_code, r.json()) for r in sent]


async def test_the_front_door_answers_bulk_readings_as_the_app_does(app: FastAPI, settings) -> None:
    import time

    base = int(time.time()) - 7200
    through_app = await readings_answers(app, base)
    direct = await readings_answers(front_door(app, settings), base + 100)
    assert [a[0] for a in direct] == [200, 200, 401, 400, 415, 200]
    assert direct[0][1] == {"accepted": 3, "duplicates": 0, "rejected": []}
    assert direct[1][1] == {"accepted": 0, "duplicates": 3, "rejected": []}
    assert direct == through_app  # the same answers and problems, word for word
    assert direct[5][1]["rejected"][0]["index"] == 1
