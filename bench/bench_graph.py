"""The knowledge graph: queries at size on LadybugDB, and what its upkeep costs ingest.

- `context`, `similar`: a Ladybug graph of 10,000 sensors (1,000 nodes × 10, 50 locations,
  3 workloads per node), 100,000 episodes and 1,000 incidents with 40 shared root causes, built
  through the same catalogue writes the upkeep uses; then the context of a random sensor (node,
  location, workloads, last 10 episodes, related incidents) and the similar-incident search for
  a random episode, each timed in-process.
- `upkeep`: two real `agent-bruno serve` processes, one with the graph and one without
  (AGENT_BRUNO_GRAPH_ENABLED=false), driven alternately by the same closed-loop load of
  heartbeat requests from 100 nodes, every tenth also carrying an anomaly episode event; the
  figure is the throughput with the graph over the throughput without, medians of the runs.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agent_bruno.knowledge.catalogue import load_catalogue
from agent_bruno.knowledge.ladybug_backend import LadybugBackend
from agent_bruno.knowledge.model import (
    EpisodeFact,
    IncidentInput,
    NodeFact,
    RootCauseInput,
    SeriesFact,
    WorkloadFact,
    sensor_key,
)
from agent_bruno.knowledge.service import KnowledgeGraph
from agent_bruno.localrun import free_port, serve_agent
from bench.bench_ingest import _connection, _request
from bench.common import Figure, percentile

NODES, SENSORS_PER_NODE, LOCATIONS = 1_000, 10, 50
EPISODES, INCIDENTS, CAUSES = 100_000, 1_000, 40
METRICS = ("temperature", "humidity", "pressure", "co2", "cpu_percent")
UNITS = {"temperature": "°C", "humidity": "%", "pressure": "hPa", "co2": "ppm", "cpu_percent": "%"}
CONTEXT_SAMPLES, SIMILAR_SAMPLES = 500, 300
T0 = 1_764_000_000.0
DAY = 86_400.0
UPKEEP_NODES = 100
UPKEEP_CONNECTIONS = 16
UPKEEP_SECONDS = 4.0
UPKEEP_RUNS = 3
WARMUP_SECONDS = 1.0


def _facts(rng: random.Random) -> tuple[list[NodeFact], list[EpisodeFact]]:
    """Nodes with sensors and workloads, and episodes spread over 90 days."""
    nodes = []
    for n in range(NODES):
        sensors = tuple(
            SeriesFact(f"s{s}", METRICS[s % len(METRICS)], UNITS[METRICS[s % len(METRICS)]])
            for s in range(SENSORS_PER_NODE)
        )
        work = tuple(
            WorkloadFact(f"app-{w}", "apps", "pod", f"img:{w}", rng.uniform(1, 60), 128.0 * w)
            for w in range(3)
        )
        nodes.append(
            NodeFact(
                f"node-{n}",
                "homelab",
                f"loc-{n % LOCATIONS}",
                T0,
                300.0,
                {"cpu_percent": rng.uniform(5, 95), "load_1m": rng.uniform(0, 4)},
                sensors,
                work,
            )
        )
    episodes = []
    for i in range(EPISODES):
        n, s = rng.randrange(NODES), rng.randrange(SENSORS_PER_NODE)
        metric = METRICS[s % len(METRICS)]
        start = T0 - rng.uniform(0, 90 * DAY)
        minutes = rng.uniform(5, 120)
        episodes.append(
            EpisodeFact(
                f"ep-{i}",
                "homelab",
                f"node-{n}",
                f"loc-{n % LOCATIONS}",
                f"s{s}",
                metric,
                UNITS[metric],
                rng.choice(("process_anomaly", "sensor_fault")),
                "spike",
                rng.choice(("warning", "critical")),
                start,
                start + minutes * 60,
                start + minutes * 60,
                rng.randint(1, 20),
                30.0,
                rng.uniform(-8, 8),
                "bench",
                start + minutes * 60,
            )
        )
    return nodes, episodes


async def _build(graph: KnowledgeGraph, rng: random.Random) -> tuple[list[str], list[EpisodeFact]]:
    """Write the graph; returns the sensor keys and the episodes."""
    nodes, episodes = _facts(rng)
    for i in range(0, len(nodes), 200):
        await graph.write(graph.node_statements(nodes[i : i + 200]))
    for i in range(0, len(episodes), 5_000):
        await graph.write(graph.episode_statements(episodes[i : i + 5_000]))
    causes = [f"cause number {c}" for c in range(CAUSES)]
    for k in range(INCIDENTS):
        first = episodes[rng.randrange(EPISODES)]
        linked = (first.id, episodes[rng.randrange(EPISODES)].id)
        await graph.record_incident(
            IncidentInput(
                first.location,
                first.started,
                status="resolved",
                root_cause=RootCauseInput(causes[k % CAUSES], recommendation="do the fix"),
                episodes=linked,
            ),
            "bench",
            T0,
        )
    keys = [sensor_key(f"node-{n}", f"s{s}") for n in range(NODES) for s in range(SENSORS_PER_NODE)]
    return keys, episodes


async def _queries() -> dict[str, Any]:
    """Build the graph in a temp directory and time the two queries."""
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="bench-graph-") as tmp:
        backend = await LadybugBackend.open(Path(tmp) / "graph.lbdb")
        graph = KnowledgeGraph(backend, load_catalogue())
        await graph.apply_schema()
        started = time.perf_counter()
        keys, episodes = await _build(graph, rng)
        build_s = time.perf_counter() - started
        counts = await graph.counts()
        for key in rng.sample(keys, 20):  # warm the statement caches
            await graph.sensor_context(key)
        context = []
        for key in rng.sample(keys, CONTEXT_SAMPLES):
            t = time.perf_counter()
            found = await graph.sensor_context(key)
            context.append(time.perf_counter() - t)
            assert found is not None
        utc = ZoneInfo("UTC")
        similar, offered = [], 0
        for episode in rng.sample(episodes, SIMILAR_SAMPLES):
            t = time.perf_counter()
            offered += bool(await graph.similar_incidents(episode, utc))
            similar.append(time.perf_counter() - t)
        await backend.close()
    context.sort()
    similar.sort()
    return {
        "build_s": build_s,
        "counts": counts,
        "context": context,
        "similar": similar,
        "offered": offered,
    }


# --- upkeep cost on ingest ----------------------------------------------------------------------


def _token(n: int) -> str:
    return f"bench-graph-node-{n:03d}-7f3a9c2e"


class _Heartbeats:
    """Heartbeat requests from UPKEEP_NODES nodes; every tenth also carries an episode."""

    def __init__(self, run: int) -> None:
        self.run = run
        self.base = float(int(time.time()) - 3600)

    def __call__(self, seq: int, worker: int) -> bytes:
        node = (worker * 7 + seq) % UPKEEP_NODES
        ts = self.base + seq * 0.001 + worker * 1e-6
        events = [
            f'{{"id":"hb-{self.run}-{worker}-{seq}","type":"heartbeat","ts":{ts:.6f},'
            '"interval_s":60,"health":{"cpu_percent":41.5,"memory_percent":52.0,'
            '"load_1m":0.8},"sensors":[{"sensor":"dht22-1","metric":"temperature",'
            '"unit":"°C"},{"sensor":"dht22-1","metric":"humidity","unit":"%"}],'
            '"workloads":["edge-reporter","mosquitto","camera-5-video"]}'
        ]
        if seq % 10 == 0:
            start = self.base - 600.0
            events.append(
                f'{{"id":"ep-{self.run}-{worker}-{seq}","type":"episode","ts":{ts:.6f},'
                '"sensor":"dht22-1","metric":"temperature","unit":"°C","phase":"update",'
                f'"start":{start},"last":{ts:.6f},"kind":"process_anomaly","rule":"spike",'
                f'"severity":"warning","count":1,"readings":{seq + 1},"peak_value":29.5,'
                f'"peak_deviation":4.2,"reason":"bench","revision":{seq + 1}}}'
            )
        body = (
            f'{{"schema_version":1,"reporter":{{"node":"bn-{node}","location":"loc-{node % 10}",'
            f'"cluster":"bench"}},"events":[{",".join(events)}]}}'
        )
        return _request("/v1/events", _token(node), "application/json", body.encode())


async def _drive(port: int, run: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    make = _Heartbeats(run)
    start = time.perf_counter()
    warm = start + WARMUP_SECONDS
    deadline = warm + UPKEEP_SECONDS
    await asyncio.gather(
        *(
            _connection(port, w, make, warm, deadline, latencies, errors)
            for w in range(UPKEEP_CONNECTIONS)
        )
    )
    latencies.sort()
    return {
        "rps": len(latencies) / (time.perf_counter() - warm),
        "p99_ms": percentile(latencies, 99) * 1000 if latencies else float("inf"),
        "errors": len(errors),
        "sample": errors[:1],
    }


def _generator(port: int, run: int, out: Any) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    out.put(asyncio.run(_drive(port, run)))


def _measure(port: int, run: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_generator, args=(port, run, queue))
    proc.start()
    try:
        result: dict[str, Any] = queue.get(timeout=UPKEEP_SECONDS + 120)
    finally:
        proc.join(30)
    return result


def _upkeep() -> dict[str, Any]:
    """Alternate the two servers under the same load; throughput of each run."""
    tokens = ",".join(f"bn-{n}={_token(n)}" for n in range(UPKEEP_NODES))
    with tempfile.TemporaryDirectory(prefix="bench-upkeep-") as tmp:
        servers = {}
        for name, enabled in (("with", "true"), ("without", "false")):
            port = free_port()
            env = {"AGENT_BRUNO_REPORTER_TOKENS": tokens, "AGENT_BRUNO_GRAPH_ENABLED": enabled}
            data = Path(tmp) / name
            data.mkdir()
            proc = serve_agent(data, port, env)
            servers[name] = (port, proc)
        runs: dict[str, list[dict[str, Any]]] = {"with": [], "without": []}
        try:
            for run in range(UPKEEP_RUNS):
                order = ("with", "without") if run % 2 == 0 else ("without", "with")
                for name in order:
                    runs[name].append(_measure(servers[name][0], run))
        finally:
            for _, proc in servers.values():
                proc.terminate()
                proc.wait(30)
    return runs


def run() -> list[Figure]:
    """Both parts; figures against the issue's targets."""
    load = os.getloadavg()[0]
    q = asyncio.run(_queries())
    size = (
        f"{q['counts'].get('Sensor', 0):,} sensors, {q['counts'].get('Episode', 0):,} episodes, "
        f"{q['counts'].get('Incident', 0):,} incidents (built in {q['build_s']:.0f} s)"
    )
    print(
        f"  graph queries: {size}; context p50/p99 "
        f"{percentile(q['context'], 50) * 1000:.1f}/{percentile(q['context'], 99) * 1000:.1f} ms, "
        f"similar p50/p99 {percentile(q['similar'], 50) * 1000:.1f}/"
        f"{percentile(q['similar'], 99) * 1000:.1f} ms",
        file=sys.stderr,
        flush=True,
    )
    up = _upkeep()
    with_rps = [r["rps"] for r in up["with"]]
    without_rps = [r["rps"] for r in up["without"]]
    ratios = [w / o for w, o in zip(with_rps, without_rps, strict=True)]
    errors = sum(r["errors"] for r in up["with"] + up["without"])
    note = (
        f"{UPKEEP_CONNECTIONS} connections, 100 nodes, an episode every 10th request; req/s "
        f"with the graph {', '.join(f'{v:,.0f}' for v in with_rps)}, without "
        f"{', '.join(f'{v:,.0f}' for v in without_rps)}; {errors} non-200; load average "
        f"before {load:.1f} on {os.cpu_count()} CPUs"
    )
    return [
        Figure(
            "graph_sensor_context_p99_ms",
            percentile(q["context"], 99) * 1000,
            "ms",
            ("<=", 20),
            f"p50 {percentile(q['context'], 50) * 1000:.1f} ms over {CONTEXT_SAMPLES}; {size}",
        ),
        Figure(
            "graph_similar_incidents_p99_ms",
            percentile(q["similar"], 99) * 1000,
            "ms",
            ("<=", 50),
            f"p50 {percentile(q['similar'], 50) * 1000:.1f} ms over {SIMILAR_SAMPLES}; "
            f"{q['offered']} found a similar incident; {size}",
        ),
        Figure(
            "graph_upkeep_ingest_throughput_ratio",
            statistics.median(ratios),
            "with/without",
            (">=", 0.95),
            f"runs {', '.join(f'{r:.3f}' for r in ratios)}; {note}",
        ),
        Figure(
            "graph_upkeep_heartbeats_per_s",
            statistics.median(with_rps),
            "heartbeats/s",
            (">=", 1000),
            "heartbeat requests per second the agent took with the graph on; " + note,
        ),
    ]


if __name__ == "__main__":
    if sys.argv[1:] == ["upkeep"]:  # only the upkeep part (a quick re-check)
        print(_upkeep())
    else:
        for figure in run():
            print(figure)
