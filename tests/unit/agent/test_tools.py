"""The edge tools: structured results, never an exception; unknown names list what exists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.prompts import load_prompts
from agent_bruno.agent.tools.base import ToolResult
from agent_bruno.agent.tools.registry import find_tool, for_model, tool_schemas
from agent_bruno.storage.sqlite import SqliteStorage
from evals.agent.dataset import Dataset


@pytest.fixture(scope="module")
def dataset(eval_dataset: Dataset) -> Dataset:
    return eval_dataset


@pytest.fixture
def ctx(dataset: Dataset) -> Iterator[AgentContext]:
    storage = SqliteStorage(Path(dataset.path))
    yield AgentContext(storage=storage, prompts=load_prompts(), clock=lambda: dataset.now,
                       tz=dataset.tz)  # fmt: skip
    storage.close()


async def _call(ctx: AgentContext, name: str, **args: Any) -> ToolResult:
    tool = find_tool(name)
    assert tool is not None
    return await tool.call(ctx, args)


async def test_summary_gives_latest_value_with_its_time(
    ctx: AgentContext, dataset: Dataset
) -> None:
    result = await _call(ctx, "metric_summary", metric="temperature", location="warehouse")
    assert result.status == "ok"
    latest = {s["node"]: (s["latest"], s["age_s"]) for s in result.data["series"]}
    [newest] = [
        b[-1] for k, b in dataset.series.items() if k[0] == "pi-node-1" and k[2] == "temperature"
    ]
    # The last aggregate's closing value, aged from its end by the frozen clock.
    assert latest["pi-node-1"] == (
        pytest.approx(newest.last),
        pytest.approx(dataset.now - (newest.start + newest.width)),
    )
    assert newest.last == pytest.approx(18.4)


async def test_names_are_matched_loosely_but_never_guessed(ctx: AgentContext) -> None:
    loose = await _call(ctx, "metric_summary", metric="temperature", location="Server Room")
    assert {s["location"] for s in loose.data["series"]} == {"server-room"}
    typo = await _call(ctx, "metric_summary", metric="temperature", location="warehous")
    assert typo.status == "no_data"
    assert typo.data["suggestion"] == "warehouse"
    assert "garage" in typo.data["known"]
    assert "warehous" in (typo.error or "")


async def test_bad_arguments_become_an_error_result_naming_the_field(ctx: AgentContext) -> None:
    result = await _call(ctx, "anomalies", severity="meh", limit=0)
    assert result.status == "error"
    assert "severity" in (result.error or "")
    assert "limit" in (result.error or "")
    extra = await _call(ctx, "node_health", host="pi-node-1")
    assert extra.status == "error"
    assert "host" in (extra.error or "")
    when = await _call(ctx, "metric_summary", metric="temperature", start="the year dot")
    assert when.status == "error"
    assert "the year dot" in (when.error or "")


async def test_a_failing_store_is_an_error_result_not_an_exception(ctx: AgentContext) -> None:
    ctx.storage.close()
    broken = AgentContext(storage=_Broken(), prompts=ctx.prompts, clock=ctx.clock, tz=ctx.tz)
    result = await _call(broken, "node_health")
    assert result.status == "error"
    assert "disk on fire" in (result.error or "")


async def test_raw_readings_report_an_unreachable_reporter(ctx: AgentContext) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with_http = AgentContext(storage=ctx.storage, prompts=ctx.prompts, clock=ctx.clock,
                                 tz=ctx.tz, http=http)  # fmt: skip
        result = await _call(with_http, "raw_readings", node="pi-node-1")
    assert result.status == "error"
    assert "pi-node-1" in (result.error or "")


async def test_forge_unconfigured_says_how_to_configure_it(ctx: AgentContext) -> None:
    result = await _call(ctx, "forge_analysis", question="why so hot?")
    assert result.status == "error"
    assert "AGENT_BRUNO_FORGE_URL" in (result.error or "")


def test_for_model_states_every_cut() -> None:
    result = ToolResult.ok({"anomalies": list(range(100)), "nested": {"points": list(range(5))}})
    compact = for_model(result, max_items=10)
    assert compact["data"]["anomalies"] == list(range(10))
    assert compact["data"]["nested"]["points"] == list(range(5))
    assert compact["summarised"] == ["data.anomalies: first 10 of 100 shown"]
    assert "summarised" not in for_model(result, max_items=100)


def test_every_tool_has_a_schema_a_model_can_call() -> None:
    names = {s["function"]["name"] for s in tool_schemas()}
    assert {"metric_summary", "metric_series", "anomalies", "node_health", "raw_readings",
            "inventory", "forge_analysis"} <= names  # fmt: skip
    for schema in tool_schemas():
        assert schema["function"]["description"].strip()
        assert schema["function"]["parameters"]["type"] == "object"


class _Broken:
    """A store whose every read fails."""

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any) -> Any:
            raise RuntimeError("disk on fire")

        return fail
