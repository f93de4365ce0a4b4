"""The reporter's /metrics: what an SRE graphs, behind the read token, valid for promtool."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from edge_reporter.config import ReporterConfig
from edge_reporter.main import Runtime, build
from edge_reporter.model import Reading
from edge_reporter.read_api import ReadApi
from tests.promtool import check_metrics

TOKEN = "k3Yq9-tW7xZ2pL0vR5mN"
READ_TOKEN = "read-Yq9tW7xZ2pL0vR5"
T0 = 1_764_115_200.0


@dataclass
class Scraped:
    rt: Runtime
    api: ReadApi

    def get(self, token: str | None = READ_TOKEN) -> tuple[int, str, bytes]:
        host, port = self.api.address
        conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return response.status, response.getheader("Content-Type") or "", body

    def samples(self) -> dict[str, list[Sample]]:
        status, _, body = self.get()
        assert status == 200, body
        return {f.name: f.samples for f in text_string_to_metric_families(body.decode())}


@pytest.fixture
def scraped(tmp_path: Path) -> Iterator[Scraped]:
    """A reporter whose agent is down: a critical spike and several samples, one failed send."""
    config = ReporterConfig.from_env(
        {
            "STUDIO_AGENT_URL": "http://agent:30120",
            "AGENT_TOKEN": TOKEN,
            "NODE_NAME": "pi-1",
            "LOCATION": "lab",
            "CLUSTER": "homelab",
            "DATA_DIR": str(tmp_path),
            "SENSORS": "sim-dht22:dht22-1",
            "FAULTS": "dht22-1/temperature:spike@120:+70",
            "READ_API_PORT": "0",
            "SEED": "7",
        }
    )
    down = httpx.MockTransport(lambda request: httpx.Response(503, text="down"))
    rt = build(config, now=T0, transport=down)
    for i in range(5):
        rt.engine.sample(T0 + 60 * i)
    rt.engine.flush_due(T0 + 300)
    api = ReadApi(
        tmp_path / "raw.db",
        node="pi-1",
        token=READ_TOKEN,
        bind="127.0.0.1",
        port=0,
        poll_interval=0.01,
        metrics=rt.metrics,
    )
    api.start()
    try:
        yield Scraped(rt, api)
    finally:
        api.stop()
        rt.outbox.close()
        rt.store.close()


def _value(samples: list[Sample], **labels: str) -> float:
    (match,) = [s for s in samples if all(s.labels.get(k) == v for k, v in labels.items())]
    return match.value


async def test_counts_outbox_and_sensor_values(scraped: Scraped) -> None:
    await scraped.rt.forwarder.send_once()  # the agent answers 503: one failure, events kept
    m = scraped.samples()
    readings = scraped.rt.engine.counts["readings"]
    assert readings == 10  # 5 samples × temperature and humidity
    assert _value(m["edge_reporter_readings"]) == readings
    assert _value(m["edge_reporter_verdicts"], severity="critical") == 1
    severities = sum(s.value for s in m["edge_reporter_verdicts"])
    assert severities == readings
    assert _value(m["edge_reporter_send_failures"]) == 1
    assert _value(m["edge_reporter_events_sent"]) == 0
    depth = scraped.rt.outbox.depth()
    assert depth >= 2  # the critical and the heartbeat, kept for the next attempt
    assert _value(m["edge_reporter_outbox_depth"]) == depth
    assert _value(m["edge_reporter_outbox_oldest_age_seconds"]) > 0
    triage = m["edge_reporter_triage_duration_seconds"]
    assert [s.value for s in triage if s.name.endswith("_count")] == [readings]
    temperature = _value(m["edge_reporter_sensor_value"], sensor="dht22-1", metric="temperature")
    latest = {r.metric: r for r in scraped.rt.metrics.latest()}
    assert temperature == latest["temperature"].value
    (sample,) = [s for s in m["edge_reporter_sensor_value"] if s.labels["metric"] == "temperature"]
    assert sample.labels == {
        "cluster": "homelab",
        "node": "pi-1",
        "location": "lab",
        "sensor": "dht22-1",
        "metric": "temperature",
        "unit": "°C",
    }
    assert "process_resident_memory_bytes" in m


def test_metrics_need_the_read_token(scraped: Scraped) -> None:
    status, _, _ = scraped.get(token="wrong")
    assert status == 401


@pytest.mark.e2e  # starts promtool
def test_exposition_passes_promtool(scraped: Scraped) -> None:
    status, content_type, body = scraped.get()
    assert status == 200
    assert content_type.startswith("text/plain; version=")
    check_metrics(body)


def test_added_gauges_show_up_and_none_leaves_them_out(scraped: Scraped) -> None:
    state: dict[str, float | None] = {"value": None}
    scraped.rt.metrics.add_gauge("edge_reporter_example", "An example.", lambda: state["value"])
    assert "edge_reporter_example" not in scraped.samples()
    state["value"] = 1.0
    assert _value(scraped.samples()["edge_reporter_example"]) == 1.0


def test_degraded_components_show_in_metrics(scraped: Scraped) -> None:
    """Issue 7, defect 1: a reporter whose disk refuses writes says so on /metrics too."""
    m = scraped.samples()
    assert _value(m["edge_reporter_degraded"]) == 0.0
    assert _value(m["edge_reporter_outbox_held_in_memory"]) == 0.0
    scraped.rt.status.problem("outbox", "cannot write outbox.db: database or disk is full", "")
    m = scraped.samples()
    assert _value(m["edge_reporter_degraded"]) == 1.0
    assert _value(m["edge_reporter_outbox_degraded"]) == 1.0
    assert _value(m["edge_reporter_raw_store_degraded"]) == 0.0


def test_a_series_without_a_value_has_a_timestamp_but_no_value(scraped: Scraped) -> None:
    scraped.rt.metrics.observe([Reading(time.time(), "dht22-1", "humidity", "%", None)])
    m = scraped.samples()
    assert [s.labels["metric"] for s in m["edge_reporter_sensor_value"]] == ["temperature"]
    stamps = m["edge_reporter_sensor_last_reading_timestamp_seconds"]
    assert {s.labels["metric"] for s in stamps} == {"temperature", "humidity"}
