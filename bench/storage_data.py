"""Storage bench data: the readings every run imports, as JSON and CSV bodies, and the bare
`sqlite3` baseline that stores the same rows."""

from __future__ import annotations

import math
import random
import sqlite3
import statistics
import time
from pathlib import Path

import orjson

READINGS = 1_000_000
BATCH = 5_000
NODES = 2
SENSORS = 10  # per node: 20 series at 1 Hz
PARSE_REPEATS = 21
# Ten days back, on the hour: inside the hot window, so nothing is refused or pruned.
BASE_TS = (int(time.time()) - 10 * 86_400) // 3600 * 3600


def series_names() -> list[tuple[str, str]]:
    """(node, sensor) of every bench series."""
    return [(f"bulk-{n}", f"t{s}") for n in range(NODES) for s in range(SENSORS)]


def rows_of() -> list[tuple[int, int, float]]:
    """(series index, ts, value) of every reading: 1 Hz, a slow daily swing plus sensor noise
    at 0.01 resolution, in time order across series (how a backfill arrives)."""
    rng = random.Random(15)
    series = len(series_names())
    rows = []
    for i in range(READINGS):
        k = i % series
        ts = BASE_TS + i // series
        swing = 3.0 * math.sin(ts / 13_750.0 + k)
        rows.append((k, ts, round(21.0 + k * 0.3 + swing + rng.gauss(0, 0.05), 2)))
    return rows


def bodies_of(rows: list[tuple[int, int, float]]) -> list[bytes]:
    """The JSON bodies the agent is sent."""
    names = series_names()
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


def csv_bodies_of(rows: list[tuple[int, int, float]]) -> list[bytes]:
    """The same readings as `bodies_of`, as CSV bodies with a header row."""
    names = series_names()
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
