"""A real agent (uvicorn on loopback, in a thread) with six hours of two places' readings,
for the SDK, the browser chat and the API contract tests."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from agent_bruno.app import create_app
from tests.servers.loopback import serve_in_thread
from tests.unit.agent.helpers import API_TOKEN, NODE1_TOKEN, NODE2_TOKEN, auth, make_settings

PLACES = (("pi-node-1", "warehouse", NODE1_TOKEN), ("pi-node-2", "office", NODE2_TOKEN))
HOURS = 6


@dataclass(frozen=True)
class LiveAgent:
    """Where the agent listens, and its API token."""

    url: str
    token: str
    seeded_at: float


def _events(node: str, now: float, base: float) -> list[dict[str, Any]]:
    """Aggregates every 5 minutes (temperature, humidity), a heartbeat, one critical spike."""
    start = (now // 300) * 300 - HOURS * 3600
    events: list[dict[str, Any]] = []
    for k in range(HOURS * 12):
        t0 = start + k * 300
        for metric, unit, mean in (("temperature", "°C", base), ("humidity", "%", 45.0)):
            value = round(mean + 1.5 * math.sin(k / 9), 2)
            events.append({
                "id": f"{node}-{metric}-{k}", "type": "aggregate", "ts": t0 + 300,
                "sensor": "dht22-1", "metric": metric, "unit": unit, "start": t0,
                "end": t0 + 300, "count": 5, "min": value - 0.3, "max": value + 0.3,
                "mean": value, "last": value,
            })  # fmt: skip
    spike = start + HOURS * 3600 - 1800  # within the last hour
    events.append({
        "id": f"{node}-spike", "type": "reading", "ts": spike, "sensor": "dht22-1",
        "metric": "temperature", "unit": "°C", "value": base + 7.0, "severity": "critical",
        "score": 0.97, "reason": "7.0 °C above the last hour's baseline",
        "baseline": {"mean": base, "std": 1.1}, "rule": "spike", "kind": "process_anomaly",
    })  # fmt: skip
    events.append({
        "id": f"{node}-spike-why", "type": "explanation", "ts": spike + 2,
        "ref": f"{node}-spike", "text": "A sudden jump like this is usually a door or HVAC.",
        "model": "qwen2.5:0.5b",
    })  # fmt: skip
    events.append({
        "id": f"{node}-hb", "type": "heartbeat", "ts": now, "interval_s": 300,
        "health": {"cpu_percent": 12.5, "memory_percent": 41.0, "disk_percent": 63.2,
                   "soc_temp_c": 48.3, "load_1m": 0.4, "uptime_s": 86400},
        "sensors": [{"sensor": "dht22-1", "metric": "temperature", "unit": "°C"},
                    {"sensor": "dht22-1", "metric": "humidity", "unit": "%"}],
        "workloads": ["edge-reporter", {"name": "camera-1", "namespace": "vision", "kind": "pod"}],
        "outbox": {"depth": 0, "dropped": 0, "oldest_age_s": 0.0},
    })  # fmt: skip
    return events


def seed(url: str) -> float:
    """Send every place's events as its reporter would; the time they were made."""
    now = time.time()
    for i, (node, location, token) in enumerate(PLACES):
        batch = {"schema_version": 1, "sent_at": now,
                 "reporter": {"node": node, "location": location, "cluster": "homelab"},
                 "events": _events(node, now, 21.0 + 2 * i)}  # fmt: skip
        r = httpx.post(f"{url}/v1/events", json=batch, headers=auth(token), timeout=30)
        assert r.status_code == 200, r.text
        assert not r.json()["rejected"], r.text
    return now


@contextmanager
def running_agent(tmp: Path, seeded: bool = True, **overrides: Any) -> Iterator[LiveAgent]:
    """Start the app under uvicorn on a free loopback port; stop it after."""
    app = create_app(make_settings(tmp, **overrides))
    with serve_in_thread(app) as url:
        yield LiveAgent(url, API_TOKEN, seed(url) if seeded else time.time())
