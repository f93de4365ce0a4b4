"""Text-to-Cypher end to end: the real ChatOllama client against the scripted fake Ollama server,
the agent's model path, the `graph_query` tool and a Ladybug graph.

The model's writing query is refused by parsing and its broken query's error goes back to it;
its read runs bounded, reaches it fenced as data, and the person sees only the model's answer.
"""

from __future__ import annotations

import json
from typing import Any

from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.model import build_chat_model
from agent_bruno.agent.service import AgentService
from tests.fakes.ollama import FakeOllama, Reply, ToolCallSpec
from tests.unit.knowledge.test_graph_tools import ctx

__all__ = ["ctx"]
MODEL = "qwen2.5:3b"
WRITE = "MATCH (w:Workload) SET w.name = 'pwned' RETURN w"
BROKEN = "MATCH (w:Workload RETURN w.name"
READ = (
    "MATCH (w:Workload)-[r:RUNS_ON]->(n:Node {name: 'pi-node-3'}) "
    "RETURN w.name AS name, r.cpu_percent AS cpu ORDER BY cpu DESC"
)
ANSWER = "camera-5-video uses most of pi-node-3's CPU (81.5 %)."


def tool_replies(fake: FakeOllama) -> list[str]:
    """The content of every tool message the model was sent, in order (last request's)."""
    messages: list[dict[str, Any]] = fake.chat_requests[-1]["messages"]
    return [str(m["content"]) for m in messages if m["role"] == "tool"]


async def test_a_model_writes_cypher_that_is_checked_bounded_and_fenced(ctx: AgentContext):
    script = [
        Reply(tool_calls=[ToolCallSpec("graph_query", {"cypher": WRITE})]),
        Reply(tool_calls=[ToolCallSpec("graph_query", {"cypher": BROKEN})]),
        Reply(tool_calls=[ToolCallSpec("graph_query", {"cypher": READ})]),
        Reply(content=ANSWER),
    ]
    graph = ctx.graph_client
    assert graph is not None
    before = await graph.counts()
    async with FakeOllama(script, model=MODEL) as fake:
        model = build_chat_model(fake.url, MODEL, 10.0)
        service = await AgentService.create(ctx, model=model, model_timeout_s=10.0)
        reply = await service.ask("Which workload uses the most CPU on pi-node-3?")
        await service.close()
        schemas = json.dumps(fake.tools_received[0])
        refused, broken, rows = tool_replies(fake)

    assert reply.mode == "model"
    assert reply.answer == ANSWER
    assert "(Workload)-[:RUNS_ON" in schemas  # the schema is given to the model as text
    assert "refused" in refused
    assert "SET" in refused
    assert "the query failed" in broken
    assert rows.startswith("<untrusted-data")  # data, never instructions
    assert "camera-5-video" in rows
    assert "81.5" in rows
    assert [c["name"] for c in reply.calls] == ["graph_query"] * 3
    assert await graph.counts() == before  # nothing was written
    names = [r["name"] for r in await graph.workloads("pi-node-3")]
    assert "pwned" not in names
