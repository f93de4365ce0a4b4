"""Storage: bulk ingest against bare SQLite, bytes per reading, the WAL bound, `/v1/series`
latency and `/query` capacity, all in one run on this machine.

Bulk ingest is a ratio: the real `agent-bruno serve` process imports READINGS readings as
BATCH-reading JSON bodies over CONNECTIONS keep-alive connections (a load-generator process,
bodies built before the clock starts), and a bare Python `sqlite3` `executemany` stores the
same rows into a table shaped like the old `samples` (series id, ts, value; primary key
(series, ts); WAL; `synchronous=FULL`; a commit every BATCH rows). PAIRS pairs of runs
alternate the two, each pair in the other order than the one before, and the figure is the
median of the per-pair ratios: a machine loaded by others slows both alike, and one slow run
moves the median little (three pairs swung 0.52-0.63).

While the import runs, a thread samples the WAL file every 10 ms (the largest size is the
figure); bytes per reading are (database + WAL) 2 s after the last answer, and after a clean
stop. Then, on the same data, in READ_RUNS of the pairs: `GET /healthz` (the agent's HTTP
floor) and `GET /v1/series` (one series, one hour, 60 s steps: raw samples), one request at a
time and from 20 clients, both the same question over and over (a dashboard: answered from
the kept answer) and a new window each request (what a read costs); `POST /query` from 20
clients; and how many bytes `threads.db` grows per one-shot question (no thread id). The
machine's floor, the smallest ASGI app on the same server stack (`bench/floor_app.py`), is
measured right before each of those agents. Read figures are medians of the READ_RUNS runs.
(Data and the bare baseline: `storage_data.py`; the load generator: `storage_load.py`.)
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from agent_bruno.localrun import free_port, serve_agent
from bench.common import Figure, percentile
from bench.storage_data import (
    BATCH,
    NODES,
    PARSE_REPEATS,
    READINGS,
    SENSORS,
    bare_sqlite,
    bodies_of,
    csv_bodies_of,
    parse_ratio,
    rows_of,
)
from bench.storage_load import (
    API_TOKEN,
    CLIENT_SECONDS,
    CLIENTS,
    CONNECTIONS,
    QUESTIONS,
    SERIES_REQUESTS,
    START_TIMEOUT_S,
    csv_import,
    generator,
    http_floor,
    series_path,
)

PAIRS = 7  # alternating bare / agent imports
READ_RUNS = 5  # of them with the reads (and the floor before); the first CSV_RUNS with CSV too
CSV_RUNS = 3
ONE_SHOT_QUESTIONS = 200
AGENT_ENV = {
    "AGENT_BRUNO_API_TOKEN": API_TOKEN,
    "AGENT_BRUNO_TIMEZONE": "UTC",
    # Capacity, not the per-client question limit: every bench client is one caller.
    "AGENT_BRUNO_QUESTIONS_PER_CLIENT_PER_MIN": "1000000",
}


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
            proc = ctx.Process(target=csv_import, args=(port, bodies, queue))
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
                target=generator, args=(port, bodies, series_path() if reads else None, queue)
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


def _checked_rate(result: dict[str, Any]) -> float:
    """Readings/s of an agent's import, which must have stored every reading."""
    imp = result["import"]
    if imp["errors"] or imp["accepted"] != READINGS:
        raise RuntimeError(
            f"the agent accepted {imp['accepted']:,} of {READINGS:,} readings; "
            f"errors: {imp['errors'][:3]}"
        )
    return READINGS / float(imp["seconds"])


def run() -> list[Figure]:
    """PAIRS alternating pairs of a bare-SQLite import and an agent (import, sizes; reads in
    READ_RUNS of them, each after the HTTP floor; a CSV import in CSV_RUNS)."""
    load = os.getloadavg()
    rows = rows_of()
    bodies = bodies_of(rows)
    csv_bodies = csv_bodies_of(rows)
    ratios, agent_rates, bare_rates, csv_rates, csv_cpu = [], [], [], [], []
    sized: list[dict[str, Any]] = []  # every agent run: import and sizes
    runs: list[dict[str, Any]] = []  # the agent runs with reads
    floors: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as tmp:
        for i in range(PAIRS):
            reads = i < READ_RUNS
            if reads:
                floors.append(http_floor())
            bare = 0.0
            if i % 2 == 0:
                bare = bare_sqlite(Path(tmp) / f"bare-{i}.db", rows)
            result = _agent_run(bodies, reads=reads)
            if i % 2 == 1:
                bare = bare_sqlite(Path(tmp) / f"bare-{i}.db", rows)
            rate = _checked_rate(result)
            bare_rates.append(bare)
            agent_rates.append(rate)
            ratios.append(rate / bare)
            sized.append(result)
            if reads:
                runs.append(result)
            if i < CSV_RUNS:
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
        f"in {PAIRS} pairs, alternating which goes first, the figure the median of the pairs' "
        f"ratios; {machine}"
    )
    size_detail = f"{READINGS:,} readings of {NODES * SENSORS} series at 1 Hz; {machine}"
    seq = f"{SERIES_REQUESTS} requests on one connection, median of {READ_RUNS} runs"
    many = f"{CLIENTS} closed-loop clients for {CLIENT_SECONDS:.0f} s, median of {READ_RUNS} runs"
    same = f"{series_path()}, the same question each time (answered from the kept answer)"
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
               c / j for c, j in zip(csv_rates, agent_rates[:CSV_RUNS], strict=True)), "ratio",
               None,
               f"the same {READINGS:,} readings as {BATCH:,}-row CSV bodies into a fresh agent "
               f"after each JSON run; CSV {_fmt(csv_rates)} readings/s; {machine}"),
        Figure("bulk ingest CPU, CSV / JSON", statistics.median(csv_cpu), "ratio", None,
               "the agent process's user+system CPU seconds for the CSV import over those for "
               f"the JSON import of the same readings; runs {_fmt(csv_cpu)}; {machine}"),
        Figure("CSV parse CPU / JSON parse CPU", parse, "ratio", ("<=", 1.0),
               f"one {BATCH:,}-reading body each way, in-process, median of {PARSE_REPEATS} "
               f"alternating pairs; {machine}"),
        Figure("largest WAL during the import", max(r["largest_wal"] for r in sized) / 2**20,
               "MiB", ("<=", 64), size_detail + "; sampled every 10 ms, largest of all runs"),
        Figure("bytes per reading while running",
               statistics.median(r["running_bytes"] for r in sized) / READINGS, "B", None,
               size_detail + "; database + WAL 2 s after the last answer; WAL then "
               f"{_fmt([r['running_wal'] / 2**20 for r in sized])} MiB"),
        Figure("bytes per reading after stop",
               statistics.median(r["stopped_bytes"] for r in sized) / READINGS, "B", ("<=", 8),
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
        Figure("/v1/series / HTTP floor, 20 clients", statistics.median(
               r["series_20"]["rate"] / f["clients"]["rate"] for r, f in zip(runs, floors,
               strict=True)), "ratio", None, f"{same}; the floor measured right before each "
               f"agent; per run, then the median; {machine}"),
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
               f"built-in mode, {len(QUESTIONS)} questions, no think time; median of {READ_RUNS} "
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
