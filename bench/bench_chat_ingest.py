"""Ingest latency while 200 `/chat` streams run, against idle in the same run.

The real `agent-bruno serve` process (built-in mode, a week of readings from six nodes) gets a
steady trickle of single-event reporter batches (PROBE_RATE per second, each one aggregate), as
Pis send them. The trickle runs with nothing else going on (idle), then again while a
separate process keeps CHAT_STREAMS `/chat` streams open, each asking its next question as soon
as its answer has streamed (chat load); ROUNDS times, alternating. The figures are medians over
the rounds of ingest's p99 under that load and of its ratio to the idle p99 of the same round,
which says what the load costs on this (shared, noisy) machine.

Each load-generating part is its own process, so the measuring client is not slowed by the
chat clients' own work (the machine has two cores: the agent, the chat clients and the probe
share them, which is noisy; read the ratio together with the absolute figure).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from agent_bruno.localrun import free_port, serve_agent
from agent_bruno.storage.base import ReadingsWrite
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.wire import BulkReading
from bench.bench_query import API_TOKEN, METRICS, NODES, QUESTIONS, _write
from bench.common import Figure, percentile

REPORTER_TOKEN = "bench-reporter-3f9a1c7e5b2d8f40"
PROBE_NODE = "pi-probe"
CHAT_STREAMS = 200
PROBE_RATE = 25.0  # batches per second
ROUNDS = 3  # idle, then loaded, this many times; figures are medians over the rounds
IDLE_S = 8.0
LOADED_S = 12.0
RAMP_S = 3.0  # streams opened before the loaded probe starts
SETTLE_S = 3.0  # after the chat load stops, before the next idle probe
READINGS_PER_SERIES = 2_000  # a week at one reading per 5 minutes


def build_database(path: Path, now: float) -> int:
    """Readings for every node and metric of the query bench, a week of them."""
    storage = SqliteStorage(path)
    storage.open_writer()
    rng = random.Random(11)
    rows: list[BulkReading] = []
    for node, location in NODES.items():
        for sensor, metric, unit, level in METRICS:
            for i in range(READINGS_PER_SERIES):
                rows.append(
                    BulkReading(ts=now - (READINGS_PER_SERIES - i) * 300.0, node=node,
                                location=location, sensor=sensor, metric=metric, unit=unit,
                                value=max(0.0, round(level + rng.gauss(0, 0.5), 2)),
                                cluster="homelab")
                )  # fmt: skip
    stored = 0
    for i in range(0, len(rows), 40_000):
        stored += _write(storage, ReadingsWrite(rows[i : i + 40_000]))
    storage.close_writer()
    storage.close()
    return stored


def _batch(seq: int, now: float) -> bytes:
    start = float(int(now // 300) * 300 - 300)
    event = (
        f'{{"id":"probe-{seq}","type":"aggregate","ts":{now:.3f},"sensor":"probe-{seq % 8}",'
        f'"metric":"temperature","unit":"°C","start":{start},"end":{start + 300},'
        f'"count":5,"min":20.0,"max":21.0,"mean":20.5,"last":20.7}}'
    )
    reporter = f'{{"node":"{PROBE_NODE}","location":"lab","cluster":"homelab"}}'
    return f'{{"schema_version":1,"reporter":{reporter},"events":[{event}]}}'.encode()


async def _probe(port: int, seconds: float, first_seq: int) -> dict[str, Any]:
    """Send PROBE_RATE single-event batches per second for `seconds`; their latencies."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    latencies: list[float] = []
    errors: list[str] = []
    seq = first_seq
    begin = time.perf_counter()
    try:
        while (due := begin + (seq - first_seq) / PROBE_RATE) < begin + seconds:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            body = _batch(seq, time.time())
            seq += 1
            started = time.perf_counter()
            writer.write(
                f"POST /v1/events HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer "
                f"{REPORTER_TOKEN}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line[15:]) for line in head.split(b"\r\n")
                if line[:15].lower() == b"content-length:"
            )  # fmt: skip
            answer = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200") or b'"accepted":1' not in answer:
                errors.append(head.split(b"\r\n", 1)[0].decode() + " " + answer[:120].decode())
    finally:
        writer.close()
    return {"latencies": latencies, "errors": errors, "next": seq}


def _prober(port: int, seconds: float, first_seq: int, queue: Any) -> None:
    try:
        queue.put(asyncio.run(_probe(port, seconds, first_seq)))
    except Exception as exc:  # reported to the parent, which fails loudly
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


