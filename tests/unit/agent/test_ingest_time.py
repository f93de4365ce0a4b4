"""Issue 7, defects 4 and 15: clock skew decided node health, and items outside retention or
far in the future were accepted (then deleted, or kept invisible)."""

from __future__ import annotations

import sqlite3
import time

import pytest

from agent_bruno.admission import TimePolicy, shifted
from agent_bruno.wire import EVENT_ADAPTER
from tests.unit.agent.helpers import (
    API_TOKEN,
    NODE1_TOKEN,
    aggregate,
    auth,
    envelope,
    heartbeat,
    query,
    reading,
)

H1 = auth(NODE1_TOKEN)
HA = auth(API_TOKEN)
DAY = 86_400.0


def skewed_batch(now: float, skew: float) -> dict[str, object]:
    """What a reporter whose clock is `skew` seconds off sends at true time `now`."""
    t = now + skew
    start = float(int(t // 300) * 300 - 300)
    events = [
        aggregate(1, start=start, metric="temperature", unit="°C", min=21.0, max=22.0,
                  mean=21.5, last=21.8),
        reading(1, ts=t - 5),
        heartbeat(1, ts=t),
    ]  # fmt: skip
    return {**envelope(events), "sent_at": t}


async def nodes(client):
    return {n["node"]: n for n in (await client.get("/v1/nodes", headers=HA)).json()["nodes"]}


@pytest.mark.parametrize("skew", [-300.0, 300.0, DAY, -DAY])
async def test_clock_skew_decides_node_health(client, settings, skew):
    """Regression (defect 4): a reporter 5 min behind showed offline while delivering, one 5
    min ahead stayed healthy after it stopped, +1 day pinned it healthy, and future-stamped
    readings were invisible. Liveness is now the agent's receipt time; the offset is measured
    from `sent_at`, shown, and taken off the reporter's timestamps."""
    now = time.time()
    r = await client.post("/v1/events", json=skewed_batch(now, skew), headers=H1)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 3, r.text
    node = (await nodes(client))["pi-node-1"]
    assert node["status"] == "warning"  # alive, with its clock named as the problem
    assert node["clock_offset_s"] == pytest.approx(skew, abs=2.0)
    assert "clock" in node["reasons"][0]
    assert ("ahead of" if skew > 0 else "behind") in node["reasons"][0]
    # Its data is where it belongs in time: found by a query about the last hour.
    ((ts,),) = query(settings, "SELECT ts FROM anomalies")
    assert ts == pytest.approx(now - 5, abs=2.0)
    assert query(settings, "SELECT ts FROM nodes") == [(pytest.approx(now, abs=2.0),)]
    series = await client.get(
        "/v1/series", params={"metric": "temperature", "start": "-1h"}, headers=HA
    )
    assert series.json()["series"], series.text
    # It stops: by the agent's clock it goes offline, whatever its heartbeats claimed.
    conn = sqlite3.connect(settings.database_path)
    with conn:
        conn.execute("UPDATE nodes SET last_seen = last_seen - 3600")
    conn.close()
    assert (await nodes(client))["pi-node-1"]["status"] == "offline"


async def test_metrics_show_each_reporters_clock_offset(client):
    await client.post("/v1/events", json=skewed_batch(time.time(), -300.0), headers=H1)
    text = (await client.get("/metrics", headers=HA)).text
    line = next(x for x in text.splitlines() if x.startswith("agent_bruno_reporter_clock_offset"))
    assert 'node="pi-node-1"' in line
    assert float(line.rsplit(" ", 1)[1]) == pytest.approx(-300.0, abs=2.0)


async def test_future_items_beyond_the_tolerance_are_rejected_by_item(client, settings):
    """Without `sent_at` (an older reporter, a bulk import) nothing can be corrected: items
    stamped beyond the tolerance are refused with the reason; those within it are stored."""
    now = time.time()
    batch = envelope(
        [reading(1, ts=now + 200), reading(2, ts=now + DAY), heartbeat(1, ts=now + DAY)]
    )
    body = (await client.post("/v1/events", json=batch, headers=H1)).json()
    assert body["accepted"] == 1
    assert [(r["index"], r["id"]) for r in body["rejected"]] == [(1, "r-2"), (2, "h-1")]
    assert "in the future, beyond the 300 s tolerance" in body["rejected"][0]["error"]
    assert query(settings, "SELECT count(*) FROM nodes") == [(0,)]


@pytest.mark.parametrize(
    ("age_days", "kind", "stored"),
    [
        (40, "reading", False),  # anomalies are kept 30 days
        (29, "reading", True),
        (40, "aggregate", True),  # rollups are kept a year
        (400, "aggregate", False),
        (365 * 26, "aggregate", False),  # the year 2000
    ],
)
async def test_accepted_then_deleted(client, settings, age_days, kind, stored):
    """Regression (defect 15): rows 40 days old or from 2000 got 200 `accepted`, then the next
    retention pass deleted them."""
    ts = time.time() - age_days * DAY
    event = reading(1, ts=ts) if kind == "reading" else aggregate(1, start=ts)
    body = (await client.post("/v1/events", json=envelope([event]), headers=H1)).json()
    assert body["accepted"] == int(stored)
    if not stored:
        assert "retention" in body["rejected"][0]["error"]


@pytest.mark.parametrize(
    ("offset", "ok"),
    [(-40 * DAY, False), (-365 * 26 * DAY, False), (-DAY, True), (DAY, False), (1000 * DAY, False)],
)
async def test_bulk_rows_outside_retention_or_ahead_are_rejected(client, settings, offset, ok):
    ts = time.time() + offset
    row = {"ts": ts, "node": "n", "location": "l", "sensor": "s", "metric": "co2",
           "value": 400, "unit": "ppm"}  # fmt: skip
    body = (await client.post("/v1/readings", json=[row], headers=HA)).json()
    assert body["accepted"] == int(ok)
    if not ok:
        assert body["rejected"][0]["index"] == 0


def test_shift_moves_every_time_field() -> None:
    episode = {
        "id": "e-1", "type": "episode", "ts": 2e9, "sensor": "s", "metric": "m", "unit": "",
        "phase": "close", "start": 2e9 - 60, "end": 2e9, "last": 2e9, "kind": "sensor_fault",
        "rule": "hard_limit", "severity": "critical", "count": 1, "readings": 2,
        "peak_value": 1.0, "peak_ts": 2e9 - 30, "revision": 3,
    }  # fmt: skip
    moved = shifted(EVENT_ADAPTER.validate_python(episode), 100.0)
    assert (moved.ts, moved.start, moved.end, moved.last, moved.peak_ts) == (
        2e9 - 100, 2e9 - 160, 2e9 - 100, 2e9 - 100, 2e9 - 130,
    )  # fmt: skip
    policy = TimePolicy.at(2e9, future_s=300, hot_days=30, rollup_days=365)
    assert policy.problem(2e9 + 301, 2e9, rollup=False) is not None
    assert policy.problem(2e9 + 299, 2e9 - 29 * DAY, rollup=False) is None
