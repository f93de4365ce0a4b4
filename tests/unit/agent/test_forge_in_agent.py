"""The Forge model inside a diagnosis: called with the node's data attached, its analysis
quoted in the answer; when it fails, the answer still stands on the data."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest

from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.forge import ForgeClient, ForgeConfig
from agent_bruno.agent.prompts import load_prompts
from agent_bruno.agent.service import AgentService
from agent_bruno.storage.sqlite import SqliteStorage
from evals.agent.dataset import Dataset
from tests.fakes.ollama import FakeOllama, Reply

QUESTION = "Why is pi-node-3 under high load?"
ANALYSIS = "frigate is transcoding four camera streams; move it to pi-node-5"


@pytest.fixture(scope="module")
def dataset(eval_dataset: Dataset) -> Dataset:
    return eval_dataset


async def _ask(dataset: Dataset, fake: FakeOllama) -> tuple[str, list[str]]:
    storage = SqliteStorage(Path(dataset.path))
    try:
        async with httpx.AsyncClient(trust_env=False) as http:
            forge = ForgeClient(ForgeConfig(fake.url, fake.model, timeout_s=2.0), http)
            ctx = AgentContext(storage=storage, prompts=load_prompts(), clock=lambda: dataset.now,
                               tz=dataset.tz, forge=forge)  # fmt: skip
            service = await AgentService.create(ctx)
            reply = await service.ask(QUESTION)
    finally:
        storage.close()
    return reply.answer, [c["name"] for c in reply.calls]


async def test_diagnosis_attaches_the_nodes_data_and_quotes_the_analysis(dataset: Dataset) -> None:
    with FakeOllama([Reply(content=ANALYSIS)], model="qwen2.5:32b") as fake:
        answer, calls = await _ask(dataset, fake)
        (request,) = fake.chat_requests
    assert calls[-1] == "forge_analysis"
    assert ANALYSIS in answer
    assert "94.0 %" in answer  # the data-based part of the answer is still there
    system, user = request["messages"]
    assert "analysis model" in system["content"]  # prompts/forge_analysis.md
    assert QUESTION in user["content"]
    block = user["content"].split('<untrusted-data tool="agent data">', 1)[1]
    block = block.split("</untrusted-data>", 1)[0]
    attached = orjson.loads(block)
    nodes = attached["node_health"]["data"]["nodes"]
    assert [n["node"] for n in nodes] == ["pi-node-3"]
    assert nodes[0]["workloads"] == ["edge-reporter", "frigate", "postgres"]


async def test_a_failing_forge_leaves_a_data_answer_and_says_so(dataset: Dataset) -> None:
    with FakeOllama([Reply(status=500, content="out of memory")], model="qwen2.5:32b") as fake:
        answer, calls = await _ask(dataset, fake)
    assert calls[-1] == "forge_analysis"
    assert "94.0 %" in answer
    assert "Forge analysis failed" in answer
    assert "500" in answer
