"""What the graph answers after the upkeep and people wrote to it, on every backend."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from agent_bruno.knowledge.model import (
    CatalogFact,
    IncidentInput,
    NodeFact,
    RootCauseInput,
    WorkloadFact,
)
from agent_bruno.knowledge.service import IncidentNotFound, KnowledgeGraph
from agent_bruno.knowledge.transfer import import_knowledge, parse_knowledge
from tests.unit.knowledge.facts import DAY, HOUR, T0, episode, pi3

UTC = ZoneInfo("UTC")


async def test_a_heartbeat_places_the_node_its_sensors_and_workloads(graph: KnowledgeGraph):
    await graph.write(graph.node_statements([pi3()]))
    ctx = await graph.node_context("pi-node-3")
    assert ctx is not None
    assert (ctx["cluster"], ctx["location"], ctx["cpu_percent"]) == ("homelab", "warehouse-b", 94.0)
    assert ctx["last_seen"] == T0
    assert [(s["sensor"], s["metric"], s["unit"]) for s in ctx["sensors"]] == [
        ("dht22-1", "humidity", "%"),
        ("dht22-1", "temperature", "°C"),
    ]
    top = ctx["workloads"][0]
    assert (top["name"], top["namespace"], top["cpu_percent"], top["memory_mib"]) == (
        "camera-5-video",
        "vision",
        81.5,
        610.0,
    )
    assert await graph.counts() == {
        "Cluster": 1,
        "Location": 1,
        "Node": 1,
        "Sensor": 1,
        "Metric": 2,
        "Workload": 2,
    }


async def test_replaying_heartbeats_changes_nothing(graph: KnowledgeGraph):
    for _ in range(3):
        await graph.write(graph.node_statements([pi3()]))
    before = await graph.node_context("pi-node-3")
    await graph.write(graph.node_statements([pi3()]))
    assert await graph.node_context("pi-node-3") == before
    assert (await graph.counts())["Workload"] == 2


async def test_missing_health_is_null_not_zero(graph: KnowledgeGraph):
    bare = NodeFact("pi-node-9", "homelab", "lab", T0, 60.0, {}, (), ())
    await graph.write(graph.node_statements([bare]))
    ctx = await graph.node_context("pi-node-9")
    assert ctx is not None
    assert ctx["cpu_percent"] is None
    assert ctx["soc_temp_c"] is None
    assert ctx["workloads"] == []
    assert ctx["sensors"] == []


async def test_a_workload_that_stopped_no_longer_runs_on_the_node(graph: KnowledgeGraph):
    await graph.write(graph.node_statements([pi3()]))
    later = replace(pi3(T0 + 300), workloads=(WorkloadFact("edge-reporter"),))
    await graph.write(graph.node_statements([later]))
    names = [w["name"] for w in await graph.workloads("pi-node-3")]
    assert names == ["edge-reporter"]
    assert (await graph.workloads("pi-node-3"))[0]["last_seen"] == T0 + 300


async def test_a_node_that_moved_is_at_its_new_location_only(graph: KnowledgeGraph):
    await graph.write(graph.node_statements([pi3()]))
    await graph.write(graph.episode_statements([episode("e1", T0 - HOUR)]))
    await graph.write(graph.node_statements([pi3(T0 + 300, location="server-room")]))
    ctx = await graph.node_context("pi-node-3")
    assert ctx is not None
    assert ctx["location"] == "server-room"
    old = await graph.location_context("warehouse-b")
    assert old is not None
    assert old["nodes"] == []
    # What happened there stays there.
    assert [e["id"] for e in old["episodes"]] == ["e1"]


async def test_stored_series_without_heartbeats_get_a_sensor_node_and_location(
    graph: KnowledgeGraph,
):
    facts = [CatalogFact("homelab", "import-1", "attic", "bme280", "pressure", "hPa", T0)]
    await graph.write(graph.catalog_statements(facts))
    ctx = await graph.sensor_context("import-1/bme280")
    assert ctx is not None
    assert (ctx["node"], ctx["location"], ctx["metrics"]) == (
        "import-1",
        "attic",
        [{"metric": "pressure", "unit": "hPa"}],
    )
    assert await graph.sensor_keys("bme280") == ["import-1/bme280"]


async def test_sensor_context_has_its_last_ten_episodes_newest_first(graph: KnowledgeGraph):
    await graph.write(graph.node_statements([pi3()]))
    eps = [episode(f"e{i:02d}", T0 - i * HOUR) for i in range(14)]
    await graph.write(graph.episode_statements(eps))
    ctx = await graph.sensor_context("pi-node-3/dht22-1")
    assert ctx is not None
    assert [e["id"] for e in ctx["episodes"]] == [f"e{i:02d}" for i in range(10)]
    assert ctx["workloads"][0]["name"] == "camera-5-video"


async def test_an_episode_is_updated_in_place_not_duplicated(graph: KnowledgeGraph):
    await graph.write(graph.node_statements([pi3()]))
    await graph.write(graph.episode_statements([episode("e1", T0, ended=False)]))
    await graph.write(graph.episode_statements([episode("e1", T0, ended=True, sigma=6.5)]))
    ep = await graph.episode("e1")
    assert ep is not None
    assert ep.ended is not None
    assert ep.peak_sigma == 6.5
    assert (await graph.counts())["Episode"] == 1


async def test_recording_an_incident_links_the_episodes_at_its_place_and_time(
    graph: KnowledgeGraph,
):
    await graph.write(graph.node_statements([pi3()]))
    spike, other = episode("spike", T0 - 10 * 60), episode("old", T0 - 2 * DAY)
    await graph.write(graph.episode_statements([spike, other]))
    cause = RootCauseInput("HVAC malfunction", resolution="compressor replaced")
    stored = await graph.record_incident(
        IncidentInput("warehouse-b", T0, root_cause=cause, status="resolved"), "alice", T0 + 60
    )
    assert stored["title"] == "HVAC malfunction"
    assert stored["status"] == "resolved"
    assert [e["id"] for e in stored["episodes"]] == ["spike"]
    assert stored["root_causes"][0]["resolution"] == "compressor replaced"
    assert stored["created_by"] == "alice"
    place = await graph.location_context("warehouse-b")
    assert place is not None
    assert [i["id"] for i in place["incidents"]] == [stored["id"]]


async def test_a_correction_replaces_the_root_cause(graph: KnowledgeGraph):
    await graph.write(graph.node_statements([pi3()]))
    await graph.write(graph.episode_statements([episode("spike", T0 - 600)]))
    first = await graph.record_incident(
        IncidentInput("warehouse-b", T0, root_cause=RootCauseInput("HVAC malfunction")), "alice", T0
    )
    fixed = await graph.correct_incident(
        first["id"],
        IncidentInput(
            "warehouse-b", T0, root_cause=RootCauseInput("door left open"), episodes=("spike",)
        ),
        "bob",
        T0 + 120,
    )
    assert [c["description"] for c in fixed["root_causes"]] == ["door left open"]
    assert (fixed["created_by"], fixed["updated_by"]) == ("alice", "bob")
    with pytest.raises(IncidentNotFound):
        await graph.correct_incident("inc-nope", IncidentInput("x", T0), "bob", T0)


async def test_a_shared_root_cause_counts_its_incidents(graph: KnowledgeGraph):
    await graph.write(graph.node_statements([pi3()]))
    for day in (3, 2, 1):
        await graph.record_incident(
            IncidentInput(
                "warehouse-b", T0 - day * DAY, root_cause=RootCauseInput("HVAC Malfunction")
            ),
            "alice",
            T0,
        )
    incidents = await graph.incidents(location="warehouse-b")
    assert [round((T0 - i["started"]) / DAY) for i in incidents] == [1, 2, 3]
    assert {c["incidents"] for i in incidents for c in i["root_causes"]} == {3}


async def test_similar_past_incidents_are_offered_with_their_causes(graph: KnowledgeGraph):
    await graph.write(graph.node_statements([pi3()]))
    past = episode("past", T0 - 7 * DAY)
    unlike = episode("unlike", T0 - 6 * DAY, sigma=-3.0, metric="humidity", location="attic")
    await graph.write(graph.episode_statements([past, unlike]))
    await graph.record_incident(
        IncidentInput(
            "warehouse-b",
            past.started,
            root_cause=RootCauseInput("HVAC malfunction", recommendation="service the HVAC"),
            episodes=("past",),
        ),
        "alice",
        T0,
    )
    await graph.record_incident(
        IncidentInput("attic", unlike.started, root_cause=RootCauseInput("roof leak")),
        "alice",
        T0,
    )
    now = episode("now", T0, sigma=4.6, ended=False)
    await graph.write(graph.episode_statements([now]))
    similar = await graph.similar_incidents(now, UTC)
    assert [s["root_causes"][0]["description"] for s in similar] == ["HVAC malfunction"]
    assert similar[0]["similarity"] > 0.8
    assert "same location (warehouse-b)" in similar[0]["resembles"]
    assert similar[0]["root_causes"][0]["recommendation"] == "service the HVAC"


async def test_an_episode_is_not_explained_by_incidents_after_it(graph: KnowledgeGraph):
    await graph.write(graph.node_statements([pi3()]))
    later = episode("later", T0 + DAY)
    await graph.write(graph.episode_statements([later]))
    await graph.record_incident(
        IncidentInput("warehouse-b", later.started, episodes=("later",)), "alice", T0
    )
    assert await graph.similar_incidents(episode("now", T0), UTC) == []


async def test_export_then_import_into_an_empty_graph_keeps_what_people_taught(
    graph: KnowledgeGraph,
):
    await graph.write(graph.node_statements([pi3()]))
    await graph.write(graph.episode_statements([episode("spike", T0 - 600)]))
    stored = await graph.record_incident(
        IncidentInput("warehouse-b", T0, root_cause=RootCauseInput("HVAC malfunction")), "alice", T0
    )
    exported = await graph.export_knowledge()
    await graph.write([graph.statement("delete_all")])
    assert await graph.counts() == {}
    doc = parse_knowledge(exported)
    assert await import_knowledge(graph, doc) == {"incidents": 1, "episodes": 1}
    assert await import_knowledge(graph, doc) == {"incidents": 1, "episodes": 1}
    again = await graph.incident(stored["id"])
    assert again is not None
    assert (again["created_by"], again["created_at"]) == ("alice", T0)
    assert [e["id"] for e in again["episodes"]] == ["spike"]
    assert (await graph.counts())["Incident"] == 1


async def test_unknown_names_are_none_not_errors(graph: KnowledgeGraph):
    assert await graph.node_context("pi-node-404") is None
    assert await graph.sensor_context("pi-node-404/x") is None
    assert await graph.location_context("nowhere") is None
    assert await graph.incidents(location="nowhere") == []


async def test_incidents_anywhere_and_in_a_time_range(graph: KnowledgeGraph):
    for day, place in ((3, "warehouse-b"), (1, "attic")):
        await graph.record_incident(
            IncidentInput(place, T0 - day * DAY, root_cause=RootCauseInput("x")), "alice", T0
        )
    assert [i["location"] for i in await graph.incidents()] == ["attic", "warehouse-b"]
    recent = await graph.incidents(since=T0 - 2 * DAY)
    assert [i["location"] for i in recent] == ["attic"]


async def test_first_batch_of_a_new_place_keeps_every_node_sensor_and_episode(
    graph: KnowledgeGraph,
):
    """Regression: Ladybug collapsed the rows of one UNWIND after a MERGE that created a shared
    node (the cluster, the location, a metric), so a new place's first batch kept one node."""
    nodes = [replace(pi3(), node=f"pi-node-{n}") for n in range(1, 6)]
    await graph.write(graph.node_statements(nodes))
    eps = [
        episode(f"e{n}", T0 + n, node=f"pi-node-{n}", location="loading-bay") for n in range(1, 6)
    ]
    await graph.write(graph.episode_statements(eps))
    counts = await graph.counts()
    assert (counts["Node"], counts["Sensor"], counts["Workload"]) == (5, 5, 10)
    for n in range(1, 6):
        ctx = await graph.node_context(f"pi-node-{n}")
        assert ctx is not None
        assert ctx["location"] == "warehouse-b"
        assert [s["metric"] for s in ctx["sensors"]] == ["humidity", "temperature"]
        assert len(ctx["workloads"]) == 2
        assert [e["id"] for e in ctx["episodes"]] == [f"e{n}"]
    place = await graph.location_context("loading-bay")
    assert place is not None
    assert sorted(e["id"] for e in place["episodes"]) == [f"e{n}" for n in range(1, 6)]
