"""What keeps graph answers fast at size: reads start from the thing asked about, and a context
is one round trip to the database.

At 100,000 episodes a read that scans every Episode costs tens of milliseconds where walking out
from one place costs one (bench/bench_graph.py measures it); and on a loaded machine every extra
round trip (a thread hop for Ladybug, a network exchange for Neo4j) adds its own wait.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from agent_bruno.knowledge.catalogue import load_catalogue
from agent_bruno.knowledge.ladybug_backend import LadybugBackend, bound_paging
from agent_bruno.knowledge.service import KnowledgeGraph
from bench.graph_fixture import Size, bulk_load, generate
from tests.unit.knowledge.facts import T0, episode, pi3

CATALOGUE = load_catalogue()
SIZED = Size(nodes=100, sensors_per_node=5, locations=20, episodes=5_000, incidents=0)
# Reads that name one place, node or sensor, with parameters for the plan.
ANCHORED = {
    "location_episodes": {"location": "loc-3", "since": 0.0, "until": 1e12, "limit": 5},
    "location_episode_ids": {"location": "loc-3", "since": 0.0, "until": 1e12, "limit": 5},
    "node_episodes": {"node": "node-3", "since": 0.0, "limit": 5},
    "node_episode_ids": {"node": "node-3", "since": 0.0, "limit": 5},
    "sensor_episodes": {"key": "node-3/s1", "limit": 5},
    "sensor_episode_ids": {"key": "node-3/s1", "limit": 5},
}


@pytest.fixture(scope="module")
def sized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A graph with the bench's proportions (Ladybug plans by table sizes), small."""
    path = tmp_path_factory.mktemp("sized") / "graph.lbdb"
    facts = generate(SIZED)
    bulk_load(path, facts.nodes, facts.episodes)
    return path


@pytest.mark.parametrize("name", sorted(ANCHORED))
async def test_episode_reads_walk_out_from_what_was_asked_not_over_every_episode(
    sized: Path, name: str
):
    backend = await LadybugBackend.open(sized)
    text = CATALOGUE.query(name).text("ladybug")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("//"))
    rows = await backend.read(f"PROFILE {body}", ANCHORED[name])
    await backend.close()
    plan = str(next(iter(rows[0].values())))
    widest = max(int(n) for n in re.findall(r"NumOutputTuples: (\d+)", plan))
    # A place holds 1/20 of the episodes, a node 1/100: no step may touch a quarter of them all.
    assert widest < SIZED.episodes / 4, plan


class CountingBackend:
    """A backend that counts the round trips made through it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.trips = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name in ("read", "read_many", "read_staged"):

            async def counted(*args: Any) -> Any:
                self.trips += 1
                return await attr(*args)

            return counted
        return attr


@pytest.mark.parametrize(
    ("what", "call"),
    [
        ("sensor", lambda g: g.sensor_context("pi-node-3/dht22-1")),
        ("node", lambda g: g.node_context("pi-node-3", incidents=5)),
        ("location", lambda g: g.location_context("warehouse-b")),
        ("incidents", lambda g: g.incidents(location="warehouse-b")),
    ],
)
async def test_a_context_is_one_round_trip(graph: KnowledgeGraph, what: str, call: Any):
    from agent_bruno.knowledge.model import IncidentInput, RootCauseInput

    await graph.write(graph.node_statements([pi3()]))
    await graph.write(graph.episode_statements([episode("ep-1", T0 - 3600.0)]))
    await graph.record_incident(
        IncidentInput("warehouse-b", T0 - 3600.0, root_cause=RootCauseInput("HVAC failure")),
        "ana",
        T0,
    )
    counting = CountingBackend(graph.backend)
    graph.backend = counting
    found = await call(graph)
    assert found, what
    assert counting.trips == 1, what
    if what != "incidents":
        assert found["incidents"][0]["root_causes"][0]["description"] == "HVAC failure"


def test_a_limit_given_as_a_number_is_written_into_the_statement_ladybug_caches() -> None:
    """Ladybug prepares a statement with `LIMIT $limit` again at every run; with the number in
    the text its cached plan is reused. Only int parameters are written in; others stay."""
    text = "MATCH (e:Episode) WHERE e.started >= $since RETURN e.id ORDER BY e.started LIMIT $limit"
    assert bound_paging(text, {"since": 0.0, "limit": 10}) == (
        text.replace("$limit", "10"),
        {"since": 0.0},
    )
    both = "MATCH (n) WHERE n.k = $limit RETURN n SKIP $skip LIMIT $limit"
    assert bound_paging(both, {"limit": 5, "skip": 2}) == (
        "MATCH (n) WHERE n.k = $limit RETURN n SKIP 2 LIMIT 5",
        {"limit": 5},  # still used in the WHERE
    )
    for odd in ("5 RETURN 1", True, -1, 2.0):
        assert bound_paging("MATCH (n) RETURN n LIMIT $limit", {"limit": odd}) == (
            "MATCH (n) RETURN n LIMIT $limit",
            {"limit": odd},
        )


async def test_a_limited_read_gives_the_newest_rows_as_the_parameter_did(sized: Path) -> None:
    backend = await LadybugBackend.open(sized)
    try:
        text = CATALOGUE.query("node_episode_ids").text("ladybug")
        params = {"node": "node-3", "since": 0.0, "limit": 4}
        every = await backend.read(text, {**params, "limit": 1000})
        first = await backend.read(text, params)
        again = await backend.read(text, {**params, "limit": 2})
    finally:
        await backend.close()
    newest = sorted(every, key=lambda r: -float(r["started"]))
    assert len(every) > 4
    assert first == newest[:4]
    assert again == newest[:2]
