"""Storage bench load: raw HTTP/1.1 keep-alive clients in a load-generator process (the bulk
import, sequential and 20-client reads, `/query`), and the HTTP floor they are compared with."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from agent_bruno.localrun import free_port, wait_ready
from bench.storage_data import BASE_TS, SENSORS

API_TOKEN = "bench-api-7c3e9a1f5b2d8e4a"
CONNECTIONS = 4
SERIES_REQUESTS = 2_000
UNCACHED_REQUESTS = 20_000  # distinct windows: more than 20 clients send in CLIENT_SECONDS
CLIENTS = 20
CLIENT_SECONDS = 4.0
QUERY_SECONDS = 6.0
START_TIMEOUT_S = 180.0  # a start takes seconds, but this machine is shared: 45 s seen at load 18
QUESTIONS = (
    "What's the temperature in the lab?",
    "average temperature in the lab",
    "how many anomalies today?",
    "List all nodes and their health",
)


def _uvloop() -> None:
    """Use uvloop in a load-generator process when it is installed (plain asyncio is slower
    but still correct)."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass


def csv_import(port: int, bodies: list[bytes], out: Any) -> None:
    """Load-generator process: the CSV import only."""
    _uvloop()
    try:
        out.put(asyncio.run(_import(port, bodies, "text/csv")))
    except Exception as exc:
        out.put({"error": f"{type(exc).__name__}: {exc}"})


def http_request(method: str, path: str, content_type: str = "", body: bytes = b"") -> bytes:
    """One raw HTTP/1.1 keep-alive request."""
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {API_TOKEN}\r\n"
    if body or method == "POST":
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[bytes, bytes]:
    """Send one request and read its answer: (status line, body)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length)
    return head.split(b"\r\n", 1)[0], body


async def _import(port: int, bodies: list[bytes], kind: str = "application/json") -> dict[str, Any]:
    """Post every body over CONNECTIONS connections; seconds and non-200 answers."""
    requests = [http_request("POST", "/v1/readings", kind, b) for b in bodies]
    errors: list[str] = []
    accepted = 0

    async def connection(mine: list[bytes]) -> None:
        nonlocal accepted
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in mine:
                status, body = await _exchange(reader, writer, request)
                if b" 200 " not in status + b" ":
                    errors.append((status + b" " + body[:200]).decode())
                else:
                    accepted += orjson.loads(body)["accepted"]
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection(requests[w::CONNECTIONS]) for w in range(CONNECTIONS)))
    return {"seconds": time.perf_counter() - started, "errors": errors, "accepted": accepted}


def series_path(shift: int = 0) -> str:
    """The `/v1/series` request: one series, one hour of raw samples in 60 s steps, `shift`
    seconds later than the usual window (another question: no kept answer)."""
    start = BASE_TS + 20_000 + shift
    return (
        f"/v1/series?node=bulk-0&sensor=t3&metric=temperature&start={start}"
        f"&end={start + 3600}&step=60"
    )


def _new_windows(n: int) -> list[str]:
    """`n` series requests, each for a window no other asks (ten sensors, shifted by 1 s)."""
    return [
        series_path(1 + i // SENSORS).replace("sensor=t3", f"sensor=t{i % SENSORS}")
        for i in range(n)
    ]


async def _sequential(port: int, paths: str | list[str], n: int) -> list[float]:
    """Latencies of `n` GETs one after another on one connection (cycling through `paths`)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    cycle = [paths] if isinstance(paths, str) else paths
    requests = [http_request("GET", p) for p in cycle]
    times = []
    try:
        for i in range(n):
            request, path = requests[i % len(requests)], cycle[i % len(cycle)]
            started = time.perf_counter()
            status, body = await _exchange(reader, writer, request)
            times.append(time.perf_counter() - started)
            if b" 200" not in status:
                raise RuntimeError(f"{path} answered {status!r}: {body[:200]!r}")
    finally:
        writer.close()
    return sorted(times)


