"""The agent's /metrics as an SRE reads it: requests by status class, sensor values, node health,
open episodes, process figures; behind the API token; valid for promtool."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.promtool import check_metrics
from tests.unit.agent.helpers import (
    API_TOKEN,
    NODE1_TOKEN,
    NOW,
    aggregate,
    auth,
    envelope,
    episode,
    heartbeat,
    reading,
)


async def _scrape(client: httpx.AsyncClient) -> tuple[bytes, dict[str, list[Sample]]]:
    r = await client.get("/metrics", headers=auth(API_TOKEN))
    assert r.status_code == 200, r.text
    families = text_string_to_metric_families(r.text)
    return r.content, {f.name: f.samples for f in families}


async def _load(client: httpx.AsyncClient) -> None:
    events = [
        aggregate(1),
        aggregate(2, start=NOW - 300, last=40.2, min=40.0, max=41.0),  # older: must not win
        reading(3, ts=NOW + 10, value=28.1),
        heartbeat(4),
        episode(5),
    ]
    r = await client.post("/v1/events", json=envelope(events), headers=auth(NODE1_TOKEN))
    assert r.status_code == 200, r.text


def _one(samples: list[Sample], **labels: str) -> Sample:
    (match,) = [s for s in samples if all(s.labels.get(k) == v for k, v in labels.items())]
    return match


async def test_sensor_values_node_health_and_open_episodes(client: httpx.AsyncClient) -> None:
    await _load(client)
    _, m = await _scrape(client)
    humidity = _one(m["agent_bruno_sensor_value"], metric="humidity")
    assert humidity.value == 40.9  # the newest window's last value, not the late older one
    assert set(humidity.labels) == {"cluster", "node", "location", "sensor", "metric", "unit"}
    assert humidity.labels["node"] == "pi-node-1"
    assert _one(m["agent_bruno_sensor_value"], metric="temperature").value == 28.1
    assert _one(m["agent_bruno_node_health"], node="pi-node-1", metric="cpu_percent").value == 12.5
    assert _one(m["agent_bruno_node_last_seen_timestamp_seconds"], node="pi-node-1").value > 0
    open_faults = _one(m["agent_bruno_open_episodes"], kind="sensor_fault", severity="warning")
    assert open_faults.value == 1
    assert (
        _one(m["agent_bruno_open_episodes"], kind="process_anomaly", severity="critical").value == 0
    )
    assert "process_cpu_seconds" in m


async def test_requests_are_counted_by_route_and_status_class(client: httpx.AsyncClient) -> None:
    await client.get("/v1/nodes", headers=auth(API_TOKEN))
    await client.get("/v1/nodes")  # no token: 401
    _, m = await _scrape(client)
    requests = m["agent_bruno_http_requests"]
    assert _one(requests, route="/v1/nodes", code="2xx").value == 1
    assert _one(requests, route="/v1/nodes", code="4xx").value == 1


async def test_metrics_need_the_api_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 401


@pytest.mark.e2e  # starts promtool
async def test_exposition_passes_promtool(client: httpx.AsyncClient) -> None:
    await _load(client)
    await client.get("/nope")
    body, _ = await _scrape(client)
    check_metrics(body)
