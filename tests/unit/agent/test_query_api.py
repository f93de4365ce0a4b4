"""`POST /query`: curl-style questions answered in plain text, JSON on request, threads, errors."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from agent_bruno.agent.service import AgentError, AgentReply
from agent_bruno.api.query import _from_form
from agent_bruno.app import create_app
from tests.fakes.ollama import FakeOllama, Reply, ToolCallSpec
from tests.servers.loopback import refused_url
from tests.unit.agent.helpers import (
    API_TOKEN,
    NODE1_TOKEN,
    aggregate,
    auth,
    envelope,
    heartbeat,
    make_settings,
)

HA = auth(API_TOKEN)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}  # what `curl -d` sends
QUESTION = "What's the temperature in the warehouse?"


@pytest.fixture
async def loaded(client):
    """Warehouse temperatures and a fresh heartbeat from pi-node-1."""
    now = time.time()
    start = float(int(now // 300) * 300 - 900)
    events = [
        aggregate(
            i,
            start=start + 300 * i,
            metric="temperature",
            unit="°C",
            min=21.0 + i,
            max=22.0 + i,
            mean=21.5 + i,
            last=21.8 + i,
        )
        for i in range(3)
    ]
    events.append(aggregate(9, start=start + 600, min=38.0, last=38.5))  # the follow-up's
    events.append(heartbeat(1, ts=now))
    r = await client.post("/v1/events", json=envelope(events), headers=auth(NODE1_TOKEN))
    assert r.json()["accepted"] == 5, r.text
    return client


async def test_curl_style_question_gets_a_plain_text_answer(loaded):
    r = await loaded.post("/query", content=QUESTION, headers={**HA, **FORM})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.text.endswith("\n")
    assert "warehouse" in r.text.lower()
    assert "23.8 °C" in r.text  # the newest aggregate's last value, with its unit
    assert "pi-node-1" in r.text
    assert r.headers["x-agent-mode"] == "builtin"  # no AGENT_BRUNO_OLLAMA_URL
    assert len(r.headers["x-thread-id"]) >= 8
    assert "x-agent-fallback" not in r.headers


async def test_json_on_request_carries_the_tool_calls(loaded):
    r = await loaded.post(
        "/query",
        json={"question": QUESTION},
        headers={**HA, "Accept": "application/json"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"answer", "thread_id", "mode", "fallback", "duration_s", "memory", "calls"}
    assert body["thread_id"] == r.headers["x-thread-id"]
    assert (body["mode"], body["fallback"]) == ("builtin", None)
    assert body["calls"], "the answer should rest on at least one tool call"
    for call in body["calls"]:
        assert set(call) == {"name", "args", "status", "error", "data"}
        assert call["status"] in ("ok", "no_data", "error")
    plain = await loaded.post("/query", content=QUESTION, headers={**HA, **FORM})
    assert plain.text.strip() == body["answer"].strip()


async def test_follow_up_continues_the_thread(loaded):
    first = await loaded.post("/query", content=QUESTION, headers={**HA, **FORM})
    thread = first.headers["x-thread-id"]
    follow = await loaded.post(
        "/query", params={"thread_id": thread}, content="and the humidity?", headers=HA
    )
    assert follow.status_code == 200, follow.text
    assert follow.headers["x-thread-id"] == thread
    # The follow-up keeps the place and changes the metric: the warehouse's humidity.
    assert "humidity" in follow.text.lower(), follow.text
    assert "warehouse" in follow.text.lower(), follow.text
    assert "38.5 %" in follow.text, follow.text
    assert "don't know" not in follow.text, follow.text
    in_json = await loaded.post(
        "/query",
        json={"question": "and now?", "thread_id": thread},
        headers={**HA, "Accept": "application/json"},
    )
    assert in_json.json()["thread_id"] == thread


async def test_form_field_and_percent_encoded_bodies(loaded):
    form = await loaded.post(
        "/query", data={"question": QUESTION, "thread_id": "t-form-1"}, headers=HA
    )
    assert form.status_code == 200, form.text
    assert form.headers["x-thread-id"] == "t-form-1"
    encoded = await loaded.post(  # curl --data-urlencode "What's ..."
        "/query", content="What%27s+the+temperature+in+the+warehouse%3F", headers={**HA, **FORM}
    )
    assert encoded.text == form.text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (QUESTION, (QUESTION, None)),
        ("question=What%27s+up%3F&thread_id=abc", ("What's up?", "abc")),
        ("question=hello", ("hello", None)),
        ("What%27s+up%3F", ("What's up?", None)),
        ("Is CPU above 90% + rising?", ("Is CPU above 90% + rising?", None)),  # raw text kept
        ("anomalies", ("anomalies", None)),
    ],
)  # fmt: skip
def test_form_bodies(raw, expected):
    assert _from_form(raw) == expected


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"content": b""}, "the question is empty"),
        ({"content": b"   \n"}, "the question is empty"),
        ({"json": {"question": ""}}, "the question is empty"),
        ({"content": b"{not", "headers": {"Content-Type": "application/json"}}, "not valid JSON"),
        ({"json": ["a list"]}, '{"question"'),
        ({"json": {"question": "hi", "thread_id": 7}}, "thread_id must be a string"),
        ({"content": b"\xff\xfe", "headers": {"Content-Type": "text/plain"}}, "not UTF-8"),
        ({"content": b"hi", "params": {"thread_id": "no spaces allowed"}}, "thread_id 'no spaces"),
    ],
)  # fmt: skip
async def test_bad_questions_are_400_with_the_reason(client, kwargs, needle):
    headers = {**HA, **kwargs.pop("headers", {})}
    r = await client.post("/query", headers=headers, **kwargs)
    assert r.status_code == 400, r.text
    assert needle in r.json()["detail"]


async def test_too_long_question_names_the_limit(tmp_path: Path):
    app = create_app(make_settings(tmp_path, query_max_chars=40))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
            r = await c.post("/query", content="x" * 41, headers=HA)
            assert r.status_code == 400
            assert "41 characters long; the limit is 40" in r.json()["detail"]
            assert r.json()["limit"] == 40
            huge = await c.post("/query", content="x" * 100_000, headers=HA)
            assert huge.status_code == 413


async def test_api_token_is_required(client):
    r = await client.post("/query", content=QUESTION, headers=FORM)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    wrong = await client.post("/query", content=QUESTION, headers={**FORM, **auth("x" * 20)})
    assert wrong.status_code == 401


async def test_open_on_loopback_without_an_api_token(tmp_path: Path):
    app = create_app(make_settings(tmp_path, api_token=None))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
            r = await c.post("/query", content="List all Pi nodes and their health status")
            assert r.status_code == 200, r.text


async def test_an_agent_failure_is_500_with_the_reason(app, client, monkeypatch):
    async def broken(question: str, thread_id: str | None = None, owner: str | None = None):
        raise AgentError("the storage went away")

    monkeypatch.setattr(app.state.services.agent, "ask", broken)
    r = await client.post("/query", content=QUESTION, headers=HA)
    assert r.status_code == 500
    assert "the storage went away" in r.json()["detail"]


async def test_fallback_is_reported_in_a_header(app, client, monkeypatch):
    async def fell_back(
        question: str, thread_id: str | None = None, owner: str | None = None
    ) -> AgentReply:
        return AgentReply("18 °C", [], "builtin", "model timed out after 30 s", "t1", 0.2)

    monkeypatch.setattr(app.state.services.agent, "ask", fell_back)
    r = await client.post("/query", content=QUESTION, headers=HA)
    assert r.headers["x-agent-fallback"] == "model timed out after 30 s"
    assert r.text == "18 °C\n"


async def test_with_ollama_url_set_the_model_answers(tmp_path: Path):
    call = ToolCallSpec("metric_summary", {"metric": "temperature", "location": "warehouse"})
    script = [Reply(tool_calls=[call]), Reply("It is about 21 °C in the warehouse.")]
    async with FakeOllama(script, model="qwen2.5:3b") as fake:
        app = create_app(make_settings(tmp_path, ollama_url=fake.url))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
                r = await c.post("/query", content=QUESTION, headers={**HA, **FORM})
    assert r.status_code == 200, r.text
    assert r.headers["x-agent-mode"] == "model"
    assert r.text == "It is about 21 °C in the warehouse.\n"
    assert fake.replies_left == 0


async def test_an_unreachable_model_falls_back_and_says_so(tmp_path: Path):
    with refused_url() as dead:
        app = create_app(make_settings(tmp_path, ollama_url=dead, ollama_timeout_s=2.0))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
                r = await c.post("/query", content="List all Pi nodes", headers={**HA, **FORM})
    assert r.status_code == 200, r.text
    assert r.headers["x-agent-mode"] == "builtin"
    # Says why the model was not used, in words an operator can act on.
    assert r.headers["x-agent-fallback"].startswith("cannot reach the model server"), r.headers


async def test_answers_are_counted_by_mode_and_outcome(loaded):
    for _ in range(2):
        r = await loaded.post("/query", content=QUESTION, headers={**HA, **FORM})
        assert r.status_code == 200, r.text
    metrics = (await loaded.get("/metrics", headers=HA)).text
    assert 'agent_bruno_agent_answers_total{mode="builtin",outcome="answered"} 2.0' in metrics
