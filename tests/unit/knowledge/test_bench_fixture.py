"""The bench's bulk-loaded graph is the graph the upkeep's catalogue writes would build.

`make bench graph` measures queries on a 10,000-sensor graph loaded with `COPY FROM` and cached
on disk (bench/graph_fixture.py); if the bulk load drifted from what the upkeep writes (a column,
a relationship, a null), the figures would describe a graph the agent never has.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from agent_bruno.knowledge.catalogue import load_catalogue
from agent_bruno.knowledge.ladybug_backend import LadybugBackend
from agent_bruno.knowledge.service import KnowledgeGraph
from bench import graph_fixture
from bench.graph_fixture import Size, bulk_load, generate

SMALL = Size(nodes=7, sensors_per_node=3, locations=3, episodes=60, incidents=4, causes=2)


def _props(value: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A node or relationship's label and properties, without the database's internal ids."""
    return tuple(sorted((k, v) for k, v in value.items() if k == "_LABEL" or not k.startswith("_")))


async def _dump(path: Path) -> tuple[list[Any], list[Any]]:
    """Every node and every relationship (with its two ends) of the graph at `path`."""
    backend = await LadybugBackend.open(path)
    try:
        nodes = sorted(_props(r["n"]) for r in await backend.read("MATCH (n) RETURN n", {}))
        rels = sorted(
            (_props(r["a"]), _props(r["r"]), _props(r["b"]))
            for r in await backend.read("MATCH (a)-[r]->(b) RETURN a, r, b", {})
        )
    finally:
        await backend.close()
    return nodes, rels


async def test_bulk_loaded_graph_equals_the_one_the_upkeep_writes(tmp_path: Path) -> None:
    facts = generate(SMALL)
    bulk_load(tmp_path / "bulk.lbdb", facts.nodes, facts.episodes)
    backend = await LadybugBackend.open(tmp_path / "upkeep.lbdb")
    graph = KnowledgeGraph(backend, load_catalogue())
    await graph.apply_schema()
    await graph.write(graph.node_statements(facts.nodes))
    await graph.write(graph.episode_statements(facts.episodes))
    await backend.close()

    bulk, upkeep = await _dump(tmp_path / "bulk.lbdb"), await _dump(tmp_path / "upkeep.lbdb")
    assert len(upkeep[0]) == 1 + 3 + 7 + 3 + 21 + 21 + 60  # clusters … episodes
    assert bulk == upkeep


async def test_the_cache_is_built_once_and_each_run_gets_a_copy(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(graph_fixture, "CACHE", tmp_path / "cache")
    facts = generate(SMALL)
    _, built = await graph_fixture.graph_copy(SMALL, facts, _mkdir(tmp_path / "run1"))
    assert built
    second, built_again = await graph_fixture.graph_copy(SMALL, facts, _mkdir(tmp_path / "run2"))
    assert not built_again
    backend = await LadybugBackend.open(second)
    graph = KnowledgeGraph(backend, load_catalogue())
    counts = await graph.counts()
    await graph.write([graph.statement("delete_all")])  # a run may change its copy …
    await backend.close()
    assert (counts["Episode"], counts["Incident"], counts["RootCause"]) == (60, 4, 2)
    third, _ = await graph_fixture.graph_copy(SMALL, facts, _mkdir(tmp_path / "run3"))
    backend = await LadybugBackend.open(third)
    assert (await KnowledgeGraph(backend, load_catalogue()).counts()) == counts  # … not the cache
    await backend.close()


def test_the_cache_key_changes_with_the_size_and_seed() -> None:
    key = graph_fixture.cache_key
    assert key(SMALL) == key(replace(SMALL))
    assert key(SMALL) != key(replace(SMALL, seed=SMALL.seed + 1))
    assert key(SMALL) != key(replace(SMALL, episodes=SMALL.episodes + 1))


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path
