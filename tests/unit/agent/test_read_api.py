"""Read API: series at each resolution, anomalies filters, nodes with health, catalog."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from agent_bruno.app import create_app
from agent_bruno.settings import Settings
from tests.unit.agent.helpers import (
    API_TOKEN,
    NODE1_TOKEN,
    NODE2_TOKEN,
    NOW,
    aggregate,
    auth,
    envelope,
    heartbeat,
    make_settings,
    reading,
)

# Every test runs on the module's event loop: the read-only ones share one agent and its data
# (`loaded`, made once), the others get their own (`client`). An agent start and two hours of
# readings per test were most of this module's time.
pytestmark = pytest.mark.asyncio(loop_scope="module")

HA = auth(API_TOKEN)
RANGE = {"start": str(NOW - 3600), "end": str(NOW + 7200)}


def iso(ts: float) -> str:
    """RFC 3339 of a whole second, as the API writes it."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def bulk(i: int, **extra: Any) -> dict[str, Any]:
    """A bulk reading every 30 s from NOW."""
    return {"ts": NOW + 30 * i, "node": "logger-1", "location": "cellar", "sensor": "ds18b20",
            "metric": "temperature", "value": float(i), "unit": "°C", **extra}  # fmt: skip


async def get(client, path: str, **params: Any) -> httpx.Response:
    """GET with the API token."""
    return await client.get(path, params=params, headers=HA)


