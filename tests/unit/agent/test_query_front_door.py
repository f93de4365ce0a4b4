"""POST /query as `agent-bruno serve` serves it: straight from the front door, ahead of FastAPI's
middleware and dependency solving (a tenth of a built-in answer's CPU), with the same answers,
headers and problems as the app gives, each request timed into the latency metrics and an agent
crash answered as the same 500 problem."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from agent_bruno.agent.service import AgentService
from agent_bruno.app import LatencyMiddleware, create_app, front_door
from agent_bruno.settings import Settings
from tests.unit.agent.helpers import (
    API_TOKEN,
    NODE1_TOKEN,
    auth,
    envelope,
    heartbeat,
    make_settings,
)

HA = auth(API_TOKEN)
JSON = {"Accept": "application/json"}
QUESTION = "List all Pi nodes and their health status"


async def answers(served: Any) -> list[tuple[int, dict[str, str], Any]]:
    """Status, the headers a client reads, and the body of the same requests."""
    transport = httpx.ASGITransport(app=served)
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
        sent = [
            await c.post("/query", content=QUESTION, headers=HA),
            await c.post("/query", json={"question": QUESTION}, headers={**HA, **JSON}),
            await c.post("/query", content=QUESTION),
            await c.post("/query", content=QUESTION, headers=auth("wrong-token-123")),
            await c.post("/query", content="   ", headers=HA),
            await c.post("/query", content="x" * 2001, headers=HA),
            await c.post("/query", content=b"{", headers={**HA, "Content-Type": JSON["Accept"]}),
            await c.post("/query", content=QUESTION, headers={**HA, "Content-Type": "image/png"}),
            await c.post("/query", data={"question": QUESTION, "thread_id": "bad id"}, headers=HA),
        ]  # fmt: skip
    out = []
    for r in sent:
        kept = {k: r.headers[k] for k in ("content-type", "www-authenticate", "x-agent-mode")
                if k in r.headers}  # fmt: skip
        body: Any = r.text if r.headers["content-type"].startswith("text/plain") else r.json()
        if isinstance(body, str):  # the answer, its times aside (a second may pass between)
            body = re.sub(r"\d", "0", body)
        elif "duration_s" in body:
            calls = [(c["name"], c["status"]) for c in body["calls"]]
            body.update(
                duration_s=0,
                thread_id="new",
                calls=calls,
                answer=re.sub(r"\d", "0", body["answer"]),
            )
        out.append((r.status_code, kept, body))
    return out


async def test_the_front_door_answers_queries_as_the_app_does(
    app: FastAPI, settings: Settings
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
        beat = await c.post("/v1/events", json=envelope([heartbeat(1)]), headers=auth(NODE1_TOKEN))
        assert beat.status_code == 200
    through_app = await answers(app)
    direct = await answers(front_door(app, settings))
    assert [a[0] for a in through_app] == [200, 200, 401, 401, 400, 400, 400, 200, 400]
    assert direct == through_app  # the same answers and problems, word for word
    assert direct[2][1]["www-authenticate"] == "Bearer"
    assert "pi-node-0 (warehouse): healthy" in direct[0][2]


async def test_a_query_from_the_front_door_skips_the_app_s_middleware(
    app: FastAPI, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    passed: list[str] = []
    real = LatencyMiddleware.__call__

    async def spied(self: LatencyMiddleware, scope: Any, receive: Any, send: Any) -> None:
        passed.append(scope["path"])
        await real(self, scope, receive, send)

    monkeypatch.setattr(LatencyMiddleware, "__call__", spied)
    served = front_door(app, settings)
    transport = httpx.ASGITransport(app=served)
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
        ok = await client.post("/query", content=QUESTION, headers=HA)
        wrong_method = await client.get("/query", headers=HA)
    assert ok.status_code == 200
    assert wrong_method.status_code == 405  # other methods still go to the app's router
    assert passed == ["/query"]  # only the GET went through the app


async def test_the_front_door_times_queries_limits_them_and_answers_a_crash_as_a_problem(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path, questions_per_client_per_min=8)  # bursts of 2
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        served = front_door(app, settings)
        transport = httpx.ASGITransport(app=served)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
            assert (await client.post("/query", content=QUESTION, headers=HA)).status_code == 200

            async def broken(*args: Any, **kwargs: Any) -> Any:
                raise RuntimeError("a bug")

            monkeypatch.setattr(AgentService, "ask", broken)
            crash = await client.post("/query", content=QUESTION, headers=HA)
            limited = await client.post("/query", content=QUESTION, headers=HA)
            exposed = (await client.get("/metrics", headers=HA)).text
    assert (crash.status_code, crash.headers["content-type"]) == (
        500, "application/problem+json"
    )  # fmt: skip
    assert crash.json()["code"] == "agent_failed"
    assert "RuntimeError: a bug" in crash.json()["detail"]
    assert limited.status_code == 429
    assert "retry-after" in limited.headers
    counts = {
        line.split("} ")[0]: float(line.split("} ")[1])
        for line in exposed.splitlines()
        if line.startswith("agent_bruno_http_requests_total{") and 'route="/query"' in line
    }
    assert sorted(counts.values()) == [1.0, 1.0, 1.0]  # answered (2xx), limited (4xx), crash (5xx)
