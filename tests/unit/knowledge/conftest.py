"""Fixtures: the knowledge graph on each backend the default tier can run.

`ladybug`: the embedded backend, in memory. `bolt`: the Neo4j backend (the real driver) against
the Bolt test server, whose answers come from an in-memory Ladybug (tests/fakes/bolt_ladybug.py).
The same behaviour tests run on both; tests/integration runs them on a real Neo4j.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agent_bruno.knowledge.catalogue import Catalogue, load_catalogue
from agent_bruno.knowledge.ladybug_backend import LadybugBackend
from agent_bruno.knowledge.neo4j_backend import Neo4jBackend, Neo4jConfig
from agent_bruno.knowledge.service import KnowledgeGraph
from tests.fakes.bolt import BoltServer
from tests.fakes.bolt_ladybug import PASSWORD, USER, LadybugResponder

CATALOGUE = load_catalogue()


@pytest.fixture
def catalogue() -> Catalogue:
    return CATALOGUE


@pytest.fixture(params=["ladybug", "bolt"])
async def graph(request: pytest.FixtureRequest) -> AsyncIterator[KnowledgeGraph]:
    if request.param == "ladybug":
        backend = await LadybugBackend.open(None)
        kg = KnowledgeGraph(backend, CATALOGUE)
        await kg.apply_schema()
        yield kg
        await backend.close()
        return
    async with BoltServer(LadybugResponder(CATALOGUE)) as server:
        neo = Neo4jBackend.create(Neo4jConfig(server.uri, USER, PASSWORD))
        kg = KnowledgeGraph(neo, CATALOGUE)
        await kg.apply_schema()
        yield kg
        await neo.close()