@asynccontextmanager
async def _agent(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
            yield c


@pytest_asyncio.fixture(loop_scope="module")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An agent of the test's own, with nothing stored."""
    async with _agent(settings) as c:
        yield c


async def _load(client: httpx.AsyncClient) -> None:
    """Two hours of bulk readings every 30 s, plus edge events from two nodes."""
    r = await client.post("/v1/readings", json=[bulk(i) for i in range(240)], headers=HA)
    assert r.json()["accepted"] == 240
    n1 = [aggregate(i, start=NOW + 300 * i) for i in range(3)]
    n1 += [reading(1), reading(2, ts=NOW + 60, severity="warning"), heartbeat(1, ts=time.time())]
    await client.post("/v1/events", json=envelope(n1), headers=auth(NODE1_TOKEN))
    n2 = [reading(1, ts=NOW + 120), heartbeat(1, ts=time.time() - 3600)]
    await client.post(
        "/v1/events",
        json=envelope(n2, node="pi-node-2", location="office"),
        headers=auth(NODE2_TOKEN),
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def loaded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    """One agent with the data loaded, shared by the tests that only read (GET) from it."""
    async with _agent(make_settings(tmp_path_factory.mktemp("read-api"))) as c:
        await _load(c)
        yield c


async def test_series_from_5_minute_rollups(loaded):
    r = await get(loaded, "/v1/series", metric="temperature", node="logger-1", step="300", **RANGE)
    body = r.json()
    (series,) = body["series"]
    assert (series["source"], series["step"]) == ("rollup_5m", 300)
    assert (series["node"], series["sensor"], series["unit"]) == ("logger-1", "ds18b20", "°C")
    first = series["points"][0]
    assert first == {"ts": NOW, "ts_iso": iso(NOW), "mean": 4.5, "min": 0.0, "max": 9.0,
                     "count": 10, "last": 9.0}  # fmt: skip
    assert len(series["points"]) == 24


async def test_series_from_hourly_rollups(loaded):
    r = await get(loaded, "/v1/series", metric="temperature", node="logger-1", step="3600", **RANGE)
    body = r.json()
    assert body["series"][0]["source"] == "rollup_1h"
    points = body["series"][0]["points"]
    assert [(p["ts"], p["count"], p["min"], p["max"], p["last"]) for p in points] == [
        (NOW, 120, 0.0, 119.0, 119.0),
        (NOW + 3600, 120, 120.0, 239.0, 239.0),
    ]
    assert points[0]["mean"] == pytest.approx(59.5)


async def test_series_from_samples_for_small_steps(loaded):
    r = await get(loaded, "/v1/series", metric="temperature", node="logger-1", step="60", **RANGE)
    body = r.json()
    assert (body["series"][0]["source"], body["series"][0]["step"]) == ("samples", 60)
    points = body["series"][0]["points"]
    assert len(points) == 120
    assert points[1] == {
        "ts": NOW + 60,
        "ts_iso": iso(NOW + 60),
        "mean": 2.5,
        "min": 2.0,
        "max": 3.0,
        "count": 2,
        "last": 3.0,
    }


async def test_series_of_edge_aggregates(loaded):
    r = await get(loaded, "/v1/series", metric="humidity", step="600", **RANGE)
    (series,) = r.json()["series"]
    assert series["node"] == "pi-node-1"
    assert [(p["ts"], p["count"]) for p in series["points"]] == [(NOW, 10), (NOW + 600, 5)]


async def test_series_one_per_node_sensor_metric(loaded):
    r = await get(loaded, "/v1/series", metric="humidity", step="300", **RANGE)
    assert [(s["node"], s["sensor"]) for s in r.json()["series"]] == [("pi-node-1", "dht22-1")]
    r = await get(loaded, "/v1/series", metric="temperature", step="300", **RANGE)
    # pi-node-1/2 sent flagged temperature readings only: anomalies, not a series.
    assert [(s["node"], s["sensor"]) for s in r.json()["series"]] == [("logger-1", "ds18b20")]


async def test_fine_step_on_edge_series_answers_at_five_minutes(loaded):
    """Regression: edge data is aggregated on the Pi, so step=60 must not show only the flagged
    readings; it answers from 5-minute rollups and says so."""
    r = await get(loaded, "/v1/series", metric="humidity", step="60", **RANGE)
    body = r.json()
    assert body["step"] == 60
    (series,) = body["series"]
    assert (series["source"], series["step"]) == ("rollup_5m", 300)
    assert [(p["ts"], p["count"]) for p in series["points"]] == [
        (NOW, 5),
        (NOW + 300, 5),
        (NOW + 600, 5),
    ]


async def test_series_relative_and_iso_times(loaded):
    before = time.time()
    r = await get(loaded, "/v1/series", metric="temperature", start="-2d", end="now", step="3600")
    after = time.time()
    body = r.json()
    assert before <= body["end"] <= after
    assert body["end"] - body["start"] == pytest.approx(2 * 86_400)
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW))
    r = await get(loaded, "/v1/series", metric="temperature", start=iso, end="-1h", step="3600")
    assert r.json()["start"] == NOW
    assert before - 3600 <= r.json()["end"] <= time.time() - 3600


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"step": "400"}, "step"),
        ({"step": "0"}, "step"),
        ({"step": "abc"}, "step"),
        ({"step": "1", "start": "-30d"}, "step"),
        ({"start": "yesterday"}, "start"),
        ({"end": "-1x"}, "end"),
        ({"start": "-1h", "end": "-2h"}, "start"),
        ({"start": "nan"}, "start"),
    ],
)
async def test_bad_series_parameters_are_422(loaded, params, name):
    r = await get(loaded, "/v1/series", **params)
    assert r.status_code == 422
    body = r.json()
    assert body["parameter"] == name
    assert f"{name}=" in body["detail"]


async def test_anomalies_filters(loaded):
    r = await get(loaded, "/v1/anomalies", view="readings", **RANGE)
    everything = r.json()["anomalies"]
    assert [(a["node"], a["ts"]) for a in everything] == [
        ("pi-node-2", NOW + 120),
        ("pi-node-1", NOW + 60),
        ("pi-node-1", NOW),
    ]
    assert everything[0]["location"] == "office"
    assert everything[0]["baseline"] == {"mean": 21.4, "std": 1.08}
    by_node = (
        await get(loaded, "/v1/anomalies", view="readings", node="pi-node-1", **RANGE)
    ).json()["anomalies"]
    assert len(by_node) == 2
    warn = (
        await get(loaded, "/v1/anomalies", view="readings", severity="warning", **RANGE)
    ).json()["anomalies"]
    assert [a["id"] for a in warn] == ["r-2"]
    office = (
        await get(loaded, "/v1/anomalies", view="readings", location="office", **RANGE)
    ).json()["anomalies"]
    assert [a["node"] for a in office] == ["pi-node-2"]
    limited = (await get(loaded, "/v1/anomalies", view="readings", limit="1", **RANGE)).json()[
        "anomalies"
    ]
    assert len(limited) == 1
    none = (await get(loaded, "/v1/anomalies", view="readings", cluster="other", **RANGE)).json()[
        "anomalies"
    ]
    assert none == []


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"severity": "bad"}, "severity"),
        ({"limit": "0"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"kind": "glitch"}, "kind"),
        ({"state": "ajar"}, "state"),
        ({"view": "table"}, "view"),
        ({"view": "readings", "state": "open"}, "state"),
    ],
)
async def test_bad_anomaly_parameters_are_422(loaded, params, name):
    r = await get(loaded, "/v1/anomalies", **params)
    assert r.status_code == 422
    assert r.json()["parameter"] == name


