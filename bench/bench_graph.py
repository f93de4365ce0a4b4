"""The knowledge graph: queries at size on LadybugDB, and what its upkeep costs ingest.

- `context`, `similar`: a Ladybug graph of 10,000 sensors (1,000 nodes × 10, 50 locations,
  3 workloads per node), 100,000 episodes and 1,000 incidents with 40 shared root causes
  (bench/graph_fixture.py: bulk-loaded once with `COPY FROM`, the same graph the upkeep's
  catalogue writes build, and cached under bench/.cache; each run measures a fresh copy); then
  the context of a random sensor (node, location, workloads, last 10 episodes, related
  incidents) and the similar-incident search for a random episode, each timed in-process; then
  graph questions in words ("Why is node-7 under high load?", "What happened in loc-3
  before?", "What runs on node-7?", …) through the built-in agent on that graph and SQLite
  holding every node's heartbeat, one at a time, in-process (`AgentService.ask`, what
  `POST /query` runs, without the HTTP layer).
- `upkeep` (bench/graph_upkeep.py): two real `agent-bruno serve` processes, one with the graph
  and one without (AGENT_BRUNO_GRAPH_ENABLED=false), driven in turns by the same closed-loop
  load of heartbeat requests from 100 nodes, every tenth also carrying an anomaly episode, after
  one unmeasured warm-up run each; the figures are the throughput with the graph over without,
  and the server's CPU per request without over with, medians of 8 alternating pairs, and the
  heartbeat requests per second with the graph beside those without it (what limits that rate
  is the ingest path itself when the two are close).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from agent_bruno.knowledge.catalogue import load_catalogue
from agent_bruno.knowledge.ladybug_backend import LadybugBackend
from agent_bruno.knowledge.service import KnowledgeGraph
from agent_bruno.localrun import free_port, serve_agent
from agent_bruno.storage.base import EventsWrite
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.wire import (
    AggregateEvent,
    HeartbeatEvent,
    NodeHealth,
    SensorInfo,
    WorkloadInfo,
)
from bench import graph_upkeep
from bench.common import Figure, percentile
from bench.graph_fixture import METRICS, UNITS, Facts, Size, generate, graph_copy

SIZE = Size()  # 1,000 nodes × 10 sensors, 50 locations, 100,000 episodes, 1,000 incidents
NODES, LOCATIONS = SIZE.nodes, SIZE.locations
CONTEXT_SAMPLES, SIMILAR_SAMPLES = 500, 300
UPKEEP_RUNS = 8


async def _queries() -> dict[str, Any]:
    """Open a copy of the cached graph (built first if absent) and time the queries."""
    rng = random.Random(11)
    facts = generate(SIZE)
    with tempfile.TemporaryDirectory(prefix="bench-graph-") as tmp:
        started = time.perf_counter()
        path, built = await graph_copy(SIZE, facts, Path(tmp))
        prepare_s = time.perf_counter() - started
        backend = await LadybugBackend.open(path)
        graph = KnowledgeGraph(backend, load_catalogue())
        counts = await graph.counts()
        keys = facts.sensor_keys
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
        for episode in rng.sample(facts.episodes, SIMILAR_SAMPLES):
            t = time.perf_counter()
            offered += bool(await graph.similar_incidents(episode, utc))
            similar.append(time.perf_counter() - t)
        await backend.close()
        asked = await _ask(facts, Path(tmp), rng)
    context.sort()
    similar.sort()
    return {
        "prepared": f"{'built and cached' if built else 'copied from the cache'} in "
        f"{prepare_s:.1f} s",
        "counts": counts,
        "context": context,
        "similar": similar,
        "offered": offered,
        **asked,
    }


GRAPH_QUESTIONS = (
    "Why is {node} under high load?",
    "What happened in {location} before?",
    "What runs on {node}?",
    "what's wrong with {node}?",
    "which pods are deployed on {node}",
    "any past incidents in {location}?",
)
GRAPH_TOOLS = ("graph_context", "workloads", "incidents", "similar_incidents")
ASK_SAMPLES = 200


API_TOKEN = "bench-graph-api-3c9e1f2a7b4d"


def _store_heartbeats(path: Path, facts: Facts) -> None:
    """SQLite with every node's heartbeat (its sensors and workloads as in the graph; a third
    of the nodes busy) and a reading each, as the agent holds them."""
    storage = SqliteStorage(path)
    storage.open_writer()
    now = time.time()
    writes = []
    for n, f in enumerate(facts.nodes):
        beat = HeartbeatEvent(
            id=f"hb-{f.node}", type="heartbeat", ts=now - 30, interval_s=60.0,
            health=NodeHealth(cpu_percent=94.0 if n % 3 == 0 else 20.0, load_1m=3.5),
            sensors=[SensorInfo(sensor=x.sensor, metric=x.metric, unit=x.unit) for x in f.sensors],
            workloads=[
                WorkloadInfo(name=w.name, namespace=w.namespace, kind="pod", image=w.image,
                             cpu_percent=w.cpu_percent, memory_mib=w.memory_mib)
                for w in f.workloads
            ],
        )  # fmt: skip
        agg = AggregateEvent(
            id=f"agg-{f.node}", type="aggregate", ts=now - 30, sensor="s0", metric=METRICS[0],
            unit=UNITS[METRICS[0]], start=now - 90, end=now - 30, count=4, min=20.0, max=22.0,
            mean=21.0, last=21.5,
        )  # fmt: skip
        writes.append(EventsWrite(f.cluster, f.node, f.location, [beat, agg], now))
    for i in range(0, len(writes), 100):
        storage.apply_batch(writes[i : i + 100])
    storage.close_writer()
    storage.close()


def _query_request(question: str) -> bytes:
    body = question.encode()
    return (
        f"POST /query HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {API_TOKEN}\r\n"
        f"Accept: application/json\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[bytes, bytes]:
    """One keep-alive HTTP/1.1 exchange: the response head and body."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line[15:]) for line in head.split(b"\r\n") if line[:15].lower() == b"content-length:"
    )
    return head, await reader.readexactly(length)


