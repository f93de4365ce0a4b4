"""Storage: bulk ingest against bare SQLite, bytes per reading, the WAL bound, `/v1/series`
latency and `/query` capacity, all in one run on this machine.

Bulk ingest is a ratio: the real `agent-bruno serve` process imports READINGS readings as
BATCH-reading JSON bodies over CONNECTIONS keep-alive connections (a load-generator process,
bodies built before the clock starts), and a bare Python `sqlite3` `executemany` stores the
same rows into a table shaped like the old `samples` (series id, ts, value; primary key
(series, ts); WAL; `synchronous=FULL`; a commit every BATCH rows). Runs alternate and the
figure is the median of the per-pair ratios, so a machine loaded by others slows both alike.

While the import runs, a thread samples the WAL file every 10 ms (the largest size is the
figure); bytes per reading are (database + WAL) 2 s after the last answer, and after a clean
stop. Then, on the same data, in every run: `GET /healthz` (the agent's HTTP floor) and
`GET /v1/series` (one series, one hour, 60 s steps: raw samples), one request at a time and from
20 clients, both the same question over and over (a dashboard: answered from the kept answer)
and a new window each request (what a read costs); `POST /query` from 20 clients; and how many
bytes `threads.db` grows per one-shot question (no thread id). The machine's floor, the
smallest ASGI app on the same server stack (`bench/floor_app.py`), is measured once. Read
figures are medians of the runs.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing as mp
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from agent_bruno.localrun import free_port, serve_agent, wait_ready
from bench.common import Figure, percentile

API_TOKEN = "bench-api-7c3e9a1f5b2d8e4a"
READINGS = 1_000_000
BATCH = 5_000
CONNECTIONS = 4
NODES = 2
SENSORS = 10  # per node: 20 series at 1 Hz
RUNS = 3
SERIES_REQUESTS = 2_000
PARSE_REPEATS = 21
UNCACHED_REQUESTS = 20_000  # distinct windows: more than 20 clients send in CLIENT_SECONDS
CLIENTS = 20
CLIENT_SECONDS = 4.0
QUERY_SECONDS = 6.0
ONE_SHOT_QUESTIONS = 200
AGENT_ENV = {
    "AGENT_BRUNO_API_TOKEN": API_TOKEN,
    "AGENT_BRUNO_TIMEZONE": "UTC",
    # Capacity, not the per-client question limit: every bench client is one caller.
    "AGENT_BRUNO_QUESTIONS_PER_CLIENT_PER_MIN": "1000000",
}
START_TIMEOUT_S = 180.0  # a start takes seconds, but this machine is shared: 45 s seen at load 18
# Ten days back, on the hour: inside the hot window, so nothing is refused or pruned.
BASE_TS = (int(time.time()) - 10 * 86_400) // 3600 * 3600
QUESTIONS = (
    "What's the temperature in the lab?",
    "average temperature in the lab",
    "how many anomalies today?",
    "List all nodes and their health",
)


def _series() -> list[tuple[str, str]]:
    """(node, sensor) of every bench series."""
    return [(f"bulk-{n}", f"t{s}") for n in range(NODES) for s in range(SENSORS)]


def _rows() -> list[tuple[int, int, float]]:
    """(series index, ts, value) of every reading: 1 Hz, a slow daily swing plus sensor noise
    at 0.01 resolution, in time order across series (how a backfill arrives)."""
    rng = random.Random(15)
    series = len(_series())
    rows = []
    for i in range(READINGS):
        k = i % series
        ts = BASE_TS + i // series
        swing = 3.0 * math.sin(ts / 13_750.0 + k)
        rows.append((k, ts, round(21.0 + k * 0.3 + swing + rng.gauss(0, 0.05), 2)))
    return rows


def _bodies(rows: list[tuple[int, int, float]]) -> list[bytes]:
    """The JSON bodies the agent is sent."""
    names = _series()
    out = []
    for i in range(0, len(rows), BATCH):
        out.append(
            orjson.dumps(
                [
                    {"ts": ts, "node": names[k][0], "location": "lab", "sensor": names[k][1],
                     "metric": "temperature", "value": v, "unit": "°C"}
                    for k, ts, v in rows[i : i + BATCH]
                ]
            )
        )  # fmt: skip
    return out


def _csv_bodies(rows: list[tuple[int, int, float]]) -> list[bytes]:
    """The same readings as `_bodies`, as CSV bodies with a header row."""
    names = _series()
    out = []
    for i in range(0, len(rows), BATCH):
        lines = ["ts,node,location,sensor,metric,value,unit"]
        lines += [f"{ts},{names[k][0]},lab,{names[k][1]},temperature,{v!r},°C"
                  for k, ts, v in rows[i : i + BATCH]]  # fmt: skip
        out.append(("\n".join(lines) + "\n").encode())
    return out


def parse_ratio(json_body: bytes, csv_body: bytes, repeats: int = PARSE_REPEATS) -> float:
    """CPU time of parsing a CSV body over that of the same rows as JSON, in-process: the
    median of `repeats` alternating pairs."""
    from agent_bruno.importers import parse_json
    from agent_bruno.importers_csv import parse_csv

    if parse_csv(csv_body).rows != parse_json(json_body).rows:
        raise RuntimeError("the CSV and JSON bodies do not parse to the same rows")
    ratios = []
    for _ in range(repeats):
        started = time.process_time()
        parse_json(json_body)
        middle = time.process_time()
        parse_csv(csv_body)
        ratios.append((time.process_time() - middle) / max(middle - started, 1e-9))
    return float(statistics.median(ratios))


def _csv_import(port: int, bodies: list[bytes], out: Any) -> None:
    """Load-generator process: the CSV import only."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        out.put(asyncio.run(_import(port, bodies, "text/csv")))
    except Exception as exc:
        out.put({"error": f"{type(exc).__name__}: {exc}"})


