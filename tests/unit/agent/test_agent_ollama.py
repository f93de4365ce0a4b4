"""The model path with the real ChatOllama client against a scripted fake Ollama server.

Every way the model can fail (an unknown tool, bad arguments, no answer, too many rounds, a
timeout, an HTTP error, no server) ends on the built-in path with an answer and the reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from agent_bruno.agent.model import build_chat_model
from agent_bruno.agent.service import AgentReply, AgentService
from agent_bruno.storage.sqlite import SqliteStorage
from tests.fakes.ollama import FakeOllama, Reply, ToolCallSpec
from tests.servers.loopback import refused_url
from tests.unit.agent.test_agent_graph import (
    QUESTION,
    WAREHOUSE_TEMPERATURE,
    SlowStorage,
    make_context,
    other_tasks,
    write_dataset,
)

MODEL = "qwen2.5:3b"
SUMMARY_CALL = ToolCallSpec("metric_summary", {"metric": "temperature", "location": "warehouse"})
MODEL_ANSWER = f"It is {WAREHOUSE_TEMPERATURE} °C in the warehouse (pi-node-1), as of a minute ago."


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqliteStorage]:
    store = write_dataset(tmp_path / "db.sqlite")
    yield store
    store.close()


@asynccontextmanager
async def agent_with(
    storage: Any, script: list[Reply], *, timeout_s: float = 10.0, **options: Any
) -> AsyncIterator[tuple[AgentService, FakeOllama]]:
    """An agent whose model is ChatOllama talking to a fake Ollama serving `script`."""
    async with FakeOllama(script, model=MODEL) as fake:
        model = build_chat_model(fake.url, MODEL, timeout_s)
        service = await AgentService.create(
            make_context(storage), model=model, model_timeout_s=timeout_s, **options
        )
        yield service, fake
        await service.close()


def messages_of(request: Any) -> list[dict[str, Any]]:
    """The messages of one chat request body."""
    return list(request["messages"])


def assert_builtin_answer(reply: AgentReply, reason: str) -> None:
    """The built-in path answered correctly, and `fallback` says why the model was dropped."""
    assert reply.mode == "builtin"
    assert reply.fallback is not None
    assert reason in reply.fallback
    assert f"{WAREHOUSE_TEMPERATURE}" in reply.answer
    assert reply.calls
    assert all(c["result"]["status"] == "ok" for c in reply.calls)


async def test_the_model_calls_a_tool_then_answers(storage: SqliteStorage):
    script = [Reply(tool_calls=[SUMMARY_CALL]), Reply(MODEL_ANSWER)]
    async with agent_with(storage, script) as (service, fake):
        events = [e async for e in service.stream(QUESTION, thread_id="m1")]

    kinds = [e.kind for e in events]
    answer = events[-2].data
    assert kinds[-2:] == ["answer", "done"]
    assert answer == {"answer": MODEL_ANSWER, "mode": "model", "fallback": None}
    assert "".join(e.data["text"] for e in events if e.kind == "token") == MODEL_ANSWER
    call = next(e.data for e in events if e.kind == "tool_call")
    assert call["name"] == "metric_summary"
    assert call["args"] == SUMMARY_CALL.arguments
    result = next(e.data for e in events if e.kind == "tool_result")
    assert (result["name"], result["status"]) == ("metric_summary", "ok")

    first, second = fake.chat_requests
    names = {t["function"]["name"] for t in fake.tools_received[0]}
    assert {"metric_summary", "inventory", "anomalies"} <= names
    system = messages_of(first)[0]
    assert system["role"] == "system"
    assert "warehouse" in system["content"]  # the inventory is in the system message
    assert messages_of(first)[-1] == {"role": "user", "content": QUESTION}
    tool_messages = [m for m in messages_of(second) if m["role"] == "tool"]
    assert len(tool_messages) == 1
    assert f"{WAREHOUSE_TEMPERATURE}" in tool_messages[0]["content"]
    assert any(m["role"] == "assistant" and m.get("tool_calls") for m in messages_of(second))
    assert fake.replies_left == 0


async def test_ask_records_the_model_path_calls(storage: SqliteStorage):
    script = [Reply(tool_calls=[SUMMARY_CALL]), Reply(MODEL_ANSWER)]
    async with agent_with(storage, script) as (service, _):
        reply = await service.ask(QUESTION)

    assert (reply.mode, reply.fallback, reply.answer) == ("model", None, MODEL_ANSWER)
    assert [(c["name"], c["args"]) for c in reply.calls] == [
        ("metric_summary", SUMMARY_CALL.arguments)
    ]
    assert reply.calls[0]["result"]["status"] == "ok"


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        pytest.param(
            [Reply(tool_calls=[ToolCallSpec("weather_forecast", {"city": "Lisbon"})])],
            "model called unknown tool 'weather_forecast'",
            id="unknown-tool",
        ),
        pytest.param(
            [Reply(tool_calls=[ToolCallSpec("metric_summary", {"colour": "blue"})])],
            "model gave bad arguments to metric_summary: colour",
            id="unexpected-argument",
        ),
        pytest.param(
            [Reply(tool_calls=[ToolCallSpec("anomalies", {"limit": "lots"})])],
            "model gave bad arguments to anomalies: limit",
            id="argument-of-the-wrong-type",
        ),
        pytest.param(
            [Reply(tool_calls=[ToolCallSpec("metric_summary", "{not json")])],
            "model sent a malformed reply",
            id="arguments-not-json",
        ),
        pytest.param([Reply("")], "model gave an empty answer", id="empty-answer"),
        pytest.param(
            [Reply("I will check.", tool_calls=[SUMMARY_CALL])] * 3,
            "more than 2 rounds of tool calls",
            id="too-many-rounds",
        ),
    ],
)
async def test_a_misbehaving_model_falls_back_to_the_builtin_path(
    storage: SqliteStorage, script: list[Reply], reason: str
):
    async with agent_with(storage, script, max_model_rounds=2) as (service, _):
        events = [e async for e in service.stream(QUESTION, thread_id="bad")]
        reply = await service.ask(QUESTION, thread_id="after")  # the script is spent: HTTP 500

    fallback = next(e.data for e in events if e.kind == "status" and e.data["stage"] == "fallback")
    assert reason in fallback["reason"]
    assert fallback["reset"] is True  # the tokens shown so far are to be discarded
    answer = events[-2].data
    assert answer["mode"] == "builtin"
    assert reason in answer["fallback"]
    assert f"{WAREHOUSE_TEMPERATURE}" in answer["answer"]
    assert "I will check" not in answer["answer"]
    assert events[-1].data["fallback"] == answer["fallback"]
    assert_builtin_answer(reply, "model server answered HTTP 500")


async def test_a_slow_model_times_out_and_the_builtin_path_answers_in_time(
    storage: SqliteStorage,
):
    async with agent_with(storage, [Reply(MODEL_ANSWER, delay_s=5.0)], timeout_s=0.1) as (
        service,
        _,
    ):
        began = time.monotonic()
        reply = await service.ask(QUESTION)
        elapsed = time.monotonic() - began

    assert_builtin_answer(reply, "model timed out after 0.1 s")
    assert elapsed < 1.1  # the timeout and a second for the built-in path
    assert MODEL_ANSWER not in reply.answer


async def test_the_timeout_covers_every_round_of_a_turn(storage: SqliteStorage):
    # Each round alone is within the timeout; the two together are not.
    script = [
        Reply(tool_calls=[SUMMARY_CALL], delay_s=0.15),
        Reply(MODEL_ANSWER, delay_s=0.15),
    ]
    async with agent_with(storage, script, timeout_s=0.25) as (service, _):
        began = time.monotonic()
        reply = await service.ask(QUESTION)
        elapsed = time.monotonic() - began

    assert_builtin_answer(reply, "model timed out after 0.25 s")
    assert elapsed < 1.25


async def test_an_ollama_error_falls_back(storage: SqliteStorage):
    script = [Reply("model 'qwen2.5:3b' is loading", status=500)]
    async with agent_with(storage, script) as (service, _):
        reply = await service.ask(QUESTION)

    assert_builtin_answer(reply, "model server answered HTTP 500: model 'qwen2.5:3b' is loading")


async def test_no_ollama_server_falls_back(storage: SqliteStorage):
    with refused_url() as url:
        model = build_chat_model(url, MODEL, 2.0)
        service = await AgentService.create(make_context(storage), model=model, model_timeout_s=2.0)
        began = time.monotonic()
        reply = await service.ask(QUESTION)

    assert_builtin_answer(reply, "cannot reach the model server")
    assert time.monotonic() - began < 2.0


async def test_a_fallback_turn_leaves_a_clean_history_for_the_next_model_turn(
    storage: SqliteStorage,
):
    script = [
        Reply(tool_calls=[ToolCallSpec("weather_forecast", {})]),  # turn 1: falls back
        Reply("Same as before."),  # turn 2: the model answers from the history
    ]
    async with agent_with(storage, script) as (service, fake):
        first = await service.ask(QUESTION, thread_id="h")
        second = await service.ask("Is that warm?", thread_id="h")

    assert first.mode == "builtin"
    assert (second.mode, second.answer) == ("model", "Same as before.")
    history = [(m["role"], m["content"]) for m in messages_of(fake.chat_requests[1])[1:]]
    assert history == [
        ("user", QUESTION),
        ("assistant", first.answer),
        ("user", "Is that warm?"),
    ]  # the failed turn's tool call is gone; the built-in exchange is there


async def test_a_model_turn_is_remembered_by_the_next_one(storage: SqliteStorage):
    script = [Reply(tool_calls=[SUMMARY_CALL]), Reply(MODEL_ANSWER), Reply("Yes, it is.")]
    async with agent_with(storage, script) as (service, fake):
        await service.ask(QUESTION, thread_id="h2")
        second = await service.ask("Is that warm?", thread_id="h2")

    assert second.answer == "Yes, it is."
    roles = [m["role"] for m in messages_of(fake.chat_requests[2])]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user"]


async def test_cancelling_the_consumer_while_the_model_thinks(storage: SqliteStorage):
    script = [Reply(MODEL_ANSWER, delay_s=5.0), Reply(tool_calls=[SUMMARY_CALL]), Reply("Ok.")]
    async with agent_with(SlowStorage(storage, 0.0), script) as (service, fake):
        before = set(asyncio.all_tasks())
        started = asyncio.Event()

        async def consume() -> None:
            async for event in service.stream(QUESTION, thread_id="c"):
                if event.kind == "status" and event.data.get("stage") == "start":
                    started.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(started.wait(), 5)
        # Cancel once the request is at the fake, waiting for its reply (not after a guess).
        async with asyncio.timeout(10):
            while not fake.chat_requests:  # noqa: ASYNC110 - recorded by the fake's thread
                await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(3):
            await asyncio.sleep(0)
        assert other_tasks(before) == set()

        reply = await service.ask(QUESTION, thread_id="c")
        assert (reply.mode, reply.answer) == ("model", "Ok.")
        # The cancelled turn left nothing behind: the question is asked once.
        roles = [m["role"] for m in messages_of(fake.chat_requests[-1])]
        assert roles == ["system", "user", "assistant", "tool"]


async def test_text_before_a_tool_call_is_reset_and_only_the_answer_remains(
    storage: SqliteStorage,
):
    script = [Reply("Let me look that up.", tool_calls=[SUMMARY_CALL]), Reply(MODEL_ANSWER)]
    async with agent_with(storage, script) as (service, _):
        events = [e async for e in service.stream(QUESTION)]

    resets = [i for i, e in enumerate(events) if e.kind == "status" and e.data.get("reset")]
    assert resets
    shown = "".join(e.data["text"] for e in events[resets[-1] :] if e.kind == "token")
    assert shown == MODEL_ANSWER == events[-2].data["answer"]
    assert events[-2].data["mode"] == "model"