async def _wait_reconciled(port: int) -> None:
    """Until the agent's graph upkeep has reconciled with storage once (it does at start)."""
    deadline = time.monotonic() + 180
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        while time.monotonic() < deadline:
            graph = (await client.get("/readyz")).json().get("graph") or {}
            if graph.get("last_reconcile"):
                return
            await asyncio.sleep(0.5)
    raise RuntimeError("the agent's graph upkeep did not reconcile within 180 s")


async def _ask(facts: Facts, tmp: Path, rng: random.Random) -> dict[str, Any]:
    """Graph questions in words to `POST /query` of a real `agent-bruno serve` (built-in
    understanding, no model) over a copy of the graph and SQLite with every node's heartbeat,
    one at a time on one keep-alive connection."""
    data = tmp / "serve"
    data.mkdir()
    await graph_copy(SIZE, facts, data)  # the agent's graph.lbdb in its data directory
    await asyncio.to_thread(_store_heartbeats, data / "agent-bruno.db", facts)
    env = {
        "AGENT_BRUNO_API_TOKEN": API_TOKEN,
        "AGENT_BRUNO_TIMEZONE": "UTC",
        "AGENT_BRUNO_QUESTIONS_PER_CLIENT_PER_MIN": "1000000",
    }
    port = free_port()
    server = await asyncio.to_thread(serve_agent, data, port, env)
    questions = [
        rng.choice(GRAPH_QUESTIONS).format(
            node=f"node-{rng.randrange(NODES)}", location=f"loc-{rng.randrange(LOCATIONS)}"
        )
        for _ in range(ASK_SAMPLES + 20)
    ]
    times, grounded, errors = [], 0, []
    try:
        await _wait_reconciled(port)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i, q in enumerate(questions):
            t = time.perf_counter()
            head, body = await _exchange(reader, writer, _query_request(q))
            elapsed = time.perf_counter() - t
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(f"{q!r}: {head.split(b' ', 2)[1].decode()} {body[:200].decode()}")
                continue
            if i >= 20:  # the first ones warm the caches
                times.append(elapsed)
                calls = json.loads(body).get("calls") or []
                grounded += any(c.get("name") in GRAPH_TOOLS for c in calls)
        writer.close()
    finally:
        server.terminate()
        await asyncio.to_thread(server.wait, 30)
    if errors:
        raise RuntimeError(f"{len(errors)} graph questions failed, e.g. {errors[0]}")
    times.sort()
    return {"asked": times, "grounded": grounded}


