"""`/chat` over a real uvicorn server: named events in order, pings, and cancel on disconnect."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from agent_bruno.agent.events import AgentEvent
from agent_bruno.app import create_app
from agent_bruno.ask import parse_sse
from tests.servers.loopback import serve_in_thread
from tests.unit.agent.helpers import (
    API_TOKEN,
    NODE1_TOKEN,
    auth,
    envelope,
    heartbeat,
    make_settings,
)

HA = auth(API_TOKEN)
KINDS = {"status", "tool_call", "tool_result", "token", "answer", "done", "error"}


@dataclasses.dataclass
class Live:
    """A server running the app in its own thread and loop."""

    url: str
    app: FastAPI

    def use_agent(self, agent: Any) -> None:
        """Swap the agent behind the routes (tests of timing and cancellation)."""
        services = self.app.state.services
        self.app.state.services = dataclasses.replace(services, agent=agent)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    settings = make_settings(tmp_path, sse_ping_s=0.05)
    app = create_app(settings)
    with serve_in_thread(app) as url:
        beat = envelope([heartbeat(1, ts=time.time())])
        r = httpx.post(f"{url}/v1/events", json=beat, headers=auth(NODE1_TOKEN))
        assert r.status_code == 200, r.text
        yield Live(url, app)


def read_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """Every (name, data) of a stream."""
    return [(e.name, e.data) for e in parse_sse(response.iter_lines())]


def test_get_streams_named_events_in_order(live: Live):
    with httpx.stream(
        "GET", f"{live.url}/chat", params={"q": "List all Pi nodes"}, headers=HA
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["x-accel-buffering"] == "no"
        thread = r.headers["x-thread-id"]
        events = read_events(r)
    names = [n for n, _ in events]
    assert names[0] == "status"
    assert names[-1] == "done"
    assert set(names) <= KINDS
    assert names.count("answer") == 1
    assert names.index("answer") < len(names) - 1
    assert "tool_call" in names
    assert "tool_result" in names
    answer = dict(events)["answer"]
    assert "pi-node-1" in answer["answer"]
    assert answer["mode"] == "builtin"
    assert events[0][1]["thread_id"] == thread
    assert events[-1][1]["thread_id"] == thread
    tokens = "".join(d["text"] for n, d in events if n == "token")
    assert tokens == answer["answer"]


def test_post_json_and_plain_text_continue_a_thread(live: Live):
    body = {"question": "List all Pi nodes", "thread_id": "chat-t1"}
    with httpx.stream("POST", f"{live.url}/chat", json=body, headers=HA) as r:
        assert r.headers["x-thread-id"] == "chat-t1"
        first = read_events(r)
    assert first[-1][0] == "done"
    assert "pi-node-1" in dict(first)["answer"]["answer"]
    with httpx.stream(
        "POST",
        f"{live.url}/chat",
        params={"thread_id": "chat-t1"},
        content="and their health?",
        headers={**HA, "Content-Type": "text/plain"},
    ) as r:
        events = read_events(r)
    assert events[-1][0] == "done"
    assert events[-1][1]["thread_id"] == "chat-t1"
    # "their" is the nodes of the first answer: the thread carried them over.
    answer = dict(events)["answer"]["answer"]
    assert answer.startswith("pi-node-1 (warehouse): healthy; CPU 12.5 %"), answer


class SlowAgent:
    """An agent whose run says hello at once, then works until it is cancelled or released."""

    def __init__(self, work_s: float = 60.0) -> None:
        self.work_s = work_s
        self.started = threading.Event()
        self.release = threading.Event()  # set by the test: the work is done
        self.cancelled = threading.Event()
        self.closed = threading.Event()

    def stream(
        self, question: str, thread_id: str | None = None, owner: str | None = None
    ) -> AsyncGenerator[AgentEvent]:
        return self._run(thread_id or "t")

    async def _run(self, thread_id: str) -> AsyncGenerator[AgentEvent]:
        try:
            yield AgentEvent("status", {"stage": "received", "thread_id": thread_id})
            self.started.set()
            try:
                async with asyncio.timeout(self.work_s):
                    while not self.release.is_set():  # noqa: ASYNC110 - set by another thread
                        await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
            yield AgentEvent("answer", {"answer": "done working", "mode": "builtin"})
            yield AgentEvent("done", {"thread_id": thread_id})
        finally:
            self.closed.set()


def test_first_event_arrives_before_the_work_and_pings_keep_the_stream_alive(live: Live):
    """The status event is read while the agent is still working, and pings follow until it is
    done; synchronised on the agent's events, not on wall-clock bounds (the 50 ms first-event
    target is a benchmark's)."""
    agent = SlowAgent()
    live.use_agent(agent)
    lines: list[str] = []
    status_while_working = False
    with httpx.stream("GET", f"{live.url}/chat", params={"q": "slow one"}, headers=HA) as r:
        for line in r.iter_lines():
            lines.append(line)
            if line.startswith("event: status") and not agent.release.is_set():
                status_while_working = True
            if sum(x.startswith(": ping") for x in lines) == 2:
                agent.release.set()  # two pings (sse_ping_s=0.05) kept the idle stream alive
    assert status_while_working
    assert lines[0] == "event: status"
    assert [e.name for e in parse_sse(lines)] == ["status", "answer", "done"]


def test_a_disconnecting_client_cancels_the_run(live: Live):
    agent = SlowAgent()
    live.use_agent(agent)
    with httpx.stream("GET", f"{live.url}/chat", params={"q": "never mind"}, headers=HA) as r:
        for line in r.iter_lines():
            if line.startswith("event: status"):
                break
        assert agent.started.wait(5)
    # leaving the block closed the connection mid-run
    assert agent.cancelled.wait(5), "the agent run was not cancelled after the client left"
    assert agent.closed.wait(5)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({}, "the question is empty"),
        ({"q": "  "}, "the question is empty"),
        ({"q": "hi", "thread_id": "bad id!"}, "thread_id 'bad id!'"),
    ],
)
def test_refused_questions_are_json_400_not_a_stream(live: Live, params, needle):
    r = httpx.get(f"{live.url}/chat", params=params, headers=HA)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert needle in r.json()["detail"]


def test_chat_needs_the_api_token(live: Live):
    r = httpx.get(f"{live.url}/chat", params={"q": "List all Pi nodes"})
    assert r.status_code == 401
    r = httpx.post(f"{live.url}/chat", content="List all Pi nodes")
    assert r.status_code == 401
