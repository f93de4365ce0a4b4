"""Ingest throughput and latency of the real `agent-bruno serve` process on this machine.

Starts the server as a subprocess (127.0.0.1, temp data dir) and drives it from a separate
load-generator process: raw HTTP/1.1 keep-alive connections on asyncio (uvloop when present),
so the generator costs far less CPU than the server it measures. Each connection is a closed
loop (send, wait for the answer, send the next). Reports medians of a few runs.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_bruno.localrun import free_port, serve_agent
from bench.common import Figure, percentile

REPORTER_TOKEN = "bench-reporter-4c8e1f7a9b2d"
API_TOKEN = "bench-api-9e2b6d4f1a7c3e5b"
RUNS = 3
SINGLE_CONNECTIONS = 16
SINGLE_SECONDS = 4.0
BATCH_CONNECTIONS = 1  # a backfill client; two only queue behind each other (CPU-bound)
BATCH_SECONDS = 4.0
BATCH_SIZE = 5_000
SENSORS = 10
WARMUP_SECONDS = 1.0

Result = dict[str, Any]


def _request(path: str, token: str, content_type: str, body: bytes) -> bytes:
    """One raw HTTP/1.1 keep-alive POST."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class _SingleEvents:
    """Batches holding one 5-minute aggregate each, with unique idempotency keys."""

    def __init__(self, run: int) -> None:
        self._run = run
        self._base = float(int(time.time() // 300) * 300 - 10 * 86_400)

    def __call__(self, seq: int, worker: int) -> bytes:
        """The `seq`-th request of `worker`."""
        start = self._base + (seq % 2_000) * 300.0
        event = (
            f'{{"id":"r{self._run}-w{worker}-{seq}","type":"aggregate","ts":{start + 300},'
            f'"sensor":"dht22-{worker}","metric":"temperature","unit":"°C","start":{start},'
            f'"end":{start + 300},"count":60,"min":20.5,"max":22.5,"mean":21.4,"last":21.9}}'
        )
        body = (
            '{"schema_version":1,"reporter":{"node":"bench-node","location":"lab",'
            f'"cluster":"bench"}},"events":[{event}]}}'
        )
        return _request("/v1/events", REPORTER_TOKEN, "application/json", body.encode())


class _Batches:
    """Backfills of BATCH_SIZE readings (10 sensors, 1 Hz) built from byte templates.

    Each call shifts the timestamps, so no request repeats another; building one takes ~2 ms
    and overlaps with the server's work on the previous request.
    """

    def __init__(self, run: int, workers: int) -> None:
        self._base = int(time.time()) - 20 * 86_400
        self._offsets = [i // SENSORS for i in range(BATCH_SIZE)]
        self._prefixes = [
            [
                (
                    f'{{"node":"bulk-{run}-{w}","location":"lab","sensor":"s{i % SENSORS}",'
                    f'"metric":"temperature","value":{20.0 + (i % 37) * 0.1:.1f},"unit":"°C","ts":'
                ).encode()
                for i in range(BATCH_SIZE)
            ]
            for w in range(workers)
        ]

    def __call__(self, seq: int, worker: int) -> bytes:
        """The `seq`-th body of `worker`."""
        base = self._base + seq * (BATCH_SIZE // SENSORS)
        rows = b",".join(
            p + b"%d}" % (base + o)
            for p, o in zip(self._prefixes[worker], self._offsets, strict=True)
        )
        return _request("/v1/readings", API_TOKEN, "application/json", b"[" + rows + b"]")


async def _connection(
    port: int,
    worker: int,
    make: Callable[[int, int], bytes],
    deadline_warm: float,
    deadline: float,
    latencies: list[float],
    errors: list[str],
) -> None:
    """Send requests back to back on one connection until the deadline."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = make(0, worker)
    seq = 1
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(payload)
            payload = make(seq, worker)  # built while the server works on this one
            seq += 1
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            elapsed = time.perf_counter() - started
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(head.split(b"\r\n", 1)[0].decode() + " " + body[:200].decode())
            elif started >= deadline_warm:
                latencies.append(elapsed)
    finally:
        writer.close()


async def _drive(port: int, kind: str, run: int, connections: int, seconds: float) -> Result:
    """Run `connections` closed-loop clients; return rate, p99 and errors."""
    make: Callable[[int, int], bytes] = _SingleEvents(run)
    if kind == "batch":
        make = _Batches(run, connections)
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    warm_until = start + WARMUP_SECONDS
    deadline = warm_until + seconds
    await asyncio.gather(
        *(
            _connection(port, w, make, warm_until, deadline, latencies, errors)
            for w in range(connections)
        )
    )
    measured = time.perf_counter() - warm_until
    latencies.sort()
    return {
        "requests_per_s": len(latencies) / measured,
        "p99_ms": percentile(latencies, 99) * 1000 if latencies else float("inf"),
        "errors": errors[:3],
        "error_count": len(errors),
    }


def _generator(port: int, kind: str, run: int, connections: int, seconds: float, out: Any) -> None:
    """Load-generator process entry point."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # plain asyncio is slower but still correct
        pass
    out.put(asyncio.run(_drive(port, kind, run, connections, seconds)))


def _measure(port: int, kind: str, run: int, connections: int, seconds: float) -> Result:
    """Run one load-generator process and collect its result."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_generator, args=(port, kind, run, connections, seconds, queue))
    proc.start()
    try:
        result: Result = queue.get(timeout=seconds + 120)
    except Exception as exc:
        raise RuntimeError(
            f"the {kind} load generator gave no result (exit code {proc.exitcode}); "
            "see its traceback above"
        ) from exc
    finally:
        proc.join(30)
    return result


def run() -> list[Figure]:
    """Measure single-event and batch ingest against a fresh server; medians of RUNS runs."""
    singles: list[Result] = []
    batches: list[Result] = []
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        port = free_port()
        server = serve_agent(
            Path(tmp),
            port,
            {
                "AGENT_BRUNO_REPORTER_TOKENS": f"bench-node={REPORTER_TOKEN}",
                "AGENT_BRUNO_API_TOKEN": API_TOKEN,
            },
        )
        try:
            for run in range(RUNS):
                singles.append(_measure(port, "single", run, SINGLE_CONNECTIONS, SINGLE_SECONDS))
                batches.append(_measure(port, "batch", run, BATCH_CONNECTIONS, BATCH_SECONDS))
        finally:
            server.terminate()
            server.wait(30)
    errors = sum(r["error_count"] for r in singles + batches)
    sample = next((e for r in singles + batches for e in r["errors"]), "")
    note = f"{errors} non-200 answers (e.g. {sample})" if errors else "all answers 200"
    note += f"; load average before the runs {load:.1f} on {os.cpu_count()} CPUs"
    rps = [r["requests_per_s"] for r in singles]
    readings = [r["requests_per_s"] * BATCH_SIZE for r in batches]
    detail_single = f"{SINGLE_CONNECTIONS} keep-alive connections, runs {_fmt(rps)}; {note}"
    detail_batch = (
        f"{BATCH_SIZE}-reading JSON batches, {BATCH_CONNECTIONS} connections, "
        f"runs {_fmt(readings)}; {note}"
    )
    return [
        Figure(
            "ingest_single_event_rps", statistics.median(rps), "req/s", (">=", 2500), detail_single
        ),
        Figure(
            "ingest_single_event_p99_ms",
            statistics.median(r["p99_ms"] for r in singles),
            "ms",
            ("<=", 50),
            detail_single,
        ),
        Figure(
            "ingest_batch_readings_per_s",
            statistics.median(readings),
            "readings/s",
            (">=", 100_000),
            detail_batch,
        ),
        Figure(
            "ingest_batch_p99_ms",
            statistics.median(r["p99_ms"] for r in batches),
            "ms",
            ("<=", 50),
            detail_batch,
        ),
    ]


def _fmt(values: list[float]) -> str:
    """Run values, rounded, for the detail text."""
    return ", ".join(f"{v:,.0f}" for v in values)


if __name__ == "__main__":
    for figure in run():
        print(figure)
