"""A real agent process with alert subscriptions and a webhook receiver on loopback.

Used by the alert benchmarks and the e2e crash test: start `agent-bruno serve` with the
receiver as its default channel, subscribe, send reporter events, kill and restart it.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from agent_bruno.localrun import free_port, serve_agent

NODE = "pi-bench"
REPORTER_TOKEN = "alerts-reporter-7d2f9b4c1e8a"
API_TOKEN = "alerts-api-3c9e1a7f5b2d"
HOOK_SECRET = "alerts-hook-6a4c2e8f0b1d"


class AlertAgent:
    """One agent process over a data directory, alerting to `hook_url`."""

    def __init__(self, root: Path, hook_url: str, **extra_env: str) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "AGENT_BRUNO_REPORTER_TOKENS": f"{NODE}={REPORTER_TOKEN}",
            "AGENT_BRUNO_API_TOKEN": API_TOKEN,
            "AGENT_BRUNO_ALERT_ALLOW_HOSTS": "127.0.0.1/32",
            "AGENT_BRUNO_ALERT_DEFAULT_URL": hook_url,
            "AGENT_BRUNO_ALERT_DEFAULT_SECRET": HOOK_SECRET,
            "AGENT_BRUNO_ALERT_GROUP_WAIT_S": "0",
            "AGENT_BRUNO_ALERT_GROUP_INTERVAL_S": "1",
            # One reporter stands in for many places here (a group per location): a real
            # reporter token is held to its node's first place.
            "AGENT_BRUNO_REPORTER_MOVES": "allow",
            **extra_env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url, timeout=30.0)
        self._seq = 0

    def start(self) -> None:
        """Start the agent and wait until it is ready."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.proc = serve_agent(
            self.root / "agent", self.port, self.env, log=self.root / "agent.log"
        )

    def kill(self) -> None:
        """SIGKILL the agent: no shutdown, no flush."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        """Stop the agent politely."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.client.close()

    def subscribe(self, rule: dict[str, Any], name: str | None = None) -> str:
        """Create a subscription to the default channel; return its id."""
        body: dict[str, Any] = {"rule": rule, "backtest_days": 1}
        if name:
            body["name"] = name
        r = self.client.post(
            "/v1/subscriptions", json=body, headers={"Authorization": f"Bearer {API_TOKEN}"}
        )
        r.raise_for_status()
        return str(r.json()["subscription"]["id"])

    def send(self, events: list[dict[str, Any]], location: str = "lab") -> float:
        """POST reporter events; return when the ingest was acknowledged (time.time())."""
        body = {
            "schema_version": 1,
            "reporter": {"node": NODE, "location": location, "cluster": "bench"},
            "events": events,
        }
        r = self.client.post(
            "/v1/events", json=body, headers={"Authorization": f"Bearer {REPORTER_TOKEN}"}
        )
        acked = time.time()
        r.raise_for_status()
        return acked

    def event_id(self) -> str:
        """A fresh idempotency key."""
        self._seq += 1
        return f"{secrets.token_hex(4)}-{self._seq}"


def aggregate(agent: AlertAgent, sensor: str, start: float, lo: float, hi: float) -> dict[str, Any]:
    """A 5-minute temperature aggregate of one sensor."""
    return {
        "id": agent.event_id(), "type": "aggregate", "ts": start + 300, "sensor": sensor,
        "metric": "temperature", "unit": "°C", "start": start, "end": start + 300, "count": 60,
        "min": lo, "max": hi, "mean": (lo + hi) / 2, "last": hi,
    }  # fmt: skip


def critical(agent: AlertAgent, sensor: str, ts: float, value: float) -> dict[str, Any]:
    """A critical flagged reading (what a reporter pushes at once)."""
    return {
        "id": agent.event_id(), "type": "reading", "ts": ts, "sensor": sensor,
        "metric": "temperature", "unit": "°C", "value": value, "severity": "critical",
        "score": 0.99, "reason": f"{value} °C is above the sensor limit of 80",
    }  # fmt: skip


def episode(
    agent: AlertAgent, sensor: str, start: float, phase: str, revision: int
) -> dict[str, Any]:
    """A critical process-anomaly episode event."""
    return {
        "id": agent.event_id(), "type": "episode", "ts": start + revision, "sensor": sensor,
        "metric": "temperature", "unit": "°C", "phase": phase, "start": start,
        "last": start + revision, "kind": "process_anomaly", "rule": "score",
        "severity": "critical", "count": revision, "readings": revision, "peak_value": 31.0,
        "reason": "temperature step", "revision": revision,
        **({"end": start + revision} if phase == "close" else {}),
    }  # fmt: skip
