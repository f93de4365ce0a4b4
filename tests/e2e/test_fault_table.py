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

import os
import resource
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
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


def _spawn_limited(env: dict[str, str], log: Path, data_limit: int) -> subprocess.Popen[bytes]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (data_limit, data_limit))

    with log.open("ab") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "edge_reporter"],
            env={**os.environ, **env},
            stdout=handle,
            stderr=subprocess.STDOUT,
            preexec_fn=limit,  # only setrlimit runs between fork and exec
        )


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


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

    def start_reporter(
        self, agent_url: str, *, data_limit: int | None = None, **extra: str
    ) -> None:
        env = {
            "STUDIO_AGENT_URL": agent_url,
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
            **extra,
        }
        if data_limit is None:
            self.reporter = spawn(["edge_reporter"], env, self.root / "reporter.log")
        else:  # the pod's memory limit, as RLIMIT_DATA (heap and anonymous maps)
            self.reporter = _spawn_limited(env, self.root / "reporter.log", data_limit)
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


def _taken(raw: Path) -> tuple[dict[tuple[str, str], int], int]:
    """Readings with a value per (sensor, metric) in the reporter's raw store (a dropout has
    none and is in no aggregate), and how many were past the DHT22's range (criticals)."""
    taken: Counter[tuple[str, str]] = Counter()
    spikes = 0
    with StoreReader(raw) as reader:
        for r in reader.readings(start=0, end=time.time() + 60, limit=10_000_000):
            if r.value is None:
                continue
            taken[(r.sensor, r.metric)] += 1
            spikes += r.metric == "temperature" and r.value > 80
    return dict(taken), spikes


def _assert_stored(faults: Faults, taken: dict[tuple[str, str], int]) -> None:
    """The agent's aggregates count every reading taken, once."""
    for (sensor, metric), count in taken.items():
        params = {"node": NODE, "sensor": sensor, "metric": metric, "start": "-1h", "step": 3600}
        body = faults.get("/v1/series", **params, include_faults="true").json()
        stored = sum(p["count"] for s in body["series"] for p in s["points"])
        assert stored == count, f"{sensor}/{metric}: agent has {stored}, reporter took {count}"


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
    with LossyLink(faults.port, loss=LOSS, delay_s=(0.0, 0.15), seed=3) as link:
        faults.start_reporter(link.url)
        _wait_for("a first critical through the link", lambda: len(faults.criticals()) >= 1, 90,
                  faults.root)  # fmt: skip
        time.sleep(4.0)  # past the second spike, batches still going through the link
        link.down()
        time.sleep(2.0)
        # Down until the reporter has tried and been refused: after lost requests it backs
        # off, and a fixed 2 s sometimes ended before its next attempt.
        _wait_for("a connection refused while the link is down",
                  lambda: link.counts.get("refused", 0) >= 1, 120, faults.root)  # fmt: skip
        link.up()
        time.sleep(1.0)
        assert faults.reporter is not None
        faults.reporter.send_signal(signal.SIGKILL)  # mid-batch: it sends every 0.1 s
        faults.reporter.wait(10)
        faults.start_reporter(link.url)  # same data dir: its outbox and raw store carry on
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
    assert "agent rejected" not in (faults.root / "reporter.log").read_text()  # heartbeats too
    assert counts.get("requests lost", 0) > 0, counts
    assert counts.get("answers lost", 0) > 0, counts
    assert counts.get("refused", 0) > 0, counts

    # The model, Forge and graph are unreachable: the question is answered from the data.
    assert asked.status_code == 200, asked.text
    assert "lab" in asked.text.lower()

    taken, spikes = _taken(faults.root / "reporter" / "raw.db")
    assert set(taken) == {("dht22-1", "temperature"), ("dht22-1", "humidity")}
    _assert_stored(faults, taken)

    criticals = faults.criticals()
    assert spikes == 4
    assert len(criticals) == spikes, criticals
    assert len({a["id"] for a in criticals}) == spikes


MIB = 1024 * 1024


@pytest.mark.slow
def test_reporter_under_128_mib_through_a_long_outage_and_replay(faults: Faults) -> None:
    """`make soak`: the reporter under the DaemonSet's 128 MiB (RLIMIT_DATA), four sensors at
    20 samples a second for ~3 minutes (nine hours of a Pi sampling every 10 s), the agent down
    for the first minute then up: no MemoryError, nothing lost, every critical delivered."""
    extra = {
        "REPORT_INTERVAL": "0.05",  # the fastest it takes
        "SENSORS": "sim-dht22:dht22-1,sim-pressure:bmp-1,sim-co2:co2-1,sim-motion:pir-1",
        "FAULTS": ",".join(f"dht22-1/temperature:spike@{t}:+70" for t in (5, 40, 90, 130)),
    }
    faults.start_reporter(faults.url, data_limit=128 * MIB, **extra)
    assert faults.reporter is not None
    peak = 0.0
    for _ in range(60):  # the agent is down: the outbox grows
        time.sleep(1.0)
        assert faults.reporter.poll() is None, _logs(faults.root)
        peak = max(peak, _rss_mib(faults.reporter.pid))
    faults.start_agent()
    deadline = time.monotonic() + 100
    while time.monotonic() < deadline:
        time.sleep(1.0)
        assert faults.reporter.poll() is None, _logs(faults.root)
        peak = max(peak, _rss_mib(faults.reporter.pid))
    faults.reporter.send_signal(signal.SIGTERM)
    assert faults.reporter.wait(30) == 0, _logs(faults.root)
    log = (faults.root / "reporter.log").read_text()
    assert "MemoryError" not in log
    assert "agent rejected" not in log  # heartbeats included
    assert peak < 128, peak

    taken, spikes = _taken(faults.root / "reporter" / "raw.db")
    assert len(taken) >= 5
    _assert_stored(faults, taken)
    assert spikes == 4
    criticals = faults.criticals()
    assert len({a["id"] for a in criticals}) == len(criticals) == spikes, criticals
