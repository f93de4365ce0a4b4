"""The graph's behaviour and catalogue tests against a real Neo4j 5 (`-m integration`).

Set NEO4J_URI (e.g. bolt://127.0.0.1:7687), NEO4J_USERNAME (default neo4j), NEO4J_PASSWORD and
optionally NEO4J_DATABASE (default neo4j). Every test EMPTIES that database first: point it at
a throw-away instance. Skipped, visibly, when NEO4J_URI is unset.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from agent_bruno.knowledge.catalogue import load_catalogue
from agent_bruno.knowledge.neo4j_backend import Neo4jBackend, Neo4jConfig
from agent_bruno.knowledge.service import KnowledgeGraph

# The same tests as the default tier, collected here with the real-Neo4j `graph` fixture below.
from tests.unit.knowledge.test_catalogue import test_twins_give_the_same_answer  # noqa: F401
from tests.unit.knowledge.test_graph_behaviour import *  # noqa: F403

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.environ.get("NEO4J_URI"), reason="NEO4J_URI is not set"),
]


@pytest.fixture
async def graph() -> AsyncIterator[KnowledgeGraph]:
    config = Neo4jConfig(
        uri=os.environ["NEO4J_URI"],
        username=os.environ.get("NEO4J_USERNAME", "neo4j"),
        password=os.environ.get("NEO4J_PASSWORD", ""),
        database=os.environ.get("NEO4J_DATABASE", "neo4j"),
    )
    backend = Neo4jBackend.create(config)
    kg = KnowledgeGraph(backend, load_catalogue())
    await backend.verify()
    await kg.apply_schema()
    await kg.write([kg.statement("delete_all")])
    yield kg
    await backend.close()


async def test_generated_reads_run_and_writes_are_refused_by_neo4j(graph: KnowledgeGraph):
    from agent_bruno.knowledge.backend import GraphQueryError

    rows, more = await graph.backend.read_untrusted(
        "UNWIND range(1, 5) AS x RETURN x", {}, timeout_s=5, limit=3
    )
    assert rows == [{"x": 1}, {"x": 2}, {"x": 3}]
    assert more
    with pytest.raises(GraphQueryError):
        await graph.backend.read_untrusted("CREATE (n:X) RETURN n", {}, timeout_s=5, limit=3)
