"""Graph upkeep: what ingest commits reaches the graph in batches, off the request, and what
the graph misses (a failure, a full buffer, a restart) is caught up from storage."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from agent_bruno.app import create_app
from agent_bruno.knowledge.backend import GraphUnavailable
from agent_bruno.knowledge.catalogue import load_catalogue
from agent_bruno.knowledge.ladybug_backend import LadybugBackend
from agent_bruno.knowledge.model import IncidentInput, RootCauseInput
from agent_bruno.knowledge.service import KnowledgeGraph
from agent_bruno.knowledge.upkeep import REFRESH_SLOTS, GraphUpkeep
from agent_bruno.storage.base import EventsWrite
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.wire import EVENT_ADAPTER
from tests.unit.agent.helpers import NODE1_TOKEN, NOW, auth, envelope, heartbeat, make_settings
from tests.unit.knowledge.facts import T0, episode


async def wait_for(predicate, within_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@pytest.fixture
async def parts(tmp_path: Path):
    storage = SqliteStorage(tmp_path / "a.db")
    storage.open_writer()
    backend = await LadybugBackend.open(None)
    graph = KnowledgeGraph(backend, load_catalogue())
    upkeep = GraphUpkeep(graph, storage, flush_s=0.01, reconcile_s=3600)
    await upkeep.start()
    yield storage, graph, upkeep
    await backend.close()
    storage.close_writer()
    storage.close()


def commit(storage: SqliteStorage, events: list[dict], node: str = "pi-node-1"):
    received = NOW + 3600  # after every event's time: the reporter's clock is not ahead
    write = EventsWrite(
        "homelab", node, "warehouse", [EVENT_ADAPTER.validate_python(e) for e in events], received
    )
    (outcome,) = storage.apply_batch([write])
    assert not isinstance(outcome, Exception)
    return write, outcome


async def test_many_heartbeats_of_a_node_become_one_write_of_the_newest(parts):
    storage, graph, upkeep = parts
    for i in range(50):
        upkeep.offer(*commit(storage, [heartbeat(i, NOW + i, health={"cpu_percent": float(i)})]))
    assert upkeep.pending == 1
    assert await upkeep.flush() == 1
    ctx = await graph.node_context("pi-node-1")
    assert ctx is not None
    assert (ctx["cpu_percent"], ctx["last_seen"]) == (49.0, NOW + 49)
    assert [w["name"] for w in ctx["workloads"]] == ["edge-reporter"]


async def test_an_older_heartbeat_retried_late_does_not_roll_the_node_back(parts):
    storage, _graph, upkeep = parts
    upkeep.offer(*commit(storage, [heartbeat(2, NOW + 600)]))
    await upkeep.flush()
    late = commit(storage, [heartbeat(1, NOW)])
    assert late[1].heartbeat is None  # storage kept the newer one
    upkeep.offer(*late)
    assert upkeep.pending == 0


async def test_a_failed_write_keeps_what_was_buffered_for_the_next_try(parts, monkeypatch):
    storage, graph, upkeep = parts
    upkeep.offer(*commit(storage, [heartbeat(1)]))
    real = graph.backend.write

    async def down(statements):
        raise GraphUnavailable("Neo4j at bolt://x is unreachable")

    monkeypatch.setattr(graph.backend, "write", down)
    with pytest.raises(GraphUnavailable):
        await upkeep.flush()
    assert upkeep.pending == 1
    monkeypatch.setattr(graph.backend, "write", real)
    assert await upkeep.flush() == 1
    assert await graph.node_context("pi-node-1") is not None


async def test_episodes_keep_their_newest_state(parts):
    _, graph, upkeep = parts
    upkeep.offer_episodes([episode("e1", T0, ended=False), episode("e1", T0, sigma=7.0)])
    upkeep.offer_episodes([replace(episode("e1", T0, ended=False), updated=0.0)])  # stale
    await upkeep.flush()
    ep = await graph.episode("e1")
    assert ep is not None
    assert ep.peak_sigma == 7.0


async def test_reconcile_writes_what_storage_has_and_the_buffer_missed(parts):
    storage, graph, upkeep = parts
    commit(storage, [heartbeat(1)])  # committed but never offered (a restart, a full buffer)
    summary = await upkeep.reconcile()
    assert summary["nodes"] == 1
    ctx = await graph.node_context("pi-node-1")
    assert ctx is not None
    assert ctx["location"] == "warehouse"


async def test_rebuild_keeps_what_people_taught(parts):
    storage, graph, upkeep = parts
    commit(storage, [heartbeat(1)])
    await upkeep.reconcile()
    upkeep.offer_episodes([episode("spike", T0, node="pi-node-1", location="warehouse")])
    await upkeep.flush()
    await graph.record_incident(
        IncidentInput("warehouse", T0, root_cause=RootCauseInput("door left open")), "alice", T0
    )
    result = await upkeep.rebuild()
    assert result["imported"] == {"incidents": 1, "episodes": 1}
    incidents = await graph.incidents(location="warehouse")
    assert [c["description"] for c in incidents[0]["root_causes"]] == ["door left open"]
    assert [e["id"] for e in incidents[0]["episodes"]] == ["spike"]
    assert await graph.node_context("pi-node-1") is not None


async def test_ingest_reaches_the_graph_without_waiting_for_it(tmp_path: Path):
    settings = make_settings(tmp_path, graph_flush_s=0.02)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
            r = await client.post(
                "/v1/events", json=envelope([heartbeat(1)]), headers=auth(NODE1_TOKEN)
            )
            assert r.status_code == 200
            graph = app.state.services.knowledge.graph

            async def placed() -> bool:
                return await graph.node_context("pi-node-1") is not None

            await wait_for(placed)
            ready = (await client.get("/readyz")).json()
    assert ready["graph"]["backend"] == "ladybug"
    assert ready["graph"]["state"] == "ready"
    assert ready["graph"]["where"].endswith("graph.lbdb")


async def test_a_graph_that_cannot_open_leaves_ingest_and_answers_working(tmp_path: Path):
    settings = make_settings(tmp_path)
    settings.graph_path.parent.mkdir(parents=True)
    settings.graph_path.write_text("not a database")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
            r = await client.post(
                "/v1/events", json=envelope([heartbeat(1)]), headers=auth(NODE1_TOKEN)
            )
            assert r.status_code == 200
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["graph"]["state"] == "off"


def episode_event(rev: int, ts: float, end: float | None = None, phase: str = "open") -> dict:
    return {
        "id": f"ep-event-{rev}", "type": "episode", "ts": ts, "sensor": "dht22-1",
        "metric": "temperature", "unit": "°C", "phase": phase, "start": NOW, "end": end,
        "last": end or ts, "kind": "process_anomaly", "rule": "spike", "severity": "critical",
        "count": rev, "readings": rev, "peak_value": 31.0, "peak_ts": NOW,
        "peak_deviation": 5.5, "reason": "5.5σ above the last hour's baseline", "revision": rev,
    }  # fmt: skip


async def test_episode_events_reach_the_graph_as_stored_one_node_per_episode(parts):
    storage, graph, upkeep = parts
    upkeep.offer(*commit(storage, [heartbeat(1)]))
    upkeep.offer(*commit(storage, [episode_event(1, NOW)]))
    upkeep.offer(*commit(storage, [episode_event(3, NOW + 120, NOW + 120, "close")]))
    upkeep.offer(*commit(storage, [episode_event(2, NOW + 60, phase="update")]))  # late, older
    await upkeep.flush()
    ctx = await graph.sensor_context("pi-node-1/dht22-1")
    assert ctx is not None
    (ep,) = ctx["episodes"]
    assert (ep["ended"], ep["flags"], ep["peak_sigma"], ep["rule"]) == (NOW + 120, 3, 5.5, "spike")
    assert ep["id"].startswith("ep-")
    assert ep["location"] == "warehouse"


async def test_reconcile_brings_stored_episodes_the_buffer_never_saw(parts):
    storage, graph, upkeep = parts
    commit(storage, [heartbeat(1), episode_event(1, NOW)])
    summary = await upkeep.reconcile()
    assert summary["episodes"] == 1
    assert (await graph.counts())["Episode"] == 1


async def test_workloads_with_their_use_reach_the_graph(parts):
    storage, graph, upkeep = parts
    pods = [
        {"name": "camera-5-video", "namespace": "vision", "kind": "pod", "cpu_percent": 81.0,
         "memory_mib": 600.0, "cpu_request_m": 750.0},
        "mosquitto",
    ]  # fmt: skip
    upkeep.offer(*commit(storage, [heartbeat(1, workloads=pods)]))
    await upkeep.flush()
    found = await graph.workloads("pi-node-1")
    assert [(w["name"], w["namespace"], w["cpu_percent"]) for w in found] == [
        ("camera-5-video", "vision", 81.0),
        ("mosquitto", "", None),
    ]
    (row,) = storage.list_nodes()
    assert row.workloads[0] == dict(pods[0].items())  # stored as sent


async def test_unchanged_topology_is_not_rewritten_but_health_is(parts, monkeypatch):
    storage, graph, upkeep = parts
    upkeep.offer(*commit(storage, [heartbeat(1, NOW)]))
    await upkeep.flush()
    sent: list[str] = []
    real = graph.backend.write

    async def spy(statements):
        sent.extend(s for s, _ in statements)
        await real(statements)

    monkeypatch.setattr(graph.backend, "write", spy)
    upkeep.offer(*commit(storage, [heartbeat(2, NOW + 60, health={"cpu_percent": 77.0})]))
    await upkeep.flush()
    assert sent == [graph.statement("update_node_health")[0]]  # no MERGE
    ctx = await graph.node_context("pi-node-1")
    assert ctx is not None
    assert ctx["cpu_percent"] == 77.0
    upkeep.offer(*commit(storage, [heartbeat(3, NOW + 120, workloads=["edge-reporter", "new"])]))
    await upkeep.flush()
    assert [w["name"] for w in await graph.workloads("pi-node-1")] == ["edge-reporter", "new"]


async def test_a_known_node_gets_its_workloads_use_and_a_known_episode_its_growth(
    parts, monkeypatch
):
    storage, graph, upkeep = parts

    def pods(cpu: float) -> list:
        return [{"name": "camera-5-video", "namespace": "vision", "cpu_percent": cpu}]

    upkeep.offer(*commit(storage, [heartbeat(1, NOW, workloads=pods(40.0))]))
    upkeep.offer(*commit(storage, [episode_event(1, NOW)]))
    await upkeep.flush()
    sent: list[str] = []
    real = graph.backend.write

    async def spy(statements):
        sent.extend(s for s, _ in statements)
        await real(statements)

    monkeypatch.setattr(graph.backend, "write", spy)
    upkeep.offer(*commit(storage, [heartbeat(2, NOW + 60, workloads=pods(93.0))]))
    upkeep.offer(*commit(storage, [episode_event(2, NOW + 60, NOW + 60, "close")]))
    await upkeep.flush()
    names = ("update_workload_use", "update_episodes")  # the health is as written: not sent
    assert sent == [graph.statement(n)[0] for n in names]
    assert [w["cpu_percent"] for w in await graph.workloads("pi-node-1")] == [93.0]
    ctx = await graph.sensor_context("pi-node-1/dht22-1")
    assert ctx is not None
    (ep,) = ctx["episodes"]
    assert (ep["ended"], ep["flags"]) == (NOW + 60, 2)


async def test_coalesced_heartbeats_write_only_what_changed(parts, monkeypatch):
    storage, graph, upkeep = parts

    def pods(camera: float) -> list:
        return [
            {"name": "camera-5-video", "namespace": "vision", "cpu_percent": camera},
            {"name": "mosquitto", "namespace": "mqtt", "cpu_percent": 2.0},
        ]

    upkeep.offer(*commit(storage, [heartbeat(1, NOW, workloads=pods(40.0))]))
    await upkeep.flush()
    sent: list[tuple[str, dict]] = []
    real = graph.backend.write

    async def spy(statements):
        sent.extend(statements)
        await real(statements)

    monkeypatch.setattr(graph.backend, "write", spy)
    upkeep.offer(*commit(storage, [heartbeat(2, NOW + 30, workloads=pods(40.0))]))
    await upkeep.flush()
    assert sent == []  # the same health and use: nothing to write
    upkeep.offer(*commit(storage, [heartbeat(3, NOW + 60, workloads=pods(93.0))]))
    await upkeep.flush()
    (only,) = sent  # the camera's use changed, the broker's did not, the health did not
    assert only[0] == graph.statement("update_workload_use")[0]
    assert [r["key"] for r in only[1]["rows"]] == ["pi-node-1/vision/camera-5-video"]
    assert [(w["name"], w["cpu_percent"]) for w in await graph.workloads("pi-node-1")] == [
        ("camera-5-video", 93.0),
        ("mosquitto", 2.0),
    ]


async def test_a_fleet_first_written_together_is_refreshed_a_few_nodes_per_flush(tmp_path: Path):
    """The once-a-minute full write of a node whose topology is as written is spread over the
    minute by node, so a fleet that appeared in one flush does not make every minute's flush
    write all of it at once; each node is still written in full within the minute."""
    storage = SqliteStorage(tmp_path / "a.db")
    storage.open_writer()
    backend = await LadybugBackend.open(None)
    graph = KnowledgeGraph(backend, load_catalogue())
    now = [1000.0]
    upkeep = GraphUpkeep(graph, storage, flush_s=5, ticker=lambda: now[0])
    await upkeep.start()
    fleet = [f"rack-{n}" for n in range(60)]
    full: list[set[str]] = []
    real = graph.backend.write

    async def spy(statements):
        upserted = {r["node"] for s, p in statements if s == graph.statement("upsert_nodes")[0]
                    for r in p["rows"]}  # fmt: skip
        full.append(upserted)
        await real(statements)

    graph.backend.write = spy  # type: ignore[method-assign]
    try:
        for step in range(14):  # a flush every 5 s for 65 s, every node beating each time
            for n, node in enumerate(fleet):
                beat = heartbeat(step * 100 + n, NOW + 5 * step, health={"cpu_percent": step})
                upkeep.offer(*commit(storage, [beat], node=node))
            await upkeep.flush()
            now[0] += 5.0
    finally:
        await backend.close()
        storage.close_writer()
        storage.close()
    assert full[0] == set(fleet)  # all new: all in full
    refreshes = full[1:]
    assert max(len(f) for f in refreshes) <= len(fleet) // 3  # never the whole fleet at once
    assert set().union(*refreshes[:12]) == set(fleet)  # each again within the minute


async def test_a_steady_flush_is_a_few_statements_and_full_rewrites_fall_in_few_flushes(
    tmp_path: Path,
):
    """Each statement has a fixed cost whatever its rows: over a minute of steady heartbeats
    (health and use changing, a new episode each flush), a flush without a node's full
    rewrite is the keyed updates and the new episodes' writes only, and the fleet's full
    rewrites fall in at most REFRESH_SLOTS of the minute's flushes, not a few nodes in each."""
    storage = SqliteStorage(tmp_path / "a.db")
    storage.open_writer()
    backend = await LadybugBackend.open(None)
    graph = KnowledgeGraph(backend, load_catalogue())
    now = [1000.0]
    upkeep = GraphUpkeep(graph, storage, flush_s=5, ticker=lambda: now[0])
    await upkeep.start()
    fleet = [f"rack-{n}" for n in range(60)]
    flushes: list[list[str]] = []
    real = graph.backend.write

    async def spy(statements):
        flushes.append([s for s, _ in statements])
        await real(statements)

    graph.backend.write = spy  # type: ignore[method-assign]
    try:
        for step in range(13):  # a flush every 5 s for 65 s
            for n, node in enumerate(fleet):
                pods = [{"name": "camera", "namespace": "vision", "cpu_percent": 40.0 + step}]
                beat = heartbeat(step * 100 + n, NOW + 5 * step, health={"cpu_percent": step},
                                 workloads=pods)  # fmt: skip
                upkeep.offer(*commit(storage, [beat], node=node))
            upkeep.offer(*commit(storage, [episode_event(step + 1, NOW + 5 * step)]))
            await upkeep.flush()
            now[0] += 5.0
    finally:
        await backend.close()
        storage.close_writer()
        storage.close()
    upsert = graph.statement("upsert_nodes")[0]
    steady = flushes[1:13]  # the minute after the fleet's first write
    assert len(steady) == 12
    light = [f for f in steady if upsert not in f]
    assert len(steady) - len(light) <= REFRESH_SLOTS
    assert light
    assert max(len(f) for f in light) <= 5  # health, use, the new episodes' (sensor, place, upsert)
    assert sum(len(f) for f in steady) <= 12 * 6 + REFRESH_SLOTS * 14