def _cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def csv_run(bodies: list[bytes]) -> tuple[float, float]:
    """Readings/s of a fresh agent importing the CSV bodies, and its CPU seconds doing so."""
    with tempfile.TemporaryDirectory(prefix="bench-csv-") as tmp:
        port = free_port()
        server = serve_agent(
            Path(tmp),
            port,
            AGENT_ENV,
            timeout=START_TIMEOUT_S,
        )
        try:
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            proc = ctx.Process(target=_csv_import, args=(port, bodies, queue))
            cpu = _cpu_s(server.pid)
            proc.start()
            result: dict[str, Any] = queue.get(timeout=600)
            cpu = _cpu_s(server.pid) - cpu
            proc.join(30)
        finally:
            server.terminate()
            server.wait(60)
    if "error" in result:
        raise RuntimeError(f"the CSV load generator failed: {result['error']}")
    if result["errors"] or result["accepted"] != READINGS:
        raise RuntimeError(
            f"the agent accepted {result['accepted']:,} of {READINGS:,} CSV readings; "
            f"errors: {result['errors'][:3]}"
        )
    return READINGS / float(result["seconds"]), cpu


def bare_sqlite(path: Path, rows: list[tuple[int, int, float]]) -> float:
    """Readings per second of a bare executemany of `rows`, a commit every BATCH rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(
        "CREATE TABLE samples (series_id INTEGER NOT NULL, ts REAL NOT NULL, "
        "value REAL NOT NULL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID"
    )
    batches = [[(k + 1, float(ts), v) for k, ts, v in rows[i : i + BATCH]]
               for i in range(0, len(rows), BATCH)]  # fmt: skip
    started = time.perf_counter()
    for batch in batches:
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO samples VALUES (?, ?, ?)", batch)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(rows) / elapsed


def _request(method: str, path: str, content_type: str = "", body: bytes = b"") -> bytes:
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
    requests = [_request("POST", "/v1/readings", kind, b) for b in bodies]
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


def _series_path(shift: int = 0) -> str:
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
        _series_path(1 + i // SENSORS).replace("sensor=t3", f"sensor=t{i % SENSORS}")
        for i in range(n)
    ]


async def _sequential(port: int, paths: str | list[str], n: int) -> list[float]:
    """Latencies of `n` GETs one after another on one connection (cycling through `paths`)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    cycle = [paths] if isinstance(paths, str) else paths
    requests = [_request("GET", p) for p in cycle]
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


