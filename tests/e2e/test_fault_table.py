"""Fault table (issue 7), real processes on loopback: a flapping, lossy link between reporter and
agent, kill -9 of the reporter mid-batch, SIGTERM drain, and the agent's Ollama, Forge and Neo4j
all unreachable.

The reporter reaches the agent only through `LossyLink` (each chunk either way lost with
probability LOSS, delayed up to 150 ms; once down for two seconds). It is killed with SIGKILL
while sampling and started again on the same data directory, then stopped with SIGTERM once the
link heals. What was acknowledged must be stored exactly once: the sum of the agent's aggregate
counts equals the readings in the reporter's raw store, and every critical the reporter made
(its raw store's readings past the DHT22's range) is at the agent, once. Meanwhile the agent's
model, Forge and graph are all down: ingest goes on and a question still gets an answer.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_bruno.localrun import READY_TIMEOUT_S, free_port, spawn, tail
from edge_reporter.store import StoreReader
from tests.fakes.lossy_link import LossyLink

pytestmark = pytest.mark.e2e

NODE = "pi-faults"
LOSS = 0.2  # per chunk each way: about 36 % of requests fail, half of them after being stored
API_TOKEN = "api-" + secrets.token_hex(12)


def _wait_for(what: str, check: Callable[[], bool], timeout: float, logs: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}:\n{_logs(logs)}")


def _logs(root: Path) -> str:
    return "\n".join(f"--- {p.name}\n{tail(p, 30)}" for p in sorted(root.glob("*.log")))


class Faults:
    """The agent (its model, Forge and graph unreachable), the link, the reporter."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_urlsafe(24)
        self.procs: list[subprocess.Popen[bytes]] = []
        self.reporter: subprocess.Popen[bytes] | None = None

    def start_agent(self) -> None:
        dead = free_port()  # nothing listens here: connections are refused
        env = {
            "AGENT_BRUNO_HOST": "127.0.0.1",
            "AGENT_BRUNO_PORT": str(self.port),
            "AGENT_BRUNO_DATA_DIR": str(self.root / "agent"),
            "AGENT_BRUNO_REPORTER_TOKENS": f"{NODE}={self.token}",
            "AGENT_BRUNO_API_TOKEN": API_TOKEN,
            "AGENT_BRUNO_OLLAMA_URL": f"http://127.0.0.1:{dead}",
            "AGENT_BRUNO_OLLAMA_MODEL": "qwen2.5:3b",
            "AGENT_BRUNO_OLLAMA_TIMEOUT_S": "5",
            "AGENT_BRUNO_FORGE_URL": f"http://127.0.0.1:{dead}",
            "AGENT_BRUNO_NEO4J_URI": f"bolt://127.0.0.1:{dead}",
            "AGENT_BRUNO_NEO4J_PASSWORD": "e2e-" + secrets.token_hex(8),
        }
        agent = spawn(["agent_bruno.cli", "serve"], env, self.root / "agent.log")
        self.procs.append(agent)
        _wait_for("the agent", lambda: self.get("/healthz").status_code == 200, READY_TIMEOUT_S,
                  self.root)  # fmt: skip

    def start_reporter(self, link: LossyLink) -> None:
        env = {
            "STUDIO_AGENT_URL": link.url,
            "AGENT_TOKEN": self.token,
            "NODE_NAME": NODE,
            "LOCATION": "lab",
            "REPORT_INTERVAL": "0.1",
            "AGGREGATE_INTERVAL": "1",
            "SENSORS": "sim-dht22:dht22-1",
            # Past the DHT22's 80 °C range: critical by hard limit, no warm-up needed.
            "FAULTS": "dht22-1/temperature:spike@1:+70,dht22-1/temperature:spike@4:+70",
            "DATA_DIR": str(self.root / "reporter"),
            "READ_API_PORT": "0",
            "SEED": "11",
        }
        self.reporter = spawn(["edge_reporter"], env, self.root / "reporter.log")
        self.procs.append(self.reporter)

    def get(self, path: str, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        return httpx.get(f"{self.url}{path}", params=params, headers=headers, timeout=10)

    def criticals(self) -> list[dict[str, Any]]:
        params = {"node": NODE, "severity": "critical", "start": "-1h", "view": "readings"}
        anomalies: list[dict[str, Any]] = self.get("/v1/anomalies", **params).json()["anomalies"]
        return anomalies

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def faults(tmp_path: Path) -> Iterator[Faults]:
    f = Faults(tmp_path)
    try:
        yield f
    finally:
        f.close()


def test_lossy_link_reporter_kill_and_dead_backends_lose_and_double_nothing(
    faults: Faults,
) -> None:
    """Every reading acknowledged once and every critical delivered once, through all of it."""
    faults.start_agent()
    with LossyLink(faults.port, loss=LOSS, delay_s=(0.0, 0.15), seed=5) as link:
        faults.start_reporter(link)
        _wait_for("a first critical through the link", lambda: len(faults.criticals()) >= 1, 90,
                  faults.root)  # fmt: skip
        time.sleep(4.0)  # past the second spike, batches still going through the link
        link.down()
        time.sleep(2.0)
        link.up()
        time.sleep(1.0)
        assert faults.reporter is not None
        faults.reporter.send_signal(signal.SIGKILL)  # mid-batch: it sends every 0.1 s
        faults.reporter.wait(10)
        faults.start_reporter(link)  # same data dir: its outbox and raw store carry on
        _wait_for("criticals of both runs", lambda: len(faults.criticals()) >= 4, 90, faults.root)
        time.sleep(3.0)
        link.loss = 0.0  # the link heals; the drain on SIGTERM goes through
        asked = httpx.post(
            f"{faults.url}/query",
            content="What's the temperature in the lab?",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
            timeout=60,
        )
        began = time.monotonic()
        faults.reporter.send_signal(signal.SIGTERM)
        code = faults.reporter.wait(30)
        drained_s = time.monotonic() - began
        counts = dict(link.counts)
    assert code == 0, _logs(faults.root)
    assert drained_s < 30
    assert counts.get("requests lost", 0) > 0, counts
    assert counts.get("answers lost", 0) > 0, counts
    assert counts.get("refused", 0) > 0, counts

    # The model, Forge and graph are unreachable: the question is answered from the data.
    assert asked.status_code == 200, asked.text
    assert "lab" in asked.text.lower()

    with StoreReader(faults.root / "reporter" / "raw.db") as reader:
        taken = {
            s.metric: s.count
            for s in reader.series()
            if s.sensor == "dht22-1" and s.metric in ("temperature", "humidity")
        }
        spikes = sum(
            1
            for r in reader.readings(start=0, end=time.time() + 60, limit=1_000_000)
            if r.metric == "temperature" and r.value is not None and r.value > 80
        )
    assert set(taken) == {"temperature", "humidity"}
    for metric, count in taken.items():
        params = {"node": NODE, "metric": metric, "start": "-1h", "step": 3600}
        body = faults.get("/v1/series", **params, include_faults="true").json()
        stored = sum(p["count"] for s in body["series"] for p in s["points"])
        assert stored == count, f"{metric}: agent has {stored}, reporter took {count}"

    criticals = faults.criticals()
    assert spikes == 4
    assert len(criticals) == spikes, criticals
    assert len({a["id"] for a in criticals}) == spikes
