"""`open_knowledge(settings, storage)`: the graph backend, its catalogue and upkeep, built once.

Called by the app's lifespan. Ladybug when `AGENT_BRUNO_NEO4J_URI` is unset, Neo4j when it is
set. The graph never stops the service: a database that cannot be opened or reached is logged
and shown in /readyz, and the upkeep keeps retrying.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from agent_bruno.knowledge.backend import GraphBackend, GraphError
from agent_bruno.knowledge.catalogue import load_catalogue
from agent_bruno.knowledge.ladybug_backend import LadybugBackend
from agent_bruno.knowledge.neo4j_backend import Neo4jBackend, Neo4jConfig
from agent_bruno.knowledge.service import KnowledgeGraph
from agent_bruno.knowledge.upkeep import GraphUpkeep
from agent_bruno.settings import Settings
from agent_bruno.storage.base import Storage

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Knowledge:
    """The graph and its upkeep, as the API and the agent use them."""

    graph: KnowledgeGraph
    upkeep: GraphUpkeep


def neo4j_config(settings: Settings) -> Neo4jConfig | None:
    """The Neo4j connection settings, or None for the embedded graph."""
    if settings.neo4j_uri is None or settings.neo4j_password is None:
        return None
    return Neo4jConfig(
        uri=settings.neo4j_uri,
        username=settings.neo4j_username,
        password=settings.neo4j_password.get_secret_value(),
        database=settings.neo4j_database,
        max_retry_time_s=settings.neo4j_retry_s,
    )


async def open_backend(settings: Settings) -> GraphBackend:
    """Neo4j when configured (nothing connects yet), else Ladybug in the data directory."""
    config = neo4j_config(settings)
    if config is not None:
        return Neo4jBackend.create(config)
    return await LadybugBackend.open(settings.graph_path)


@asynccontextmanager
async def open_knowledge(settings: Settings, storage: Storage) -> AsyncIterator[Knowledge | None]:
    """The graph with its upkeep task running; None when it is off or cannot be opened."""
    if not settings.graph_enabled:
        log.info("knowledge graph off (AGENT_BRUNO_GRAPH_ENABLED=false)")
        yield None
        return
    try:
        backend = await open_backend(settings)
    except GraphError as exc:
        log.error("knowledge graph unavailable, answers go without it: %s", exc)
        yield None
        return
    graph = KnowledgeGraph(backend, load_catalogue())
    upkeep = GraphUpkeep(
        graph,
        storage,
        flush_s=settings.graph_flush_s,
        reconcile_s=settings.graph_reconcile_s,
    )
    log.info("knowledge graph: %s at %s", backend.name, backend.where)
    try:  # ready before the first request where possible; else the upkeep keeps trying
        await asyncio.wait_for(upkeep.start(), START_TIMEOUT_S)
    except (GraphError, TimeoutError) as exc:
        upkeep.state.problem = str(exc) or "the schema could not be applied in time"
        log.error("knowledge graph not ready yet (will retry): %s", upkeep.state.problem)
    task = asyncio.create_task(upkeep.run(), name="graph-upkeep")
    try:
        yield Knowledge(graph, upkeep)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await upkeep.stop()
        await backend.close()
