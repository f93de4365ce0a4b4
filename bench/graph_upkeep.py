"""What the graph's upkeep costs ingest: two real `agent-bruno serve` processes, one with the
graph and one without (AGENT_BRUNO_GRAPH_ENABLED=false), driven in turns (ABBA…) by the same
closed-loop load of heartbeat requests from 100 nodes, every tenth also carrying an episode.

Per run: requests per second, and the server's CPU time per request (utime + stime from
/proc, read by the load generator at the start and end of its measured window), which a loaded
machine disturbs far less than throughput. Each window is two graph flush periods (flushes are
5 s apart by default), so every run holds the same number of flushes (an 8 s window held one or
two, a spread of its own) and pays for the upkeep it caused. Before the measured runs each server
takes one unmeasured run (the graph's first write of the fleet, warm caches): the figures are
the steady state, medians of RUNS alternating pairs (ABBA…), each pair in the other order.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from agent_bruno.localrun import free_port, serve_agent
from bench.bench_ingest import _connection, _request
from bench.common import percentile

NODES = 100
CONNECTIONS = 16
SECONDS = 10.0  # two flush periods (AGENT_BRUNO_GRAPH_FLUSH_S, 5 s by default)
RUNS = 8
WARMUP_SECONDS = 1.0


def token(n: int) -> str:
    """The reporter token of bench node `n`."""
    return f"bench-graph-node-{n:03d}-7f3a9c2e"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Heartbeats:
    """Heartbeat requests from NODES nodes; every tenth also carries an episode update."""

    def __init__(self, run: int) -> None:
        self.run = run
        self.base = float(int(time.time()) - 3600)

    def __call__(self, seq: int, worker: int) -> bytes:
        """The `seq`-th request of `worker`."""
        node = (worker * 7 + seq) % NODES
        ts = self.base + seq * 0.001 + worker * 1e-6
        events = [
            f'{{"id":"hb-{self.run}-{worker}-{seq}","type":"heartbeat","ts":{ts:.6f},'
            '"interval_s":60,"health":{"cpu_percent":41.5,"memory_percent":52.0,'
            '"load_1m":0.8},"sensors":[{"sensor":"dht22-1","metric":"temperature",'
            '"unit":"°C"},{"sensor":"dht22-1","metric":"humidity","unit":"%"}],'
            '"workloads":["edge-reporter","mosquitto",{"name":"camera-5-video",'
            f'"namespace":"vision","kind":"pod","cpu_percent":{40 + seq % 50}.5,'
            '"memory_mib":600.0}]}'
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
        return _request("/v1/events", token(node), "application/json", body.encode())


async def _drive(port: int, pid: int, run: int, connections: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    make = Heartbeats(run)
    start = time.perf_counter()
    warm = start + WARMUP_SECONDS
    deadline = warm + SECONDS

    async def window() -> tuple[float, float]:
        await asyncio.sleep(warm - time.perf_counter())
        first = cpu_seconds(pid)
        await asyncio.sleep(deadline - time.perf_counter())
        return first, cpu_seconds(pid)

    clock = asyncio.ensure_future(window())
    await asyncio.gather(
        *(_connection(port, w, make, warm, deadline, latencies, errors) for w in range(connections))
    )
    first, last = await clock
    latencies.sort()
    measured = time.perf_counter() - warm
    return {
        "rps": len(latencies) / measured,
        "cpu_us_per_request": (last - first) / max(1, len(latencies)) * 1e6,
        "p99_ms": percentile(latencies, 99) * 1000 if latencies else float("inf"),
        "errors": len(errors),
        "sample": errors[:1],
    }


def _generator(port: int, pid: int, run: int, connections: int, out: Any) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    out.put(asyncio.run(_drive(port, pid, run, connections)))


def _measure(port: int, pid: int, run: int, connections: int = CONNECTIONS) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_generator, args=(port, pid, run, connections, queue))
    proc.start()
    try:
        result: dict[str, Any] = queue.get(timeout=SECONDS + 120)
    finally:
        proc.join(30)
    return result


def measure(runs: int = RUNS) -> dict[str, list[dict[str, Any]]]:
    """Alternate the two servers under the same load (ABBA…); each run's figures."""
    tokens = ",".join(f"bn-{n}={token(n)}" for n in range(NODES))
    with tempfile.TemporaryDirectory(prefix="bench-upkeep-") as tmp:
        servers = {}
        for name, enabled in (("with", "true"), ("without", "false")):
            port = free_port()
            env = {"AGENT_BRUNO_REPORTER_TOKENS": tokens, "AGENT_BRUNO_GRAPH_ENABLED": enabled}
            data = Path(tmp) / name
            data.mkdir()
            servers[name] = (port, serve_agent(data, port, env))
        results: dict[str, list[dict[str, Any]]] = {"with": [], "without": []}
        try:
            for name in ("with", "without"):  # warm-up, not measured
                port, proc = servers[name]
                _measure(port, proc.pid, -1)
            for run in range(runs):
                order = ("with", "without") if run % 2 == 0 else ("without", "with")
                for name in order:
                    port, proc = servers[name]
                    results[name].append(_measure(port, proc.pid, run))
        finally:
            for _, proc in servers.values():
                proc.terminate()
                proc.wait(30)
    return results


if __name__ == "__main__":
    import json
    import sys

    out = measure(int(sys.argv[1]) if sys.argv[1:] else RUNS)
    print(json.dumps(out, indent=1))
