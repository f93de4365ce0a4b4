"""The agent's built-in path end to end: real storage, real tools, frozen clock, thread memory."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from langchain_core.messages import AIMessage, HumanMessage

from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.events import AgentEvent
from agent_bruno.agent.prompts import load_prompts
from agent_bruno.agent.service import (
    AgentService,
    QuestionError,
    open_sqlite_checkpointer,
)
from agent_bruno.storage.base import EventsWrite
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.wire import EVENT_ADAPTER
from tests.unit.agent.helpers import NOW, aggregate, heartbeat

CLOCK = NOW + 3600  # an hour of data has been stored when the questions are asked
UTC = ZoneInfo("UTC")
WAREHOUSE_TEMPERATURE = 22.1  # the latest warehouse temperature: the answer must quote it
QUESTION = "What is the temperature in the warehouse?"
FOLLOW_UP = "and the humidity?"


def _window(i: int, node: str, metric: str, unit: str, value: float) -> dict[str, Any]:
    start = NOW + 300 * i
    return aggregate(
        i, start=start, id=f"{node}-{metric}-{i}", metric=metric, unit=unit,
        min=value - 0.2, max=value + 0.2, mean=value, last=value,
    )  # fmt: skip


def _node_events(node: str, temperature: float, humidity: float) -> list[Any]:
    raw = [
        *(_window(i, node, "temperature", "°C", temperature - 0.1 * (11 - i)) for i in range(12)),
        *(_window(i, node, "humidity", "%", humidity) for i in range(12)),
        heartbeat(0, ts=CLOCK - 60, id=f"{node}-hb"),
    ]
    return [EVENT_ADAPTER.validate_python(e) for e in raw]


def write_dataset(path: Path) -> SqliteStorage:
    """A storage holding an hour of temperature and humidity from two nodes in two places."""
    storage = SqliteStorage(path)
    storage.open_writer()
    try:
        outcomes = storage.apply_batch(
            [
                EventsWrite(
                    "homelab", "pi-node-1", "warehouse",
                    _node_events("pi-node-1", WAREHOUSE_TEMPERATURE, 40.5), received_at=CLOCK,
                ),
                EventsWrite(
                    "homelab", "pi-node-2", "office",
                    _node_events("pi-node-2", 19.4, 55.0), received_at=CLOCK,
                ),
            ]
        )  # fmt: skip
    finally:
        storage.close_writer()
    assert not any(isinstance(o, Exception) for o in outcomes), outcomes
    return storage


def make_context(storage: Any) -> AgentContext:
    """The agent context of the tests: real prompts, frozen clock, UTC."""
    return AgentContext(storage=storage, prompts=load_prompts(), clock=lambda: CLOCK, tz=UTC)


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqliteStorage]:
    store = write_dataset(tmp_path / "db.sqlite")
    yield store
    store.close()


@pytest.fixture
async def service(storage: SqliteStorage) -> AsyncIterator[AgentService]:
    svc = await AgentService.create(make_context(storage))
    yield svc
    await svc.close()


async def collect(events: AsyncIterator[AgentEvent]) -> list[AgentEvent]:
    """Every event of a run."""
    return [e async for e in events]


def call_args(calls: list[dict[str, Any]]) -> str:
    """The arguments of every call, as one JSON text to search."""
    return orjson.dumps([c["args"] for c in calls]).decode()


def other_tasks(before: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    """Tasks still alive that were not there `before` (the current one excluded)."""
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t not in before and t is not current}


async def test_a_question_is_answered_from_the_stored_data(service: AgentService):
    reply = await service.ask(QUESTION)

    assert reply.mode == "builtin"
    assert reply.fallback is None
    assert reply.calls, "the built-in path made no tool call"
    assert all(c["result"]["status"] == "ok" for c in reply.calls), reply.calls
    assert "temperature" in call_args(reply.calls)
    assert "warehouse" in call_args(reply.calls)
    assert f"{WAREHOUSE_TEMPERATURE}" in reply.answer
    assert reply.thread_id
    assert reply.duration_s >= 0
    assert reply.as_dict()["answer"] == reply.answer
    orjson.dumps(reply.as_dict())  # JSON-ready


async def test_events_come_in_order_and_the_tokens_spell_the_answer(service: AgentService):
    events = await collect(service.stream(QUESTION, thread_id="order"))
    kinds = [e.kind for e in events]

    assert kinds[0] == "status"
    assert events[0].data["thread_id"] == "order"
    assert kinds[-2:] == ["answer", "done"]
    assert "error" not in kinds
    first_call, last_result = (
        kinds.index("tool_call"),
        len(kinds) - 1 - kinds[::-1].index("tool_result"),
    )
    assert set(kinds[:first_call]) == {"status"}
    for i, kind in enumerate(kinds):  # every call is answered at once, by its own result
        if kind == "tool_call":
            assert kinds[i + 1] == "tool_result"
            assert events[i + 1].data["name"] == events[i].data["name"]
            assert events[i + 1].data["id"] == events[i].data["id"]
    tokens = [e for e in events[last_result + 1 : -2] if e.kind == "token"]
    assert tokens
    assert {e.kind for e in events[last_result + 1 : -2]} == {"token"}
    answer, done = events[-2].data, events[-1].data
    assert "".join(t.data["text"] for t in tokens) == answer["answer"]
    assert answer["mode"] == "builtin"
    assert answer["fallback"] is None
    assert done["thread_id"] == "order"
    assert done["mode"] == "builtin"
    assert done["duration_s"] >= 0
    result = events[first_call + 1].data
    assert result["status"] == "ok"
    assert result["size"] >= 1
    assert result["data"]["status"] == "ok"  # the summary `for_model` makes
    for event in events:
        orjson.dumps(event.as_dict())  # every event is JSON-ready for SSE


async def test_the_first_event_comes_before_any_storage_access(storage: SqliteStorage):
    touched: list[str] = []

    class Watched:
        def __getattr__(self, name: str) -> Any:
            touched.append(name)
            return getattr(storage, name)

    service = await AgentService.create(make_context(Watched()))
    async with aclosing(service.stream(QUESTION)) as events:
        first = await anext(events)
        assert first.kind == "status"
        assert touched == []
        rest = [e async for e in events]
    assert touched
    assert rest[-1].kind == "done"


async def test_a_follow_up_on_the_same_thread_reuses_the_focus(service: AgentService):
    first = await service.ask(QUESTION, thread_id="t1")
    follow = await service.ask(FOLLOW_UP, thread_id="t1")
    elsewhere = await service.ask(FOLLOW_UP, thread_id="t2")

    assert "warehouse" in call_args(first.calls)
    assert "humidity" in call_args(follow.calls)
    assert "warehouse" in call_args(follow.calls)  # remembered from the first question
    assert "40.5" in follow.answer
    assert "warehouse" not in call_args(elsewhere.calls)  # another thread remembers nothing


async def test_thread_memory_survives_a_restart(
    storage: SqliteStorage, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING)
    path = tmp_path / "threads" / "checkpoints.sqlite"
    async with open_sqlite_checkpointer(path) as saver:
        service = await AgentService.create(make_context(storage), checkpointer=saver)
        await service.ask(QUESTION, thread_id="kept")
        await service.close()

    async with open_sqlite_checkpointer(path) as saver:
        service = await AgentService.create(make_context(storage), checkpointer=saver)
        follow = await service.ask(FOLLOW_UP, thread_id="kept")
        state = await service.graph.aget_state({"configurable": {"thread_id": "kept"}})
        await service.close()

    assert "warehouse" in call_args(follow.calls)
    assert "humidity" in call_args(follow.calls)
    # What was checkpointed came back as the types it was stored as: plain data and messages.
    values = state.values
    assert isinstance(values["focus"], dict)
    assert [type(m) for m in values["messages"]] == [HumanMessage, AIMessage] * 2
    assert values["messages"][0].content == QUESTION
    assert values["messages"][-1].content == follow.answer
    orjson.dumps({k: v for k, v in values.items() if k != "messages"})
    assert not [r for r in caplog.records if r.name.startswith("langgraph")], caplog.text


class SlowStorage:
    """The storage, with summaries that take `delay_s` (a slow disk)."""

    def __init__(self, storage: SqliteStorage, delay_s: float) -> None:
        self._storage = storage
        self.delay_s = delay_s

    def summarize(self, query: Any) -> Any:
        time.sleep(self.delay_s)
        return self._storage.summarize(query)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


class GatedStorage:
    """The storage, with summaries that block until `release` is set (a hung disk);
    `entered` is set once a summary has started."""

    def __init__(self, storage: SqliteStorage) -> None:
        self._storage = storage
        self.entered = threading.Event()
        self.release = threading.Event()

    def summarize(self, query: Any) -> Any:
        self.entered.set()
        self.release.wait(5)
        return self._storage.summarize(query)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)


async def test_closing_the_stream_mid_run_stops_it_and_the_thread_still_works(
    storage: SqliteStorage,
):
    gated = GatedStorage(storage)
    service = await AgentService.create(make_context(gated))
    before = set(asyncio.all_tasks())
    try:
        async with asyncio.timeout(2):  # closing does not wait for the blocked tool
            async with aclosing(service.stream(QUESTION, thread_id="gone")) as events:
                async for event in events:
                    if event.kind == "tool_call":
                        assert await asyncio.to_thread(gated.entered.wait, 5)  # the tool runs
                        break
        assert other_tasks(before) == set()
    finally:
        gated.release.set()

    reply = await service.ask(QUESTION, thread_id="gone")
    assert f"{WAREHOUSE_TEMPERATURE}" in reply.answer
    assert reply.calls


async def test_cancelling_the_consumer_cancels_the_run(storage: SqliteStorage):
    gated = GatedStorage(storage)
    service = await AgentService.create(make_context(gated))
    before = set(asyncio.all_tasks())
    seen: list[str] = []
    calling = asyncio.Event()

    async def consume() -> None:
        async for event in service.stream(QUESTION, thread_id="cut"):
            seen.append(event.kind)
            if event.kind == "tool_call":
                calling.set()

    task = asyncio.create_task(consume())
    try:
        await asyncio.wait_for(calling.wait(), 5)
        assert await asyncio.to_thread(gated.entered.wait, 5)  # the tool is running
        task.cancel()  # a client disconnect: the request task is cancelled while a tool runs
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(2):  # not after the blocked tool returns
                await task
        assert "answer" not in seen
        for _ in range(3):
            await asyncio.sleep(0)
        assert other_tasks(before) == set()
    finally:
        gated.release.set()

    reply = await service.ask(QUESTION, thread_id="cut")
    assert f"{WAREHOUSE_TEMPERATURE}" in reply.answer


async def test_a_failure_becomes_an_error_event_then_done(storage: SqliteStorage):
    class Broken:
        def catalog(self) -> Any:
            raise RuntimeError("disk on fire")

    service = await AgentService.create(make_context(Broken()))
    events = await collect(service.stream(QUESTION))

    assert [e.kind for e in events][-2:] == ["error", "done"]
    assert "disk on fire" in events[-2].data["message"]


@pytest.mark.parametrize(
    ("question", "problem"),
    [("", "empty"), ("   \n\t", "empty"), ("x" * 2001, "2001 characters")],
)
async def test_a_bad_question_is_refused_before_anything_runs(
    service: AgentService, question: str, problem: str
):
    with pytest.raises(QuestionError, match=problem):
        service.stream(question)
    with pytest.raises(QuestionError, match=problem):
        await service.ask(question)


async def test_a_bad_thread_id_is_refused(service: AgentService):
    with pytest.raises(QuestionError, match="thread id"):
        await service.ask(QUESTION, thread_id="../../etc")


async def test_a_thread_keeps_only_its_recent_exchanges(
    service: AgentService, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("agent_bruno.agent.graph.KEPT_TURNS", 2)
    questions = [QUESTION, FOLLOW_UP, "and in the office?"]
    for question in questions:
        await service.ask(question, thread_id="long")

    state = await service.graph.aget_state({"configurable": {"thread_id": "long"}})
    kept = [m.content for m in state.values["messages"] if isinstance(m, HumanMessage)]
    assert kept == questions[1:]
    assert len(state.values["messages"]) == 4
