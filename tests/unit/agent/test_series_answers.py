"""`GET /v1/series` answers kept between writes: a repeated question skips the database, and
no write (ingest, a reporter's batch, retention) is ever hidden by a kept answer."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from agent_bruno.api import series as series_api
from agent_bruno.api.cache import AnswerCache
from agent_bruno.app import front_door
from agent_bruno.storage.base import PruneWrite, ReadingsWrite, SeriesQuery
from agent_bruno.storage.blocks import floor_buckets
from agent_bruno.storage.sqlite import SqliteStorage
from tests.unit.agent.helpers import API_TOKEN, NODE1_TOKEN, NOW, aggregate, auth, envelope

HA = auth(API_TOKEN)
WINDOW = {"node": "logger-1", "start": str(NOW), "end": str(NOW + 3600), "step": "60"}


@pytest.fixture(params=["app", "front door"])
async def client(request: pytest.FixtureRequest, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app, and of the app as `agent-bruno serve` serves it (`front_door`)."""
    served = app if request.param == "app" else front_door(app, app.state.services.settings)
    transport = httpx.ASGITransport(app=served)
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
        yield c


def bulk(i: int, value: float = 20.0) -> dict[str, Any]:
    """A bulk reading `i` minutes after NOW."""
    return {"ts": NOW + 60 * i, "node": "logger-1", "location": "cellar", "sensor": "ds18b20",
            "metric": "temperature", "value": value, "unit": "°C"}  # fmt: skip


