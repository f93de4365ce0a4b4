"""`POST /query` latency with a million readings stored, and how fast `/chat` sends its first
SSE event, against the real `agent-bruno serve` process in built-in mode (no model).

The database gets 1,000,000 bulk-imported readings (6 nodes, 48 series, one reading every
30 s for a week) plus heartbeats and flagged readings, written through the storage API. A
separate load-generator process runs 20 concurrent keep-alive clients asking a rotating mix
of questions (current values, all readings of a location, anomalies, node health, rankings,
diagnosis, averages over a day):

- paced: each client waits for its answer, then thinks for a random 0–1 s (mean 0.5 s) before
  the next question — 20 people or dashboards asking at once. This is the latency target.
- saturated: no think time, every client sends its next question at once. Latency there is
  20 ÷ throughput; it is reported as the service's capacity, not against the target.

The SSE figure is the time from sending `GET /chat` to receiving the first event, measured
one request at a time.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from agent_bruno.localrun import free_port, serve_agent
from agent_bruno.storage.base import EventsWrite, ReadingsWrite
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.wire import BulkReading, HeartbeatEvent, NodeHealth, ReadingEvent
from bench.common import Figure, percentile

API_TOKEN = "bench-api-5d2c8e1f7a3b9c4d"
READINGS = 1_000_000
CLIENTS = 20
PACED_SECONDS = 12.0
SATURATED_SECONDS = 6.0
WARMUP_SECONDS = 1.0
THINK_MAX_S = 1.0
SSE_REQUESTS = 60
NODES = {
    "pi-node-1": "warehouse",
    "pi-node-2": "warehouse",
    "pi-node-3": "server-room",
    "pi-node-4": "office",
    "pi-node-5": "greenhouse",
    "pi-node-6": "garage",
}
METRICS = (  # (sensor, metric, unit, level)
    ("dht22-1", "temperature", "°C", 21.0),
    ("dht22-1", "humidity", "%", 50.0),
    ("bmp280-1", "pressure", "hPa", 1013.0),
    ("node", "cpu_percent", "%", 20.0),
    ("node", "memory_percent", "%", 40.0),
    ("node", "disk_percent", "%", 50.0),
    ("node", "load_1m", "", 0.5),
    ("node", "soc_temp_c", "°C", 50.0),
)
QUESTIONS = (
    "What's the temperature in the warehouse?",
    "Show me all sensor readings from warehouse Pi nodes in the last hour",
    "Show me sensor anomalies",
    "List all Pi nodes and their health status",
    "Why is pi-node-3 under high load?",
    "which room is warmest?",
    "average humidity in the office yesterday",
    "how many anomalies in the last 24 hours?",
    "temperature trend in the greenhouse since 9am",
    "is the office warmer than the garage?",
)


def build_database(path: Path, now: float) -> int:
    """Write the bench data; return how many readings were stored."""
    storage = SqliteStorage(path)
    storage.open_writer()
    rng = random.Random(7)
    series = [(n, loc, m) for n, loc in NODES.items() for m in METRICS]
    per_series = -(-READINGS // len(series))  # at least READINGS in all
    step = 30.0
    start = now - per_series * step
    stored = 0
    chunk: list[BulkReading] = []
    for i in range(per_series):
        ts = start + i * step
        for node, location, (sensor, metric, unit, level) in series:
            value = round(level + rng.gauss(0, level * 0.02 + 0.1), 2)
            chunk.append(
                BulkReading(ts=ts, node=node, location=location, sensor=sensor, metric=metric,
                            value=max(0.0, value), unit=unit, cluster="homelab")
            )  # fmt: skip
        if len(chunk) >= 48_000:
            stored += _write(storage, ReadingsWrite(chunk))
            chunk = []
    if chunk:
        stored += _write(storage, ReadingsWrite(chunk))
    for k, (node, location) in enumerate(NODES.items()):
        beat = HeartbeatEvent(
            id=f"hb-{node}", type="heartbeat", ts=now, interval_s=60.0,
            health=NodeHealth(cpu_percent=94.0 if node == "pi-node-3" else 20.0,
                              memory_percent=40.0, disk_percent=50.0, soc_temp_c=55.0),
            workloads=["edge-reporter", "frigate"],
        )  # fmt: skip
        flags = [
            ReadingEvent(
                id=f"flag-{node}-{j}",
                type="reading",
                ts=now - 600 * (j + 1) - k,
                sensor="dht22-1",
                metric="temperature",
                unit="°C",
                value=35.0 + j,
                severity="warning",
                score=0.8,
                reason="above its usual range",
            )
            for j in range(5)
        ]
        _write(storage, EventsWrite("homelab", node, location, [beat, *flags], now))
    storage.close_writer()
    storage.close()
    return stored


def _write(storage: SqliteStorage, request: Any) -> int:
    (outcome,) = storage.apply_batch([request])
    if isinstance(outcome, Exception):
        raise outcome
    return int(outcome.accepted)


def _query_request(question: str) -> bytes:
    body = question.encode()
    return (
        f"POST /query HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {API_TOKEN}\r\n"
        f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _client(
    port: int, worker: int, paced: bool, warm: float, deadline: float, out: dict[str, Any]
) -> None:
    """One keep-alive client asking questions until the deadline."""
    rng = random.Random(worker)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    seq = worker
    try:
        while time.perf_counter() < deadline:
            request = _query_request(QUESTIONS[seq % len(QUESTIONS)])
            seq += 1
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line[15:]) for line in head.split(b"\r\n")
                if line[:15].lower() == b"content-length:"
            )  # fmt: skip
            body = await reader.readexactly(length)
            elapsed = time.perf_counter() - started
            out["answered"] += 1
            if not head.startswith(b"HTTP/1.1 200"):
                out["errors"].append(head.split(b"\r\n", 1)[0].decode() + " " + body[:200].decode())
            elif started >= warm:
                out["latencies"].append(elapsed)
            if paced:
                await asyncio.sleep(rng.uniform(0, THINK_MAX_S))
    finally:
        writer.close()


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) the process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _drive(port: int, paced: bool, seconds: float, pid: int) -> dict[str, Any]:
    out: dict[str, Any] = {"latencies": [], "errors": [], "answered": 0}
    cpu_before = server_cpu_s(pid)
    begin = time.perf_counter()
    warm = begin + WARMUP_SECONDS
    deadline = warm + seconds
    await asyncio.gather(*(_client(port, w, paced, warm, deadline, out) for w in range(CLIENTS)))
    cpu_s = server_cpu_s(pid) - cpu_before
    lat = sorted(out["latencies"])
    return {
        "rate": len(lat) / (time.perf_counter() - warm),
        "p50_ms": percentile(lat, 50) * 1000 if lat else float("inf"),
        "p99_ms": percentile(lat, 99) * 1000 if lat else float("inf"),
        "count": len(lat),
        "errors": out["errors"][:3],
        "error_count": len(out["errors"]),
        # The server's CPU per answer (warm-up included): what each question costs it, far less
        # disturbed by a loaded machine than latency.
        "cpu_ms": cpu_s * 1000 / max(1, out["answered"]),
    }


async def _sse_first_event(port: int) -> list[float]:
    """Seconds from sending `GET /chat` to the first SSE event, one request at a time."""
    times = []
    for i in range(SSE_REQUESTS):
        question = quote(QUESTIONS[i % len(QUESTIONS)])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.perf_counter()
        writer.write(
            f"GET /chat?q={question} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n"
            f"Authorization: Bearer {API_TOKEN}\r\nConnection: close\r\n\r\n".encode()
        )
        buffer = b""
        while not _has_event(buffer):
            chunk = await reader.read(4096)
            if not chunk:
                raise RuntimeError(f"/chat closed before its first event: {buffer[:300]!r}")
            buffer += chunk
        times.append(time.perf_counter() - started)
        await reader.read()  # let the run finish before the next request
        writer.close()
    return times


def _has_event(buffer: bytes) -> bool:
    """Whether a whole SSE event (its `event:` line up to the blank line) has arrived."""
    _, found, rest = buffer.partition(b"event:")
    return bool(found) and (b"\r\n\r\n" in rest or b"\n\n" in rest)


def _generator(port: int, pid: int, out: Any) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # plain asyncio is slower but still correct
        pass
    try:
        out.put(
            {
                "sse": asyncio.run(_sse_first_event(port)),
                "paced": asyncio.run(_drive(port, True, PACED_SECONDS, pid)),
                "saturated": asyncio.run(_drive(port, False, SATURATED_SECONDS, pid)),
            }
        )
    except Exception as exc:  # reported by the parent, which would otherwise wait in vain
        out.put({"error": f"{type(exc).__name__}: {exc}"})


def run() -> list[Figure]:
    """Build the million-reading database, serve it, and measure."""
    with tempfile.TemporaryDirectory(prefix="bench-query-") as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        stored = build_database(data_dir / "agent-bruno.db", time.time())
        built_s = time.perf_counter() - started
        port = free_port()
        env = {
            "AGENT_BRUNO_API_TOKEN": API_TOKEN,
            "AGENT_BRUNO_TIMEZONE": "UTC",
            # 20 clients share one token: the per-client limit would answer most of them 429.
            "AGENT_BRUNO_QUESTIONS_PER_CLIENT_PER_MIN": "1000000",
        }
        server = serve_agent(data_dir, port, env)
        try:
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            proc = ctx.Process(target=_generator, args=(port, server.pid, queue))
            proc.start()
            try:
                result: dict[str, Any] = queue.get(timeout=300)
            finally:
                proc.join(30)
        finally:
            server.terminate()
            server.wait(30)
    if "error" in result:
        raise RuntimeError(f"the query load generator failed: {result['error']}")
    paced, saturated, sse = result["paced"], result["saturated"], sorted(result["sse"])
    errors = paced["error_count"] + saturated["error_count"]
    note = (
        f"{stored:,} readings stored (built in {built_s:.0f} s); {CLIENTS} clients; "
        + (f"{errors} errors, e.g. {(paced['errors'] + saturated['errors'])[0]}" if errors
           else "all answers 200")
    )  # fmt: skip
    paced_detail = (
        f"paced (think 0-{THINK_MAX_S:g} s): {paced['count']} answers, "
        f"{paced['rate']:.0f} questions/s; {note}"
    )
    saturated_detail = (
        f"no think time: p50 {saturated['p50_ms']:.0f} ms, p99 {saturated['p99_ms']:.0f} ms; {note}"
    )
    return [
        Figure("query_p50_ms", paced["p50_ms"], "ms", ("<=", 10), paced_detail),
        Figure("query_p99_ms", paced["p99_ms"], "ms", ("<=", 50), paced_detail),
        Figure("query_saturated_qps", saturated["rate"], "questions/s", None, saturated_detail),
        Figure(
            "query_cpu_ms_per_question",
            paced["cpu_ms"],
            "ms",
            None,
            f"the server process's CPU (user + system, every thread) per answer in the paced "
            f"run; {saturated['cpu_ms']:.1f} ms in the run without think time; load average "
            f"{os.getloadavg()[0]:.1f} after on {os.cpu_count()} CPUs",
        ),
        Figure(
            "sse_first_event_p50_ms",
            statistics.median(sse) * 1000,
            "ms",
            None,
            f"GET /chat, {SSE_REQUESTS} requests one at a time",
        ),
        Figure(
            "sse_first_event_p99_ms",
            percentile(sse, 99) * 1000,
            "ms",
            ("<=", 50),
            f"GET /chat, {SSE_REQUESTS} requests one at a time",
        ),
    ]