def run() -> list[Figure]:
    """Both parts; figures against the issue's targets."""
    load = os.getloadavg()[0]
    q = asyncio.run(_queries())
    size = (
        f"{q['counts'].get('Sensor', 0):,} sensors, {q['counts'].get('Episode', 0):,} episodes, "
        f"{q['counts'].get('Incident', 0):,} incidents ({q['prepared']}); load average "
        f"{load:.1f} before, {os.getloadavg()[0]:.1f} after on {os.cpu_count()} CPUs"
    )
    print(
        f"  graph queries: {size}; context p50/p99 "
        f"{percentile(q['context'], 50) * 1000:.1f}/{percentile(q['context'], 99) * 1000:.1f} ms, "
        f"similar p50/p99 {percentile(q['similar'], 50) * 1000:.1f}/"
        f"{percentile(q['similar'], 99) * 1000:.1f} ms",
        file=sys.stderr,
        flush=True,
    )
    up = graph_upkeep.measure(UPKEEP_RUNS)
    with_rps = [r["rps"] for r in up["with"]]
    without_rps = [r["rps"] for r in up["without"]]
    ratios = [w / o for w, o in zip(with_rps, without_rps, strict=True)]
    cpu_with = [r["cpu_us_per_request"] for r in up["with"]]
    cpu_without = [r["cpu_us_per_request"] for r in up["without"]]
    cpu_ratios = [o / w for w, o in zip(cpu_with, cpu_without, strict=True)]
    errors = sum(r["errors"] for r in up["with"] + up["without"])
    note = (
        f"{graph_upkeep.CONNECTIONS} connections, {graph_upkeep.NODES} nodes, an episode every "
        f"10th request, {graph_upkeep.SECONDS:.0f} s runs in turns (ABBA) after a warm-up run "
        f"each; req/s with the graph "
        f"{', '.join(f'{v:,.0f}' for v in with_rps)}, without "
        f"{', '.join(f'{v:,.0f}' for v in without_rps)}; server CPU µs per request with "
        f"{', '.join(f'{v:.0f}' for v in cpu_with)}, without "
        f"{', '.join(f'{v:.0f}' for v in cpu_without)}; {errors} non-200; load average "
        f"before {load:.1f} on {os.cpu_count()} CPUs"
    )
    asked = q["asked"]
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
            "graph_upkeep_ingest_cpu_ratio",
            statistics.median(cpu_ratios),
            "without/with",
            (">=", 0.95),
            "the server's CPU per request without the graph over with it (what the upkeep costs "
            "ingest, less disturbed by a loaded machine than throughput); runs "
            f"{', '.join(f'{r:.3f}' for r in cpu_ratios)}; {note}",
        ),
        Figure(
            "graph_question_builtin_p50_ms",
            percentile(asked, 50) * 1000,
            "ms",
            ("<=", 25),
            f"p99 {percentile(asked, 99) * 1000:.1f} ms; {len(asked)} graph questions ("
            + " / ".join(repr(t) for t in GRAPH_QUESTIONS)
            + f") to POST /query of agent-bruno serve (built-in, no model), one at a time on "
            f"a keep-alive connection; {q['grounded']} answered from the graph's tools; {size}",
        ),
        Figure(
            "graph_question_builtin_p99_ms",
            percentile(asked, 99) * 1000,
            "ms",
            ("<=", 150),
            f"p50 {percentile(asked, 50) * 1000:.1f} ms; see graph_question_builtin_p50_ms",
        ),
        Figure(
            "graph_upkeep_heartbeats_per_s",
            statistics.median(with_rps),
            "heartbeats/s",
            (">=", 1000),
            "heartbeat requests per second the agent took with the graph on (median of "
            f"{len(with_rps)} runs), {statistics.median(without_rps):,.0f}/s without it in the "
            "same run (when the two are close, the ingest path, not the graph, is the limit); "
            + note,
        ),
    ]


if __name__ == "__main__":
    if sys.argv[1:] == ["upkeep"]:  # only the upkeep part (a quick re-check)
        print(graph_upkeep.measure(UPKEEP_RUNS))
    else:
        for figure in run():
            print(figure)
