"""The real pipeline across processes: an agent crash mid-stream loses and doubles nothing.

The agent is SIGKILLed while the reporter keeps sampling, then restarted on the same data. After
the reporter stops (delivering its outbox), every reading it took is accounted for exactly once
in the agent's rollups: the sum of aggregate counts equals the reporter's raw readings.
"""

from __future__ import annotations

import secrets
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_bruno.localrun import READY_TIMEOUT_S, free_port, spawn
from edge_reporter.store import StoreReader

pytestmark = pytest.mark.e2e


def _wait_for(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Cluster:
    """One agent and one reporter as real processes, with their logs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_urlsafe(24)
        self.agent: subprocess.Popen[bytes] | None = None
        self.reporter: subprocess.Popen[bytes] | None = None

    def _spawn(self, module: str, env: dict[str, str], log: str) -> subprocess.Popen[bytes]:
        return spawn(module.split(), env, self.root / log)

    def start_agent(self) -> None:
        self.agent = self._spawn(
            "agent_bruno.cli serve",
            {
                "AGENT_BRUNO_HOST": "127.0.0.1",
                "AGENT_BRUNO_PORT": str(self.port),
                "AGENT_BRUNO_DATA_DIR": str(self.root / "agent"),
                "AGENT_BRUNO_REPORTER_TOKENS": f"pi-e2e={self.token}",
            },
            "agent.log",
        )
        _wait_for("the agent", lambda: self.get("/readyz").status_code == 200, READY_TIMEOUT_S)

    def kill_agent(self) -> None:
        assert self.agent is not None
        self.agent.send_signal(signal.SIGKILL)
        self.agent.wait(10)

    def start_reporter(self) -> None:
        self.reporter = self._spawn(
            "edge_reporter",
            {
                "STUDIO_AGENT_URL": self.url,
                "AGENT_TOKEN": self.token,
                "NODE_NAME": "pi-e2e",
                "LOCATION": "lab",
                "REPORT_INTERVAL": "0.1",
                "AGGREGATE_INTERVAL": "1",
                "SENSORS": "sim-dht22:dht22-1",
                # Past the DHT22's 80 °C range: critical by hard limit, no warm-up needed.
                "FAULTS": "dht22-1/temperature:spike@1:+70,dht22-1/temperature:spike@4:+70",
                "DATA_DIR": str(self.root / "reporter"),
                "READ_API_PORT": "0",
                "SEED": "7",
            },
            "reporter.log",
        )

    def stop_reporter(self) -> int:
        assert self.reporter is not None
        self.reporter.send_signal(signal.SIGTERM)
        return self.reporter.wait(30)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", params=params, timeout=5)

    def close(self) -> None:
        for proc in (self.reporter, self.agent):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.root.glob("*.log"))
        )


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


def _criticals(c: Cluster) -> list[dict[str, Any]]:
    params = {"node": "pi-e2e", "severity": "critical", "start": "-1h", "view": "readings"}
    body = c.get("/v1/anomalies", **params).json()
    anomalies: list[dict[str, Any]] = body["anomalies"]
    return anomalies


def _pending_kinds(c: Cluster) -> list[str]:
    """Kinds of the events waiting in the reporter's outbox (read-only, beside the reporter)."""
    path = c.root / "reporter" / "outbox.db"
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return [str(kind) for (kind,) in db.execute("SELECT kind FROM events")]
    except sqlite3.OperationalError:  # the reporter is creating it
        return []
    finally:
        db.close()


def test_agent_crash_loses_and_doubles_nothing(cluster: Cluster) -> None:
    """Readings taken during an agent crash arrive once each after it restarts."""
    cluster.start_agent()
    cluster.start_reporter()
    _wait_for("the first critical", lambda: len(_criticals(cluster)) >= 1, 60)

    cluster.kill_agent()
    # While the agent is down the reporter keeps what it cannot deliver: the second spike's
    # critical (at ~4 s) and several aggregate windows wait in its outbox.
    _wait_for(
        "the second critical and aggregates pending in the outbox",
        lambda: {"critical", "aggregate"} <= set(_pending_kinds(cluster)),
        30,
    )
    cluster.start_agent()
    _wait_for("the second critical", lambda: len(_criticals(cluster)) >= 2, 60)
    time.sleep(1.5)
    assert cluster.stop_reporter() == 0, cluster.logs()

    with StoreReader(cluster.root / "reporter" / "raw.db") as reader:
        # Readings with a value: a read that overruns its 0.1 s budget on a loaded machine is
        # a dropout (value None), stored on the Pi but not a measurement to aggregate.
        taken = Counter(
            r.metric
            for r in reader.readings(start=0, end=time.time() + 60, limit=1_000_000)
            if r.sensor == "dht22-1" and r.value is not None
        )
    assert set(taken) == {"temperature", "humidity"}
    for metric, count in taken.items():
        # Every reading, the two glitches past the sensor's range (sensor faults) included.
        params = {"node": "pi-e2e", "metric": metric, "start": "-1h", "step": 3600}
        body = cluster.get("/v1/series", **params, include_faults="true").json()
        stored = sum(p["count"] for s in body["series"] for p in s["points"])
        assert stored == count, f"{metric}: agent has {stored}, reporter took {count}"

    criticals = _criticals(cluster)
    assert len(criticals) == 2, criticals
    assert len({a["id"] for a in criticals}) == 2
    assert all(a["value"] > 80 and "limit" in a["reason"] for a in criticals)
