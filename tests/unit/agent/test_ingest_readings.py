"""POST /v1/readings: JSON, NDJSON and CSV imports; bad rows named, good ones stored once."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from agent_bruno.app import create_app
from tests.unit.agent.helpers import (
    API_TOKEN,
    NODE1_TOKEN,
    NOW,
    auth,
    count,
    make_settings,
    nothing_stored,
    query,
    stored_samples,
)

HA = auth(API_TOKEN)


def row(i: int, **extra: Any) -> dict[str, Any]:
    """One bulk reading, a minute apart."""
    return {"ts": NOW + 60 * i, "node": "logger-1", "location": "greenhouse",
            "sensor": "bme280", "metric": "temperature", "value": 20.0 + i, "unit": "°C",
            **extra}  # fmt: skip


async def post(client, body: bytes, kind: str, **headers: str) -> httpx.Response:
    """POST raw bytes with a content type."""
    return await client.post(
        "/v1/readings", content=body, headers={**HA, "Content-Type": kind, **headers}
    )


async def test_json_array_is_stored_with_rollups(client, settings):
    r = await client.post("/v1/readings", json=[row(i) for i in range(10)], headers=HA)
    assert r.json() == {"accepted": 10, "duplicates": 0, "rejected": []}
    assert count(settings, "samples") == 10
    # NOW is on an hour boundary: minutes 0-4 and 5-9 make two 5-minute buckets
    assert query(settings, "SELECT bucket - ?, count, min, max, sum, last FROM rollup_5m", NOW) == [
        (0, 5, 20.0, 24.0, 110.0, 24.0),
        (300, 5, 25.0, 29.0, 135.0, 29.0),
    ]
    assert query(settings, "SELECT count, min, max, sum, last FROM rollup_1h") == [
        (10, 20.0, 29.0, 245.0, 29.0)
    ]
    assert query(settings, "SELECT cluster FROM series") == [("default",)]


async def test_object_form_and_iso_times(client, settings):
    day = datetime.fromtimestamp(NOW, UTC).strftime("%Y-%m-%d")
    body = {"readings": [row(0, ts=f"{day}T12:00:00Z"), row(1, ts=f"{day}T12:01:00")]}
    r = await client.post("/v1/readings", json=body, headers=HA)
    assert r.json()["accepted"] == 2
    noon = datetime.fromisoformat(f"{day}T12:00:00+00:00").timestamp()
    assert [ts for _, ts, _ in stored_samples(settings.database_path)] == [noon, noon + 60]


async def test_ndjson_names_bad_lines(client, settings):
    lines = [orjson.dumps(row(0)), b"", b"{not json", orjson.dumps(row(2, value="warm")),
             orjson.dumps(row(3))]  # fmt: skip
    r = await post(client, b"\n".join(lines), "application/x-ndjson")
    body = r.json()
    assert body["accepted"] == 2
    assert [(x["line"], x["error"].split(":")[0]) for x in body["rejected"]] == [
        (3, "malformed JSON at column 2"),
        (4, "value"),
    ]
    assert count(settings, "samples") == 2


async def test_csv_with_header(client, settings):
    csv = (
        "ts,node,location,sensor,metric,value,unit,cluster\n"
        f"{NOW},logger-1,cellar,ds18b20,temperature,14.2,°C,homelab\n"
        f"{NOW + 60},logger-1,cellar,ds18b20,temperature,oops,°C,\n"
        f"{NOW + 120},logger-1,cellar,ds18b20,temperature,14.4,°C\n"
        f"{NOW + 180},logger-1,cellar,ds18b20,temperature,14.5,°C,,extra\n"
        f"{NOW + 240},logger-1,cellar,ds18b20,temperature,14.6,°C,\n"
    )
    r = await post(client, csv.encode(), "text/csv; charset=utf-8")
    body = r.json()
    assert body["accepted"] == 2
    assert [x["line"] for x in body["rejected"]] == [3, 4, 5]
    assert "value" in body["rejected"][0]["error"]
    assert "fewer fields" in body["rejected"][1]["error"]
    assert "more fields" in body["rejected"][2]["error"]
    assert sorted(query(settings, "SELECT cluster FROM series")) == [("default",), ("homelab",)]


async def test_csv_missing_columns_is_422(client, settings):
    r = await post(client, b"ts,node,value\n1,2,3\n", "text/csv")
    assert r.status_code == 422
    assert "location" in r.json()["detail"]
    assert nothing_stored(settings)


async def test_partial_json_batch_names_rejected_by_index(client, settings):
    rows = [row(0), row(1, ts=5), row(2, node=""), {"ts": NOW}, row(4)]
    r = await client.post("/v1/readings", json=rows, headers=HA)
    body = r.json()
    assert body["accepted"] == 2
    assert [x["index"] for x in body["rejected"]] == [1, 2, 3]
    assert "ts" in body["rejected"][0]["error"]
    assert "node" in body["rejected"][1]["error"]
    assert count(settings, "samples") == 2
    assert query(settings, "SELECT sum(count) FROM rollup_5m") == [(2,)]


async def test_resent_and_backfilled_imports_are_200_with_duplicates_counted(client, settings):
    """Regression (mutation check): re-sending an import, or backfilling around it across hour
    blocks and out of order, was a 503 under two dedup edits; it is a 200 that counts what was
    already stored and stores each reading once."""
    day = [row(i) for i in range(0, 24 * 60, 7)]  # every 7 min for a day: 24 hour blocks
    first = await client.post("/v1/readings", json=day, headers=HA)
    assert first.status_code == 200
    assert first.json() == {"accepted": len(day), "duplicates": 0, "rejected": []}
    again = await client.post("/v1/readings", json=day[::-1], headers=HA)
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "duplicates": len(day), "rejected": []}
    gaps = [row(i) for i in range(3, 24 * 60, 7)]  # between the stored ones, in every block
    earlier = [row(i) for i in range(-120, 0, 5)]  # before the first stored reading
    mixed = [*day[::3], *gaps[::-1], *earlier, *day[1::3]]
    backfill = await client.post("/v1/readings", json=mixed, headers=HA)
    assert backfill.status_code == 200
    duplicates = len(day[::3]) + len(day[1::3])
    assert backfill.json() == {
        "accepted": len(gaps) + len(earlier), "duplicates": duplicates, "rejected": []
    }  # fmt: skip
    stored = len(day) + len(gaps) + len(earlier)
    assert count(settings, "samples") == stored
    assert query(settings, "SELECT sum(count) FROM rollup_5m") == [(stored,)]


async def test_duplicates_on_series_and_ts(client, settings):
    rows = [row(i) for i in range(5)]
    first = await client.post("/v1/readings", json=[*rows, rows[0]], headers=HA)
    assert first.json() == {"accepted": 5, "duplicates": 1, "rejected": []}
    again = await client.post("/v1/readings", json=[*rows, row(5)], headers=HA)
    assert again.json() == {"accepted": 1, "duplicates": 5, "rejected": []}
    assert count(settings, "samples") == 6
    # The duplicates did not touch the rollups: each reading counted once, with its value.
    assert query(settings, "SELECT bucket - ?, count, min, max, sum, last FROM rollup_5m", NOW) == [
        (0, 5, 20.0, 24.0, 110.0, 24.0),
        (300, 1, 25.0, 25.0, 25.0, 25.0),
    ]
    assert query(settings, "SELECT count, min, max, sum, last FROM rollup_1h") == [
        (6, 20.0, 25.0, 135.0, 25.0)
    ]


async def test_gzip_import(client, settings):
    body = gzip.compress(orjson.dumps([row(0), row(1)]))
    r = await post(client, body, "application/json", **{"Content-Encoding": "gzip"})
    assert r.json()["accepted"] == 2


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"[1, 2,", 400), (b'{"rows": []}', 422), (b'"text"', 422)],
)
async def test_unreadable_bodies(client, settings, body, status):
    r = await post(client, body, "application/json")
    assert r.status_code == status
    assert nothing_stored(settings)


@pytest.mark.parametrize("kind", ["text/plain", "application/xml", "multipart/form-data"])
async def test_unsupported_content_type_is_415(client, settings, kind):
    r = await post(client, b"[]", kind)
    assert r.status_code == 415
    assert nothing_stored(settings)


@pytest.mark.parametrize(
    "headers", [{}, auth(NODE1_TOKEN), auth("wrong-token-0123456789"), {"Authorization": "Basic x"}]
)
async def test_import_needs_the_api_token(client, settings, headers):
    r = await client.post("/v1/readings", json=[row(0)], headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert nothing_stored(settings)


async def test_loopback_without_api_token_is_open(tmp_path: Path):
    settings = make_settings(tmp_path, api_token=None)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
            r = await c.post("/v1/readings", json=[row(0)])
    assert r.json()["accepted"] == 1


async def test_oversized_import_is_413(tmp_path: Path):
    settings = make_settings(tmp_path, max_body_bytes=2048)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
            r = await c.post("/v1/readings", json=[row(i) for i in range(50)], headers=HA)
    assert r.status_code == 413
    assert nothing_stored(settings)
