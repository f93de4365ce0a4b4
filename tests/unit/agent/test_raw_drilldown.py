"""Raw drill-down end to end: the `raw_readings` tool against a real reporter `ReadApi` on
loopback, serving a real local store, found through the node's stored heartbeat `read_url`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.nlu.units import format_value
from agent_bruno.agent.prompts import load_prompts
from agent_bruno.agent.service import AgentService
from agent_bruno.agent.tools.base import ToolResult
from agent_bruno.agent.tools.registry import find_tool
from agent_bruno.storage.base import EventsWrite
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.wire import EVENT_ADAPTER, HeartbeatEvent
from edge_reporter.model import Reading
from edge_reporter.read_api import ReadApi
from edge_reporter.store import LocalStore
from tests.unit.agent.helpers import NOW, aggregate, heartbeat

NODE = "pi-node-1"
OTHER_NODE = "pi-node-2"
READ_TOKEN = "read-3kQ8vN1xT6bR0mW4"

# Raw readings on the reporter, all in the last 15 minutes before the frozen clock (NOW) except
# the first, which is half an hour old and must stay out of a 15-minute window.
OLD = Reading(NOW - 1800, "dht22-1", "temperature", "°C", 19.8)
TEMPERATURES = [
    Reading(NOW - 600, "dht22-1", "temperature", "°C", 21.4),
    Reading(NOW - 420, "dht22-1", "temperature", "°C", 21.7),
    Reading(NOW - 240, "dht22-1", "temperature", "°C", 22.0),
    Reading(NOW - 60, "dht22-1", "temperature", "°C", 22.3),
]
HUMIDITY = [Reading(NOW - 300, "dht22-1", "humidity", "%", 41.5)]


def _wire(r: Reading) -> dict[str, Any]:
    """A reading as the read API sends it."""
    return {"ts": r.ts, "sensor": r.sensor, "metric": r.metric, "unit": r.unit, "value": r.value}


@pytest.fixture
def read_api(tmp_path: Path) -> Iterator[ReadApi]:
    store = LocalStore(tmp_path / "raw.db", retention_days=7, max_bytes=10**8)
    store.append([OLD, *TEMPERATURES])
    store.append(HUMIDITY)
    api = ReadApi(tmp_path / "raw.db", node=NODE, token=READ_TOKEN, bind="127.0.0.1", port=0,
                  poll_interval=0.01)  # fmt: skip
    api.start()
    yield api
    api.stop()
    store.close()


def _url(api: ReadApi) -> str:
    host, port = api.address
    return f"http://{host}:{port}"


def _events(node: str, read_url: str) -> list[Any]:
    """Stored 5-minute aggregates (so the node is in the vocabulary) and a heartbeat."""
    windows = [
        aggregate(i, start=NOW - 3600 + 300 * i, id=f"{node}-t-{i}", metric="temperature",
                  unit="°C", min=20.0, max=22.0, mean=21.0, last=21.5)
        for i in range(11)
    ]  # fmt: skip
    beat = heartbeat(0, ts=NOW - 60, id=f"{node}-hb", read_url=read_url)
    events = [EVENT_ADAPTER.validate_python(e) for e in [*windows, beat]]
    assert isinstance(events[-1], HeartbeatEvent)
    assert events[-1].read_url == read_url
    return events


@pytest.fixture
def storage(tmp_path: Path, read_api: ReadApi) -> Iterator[SqliteStorage]:
    store = SqliteStorage(tmp_path / "agent.sqlite")
    store.open_writer()
    try:
        outcomes = store.apply_batch(
            [
                EventsWrite("homelab", NODE, "warehouse", _events(NODE, _url(read_api)), NOW),
                # Another node whose reporter is not running here; only named as "known".
                EventsWrite("homelab", OTHER_NODE, "office",
                            _events(OTHER_NODE, "http://127.0.0.1:9"), NOW),
            ]
        )  # fmt: skip
    finally:
        store.close_writer()
    assert not any(isinstance(o, Exception) for o in outcomes), outcomes
    yield store
    store.close()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


def _context(
    storage: SqliteStorage, http: httpx.AsyncClient, token: str = READ_TOKEN
) -> AgentContext:
    return AgentContext(storage=storage, prompts=load_prompts(), clock=lambda: NOW, http=http,
                        reporter_read_tokens={NODE: token})  # fmt: skip


async def _raw(ctx: AgentContext, **args: Any) -> ToolResult:
    tool = find_tool("raw_readings")
    assert tool is not None
    return await tool.call(ctx, args)


async def test_the_stored_readings_come_back_exactly(
    storage: SqliteStorage, http: httpx.AsyncClient
) -> None:
    ctx = _context(storage, http)
    result = await _raw(ctx, node=NODE, sensor="dht22-1", metric="temperature",
                        start=str(NOW - 900), end=str(NOW))  # fmt: skip

    assert result.status == "ok", result.error
    assert result.data["node"] == NODE
    assert result.data["location"] == "warehouse"
    assert (result.data["start"], result.data["end"]) == (NOW - 900, NOW)
    assert result.data["truncated"] is False
    assert result.data["readings"] == [_wire(r) for r in TEMPERATURES]


async def test_the_default_window_is_the_last_15_minutes_of_every_series(
    storage: SqliteStorage, http: httpx.AsyncClient
) -> None:
    result = await _raw(_context(storage, http), node=NODE)

    assert result.status == "ok", result.error
    expected = sorted([*TEMPERATURES, *HUMIDITY], key=lambda r: r.ts)
    assert result.data["readings"] == [_wire(r) for r in expected]


async def test_a_wrong_token_is_an_error_naming_the_node_and_the_401(
    storage: SqliteStorage, http: httpx.AsyncClient
) -> None:
    ctx = _context(storage, http, token="not-the-read-token-000")
    result = await _raw(ctx, node=NODE, sensor="dht22-1", metric="temperature",
                        start=str(NOW - 900), end=str(NOW))  # fmt: skip

    assert result.status == "error"
    assert "HTTP 401" in (result.error or "")
    assert NODE in (result.error or "")


async def test_a_stopped_reporter_is_an_error_naming_the_node_and_the_url(
    storage: SqliteStorage, http: httpx.AsyncClient, read_api: ReadApi
) -> None:
    url = _url(read_api)
    read_api.stop()

    result = await _raw(_context(storage, http), node=NODE, start=str(NOW - 900), end=str(NOW))

    assert result.status == "error"
    assert NODE in (result.error or "")
    assert url in (result.error or "")


async def test_an_unknown_node_is_no_data_listing_the_known_nodes(
    storage: SqliteStorage, http: httpx.AsyncClient
) -> None:
    result = await _raw(_context(storage, http), node="pi-node-9")

    assert result.status == "no_data"
    assert "pi-node-9" in (result.error or "")
    assert {NODE, OTHER_NODE} <= set(result.data["known"])
    assert NODE in (result.error or "")
    assert OTHER_NODE in (result.error or "")


async def test_the_agent_answers_a_raw_question_from_the_reporter(
    storage: SqliteStorage, http: httpx.AsyncClient
) -> None:
    service = await AgentService.create(_context(storage, http))
    try:
        reply = await service.ask(f"show me the raw readings from {NODE} in the last 15 minutes")
    finally:
        await service.close()

    raw_calls = [c for c in reply.calls if c["name"] == "raw_readings"]
    assert raw_calls, f"no raw_readings call; calls were {reply.calls}"
    assert raw_calls[0]["args"]["node"] == NODE
    assert raw_calls[0]["result"]["status"] == "ok", raw_calls[0]["result"]
    assert NODE in reply.answer
    # Every reading of the window is listed (four temperatures and the humidity), none outside.
    assert reply.answer.startswith(f"5 raw readings from {NODE}'s reporter"), reply.answer
    for r in [*TEMPERATURES, *HUMIDITY]:
        line = f"{r.sensor} {r.metric} {format_value(r.value or 0.0, r.unit, r.metric)}"
        assert line in reply.answer, (line, reply.answer)
    assert format_value(OLD.value or 0.0, OLD.unit) not in reply.answer  # outside the window