async def _clients(port: int, requests: list[bytes], seconds: float) -> dict[str, Any]:
    """CLIENTS closed-loop clients cycling through `requests` (no two clients send the same
    one unless the list is short); rate and errors."""
    done = 0
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    async def client(worker: int) -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        seq = worker
        try:
            while time.perf_counter() < deadline:
                status, body = await _exchange(reader, writer, requests[seq % len(requests)])
                seq += CLIENTS
                if b" 200" in status:
                    done += 1
                else:
                    errors.append((status + b" " + body[:200]).decode())
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(w) for w in range(CLIENTS)))
    return {"rate": done / (time.perf_counter() - started), "errors": errors[:3]}


def generator(port: int, bodies: list[bytes], path: str | None, out: Any) -> None:
    """Load-generator process: the import, then (when `reads`) the read figures."""
    _uvloop()
    try:
        result: dict[str, Any] = {"import": asyncio.run(_import(port, bodies))}
        out.put(result)
        if path is not None:
            out.put(_reads(port, path))
    except Exception as exc:  # reported by the parent, which would otherwise wait in vain
        out.put({"error": f"{type(exc).__name__}: {exc}"})


def _reads(port: int, path: str) -> dict[str, Any]:
    """The read figures of one agent (in the load-generator process)."""
    fresh = _new_windows(UNCACHED_REQUESTS)
    asks = [http_request("POST", "/query", "text/plain", q.encode()) for q in QUESTIONS]
    return {
        "healthz": asyncio.run(_sequential(port, "/healthz", SERIES_REQUESTS)),
        "series": asyncio.run(_sequential(port, path, SERIES_REQUESTS)),
        "series_new": asyncio.run(_sequential(port, fresh, SERIES_REQUESTS)),
        "healthz_20": asyncio.run(
            _clients(port, [http_request("GET", "/healthz")], CLIENT_SECONDS)
        ),
        "series_20": asyncio.run(_clients(port, [http_request("GET", path)], CLIENT_SECONDS)),
        "series_new_20": asyncio.run(
            _clients(port, [http_request("GET", p) for p in fresh[::-1]], CLIENT_SECONDS)
        ),
        "query_20": asyncio.run(_clients(port, asks, QUERY_SECONDS)),
    }


def _floor_generator(port: int, out: Any) -> None:
    """Load-generator process for the floor app: sequential latencies and 20 clients."""
    _uvloop()
    try:
        out.put(
            {
                "sequential": asyncio.run(_sequential(port, "/healthz", SERIES_REQUESTS)),
                "clients": asyncio.run(
                    _clients(port, [http_request("GET", "/healthz")], CLIENT_SECONDS)
                ),
            }
        )
    except Exception as exc:
        out.put({"error": f"{type(exc).__name__}: {exc}"})


def http_floor() -> dict[str, Any]:
    """The floor app (bench/floor_app.py) on uvicorn with uvloop and httptools, as the agent
    runs, measured by the same load generator."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        log = Path(tmp) / "floor.log"
        with log.open("wb") as sink:
            server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "uvicorn", "bench.floor_app:app", "--app-dir",
                 str(Path(__file__).resolve().parent.parent), "--host", "127.0.0.1",
                 "--port", str(port), "--loop", "uvloop", "--http", "httptools",
                 "--no-access-log", "--log-level", "warning"],
                stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            wait_ready(f"http://127.0.0.1:{port}", server, log, START_TIMEOUT_S)
            queue = mp.get_context("spawn").Queue()
            proc = mp.get_context("spawn").Process(target=_floor_generator, args=(port, queue))
            proc.start()
            result: dict[str, Any] = queue.get(timeout=300)
            proc.join(30)
        finally:
            server.terminate()
            server.wait(30)
    if "error" in result:
        raise RuntimeError(f"the floor load generator failed: {result['error']}")
    return result
