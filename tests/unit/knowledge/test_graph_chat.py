"""Graph questions asked in words, through the agent's built-in path (understanding, plan,
tools on a Ladybug graph, answer): what a person reads in `/query` or chat.

`incident_history` and `incident_record` are declared `plan: unsupported` in their intent files
until the understanding's owner switches them; `switched` gives those specs the plans built
here, exactly as the one-line change in each file will.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from agent_bruno.agent import compose
from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.nlu import understand as understand_mod
from agent_bruno.agent.nlu.intents import IntentSpec, intents
from agent_bruno.agent.nlu.plans import PLANS
from agent_bruno.agent.nlu.request import Request
from agent_bruno.agent.service import AgentService
from agent_bruno.storage.base import EventsWrite
from agent_bruno.wire import EVENT_ADAPTER
from tests.unit.knowledge.facts import T0, episode
from tests.unit.knowledge.test_graph_tools import RECOMMEND, ctx
from tests.unit.knowledge.test_graph_tools import store_heartbeat as _heartbeat

__all__ = ["ctx"]
GRAPH_PLANS = ("incident_history", "incident_record")


@pytest.fixture
def switched(monkeypatch: pytest.MonkeyPatch) -> None:
    specs = dict(intents())
    for name in GRAPH_PLANS:
        specs[name] = replace(specs[name], plan=name, answer=name, reply=None)
    monkeypatch.setattr(understand_mod, "intents", lambda: specs)
    monkeypatch.setattr(compose, "intents", lambda: specs)


def store_heartbeat(ctx: AgentContext, cpu: float) -> None:
    """pi-node-3's heartbeat and a temperature aggregate (the catalog knows nodes by series)."""
    _heartbeat(ctx, cpu)
    reading = {
        "id": "a-1", "type": "aggregate", "ts": T0, "sensor": "dht22-1", "metric": "temperature",
        "unit": "°C", "start": T0 - 60, "end": T0, "count": 4, "min": 21.0, "max": 22.0,
        "mean": 21.5, "last": 21.5,
    }  # fmt: skip
    event = EVENT_ADAPTER.validate_python(reading)
    ctx.storage.apply_batch([EventsWrite("homelab", "pi-node-3", "warehouse-b", [event], T0)])


async def ask(ctx: AgentContext, *questions: str) -> str:
    service = await AgentService.create(ctx)
    thread = "t-graph"
    answer = ""
    for q in questions:
        answer = (await service.ask(q, thread)).answer
    await service.close()
    return answer


async def test_why_is_pi_node_3_under_high_load_is_explained_from_the_graph(ctx: AgentContext):
    store_heartbeat(ctx, 94.0)
    graph = ctx.graph_client
    assert graph is not None
    now = episode("ep-cpu", T0 - 1200, sigma=3.9, metric="cpu_percent", sensor="node", ended=False)
    await graph.write(graph.episode_statements([now]))
    text = await ask(ctx, "Why is pi-node-3 under high load?")
    assert "camera-5-video (vision) dominates it with 82 % of the node's CPU" in text
    assert "pi-node-3 overloaded: similarity" in text
    assert "likely explanations, not confirmed" in text
    assert RECOMMEND in text
    assert "is not under high load" not in text


async def test_a_false_premise_about_load_is_said_with_the_numbers(ctx: AgentContext):
    store_heartbeat(ctx, 12.0)
    text = await ask(ctx, "Why is pi-node-3 under high load?")
    assert text.startswith("pi-node-3 is not under high load: CPU 12 %, load 3.8")


async def test_what_runs_on_pi_node_3_lists_the_graph_workloads_with_their_use(
    ctx: AgentContext,
):
    store_heartbeat(ctx, 94.0)
    text = await ask(ctx, "What runs on pi-node-3?")
    assert text.startswith("pi-node-3 (warehouse-b) runs 2 workloads, busiest first")
    assert "camera-5-video (vision): 82 % CPU, 610 MiB" in text


async def test_a_diagnosis_without_a_graph_says_nothing_of_it(ctx: AgentContext):
    store_heartbeat(ctx, 94.0)
    text = await ask(replace(ctx, graph_client=None), "Why is pi-node-3 under high load?")
    assert "pi-node-3" in text
    assert "knowledge graph" not in text


async def test_what_happened_in_warehouse_b_before(ctx: AgentContext, switched: None):
    store_heartbeat(ctx, 94.0)
    text = await ask(ctx, "What happened in warehouse-b before?")
    assert "1 incident on record for warehouse-b, newest first" in text
    assert "camera-5 video processing on the Pi" in text


async def test_recording_in_chat_then_correcting_it(ctx: AgentContext, switched: None):
    store_heartbeat(ctx, 94.0)
    graph = ctx.graph_client
    assert graph is not None
    await graph.write(graph.episode_statements([episode("ep-now", T0 - 600)]))  # 15:50
    text = await ask(
        ctx, "log that the 15:50 spike in warehouse-b was an HVAC malfunction, resolved"
    )
    assert text.startswith("Recorded incident inc-")
    assert "root cause HVAC malfunction (resolved)" in text
    assert "Linked 1 episode" in text
    fixed = PLANS["incident_record"](
        Request("incident_record", "no, it was the door left open"), intents()["incident_record"]
    )
    assert [(c.name, c.args) for c in fixed.calls] == [
        ("correct_incident", {"incident": "latest", "cause": "door left open"})
    ]
    mine = [i for i in await graph.incidents() if i["title"] == "HVAC malfunction"]
    result = await _run(replace(ctx, asked_by=mine[0]["created_by"]), fixed.calls[0].args)
    assert result["corrected"]["root_causes"][0]["description"] == "door left open"


async def test_a_recording_without_a_cause_asks_for_it(ctx: AgentContext, switched: None):
    store_heartbeat(ctx, 94.0)
    text = await ask(ctx, "record an incident for warehouse-b")
    assert text.startswith("I could not tell what caused it.")
    graph = ctx.graph_client
    assert graph is not None
    assert (await graph.counts())["Incident"] == 1  # only the fixture's


async def _run(ctx: AgentContext, args: dict[str, object]) -> dict[str, object]:
    from agent_bruno.agent.tools.registry import find_tool

    tool = find_tool("correct_incident")
    assert tool is not None
    result = await tool.call(ctx, args)
    assert result.status == "ok", result.error
    return dict(result.data)


def test_every_graph_plan_is_registered():
    for name in GRAPH_PLANS:
        assert name in PLANS
        assert name in compose.WRITERS
    assert isinstance(intents()["incident_record"], IntentSpec)