async def _chat_stream(port: int, worker: int, stop: Any, out: dict[str, int]) -> None:
    """One client: ask, read the whole SSE stream, ask the next question at once."""
    seq = worker
    while not stop.is_set():
        question = quote(QUESTIONS[seq % len(QUESTIONS)])
        seq += 1
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            out["refused"] += 1
            await asyncio.sleep(0.5)
            continue
        try:
            writer.write(
                f"GET /chat?q={question} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n"
                f"Authorization: Bearer {API_TOKEN}\r\nConnection: close\r\n\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                out["refused" if b" 429 " in head[:20] or b" 503 " in head[:20] else "errors"] += 1
                await asyncio.sleep(1.0)
                continue
            out["open"] += 1
            body = await reader.read()  # until the server closes: the stream has ended
            out["open"] -= 1
            out["answers" if b"event: answer" in body else "errors"] += 1
        except (OSError, asyncio.IncompleteReadError):
            out["errors"] += 1
        finally:
            writer.close()


async def _chat_load(port: int, stop: Any, queue: Any) -> None:
    out = {"answers": 0, "errors": 0, "refused": 0, "open": 0}
    tasks = [asyncio.create_task(_chat_stream(port, w, stop, out)) for w in range(CHAT_STREAMS)]
    began = time.perf_counter()
    peak = 0
    while not stop.is_set():
        await asyncio.sleep(0.2)
        peak = max(peak, out["open"])
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    queue.put({**out, "peak_open": peak, "seconds": time.perf_counter() - began})


def _chatter(port: int, stop: Any, queue: Any) -> None:
    asyncio.run(_chat_load(port, stop, queue))


def _run_probe(ctx: Any, port: int, seconds: float, first_seq: int) -> dict[str, Any]:
    queue = ctx.Queue()
    proc = ctx.Process(target=_prober, args=(port, seconds, first_seq, queue))
    proc.start()
    try:
        result: dict[str, Any] = queue.get(timeout=seconds + 120)
    finally:
        proc.join(30)
    if "error" in result:
        raise RuntimeError(f"the ingest probe failed: {result['error']}")
    return result


def _round(ctx: Any, port: int, n: int) -> dict[str, Any]:
    """One idle probe, then one under chat load."""
    idle = _run_probe(ctx, port, IDLE_S, (2 * n + 1) * 1_000_000)
    stop, queue = ctx.Event(), ctx.Queue()
    chatter = ctx.Process(target=_chatter, args=(port, stop, queue))
    chatter.start()
    try:
        time.sleep(RAMP_S)
        loaded = _run_probe(ctx, port, LOADED_S, (2 * n + 2) * 1_000_000)
    finally:
        stop.set()
        chat: dict[str, Any] = queue.get(timeout=120)
        chatter.join(30)
    time.sleep(SETTLE_S)
    return {"idle": idle, "loaded": loaded, "chat": chat}


def measure(port: int) -> list[dict[str, Any]]:
    """ROUNDS rounds of an idle probe and a probe under chat load."""
    ctx = mp.get_context("spawn")
    _run_probe(ctx, port, 2.0, 0)  # warm-up: connections, caches, the probe's series
    return [_round(ctx, port, n) for n in range(ROUNDS)]


def run() -> list[Figure]:
    """Serve a week of readings and measure ingest, idle and under 200 chat streams."""
    with tempfile.TemporaryDirectory(prefix="bench-chat-ingest-") as tmp:
        data_dir = Path(tmp)
        stored = build_database(data_dir / "agent-bruno.db", time.time())
        port = free_port()
        env = {
            "AGENT_BRUNO_API_TOKEN": API_TOKEN,
            "AGENT_BRUNO_REPORTER_TOKENS": f"{PROBE_NODE}={REPORTER_TOKEN}",
            "AGENT_BRUNO_TIMEZONE": "UTC",
            # All 200 streams come from one client here: let every one of them in, so the
            # figure is ingest under 200 streams at work, not under 429s.
            "AGENT_BRUNO_QUESTIONS_PER_CLIENT_PER_MIN": "1000000",
            "AGENT_BRUNO_MAX_CHAT_STREAMS": str(CHAT_STREAMS + 50),
        }
        server = serve_agent(data_dir, port, env)
        try:
            rounds = measure(port)
        finally:
            server.terminate()
            server.wait(30)
    idle_p99, loaded_p99, ratios, loaded_p50, answers, errors = [], [], [], [], [], []
    peak = refused = chat_errors = 0
    for r in rounds:
        idle, loaded = sorted(r["idle"]["latencies"]), sorted(r["loaded"]["latencies"])
        idle_p99.append(percentile(idle, 99) * 1000)
        loaded_p99.append(percentile(loaded, 99) * 1000)
        loaded_p50.append(percentile(loaded, 50) * 1000)
        ratios.append(loaded_p99[-1] / idle_p99[-1])
        answers.append(r["chat"]["answers"] / r["chat"]["seconds"])
        peak = max(peak, r["chat"]["peak_open"])
        refused += r["chat"]["refused"]
        chat_errors += r["chat"]["errors"]
        errors += r["idle"]["errors"] + r["loaded"]["errors"]
    per_round = ", ".join(
        f"{i:.0f}→{lo:.0f} ms" for i, lo in zip(idle_p99, loaded_p99, strict=True)
    )
    detail = (
        f"medians of {ROUNDS} rounds (p99 idle→loaded: {per_round}); {PROBE_RATE:g} single-event "
        f"batches/s; loaded p50 {statistics.median(loaded_p50):.1f} ms; {CHAT_STREAMS} chat "
        f"clients, peak {peak} streams open, {refused} refused (429/503), {chat_errors} errors; "
        f"{stored:,} readings stored; "
        + (f"{len(errors)} ingest errors, e.g. {errors[0]}" if errors else "every batch 200")
    )
    return [
        Figure("ingest_p99_idle_ms", statistics.median(idle_p99), "ms", None, detail),
        Figure("ingest_p99_under_200_chat_streams_ms", statistics.median(loaded_p99), "ms",
               ("<=", 50), detail),
        Figure("ingest_p99_ratio_chat_vs_idle", statistics.median(ratios), "×", None, detail),
        Figure("chat_answers_per_s_under_load", statistics.median(answers), "1/s", None, detail),
    ]  # fmt: skip
