"""Retention: hot data after 30 days, rollups after a year, in small batches, explicit now."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from agent_bruno.app import create_app
from agent_bruno.storage.base import EventsWrite, PruneWrite, ReadingsWrite
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


def readings(sensor: str, *times: float) -> ReadingsWrite:
    """One reading of `sensor` at each of `times` (value: its time's offset in the hour)."""
    return ReadingsWrite(
        [
            {"ts": t, "node": "n", "location": "l", "sensor": sensor, "metric": "m",
             "value": float(t % 3600), "unit": "u"}
            for t in times
        ]
    )  # fmt: skip


# A cutoff half an hour into a block: the block from HOUR to HOUR + 1 h straddles it.
HOUR = NOW - 30 * DAY
CUT_NOW = NOW + 1800  # prune's `now`: the hot cutoff is HOUR + 1800


async def test_a_round_stops_at_the_batch_inside_the_expired_blocks(tmp_path: Path):
    """Three expired hours of ten readings, batches of 15: the first round deletes two whole
    blocks (20 readings) and says so, the next one the third."""
    path = tmp_path / "db.sqlite"
    writer = GroupCommitWriter(SqliteStorage(path))
    writer.start()
    try:
        for h in range(3):
            start = NOW - 40 * DAY + 3600 * h
            await writer.submit(readings("s", *(start + 60 * i for i in range(10))))
        await writer.submit(readings("s", NOW - DAY))
        first = await writer.submit(PruneWrite("samples", NOW - 30 * DAY, 15))
        deleted = await prune(writer, RetentionPolicy(30, 365, batch_rows=15), NOW)
    finally:
        writer.stop()
    assert first.accepted == 20
    assert deleted["samples"] == 10
    assert stored_samples(path) == [("s", NOW - DAY, float((NOW - DAY) % 3600))]


@pytest.mark.parametrize(
    ("old", "kept"),
    [
        # a whole expired block, deleted; a reading written into its hour afterwards
        ((NOW - 40 * DAY + 60, NOW - 40 * DAY + 120), ()),
        # the straddling block, cut at the cutoff
        ((HOUR + 600, HOUR + 1200, HOUR + 2400), (HOUR + 2400,)),
    ],
)
async def test_a_block_pruned_is_not_written_back_from_memory(
    tmp_path: Path, old: tuple[float, ...], kept: tuple[float, ...]
):
    """The writer keeps recent blocks decoded; a block that retention deleted or cut is read
    again, so a later import into its hour does not bring the expired readings back."""
    path = tmp_path / "db.sqlite"
    writer = GroupCommitWriter(SqliteStorage(path))
    writer.start()
    later = old[-1] + 300
    try:
        await writer.submit(readings("s", *old))
        await prune(writer, RetentionPolicy(30, 365), CUT_NOW)
        await writer.submit(readings("s", later))
    finally:
        writer.stop()
    assert [t for _, t, _ in stored_samples(path)] == [*kept, later]


async def test_a_straddling_block_with_only_expired_readings_is_deleted(tmp_path: Path):
    path = tmp_path / "db.sqlite"
    writer = GroupCommitWriter(SqliteStorage(path))
    writer.start()
    try:
        await writer.submit(readings("s", HOUR + 600, HOUR + 1200))
        deleted = await prune(writer, RetentionPolicy(30, 365), CUT_NOW)
    finally:
        writer.stop()
    assert deleted["samples"] == 2
    assert stored_samples(path) == []
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM sample_blocks").fetchone() == (0,)
    finally:
        conn.close()


def test_a_block_changed_in_the_same_transaction_is_left_the_others_are_cut(tmp_path: Path):
    """A prune in one transaction with an import into a straddling block leaves that block to
    the next pass and still cuts the other series' straddling blocks."""
    path = tmp_path / "db.sqlite"
    storage = SqliteStorage(path)
    storage.open_writer()
    try:
        storage.apply_batch([readings("a", HOUR + 600), readings("b", HOUR + 600, HOUR + 2400)])
        _, pruned = storage.apply_batch(
            [readings("a", HOUR + 2400), PruneWrite("samples", HOUR + 1800, 1000)]
        )
    finally:
        storage.close_writer()
        storage.close()
    assert getattr(pruned, "accepted", None) == 1
    assert [(s, t) for s, t, _ in stored_samples(path)] == [
        ("a", HOUR + 600),
        ("a", HOUR + 2400),
        ("b", HOUR + 2400),
    ]
