"""Retention: hot data after 30 days, rollups after a year, in small batches, explicit now."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import httpx

from agent_bruno.app import create_app
from agent_bruno.storage.base import EventsWrite, ReadingsWrite
from agent_bruno.storage.retention import DAY, RetentionPolicy, prune
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.storage.writer import GroupCommitWriter
from agent_bruno.wire import EVENT_ADAPTER
from tests.unit.agent.helpers import API_TOKEN, auth, make_settings, reading, stored_samples

NOW = 1_800_000_000.0


def rows(start: float, n: int) -> ReadingsWrite:
    """`n` readings an hour apart from `start`."""
    return ReadingsWrite(
        [
            {
                "ts": start + 3600 * i,
                "node": "n",
                "location": "l",
                "sensor": "s",
                "metric": "m",
                "value": 1.0,
                "unit": "u",
            }
            for i in range(n)
        ]
    )


def counts(path: Path) -> dict[str, int]:
    """Rows per table (`samples`: raw readings in their blocks)."""
    conn = sqlite3.connect(path)
    try:
        return {"samples": len(stored_samples(path))} | {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
            for t in ("anomalies", "event_ids", "rollup_5m", "rollup_1h")
        }
    finally:
        conn.close()


async def test_prune_with_explicit_now(tmp_path: Path):
    path = tmp_path / "db.sqlite"
    writer = GroupCommitWriter(SqliteStorage(path))
    writer.start()
    try:
        await writer.submit(rows(NOW - 400 * DAY, 24))  # beyond both retentions
        await writer.submit(rows(NOW - 40 * DAY, 24))  # hot expired, rollups kept
        await writer.submit(rows(NOW - 1 * DAY, 12))  # fresh
        old = EVENT_ADAPTER.validate_python(reading(1, ts=NOW - 31 * DAY))
        new = EVENT_ADAPTER.validate_python(reading(2, ts=NOW - DAY))
        await writer.submit(EventsWrite("c", "pi", "l", [old], received_at=NOW - 31 * DAY))
        await writer.submit(EventsWrite("c", "pi", "l", [new], received_at=NOW - DAY))
        before = counts(path)
        deleted = await prune(writer, RetentionPolicy(30, 365, batch_rows=5), NOW)
    finally:
        writer.stop()
    after = counts(path)
    assert before == {
        "samples": 60,
        "anomalies": 2,
        "event_ids": 2,
        "rollup_5m": 60,
        "rollup_1h": 60,
    }
    assert after == {
        "samples": 12,
        "anomalies": 1,
        "event_ids": 1,
        "rollup_5m": 36,
        "rollup_1h": 36,
    }
    assert deleted["samples"] == 48
    assert deleted["rollup_5m"] == 24


async def test_prune_keeps_exactly_the_fresh_rows_of_every_series(tmp_path: Path):
    """Several series with interleaved times, batches smaller than one series: every expired
    sample and bucket goes, every fresh one stays."""
    path = tmp_path / "db.sqlite"
    writer = GroupCommitWriter(SqliteStorage(path))
    writer.start()
    cutoff = NOW - 30 * DAY
    try:
        for sensor in ("a", "b", "c"):
            batch = rows(cutoff - 20 * 3600 + 600 * (ord(sensor) - 96), 40)  # 20 h each side
            for r in batch.rows:
                r["sensor"] = sensor
            await writer.submit(batch)
        await prune(writer, RetentionPolicy(30, 365, batch_rows=7), NOW)
    finally:
        writer.stop()
    samples = stored_samples(path)
    kept = [
        (sensor, sum(1 for s, _, _ in samples if s == sensor),
         min(t for s, t, _ in samples if s == sensor))
        for sensor in sorted({s for s, _, _ in samples})
    ]  # fmt: skip
    conn = sqlite3.connect(path)
    try:
        (old_buckets,) = conn.execute(
            "SELECT count(*) FROM rollup_5m WHERE bucket < ?", (NOW - 365 * DAY,)
        ).fetchone()
    finally:
        conn.close()
    assert [(sensor, n) for sensor, n, _ in kept] == [("a", 20), ("b", 20), ("c", 20)]
    assert all(first >= cutoff for _, _, first in kept)
    assert old_buckets == 0


async def test_prune_again_is_a_no_op(tmp_path: Path):
    writer = GroupCommitWriter(SqliteStorage(tmp_path / "db.sqlite"))
    writer.start()
    try:
        await writer.submit(rows(NOW - 40 * DAY, 3))
        await prune(writer, RetentionPolicy(), NOW)
        second = await prune(writer, RetentionPolicy(), NOW)
    finally:
        writer.stop()
    assert set(second.values()) == {0}


async def test_lifespan_runs_retention_by_itself(tmp_path: Path):
    settings = make_settings(tmp_path, retention_interval_s=0.05)
    app = create_app(settings)
    old = {"ts": time.time() - 40 * DAY, "node": "n", "location": "l", "sensor": "s",
           "metric": "m", "value": 1.0, "unit": "u"}  # fmt: skip
    fresh = {**old, "ts": time.time() - 60}
    async with app.router.lifespan_context(app):
        # Ingest refuses rows already past retention, so the old one goes straight to storage.
        await app.state.services.writer.submit(ReadingsWrite([old]))  # type: ignore[list-item]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
            r = await c.post("/v1/readings", json=[fresh], headers=auth(API_TOKEN))
            assert r.json()["accepted"] == 1
            for _ in range(100):
                if counts(settings.database_path)["samples"] == 1:
                    break
                await asyncio.sleep(0.02)
    assert counts(settings.database_path)["samples"] == 1
    assert counts(settings.database_path)["rollup_5m"] == 2  # rollups stay a year
