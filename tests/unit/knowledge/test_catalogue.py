"""The catalogue as shipped: every query loads for both backends, reads only read, and the
per-backend twins give the same answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_bruno.knowledge.backend import GraphQueryError
from agent_bruno.knowledge.catalogue import (
    BACKENDS,
    Catalogue,
    CatalogueError,
    load_catalogue,
    shipped_catalogue,
)
from agent_bruno.knowledge.ladybug_backend import LadybugBackend
from agent_bruno.knowledge.readonly import read_only_problem
from agent_bruno.knowledge.service import KnowledgeGraph
from tests.unit.knowledge.facts import episode, pi3

CATALOGUE = load_catalogue()
READS = sorted(n for n, q in CATALOGUE.queries.items() if q.mode == "read")
WRITES = sorted(n for n, q in CATALOGUE.queries.items() if q.mode == "write")
TWINS = sorted(n for n, q in CATALOGUE.queries.items() if not q.shared)


def test_the_shipped_folder_is_the_top_level_graph_folder():
    root = Path(__file__).resolve().parents[3] / "graph"
    assert Path(str(shipped_catalogue())).resolve() == root.resolve()


@pytest.mark.parametrize("name", READS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_read_query_is_read_only(name: str, backend: str):
    assert read_only_problem(CATALOGUE.query(name).text(backend)) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("name", WRITES)
def test_every_write_query_is_seen_as_a_write(name: str):
    assert read_only_problem(CATALOGUE.query(name).text("neo4j")) is not None


def test_twins_sit_side_by_side_and_are_few():
    assert TWINS == ["counts"]  # a new twin is a deliberate choice: add it here and test it


async def test_twins_give_the_same_answer(graph: KnowledgeGraph):
    """`graph` runs the Neo4j texts through the driver on the Bolt server; both agree."""
    await graph.write(graph.node_statements([pi3()]))
    await graph.write(graph.episode_statements([episode("e1", 1.0)]))
    assert await graph.counts() == {
        "Cluster": 1,
        "Location": 1,
        "Node": 1,
        "Sensor": 1,
        "Metric": 2,
        "Workload": 2,
        "Episode": 1,
    }


def test_an_unknown_query_names_the_known_ones():
    with pytest.raises(KeyError, match=r"known: .*node_workloads"):
        CATALOGUE.query("node_workload")


def test_schema_statements_per_backend():
    assert all(s.startswith("CREATE") for b in BACKENDS for s in CATALOGUE.schema[b])
    assert any("CREATE CONSTRAINT" in s for s in CATALOGUE.schema["neo4j"])
    assert any("NODE TABLE" in s for s in CATALOGUE.schema["ladybug"])


async def test_the_ladybug_schema_applies_again_and_all_or_nothing(tmp_path: Path):
    schema = CATALOGUE.schema["ladybug"]
    tables = "CALL show_tables() RETURN count(*) AS n"
    backend = await LadybugBackend.open(tmp_path / "g.lbdb")
    try:
        with pytest.raises(GraphQueryError, match="refused the schema"):
            await backend.apply_schema([*schema, "CREATE NODE TABLE Broken(x STRING)"])
        assert await backend.read(tables, {}) == [{"n": 0}]  # the good statements undone too
        assert await backend.read("CALL show_macros() RETURN *", {}) == []
        await backend.apply_schema(schema)
    finally:
        await backend.close()
    backend = await LadybugBackend.open(tmp_path / "g.lbdb")
    try:
        await backend.apply_schema(schema)  # its macro exists now: left as it is
        assert await backend.read(tables, {}) == [{"n": sum(" TABLE " in s for s in schema)}]
        assert await backend.read("RETURN toFloat('1.5') AS x", {}) == [{"x": 1.5}]
    finally:
        await backend.close()


def _copy(tmp_path: Path) -> Path:
    root = Path(str(shipped_catalogue()))
    for p in root.rglob("*.cypher"):
        target = tmp_path / p.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(p.read_text())
    return tmp_path


def test_a_twin_without_its_pair_is_refused(tmp_path: Path):
    root = _copy(tmp_path)
    (root / "queries/read/counts.neo4j.cypher").unlink()
    with pytest.raises(CatalogueError, match=r"counts.*no variant for neo4j"):
        load_catalogue(root)  # type: ignore[arg-type]


def test_a_shared_query_and_a_variant_of_it_are_refused(tmp_path: Path):
    root = _copy(tmp_path)
    (root / "queries/read/node.neo4j.cypher").write_text("MATCH (n) RETURN n")
    with pytest.raises(CatalogueError, match=r"both node\.cypher and a backend variant"):
        load_catalogue(root)  # type: ignore[arg-type]


def test_an_empty_file_is_named(tmp_path: Path):
    root = _copy(tmp_path)
    (root / "queries/read/node.cypher").write_text("  \n")
    with pytest.raises(CatalogueError, match=r"node\.cypher is empty"):
        load_catalogue(root)  # type: ignore[arg-type]


def test_catalogue_type() -> None:
    assert isinstance(CATALOGUE, Catalogue)