async def test_nodes_with_status(client, settings):
    # Liveness is when the agent last heard from a node, by its own clock: pi-node-2 falls
    # silent for an hour (in this test's own agent: it changes what is stored).
    await _load(client)
    loaded = client
    conn = sqlite3.connect(settings.database_path)
    with conn:
        conn.execute("UPDATE nodes SET last_seen = last_seen - 3600 WHERE node = 'pi-node-2'")
    conn.close()
    nodes = {n["node"]: n for n in (await get(loaded, "/v1/nodes")).json()["nodes"]}
    assert nodes["pi-node-1"]["status"] == "healthy"
    assert nodes["pi-node-1"]["reasons"] == []
    assert nodes["pi-node-1"]["workloads"] == ["edge-reporter"]
    assert nodes["pi-node-2"]["status"] == "offline"
    assert "last heartbeat" in nodes["pi-node-2"]["reasons"][0]


async def test_node_warning_from_heartbeat(client):
    hot = heartbeat(1, ts=time.time(), outbox={"depth": 3, "dropped": 7, "oldest_age_s": 9.0})
    hot["health"]["soc_temp_c"] = 81.0
    await client.post("/v1/events", json=envelope([hot]), headers=auth(NODE1_TOKEN))
    (node,) = (await get(client, "/v1/nodes")).json()["nodes"]
    assert node["status"] == "warning"
    assert node["reasons"] == ["SoC temperature 81 °C above 75 °C", "outbox dropped 7 events"]


async def test_catalog(loaded):
    body = (await get(loaded, "/v1/catalog")).json()
    assert body["clusters"] == ["default", "homelab"]
    assert body["locations"] == ["cellar", "office", "warehouse"]
    assert body["nodes"] == ["logger-1", "pi-node-1", "pi-node-2"]
    metrics = {(m["metric"], m["unit"]): m for m in body["metrics"]}
    assert set(metrics) == {("temperature", "°C"), ("humidity", "%")}
    assert metrics[("temperature", "°C")]["first_seen"] == NOW
    assert metrics[("temperature", "°C")]["last_seen"] == NOW + 30 * 239
    assert len(body["series"]) == 4


@pytest.mark.parametrize("path", ["/v1/series", "/v1/anomalies", "/v1/nodes", "/v1/catalog"])
async def test_reads_need_the_api_token(client, path):
    assert (await client.get(path)).status_code == 401
    assert (await client.get(path, headers=auth(NODE1_TOKEN))).status_code == 401
    assert (await client.get(path, headers=HA)).status_code == 200


async def test_reads_open_on_loopback_without_api_token(tmp_path: Path):
    app = create_app(make_settings(tmp_path, api_token=None))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
            assert (await c.get("/v1/catalog")).status_code == 200


async def test_series_of_other_units_or_clusters_are_not_averaged_together(client):
    """Regression: a unit change (°C to °F) or the same node name in two clusters was averaged
    into one series; only a location change (a node moved) is merged."""
    rows = [
        bulk(0, value=20.0),
        bulk(1, value=68.0, unit="°F"),
        bulk(2, value=100.0, cluster="lab"),
        bulk(3, value=22.0, location="attic"),
    ]
    assert (await client.post("/v1/readings", json=rows, headers=HA)).json()["accepted"] == 4
    r = await get(client, "/v1/series", metric="temperature", step="3600", **RANGE)
    got = sorted(
        (s["cluster"], s["unit"], s["location"], [(p["count"], p["mean"]) for p in s["points"]])
        for s in r.json()["series"]
    )
    assert got == [
        ("default", "°C", "attic", [(2, 21.0)]),
        ("default", "°F", "cellar", [(1, 68.0)]),
        ("lab", "°C", "cellar", [(1, 100.0)]),
    ]
