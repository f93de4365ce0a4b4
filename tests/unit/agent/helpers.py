"""Test data and helpers for the agent tests: tokens, wire events, direct database reads."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from agent_bruno.settings import Settings
from agent_bruno.storage.blocks import decode

NODE1_TOKEN = "tok-node1-8f3a9c2e4b7d"
NODE2_TOKEN = "tok-node2-1d6e5f0a9c3b"
API_TOKEN = "api-7c1e9b2f4a6d8e0c"
NOW = float(int(time.time() // 3600) * 3600 - 86_400)  # an hour boundary, a day ago


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for tests: two reporters, an API token, a temp data dir."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "reporter_tokens": {"pi-node-1": NODE1_TOKEN, "pi-node-2": NODE2_TOKEN},
        "api_token": API_TOKEN,
        "retention_interval_s": 3600.0,
    }
    values.update(overrides)
    return Settings(**values)


def auth(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def envelope(
    events: list[dict[str, Any]], node: str = "pi-node-1", **reporter: Any
) -> dict[str, Any]:
    """A wire-format v1 batch."""
    who = {"node": node, "location": "warehouse", "cluster": "homelab", **reporter}
    return {"schema_version": 1, "reporter": who, "events": events}


def reading(i: int, ts: float = NOW, **extra: Any) -> dict[str, Any]:
    """A flagged reading event."""
    return {
        "id": f"r-{i}", "type": "reading", "ts": ts, "sensor": "dht22-1",
        "metric": "temperature", "unit": "°C", "value": 28.1, "severity": "critical",
        "score": 0.97, "reason": "6.2σ above baseline", "baseline": {"mean": 21.4, "std": 1.08},
        **extra,
    }  # fmt: skip


def aggregate(i: int, start: float = NOW, **extra: Any) -> dict[str, Any]:
    """A 5-minute aggregate event."""
    return {
        "id": f"a-{i}", "type": "aggregate", "ts": start + 300, "sensor": "dht22-1",
        "metric": "humidity", "unit": "%", "start": start, "end": start + 300, "count": 5,
        "min": 40.1, "max": 41.0, "mean": 40.5, "last": 40.9, **extra,
    }  # fmt: skip


def heartbeat(i: int, ts: float = NOW, **extra: Any) -> dict[str, Any]:
    """A heartbeat event."""
    return {
        "id": f"h-{i}", "type": "heartbeat", "ts": ts, "interval_s": 300,
        "health": {"cpu_percent": 12.5, "memory_percent": 41.0, "disk_percent": 63.2,
                   "soc_temp_c": 48.3, "load_1m": 0.4, "uptime_s": 86400},
        "sensors": [{"sensor": "dht22-1", "metric": "temperature", "unit": "°C"}],
        "workloads": ["edge-reporter"], "outbox": {"depth": 0, "dropped": 0, "oldest_age_s": 0.0},
        "read_url": "http://10.0.0.11:9108", **extra,
    }  # fmt: skip


def episode(i: int, start: float = NOW, **extra: Any) -> dict[str, Any]:
    """An episode event: a stuck humidity sensor, open, at its first reminder."""
    return {
        "id": f"e-{i}", "type": "episode", "ts": start + 120, "sensor": "dht22-1",
        "metric": "humidity", "unit": "%", "phase": "update", "start": start, "end": None,
        "last": start + 120, "kind": "sensor_fault", "rule": "stuck_value",
        "severity": "warning", "count": 2, "readings": 13, "peak_value": 48.0,
        "peak_ts": start, "peak_deviation": 0.4, "reason": "value stuck at 48.0 % for 24 readings",
        "revision": 2, **extra,
    }  # fmt: skip


def query(settings: Settings, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows straight from the database file, bypassing the service."""
    conn = sqlite3.connect(settings.database_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def stored_samples(path: Path) -> list[tuple[str, float, float]]:
    """Every raw reading in a database file as (sensor, ts, value), decoded from its blocks."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT s.sensor, b.data FROM sample_blocks b JOIN series s ON s.id = b.series_id "
            "ORDER BY s.sensor, b.start"
        ).fetchall()
    finally:
        conn.close()
    out = []
    for sensor, data in rows:
        ts, values = decode(data)
        out.extend((sensor, t, v) for t, v in zip(ts.tolist(), values.tolist(), strict=True))
    return out


def count(settings: Settings, table: str) -> int:
    """Rows in a table (`samples`: raw readings, however they are packed)."""
    if table == "samples":
        return len(stored_samples(settings.database_path))
    return int(query(settings, f"SELECT count(*) FROM {table}")[0][0])  # noqa: S608


DATA_TABLES = (
    "samples", "anomalies", "episodes", "rollup_5m", "rollup_1h", "nodes", "event_ids", "series"
)  # fmt: skip


def nothing_stored(settings: Settings) -> bool:
    """Whether every data table is empty."""
    return all(count(settings, t) == 0 for t in DATA_TABLES)
