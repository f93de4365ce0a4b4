"""What a built-in answer costs: the catalog is read again only after a write changed the data,
and a turn without a model is one step of the agent graph that reads its question once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage

import agent_bruno.agent.graph as graph_module
from agent_bruno.agent.nlu.classifier import IntentModel
from agent_bruno.agent.service import AgentService
from agent_bruno.storage.base import CatalogRow, EventsWrite
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.wire import EVENT_ADAPTER
from tests.unit.agent.helpers import API_TOKEN, auth
from tests.unit.agent.test_agent_graph import (
    CLOCK,
    QUESTION,
    _window,
    make_context,
    write_dataset,
)


class CountedCatalog:
    """The storage, counting its catalog reads."""

    def __init__(self, storage: SqliteStorage) -> None:
        self.storage = storage
        self.catalog_reads = 0

    def catalog(self) -> list[CatalogRow]:
        self.catalog_reads += 1
        return self.storage.catalog()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqliteStorage]:
    store = write_dataset(tmp_path / "db.sqlite")
    yield store
    store.close()


def _write_greenhouse(storage: SqliteStorage) -> None:
    """A new place: an hour of greenhouse temperatures from pi-node-5, 31.5 °C at the end."""
    events = [
        EVENT_ADAPTER.validate_python(_window(i, "pi-node-5", "temperature", "°C", 31.5))
        for i in range(12)
    ]
    storage.open_writer()
    try:
        (outcome,) = storage.apply_batch(
            [EventsWrite("homelab", "pi-node-5", "greenhouse", events, received_at=CLOCK)]
        )
    finally:
        storage.close_writer()
    assert not isinstance(outcome, Exception), outcome


async def test_questions_asked_while_the_data_is_unchanged_read_the_catalog_once(
    storage: SqliteStorage,
) -> None:
    counted = CountedCatalog(storage)
    service = await AgentService.create(make_context(counted))

    first = await service.ask(QUESTION)
    second = await service.ask(QUESTION, thread_id="again")
    third = await service.ask("and the humidity?", thread_id="again")

    assert counted.catalog_reads == 1
    assert "22.1" in first.answer
    assert second.answer == first.answer
    assert "40.5" in third.answer


async def test_a_place_written_after_a_question_is_known_to_the_next_one(
    storage: SqliteStorage,
) -> None:
    counted = CountedCatalog(storage)
    service = await AgentService.create(make_context(counted))
    question = "What is the temperature in the greenhouse?"

    before = await service.ask(question)
    _write_greenhouse(storage)
    after = await service.ask(question)
    again = await service.ask(question)

    assert "31.5" not in before.answer
    assert "31.5" in after.answer, after.answer
    assert again.answer == after.answer
    assert counted.catalog_reads == 2  # once before the write, once after it


async def test_a_built_in_turn_is_one_graph_step_with_the_whole_update(
    storage: SqliteStorage,
) -> None:
    service = await AgentService.create(make_context(storage))
    config: Any = {"configurable": {"thread_id": "steps"}}
    inputs: Any = {"question": QUESTION}
    context = make_context(storage)

    steps = [
        update
        async for update in service.graph.astream(
            inputs, config, context=context, stream_mode="updates"
        )
    ]

    assert [list(s) for s in steps] == [["builtin"]]
    update = steps[0]["builtin"]
    assert update["mode"] == "builtin"
    assert update["pending"] == []
    assert update["plan"]["intent"] == "current"
    assert [c["name"] for c in update["calls"]] == [c["name"] for c in update["plan"]["calls"]]
    assert "22.1" in update["answer"]
    kept = (await service.graph.aget_state(config)).values["messages"]
    assert [type(m) for m in kept] == [HumanMessage, AIMessage]
    assert kept[-1].content == update["answer"]


async def test_a_question_the_alert_desk_checked_is_not_classified_again(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    scored: list[str] = []
    score = IntentModel.scores

    def counted(self: IntentModel, text: str) -> list[tuple[str, float]]:
        scored.append(text)
        return score(self, text)

    monkeypatch.setattr(IntentModel, "scores", counted)
    r = await client.post("/query", content="How many nodes are there?", headers=auth(API_TOKEN))

    assert r.status_code == 200, r.text
    assert "node" in r.text
    assert len(scored) == 1, scored  # the desks' check and the understanding share it


class NodeReads:
    """The storage, noting each `list_nodes` call's node (None: every node)."""

    def __init__(self, storage: SqliteStorage) -> None:
        self.storage = storage
        self.asked: list[str | None] = []

    def list_nodes(self, node: str | None = None) -> Any:
        self.asked.append(node)
        return self.storage.list_nodes(node)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)


async def test_one_node_s_health_reads_that_node_alone(storage: SqliteStorage) -> None:
    reads = NodeReads(storage)
    service = await AgentService.create(make_context(reads))

    one = await service.ask("Is pi-node-2 healthy?")
    every = await service.ask("List all Pi nodes and their health status")

    assert reads.asked == ["pi-node-2", None]
    assert "pi-node-2" in one.answer
    assert "pi-node-1" not in one.answer
    (call,) = [c for c in one.calls if c["name"] == "node_health"]
    assert [n["node"] for n in call["result"]["data"]["nodes"]] == ["pi-node-2"]
    assert "pi-node-1" in every.answer
    assert "pi-node-2" in every.answer


async def test_a_node_named_in_another_case_is_still_found(storage: SqliteStorage) -> None:
    service = await AgentService.create(make_context(storage))

    reply = await service.ask("how is PI-NODE-2 doing?")

    (call,) = [c for c in reply.calls if c["name"] == "node_health"]
    assert [n["node"] for n in call["result"]["data"]["nodes"]] == ["pi-node-2"]


def test_the_storage_reads_one_node_by_its_exact_name(storage: SqliteStorage) -> None:
    assert [r.node for r in storage.list_nodes()] == ["pi-node-1", "pi-node-2"]
    assert [r.node for r in storage.list_nodes("pi-node-2")] == ["pi-node-2"]
    assert storage.list_nodes("PI-NODE-2") == []
    assert storage.list_nodes("pi-node-9") == []


async def test_a_query_answer_makes_no_stream_events_while_chat_still_streams_them(
    storage: SqliteStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ask` (POST /query) reads only the answer: the status, tool and token events a /chat
    stream shows, and the tool summaries they carry, are not made for it. The answer, its tool
    calls and the stream's events are as before."""
    summaries = 0
    real_for_model = graph_module.for_model

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal summaries
        summaries += 1
        return real_for_model(*args, **kwargs)

    monkeypatch.setattr(graph_module, "for_model", counted)
    service = await AgentService.create(make_context(storage))

    reply = await service.ask(QUESTION)
    assert summaries == 0
    streamed = [event async for event in service.stream(QUESTION)]

    kinds = [e.kind for e in streamed]
    assert kinds[:3] == ["status", "status", "status"]  # received, start, understood
    assert kinds[-2:] == ["answer", "done"]
    assert {"tool_call", "tool_result", "token"} <= set(kinds)
    assert summaries == kinds.count("tool_result") > 0
    answer = next(e for e in streamed if e.kind == "answer")
    assert answer.data["answer"] == reply.answer
    tokens = "".join(e.data["text"] for e in streamed if e.kind == "token")
    assert tokens == reply.answer
    assert [c["name"] for c in reply.calls] == [
        e.data["name"] for e in streamed if e.kind == "tool_call"
    ]