async def test_a_steady_flush_reads_storage_once_and_writes_new_episodes_in_one_statement(
    tmp_path: Path,
):
    """The bench's load in small: every node beats with its workload's use changing and has an
    open episode of its own sensor, a new one every other flush. Each flush reads the episodes
    ingest touched from storage in one read, not one per episode; a flush without a node's full
    rewrite is the workloads' use and the episodes only, the new ones in one statement (no
    sensor or place MERGE: their nodes' full writes put them there), and each episode is linked
    to its sensor and location all the same."""
    storage = SqliteStorage(tmp_path / "a.db")
    storage.open_writer()
    backend = await LadybugBackend.open(None)
    graph = KnowledgeGraph(backend, load_catalogue())
    now = [1000.0]
    upkeep = GraphUpkeep(graph, storage, flush_s=5, ticker=lambda: now[0])
    await upkeep.start()
    fleet = [f"rack-{n}" for n in range(20)]
    flushes: list[list[str]] = []
    reads = {"get_episodes": 0, "get_episode": 0}
    real_write, real_many, real_one = graph.backend.write, storage.get_episodes, storage.get_episode
    names = {graph.statement(q)[0]: q for q in graph.catalogue.queries}

    async def spy(statements):
        flushes.append([names[s] for s, _ in statements])
        await real_write(statements)

    def many(ids):
        reads["get_episodes"] += 1
        return real_many(ids)

    def one(eid):
        reads["get_episode"] += 1
        return real_one(eid)

    graph.backend.write = spy  # type: ignore[method-assign]
    storage.get_episodes = many  # type: ignore[method-assign]
    storage.get_episode = one  # type: ignore[method-assign]
    try:
        for step in range(13):  # a flush every 5 s for 65 s
            start = NOW + 100 * ((step + 1) // 2)  # a new episode every other flush
            for n, node in enumerate(fleet):
                pods = [{"name": "camera", "namespace": "vision", "cpu_percent": 40.0 + step}]
                beat = heartbeat(step * 100 + n, NOW + 5 * step, workloads=pods)
                ep = {**episode_event(step + 1, start + 5 * step), "id": f"ep-{step}-{n}",
                      "start": start}  # fmt: skip
                upkeep.offer(*commit(storage, [beat, ep], node=node))
            await upkeep.flush()
            now[0] += 5.0
        assert reads == {"get_episodes": 13, "get_episode": 0}
        light = [f for f in flushes[1:] if "upsert_nodes" not in f]
        assert light
        assert {tuple(f) for f in light} <= {
            ("update_workload_use", "upsert_episodes"),
            ("update_workload_use", "update_episodes"),
        }
        assert ("update_workload_use", "upsert_episodes") in {tuple(f) for f in light}
        assert not any("merge_episode_sensors" in f for f in flushes[1:])
        refreshes = [f for f in flushes[1:] if "upsert_nodes" in f]
        assert refreshes  # a refresh of what is as written unlinks and prunes nothing
        assert not any({"unlink_moved_nodes", "prune_workloads"} & set(f) for f in refreshes)
        for node in fleet:
            ctx = await graph.sensor_context(f"{node}/dht22-1")
            assert ctx is not None
            assert len(ctx["episodes"]) == 7  # one per start, each OBSERVED_BY its sensor
            assert {e["location"] for e in ctx["episodes"]} == {"warehouse"}
        place = await graph.location_context("warehouse")
        assert place is not None
        assert len(place["episodes"]) >= 10  # AT their location too
    finally:
        await backend.close()
        storage.close_writer()
        storage.close()


async def test_the_touched_episodes_are_read_in_one_go_and_a_vanished_one_is_skipped(parts):
    storage, _graph, _upkeep = parts
    _, first = commit(storage, [episode_event(1, NOW)])
    _, other = commit(storage, [{**episode_event(1, NOW + 9), "id": "x", "start": NOW + 5}])
    ids = [*first.episodes, *other.episodes]
    assert len(set(ids)) == 2
    found = storage.get_episodes([*ids, "ep-not-stored"])
    assert sorted(r.id for r in found) == sorted(ids)
    assert [r.start for r in storage.get_episodes(ids[1:])] == [NOW + 5]
    assert storage.get_episodes([]) == []


async def test_a_node_that_moved_is_unlinked_from_its_old_place_by_the_upkeep(parts):
    storage, graph, upkeep = parts
    upkeep.offer(*commit(storage, [heartbeat(1, NOW, workloads=["edge-reporter", "old"])]))
    await upkeep.flush()
    moved = commit(storage, [heartbeat(2, NOW + 60, workloads=["edge-reporter"])])
    upkeep.offer(moved[0].__class__("homelab", "pi-node-1", "loading-bay", moved[0].events,
                                    moved[0].received_at), moved[1])  # fmt: skip
    await upkeep.flush()
    ctx = await graph.node_context("pi-node-1")
    assert ctx is not None
    assert ctx["location"] == "loading-bay"
    assert [w["name"] for w in ctx["workloads"]] == ["edge-reporter"]
    old = await graph.location_context("warehouse")
    assert old is not None
    assert old["nodes"] == []