def _generator(port: int, bodies: list[bytes], path: str | None, out: Any) -> None:
    """Load-generator process: the import, then (when `reads`) the read figures."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # plain asyncio is slower but still correct
        pass
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
    asks = [_request("POST", "/query", "text/plain", q.encode()) for q in QUESTIONS]
    return {
        "healthz": asyncio.run(_sequential(port, "/healthz", SERIES_REQUESTS)),
        "series": asyncio.run(_sequential(port, path, SERIES_REQUESTS)),
        "series_new": asyncio.run(_sequential(port, fresh, SERIES_REQUESTS)),
        "healthz_20": asyncio.run(_clients(port, [_request("GET", "/healthz")], CLIENT_SECONDS)),
        "series_20": asyncio.run(_clients(port, [_request("GET", path)], CLIENT_SECONDS)),
        "series_new_20": asyncio.run(
            _clients(port, [_request("GET", p) for p in fresh[::-1]], CLIENT_SECONDS)
        ),
        "query_20": asyncio.run(_clients(port, asks, QUERY_SECONDS)),
    }


def _floor_generator(port: int, out: Any) -> None:
    """Load-generator process for the floor app: sequential latencies and 20 clients."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        out.put(
            {
                "sequential": asyncio.run(_sequential(port, "/healthz", SERIES_REQUESTS)),
                "clients": asyncio.run(
                    _clients(port, [_request("GET", "/healthz")], CLIENT_SECONDS)
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


class _WalWatch:
    """Samples the size of a WAL file every 10 ms on a thread; keeps the largest."""

    def __init__(self, wal: Path) -> None:
        self.wal = wal
        self.largest = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.largest = max(self.largest, _size(self.wal))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.largest


def _size(path: Path) -> int:
    """Bytes of a file, 0 when it does not exist."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _checkpointed_size(path: Path) -> int:
    """Bytes of an SQLite file in WAL mode once its WAL is copied in and emptied."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        conn.close()
    return _size(path) + _size(path.with_name(path.name + "-wal"))


def _one_shot_growth(port: int, data_dir: Path) -> tuple[float, int]:
    """Bytes `threads.db` keeps per one-shot question (no thread id), once checkpointed, and
    the largest its WAL was."""
    import httpx

    threads = data_dir / "threads.db"
    before = _checkpointed_size(threads)
    largest_wal = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for i in range(ONE_SHOT_QUESTIONS):
            r = client.post(
                "/query",
                content=QUESTIONS[i % len(QUESTIONS)],
                headers={"Authorization": f"Bearer {API_TOKEN}"},
            )
            r.raise_for_status()
            largest_wal = max(largest_wal, _size(data_dir / "threads.db-wal"))
    return (_checkpointed_size(threads) - before) / ONE_SHOT_QUESTIONS, largest_wal


def _agent_run(bodies: list[bytes], reads: bool) -> dict[str, Any]:
    """One fresh agent: import, sizes while running and after stop, and (when `reads`) reads."""
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        data_dir = Path(tmp)
        db = data_dir / "agent-bruno.db"
        wal = data_dir / "agent-bruno.db-wal"
        port = free_port()
        server = serve_agent(
            data_dir,
            port,
            AGENT_ENV,
            timeout=START_TIMEOUT_S,
        )
        try:
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            proc = ctx.Process(
                target=_generator, args=(port, bodies, _series_path() if reads else None, queue)
            )
            watch = _WalWatch(wal)
            cpu = _cpu_s(server.pid)
            proc.start()
            try:
                result: dict[str, Any] = queue.get(timeout=600)
                result["import_cpu_s"] = _cpu_s(server.pid) - cpu
                largest_wal = watch.stop()
                if "error" in result:
                    raise RuntimeError(f"the storage load generator failed: {result['error']}")
                time.sleep(2.0)
                result["running_bytes"] = _size(db) + _size(wal)
                result["running_wal"] = _size(wal)
                result["largest_wal"] = largest_wal
                if reads:
                    reads_result = queue.get(timeout=600)
                    if "error" in reads_result:
                        raise RuntimeError(f"the read load failed: {reads_result['error']}")
                    result.update(reads_result)
                    growth, threads_wal = _one_shot_growth(port, data_dir)
                    result["thread_bytes_per_question"] = growth
                    result["threads_wal"] = threads_wal
            finally:
                proc.join(30)
        finally:
            server.terminate()
            server.wait(60)
        result["stopped_bytes"] = _size(db) + _size(wal)
        return result


def _p(values: list[float], q: float) -> float:
    """Percentile `q` of latencies in seconds, in milliseconds."""
    return percentile(values, q) * 1000


def run() -> list[Figure]:
    """RUNS times: the HTTP floor, a bare-SQLite import, an agent (import, sizes, reads)."""
    load = os.getloadavg()
    rows = _rows()
    bodies = _bodies(rows)
    csv_bodies = _csv_bodies(rows)
    ratios, agent_rates, bare_rates, csv_rates, csv_cpu = [], [], [], [], []
    runs: list[dict[str, Any]] = []
    floors: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as tmp:
        for i in range(RUNS):
            floors.append(http_floor())
            bare = bare_sqlite(Path(tmp) / f"bare-{i}.db", rows)
            result = _agent_run(bodies, reads=True)
            imp = result["import"]
            if imp["errors"] or imp["accepted"] != READINGS:
                raise RuntimeError(
                    f"the agent accepted {imp['accepted']:,} of {READINGS:,} readings; "
                    f"errors: {imp['errors'][:3]}"
                )
            rate = READINGS / imp["seconds"]
            bare_rates.append(bare)
            agent_rates.append(rate)
            ratios.append(rate / bare)
            runs.append(result)
            csv_rate, cpu = csv_run(csv_bodies)
            csv_rates.append(csv_rate)
            csv_cpu.append(cpu / result["import_cpu_s"])
        parse = parse_ratio(bodies[0], csv_bodies[0])
    load_after = os.getloadavg()
    machine = (
        f"load average {load[0]:.1f} before, {load_after[0]:.1f} after, on {os.cpu_count()} CPUs"
    )

    def med(fn: Any) -> float:
        return float(statistics.median(fn(r) for r in runs))

    def runs_of(fn: Any) -> str:
        return ", ".join(f"{fn(r):.3g}" for r in runs)

    ingest_detail = (
        f"{READINGS:,} readings, {BATCH:,}-reading JSON bodies, {CONNECTIONS} connections; "
        f"agent {_fmt(agent_rates)} readings/s vs bare sqlite3 executemany {_fmt(bare_rates)} "
        f"in alternating runs; {machine}"
    )
    size_detail = f"{READINGS:,} readings of {NODES * SENSORS} series at 1 Hz; {machine}"
    seq = f"{SERIES_REQUESTS} requests on one connection, median of {RUNS} runs"
    many = f"{CLIENTS} closed-loop clients for {CLIENT_SECONDS:.0f} s, median of {RUNS} runs"
    same = f"{_series_path()}, the same question each time (answered from the kept answer)"
    new = "ten series of bulk-0, each request a window no other asks (read from the database)"
    floor_app = "bench/floor_app.py on uvicorn+uvloop+httptools (a fixed 200 JSON body)"
    return [
        Figure("bulk ingest / bare sqlite3", statistics.median(ratios), "ratio", (">=", 0.6),
               ingest_detail + f"; ratios {', '.join(f'{r:.2f}' for r in ratios)}"),
        Figure("bulk ingest, agent", statistics.median(agent_rates), "readings/s", None,
               ingest_detail),
        Figure("bulk ingest, bare sqlite3", statistics.median(bare_rates), "readings/s", None,
               ingest_detail),
        Figure("bulk ingest, CSV / JSON", statistics.median(
               c / j for c, j in zip(csv_rates, agent_rates, strict=True)), "ratio", None,
               f"the same {READINGS:,} readings as {BATCH:,}-row CSV bodies into a fresh agent "
               f"after each JSON run; CSV {_fmt(csv_rates)} readings/s; {machine}"),
        Figure("bulk ingest CPU, CSV / JSON", statistics.median(csv_cpu), "ratio", None,
               "the agent process's user+system CPU seconds for the CSV import over those for "
               f"the JSON import of the same readings; runs {_fmt(csv_cpu)}; {machine}"),
        Figure("CSV parse CPU / JSON parse CPU", parse, "ratio", ("<=", 1.0),
               f"one {BATCH:,}-reading body each way, in-process, median of {PARSE_REPEATS} "
               f"alternating pairs; {machine}"),
        Figure("largest WAL during the import", max(r["largest_wal"] for r in runs) / 2**20,
               "MiB", ("<=", 64), size_detail + "; sampled every 10 ms, largest of all runs"),
        Figure("bytes per reading while running",
               statistics.median(r["running_bytes"] for r in runs) / READINGS, "B", None,
               size_detail + "; database + WAL 2 s after the last answer; WAL then "
               f"{_fmt([r['running_wal'] / 2**20 for r in runs])} MiB"),
        Figure("bytes per reading after stop",
               statistics.median(r["stopped_bytes"] for r in runs) / READINGS, "B", ("<=", 8),
               size_detail),
        Figure("HTTP floor p50, sequential", statistics.median(
               _p(f["sequential"], 50) for f in floors), "ms", None,
               f"{floor_app}; {seq}; {machine}"),
        Figure("HTTP floor, 20 clients", statistics.median(f["clients"]["rate"] for f in floors),
               "req/s", None, f"{floor_app}; {many}; {machine}"),
        Figure("/healthz p50, sequential", med(lambda r: _p(r["healthz"], 50)), "ms", None,
               f"the agent's own floor (FastAPI route, middleware); {seq}; runs "
               f"{runs_of(lambda r: _p(r['healthz'], 50))}; {machine}"),
        Figure("/healthz, 20 clients", med(lambda r: r["healthz_20"]["rate"]), "req/s", None,
               f"{many}; runs {runs_of(lambda r: r['healthz_20']['rate'])}; {machine}"),
        Figure("/v1/series p50, sequential", med(lambda r: _p(r["series"], 50)), "ms",
               ("<=", 0.25), f"{same}; {seq}; runs {runs_of(lambda r: _p(r['series'], 50))}; "
               f"{machine}"),
        Figure("/v1/series p99, sequential", med(lambda r: _p(r["series"], 99)), "ms", None,
               f"{same}; {seq}; {machine}"),
        Figure("/v1/series, 20 clients", med(lambda r: r["series_20"]["rate"]), "req/s",
               (">=", 7000), f"{same}; {many}; runs {runs_of(lambda r: r['series_20']['rate'])}"
               f"; errors {runs[0]['series_20']['errors']}; {machine}"),
        Figure("/v1/series p50 / /healthz p50", med(
               lambda r: percentile(r["series"], 50) / percentile(r["healthz"], 50)), "ratio",
               None, f"the same question; per run, then the median; {machine}"),
        Figure("/v1/series / /healthz, 20 clients", med(
               lambda r: r["series_20"]["rate"] / r["healthz_20"]["rate"]), "ratio", None,
               f"the same question; per run, then the median; {machine}"),
        Figure("/v1/series p50, sequential, new windows", med(
               lambda r: _p(r["series_new"], 50)), "ms", None, f"{new}; {seq}; {machine}"),
        Figure("/v1/series p99, sequential, new windows", med(
               lambda r: _p(r["series_new"], 99)), "ms", None, f"{new}; {seq}; {machine}"),
        Figure("/v1/series, 20 clients, new windows", med(lambda r: r["series_new_20"]["rate"]),
               "req/s", None, f"{new}; {many}; errors {runs[0]['series_new_20']['errors']}; "
               f"{machine}"),
        Figure("/query, 20 clients", med(lambda r: r["query_20"]["rate"]), "answers/s", None,
               f"built-in mode, {len(QUESTIONS)} questions, no think time; median of {RUNS} "
               f"runs; errors {runs[0]['query_20']['errors']}; {machine}"),
        Figure("threads.db growth per one-shot question", med(
               lambda r: r["thread_bytes_per_question"]), "B", None,
               f"{ONE_SHOT_QUESTIONS} questions without a thread id, the file checkpointed "
               "before and after (a compact entry each, kept for ONE_SHOT_TTL_S); its WAL at "
               f"most {_fmt([r['threads_wal'] / 2**20 for r in runs])} MiB; {machine}"),
    ]  # fmt: skip


def _fmt(values: list[float]) -> str:
    """Run values, rounded, for the detail text."""
    return ", ".join(f"{v:,.0f}" if v >= 100 else f"{v:.1f}" for v in values)


if __name__ == "__main__":
    for figure in run():
        print(figure)