async def series(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    r = await client.get("/v1/series", params=params or WINDOW, headers=HA)
    assert r.status_code == 200, r.text
    return r


def points(r: httpx.Response) -> list[tuple[float, float]]:
    return [(p["ts"], p["mean"]) for s in r.json()["series"] for p in s["points"]]


async def test_a_repeated_question_is_answered_from_memory_until_the_next_write(
    client: httpx.AsyncClient, app: Any
) -> None:
    answers: AnswerCache = app.state.services.answers
    assert (await client.post("/v1/readings", json=[bulk(0)], headers=HA)).status_code == 200
    first = await series(client)
    again = await series(client)
    assert again.content == first.content
    assert (answers.hits, answers.misses) == (1, 1)
    assert points(first) == [(NOW, 20.0)]
    r = await client.post("/v1/readings", json=[bulk(1, 21.0)], headers=HA)
    assert r.json()["accepted"] == 1
    assert points(await series(client)) == [(NOW, 20.0), (NOW + 60, 21.0)]
    assert answers.misses == 2


async def test_a_reporter_batch_is_seen_by_the_next_read(client: httpx.AsyncClient) -> None:
    window = {"metric": "humidity", "start": str(NOW), "end": str(NOW + 3600), "step": "300"}
    assert (await series(client, **window)).json()["series"] == []
    batch = envelope([aggregate(0, start=NOW)])
    assert (await client.post("/v1/events", json=batch, headers=auth(NODE1_TOKEN))).json()[
        "accepted"
    ] == 1
    assert points(await series(client, **window)) == [(NOW, 40.5)]


async def test_retention_is_seen_by_the_next_read(client: httpx.AsyncClient, app: Any) -> None:
    assert (await client.post("/v1/readings", json=[bulk(0)], headers=HA)).status_code == 200
    assert points(await series(client)) == [(NOW, 20.0)]
    for table in ("samples", "rollup_5m"):  # without samples it answers from 5-minute rollups
        await app.state.services.writer.submit(PruneWrite(table, NOW + 86_400, 100))
    assert points(await series(client)) == []


async def test_each_query_and_parameter_has_its_own_answer(client: httpx.AsyncClient) -> None:
    rows = [bulk(i, float(i)) for i in range(10)]
    assert (await client.post("/v1/readings", json=rows, headers=HA)).status_code == 200
    fine = await series(client)
    coarse = await series(client, **{**WINDOW, "step": "300"})
    other = await series(client, **{**WINDOW, "node": "logger-2"})
    assert len(points(fine)) == 10
    assert points(coarse) == [(NOW, 2.0), (NOW + 300, 7.0)]
    assert other.json()["series"] == []


def test_storage_version_changes_with_each_commit_that_changed_data(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "db.sqlite")
    storage.open_writer()
    try:
        before = storage.version
        storage.apply_batch([ReadingsWrite([bulk(0)])])
        after_write = storage.version
        storage.apply_batch([PruneWrite("samples", NOW + 86_400, 100)])
        after_prune = storage.version
        storage.apply_batch([PruneWrite("samples", NOW + 86_400, 100)])  # nothing left to delete
        storage.query_series(SeriesQuery(NOW, NOW + 3600, 60))
        assert (after_write, after_prune, storage.version) == (before + 1, before + 2, before + 2)
    finally:
        storage.close_writer()
        storage.close()


def test_kept_answers_are_bounded_in_entries_and_bytes() -> None:
    cache = AnswerCache(max_entries=3, max_bytes=100, max_entry_bytes=60)
    cache.put("a", 1, b"x" * 10)
    cache.put("b", 1, b"x" * 10)
    cache.put("c", 1, b"x" * 10)
    assert cache.get("a", 1) == b"x" * 10  # now the most recently used
    cache.put("d", 1, b"x" * 10)  # over three entries: b, the least recently used, goes
    assert cache.get("b", 1) is None
    assert cache.get("a", 1) is not None
    cache.put("e", 1, b"y" * 61)  # too big to keep
    assert cache.get("e", 1) is None
    cache.put("f", 1, b"z" * 60)
    cache.put("g", 1, b"z" * 60)  # 60 + 60 > 100 bytes: everything older goes
    assert len(cache) == 1
    assert cache.get("a", 2) is None  # another storage version: not the same answer


@pytest.mark.parametrize("width", [1, 7, 60, 300, 3600, 86_400])
def test_floor_buckets_are_exactly_floor_division(width: int) -> None:
    rng = np.random.default_rng(width)
    edges = np.arange(1, 20_000, dtype=np.float64) * width + 1_700_000_000 // width * width
    ts = np.concatenate(
        [
            rng.uniform(0, 4e9, 50_000),
            edges,
            np.nextafter(edges, 0),  # just below a bucket boundary
            np.nextafter(edges, np.inf),
            [0.0, 0.5, float(width) - 1e-9],
        ]
    )
    expected = (ts // width).astype(np.int64) * width
    assert np.array_equal(floor_buckets(ts, width), expected)


async def test_a_question_relative_to_now_is_read_afresh_each_time(
    client: httpx.AsyncClient, app: Any
) -> None:
    answers: AnswerCache = app.state.services.answers
    recent = {**bulk(0), "ts": time.time() - 120}
    assert (await client.post("/v1/readings", json=[recent], headers=HA)).status_code == 200
    window = {"node": "logger-1", "start": "-1h", "step": "60"}
    first = (await series(client, **window)).json()
    second = (await series(client, **window)).json()
    assert len(answers) == 0  # "now" moves: an answer kept for it would be stale at once
    assert second["end"] > first["end"]
    assert [len(s["points"]) for s in second["series"]] == [1]


async def test_the_direct_route_still_checks_the_token_and_answers_head(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.post("/v1/readings", json=[bulk(0)], headers=HA)).status_code == 200
    missing = await client.get("/v1/series", params=WINDOW)
    wrong = await client.get("/v1/series", params=WINDOW, headers=auth("not-the-token"))
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.headers["content-type"] == "application/problem+json"  # as every route
    assert "missing bearer token" in missing.json()["detail"]
    assert missing.json()["instance"] == "/v1/series"
    kept = await series(client)
    head = await client.head("/v1/series", params=WINDOW, headers=HA)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(kept.content))
    bad = await client.get("/v1/series", params={**WINDOW, "step": "7m"}, headers=HA)
    assert (bad.status_code, bad.json()["parameter"]) == (422, "step")
    assert bad.json()["code"] == "bad_parameter"
    assert (await client.post("/v1/series", headers=HA)).status_code == 405


async def test_the_front_door_times_each_answer_and_answers_a_crash_as_a_problem(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = front_door(app, app.state.services.settings)
    transport = httpx.ASGITransport(app=served)
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
        await series(client)
        await series(client)

        async def broken(services: Any, raw: bytes) -> bytes:
            raise RuntimeError("a bug")

        monkeypatch.setattr(series_api, "answer", broken)
        crash = await client.get("/v1/series", params=WINDOW, headers=HA)
        assert (crash.status_code, crash.headers["content-type"]) == (
            500, "application/problem+json"
        )  # fmt: skip
        assert crash.json()["detail"].startswith("internal error (RuntimeError)")
        exposed = (await client.get("/metrics", headers=HA)).text
    counts = {
        line.split("} ")[0]: float(line.split("} ")[1])
        for line in exposed.splitlines()
        if line.startswith("agent_bruno_http_requests_total{") and 'route="/v1/series"' in line
    }
    assert sorted(counts.values()) == [1.0, 2.0]  # two answers (2xx), one crash (5xx)
