"""A full disk on the reporter: criticals still reach the agent, and it says it is degraded.

SQLite's `max_page_count` makes a file answer 'database or disk is full' exactly like a full
disk; the real-process case on a small tmpfs is in tests/e2e/test_faults_disk.py.
"""

from __future__ import annotations

import gzip
import json
import logging
import sqlite3
from pathlib import Path

import httpx
import pytest

from edge_reporter.engine import Engine
from edge_reporter.forwarder import Forwarder, Outcome, Reporter
from edge_reporter.model import Reading, SensorSpec, Severity
from edge_reporter.outbox import Outbox
from edge_reporter.read_api import ReadApi
from edge_reporter.status import Status
from edge_reporter.store import LocalStore
from edge_reporter.triage import Verdict

T0 = 1_764_115_200.0
TOKEN = "k3Yq9-tW7xZ2pL0vR5mN"


class Spikes:
    """One temperature series: 35 °C at the given offsets, 20 °C otherwise."""

    def __init__(self, at: set[float]) -> None:
        self.at = at

    def specs(self) -> list[SensorSpec]:
        return [SensorSpec("dht22-1", "temperature", "°C")]

    def read(self, now: float) -> list[Reading]:
        value = 35.0 if now - T0 in self.at else 20.0
        return [Reading(now, "dht22-1", "temperature", "°C", value)]


class HotIsCritical:
    def update(self, ts: float, value: float | None) -> Verdict:
        if value is not None and value >= 30:
            return Verdict(Severity.CRITICAL, 0.99, f"{value} is far too hot", 20.0, 1.0)
        return Verdict(Severity.NORMAL, 0.0, "", 20.0, 1.0)


class Agent:
    """Stores events by id, like the real agent."""

    def __init__(self) -> None:
        self.stored: dict[str, dict[str, object]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        events = json.loads(gzip.decompress(request.content))["events"]
        fresh = [e for e in events if e["id"] not in self.stored]
        self.stored.update({str(e["id"]): e for e in events})
        dup = len(events) - len(fresh)
        return httpx.Response(200, json={"accepted": len(fresh), "duplicates": dup})

    def criticals(self) -> list[dict[str, object]]:
        return [e for e in self.stored.values() if e.get("severity") == "critical"]


def fill_disk(db: sqlite3.Connection | None) -> None:
    """Make the file refuse to grow, as a full disk does."""
    assert db is not None
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    db.execute(f"PRAGMA max_page_count = {pages}")


def free_disk(db: sqlite3.Connection | None) -> None:
    assert db is not None
    db.execute("PRAGMA max_page_count = 1073741823")


def refuse_writes(box: Outbox, refuse: bool = True) -> None:
    """Make the outbox's file refuse every write at once (a full disk refuses only growth)."""
    assert box._db is not None
    box._db.execute(f"PRAGMA query_only = {'ON' if refuse else 'OFF'}")


class Clock:
    """A monotonic clock the test moves (the outbox retries its disk every few seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Reporter_:
    def __init__(self, tmp_path: Path, spikes: set[float]) -> None:
        self.status = Status()
        self.clock = Clock()
        self.store = LocalStore(
            tmp_path / "raw.db", retention_days=7, max_bytes=10**8, status=self.status
        )
        self.outbox = Outbox(
            tmp_path / "outbox.db",
            node="pi-1",
            max_events=1000,
            status=self.status,
            clock=self.clock,
        )
        self.agent = Agent()
        self.client = httpx.AsyncClient(transport=httpx.MockTransport(self.agent))
        self.forwarder = Forwarder(
            self.outbox,
            self.client,
            url="http://agent/v1/events",
            token=TOKEN,
            reporter=Reporter("pi-1", "lab", "homelab"),
        )
        self.engine = Engine(
            sources=[Spikes(spikes)],
            store=self.store,
            outbox=self.outbox,
            triage_factory=lambda spec: HotIsCritical(),
            aggregate_interval=300,
        )


async def test_reporter_disk_full_drops_criticals(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression (issue 7, defect 1): with the data dir full, 2 flagged readings gave 0
    delivered, also after space returned; the log said only 'step failed: outbox: database or
    disk is full', once per step."""
    spikes = {9000.0, 10_800.0}
    r = Reporter_(tmp_path, spikes=spikes)
    r.engine.sample(T0)
    r.engine.flush_due(T0)
    assert await r.forwarder.drain() is Outcome.EMPTY
    fill_disk(r.store._db)
    fill_disk(r.outbox._db)
    caplog.set_level(logging.INFO)
    caplog.clear()
    for i in range(1, 2000):  # the files fill up well before the first spike
        r.engine.sample(T0 + i * 6.0)
        r.engine.flush_due(T0 + i * 6.0)
    # Sent although the disk refuses them.
    assert r.outbox.held_in_memory() > 2
    assert await r.forwarder.drain() is Outcome.EMPTY
    assert sorted(c["ts"] for c in r.agent.criticals()) == [T0 + s for s in sorted(spikes)]
    # Said once per component, not once per reading.
    degraded = [rec for rec in caplog.records if "DEGRADED" in rec.getMessage()]
    assert sorted(rec.getMessage().split(":")[1].strip() for rec in degraded) == [
        "outbox",
        "raw store",
    ]
    assert "held in memory" in caplog.text
    snapshot = r.status.snapshot()
    assert snapshot["status"] == "degraded"
    assert set(snapshot["problems"]) == {"outbox", "raw store"}
    assert "full" in snapshot["problems"]["outbox"]["detail"]

    # Space returns: a later critical goes through the file again, the status clears.
    free_disk(r.store._db)
    free_disk(r.outbox._db)
    caplog.clear()
    r.engine._sources = [Spikes({12_000.0})]
    r.clock.now += 60
    for i in range(2000, 2003):
        r.outbox.retry()
        r.engine.sample(T0 + i * 6.0)
        r.engine.flush_due(T0 + i * 6.0)
    assert await r.forwarder.drain() is Outcome.EMPTY
    assert len(r.agent.criticals()) == 3
    assert r.status.snapshot()["status"] == "ok"
    assert r.outbox.held_in_memory() == 0
    assert {rec.getMessage().split(":")[0] for rec in caplog.records if "RECOVERED" in rec.msg}
    await r.client.aclose()


async def test_criticals_held_in_memory_reach_the_file_when_the_agent_is_down(
    tmp_path: Path,
) -> None:
    """With the disk full and the agent down, criticals wait in memory and are written to the
    outbox (with the same ids) once the disk takes writes again, then delivered."""
    r = Reporter_(tmp_path, spikes={60.0})
    refuse_writes(r.outbox)
    r.engine.sample(T0 + 60.0)
    assert r.outbox.held_in_memory() == 1
    (held,) = r.outbox.peek(10)
    refuse_writes(r.outbox, False)
    r.clock.now += 60
    r.outbox.retry()
    assert r.outbox.held_in_memory() == 0
    (stored,) = r.outbox.peek(10)
    assert stored.seq > 0
    assert stored.id == held.id == json.loads(stored.body)["id"]
    r.outbox.close()
    reopened = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=1000)
    assert [e.id for e in reopened.peek(10)] == [held.id]
    reopened.close()


def test_memory_is_bounded_and_keeps_criticals_longest(tmp_path: Path) -> None:
    clock = Clock()
    box = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=1000, memory_max=10, clock=clock)
    refuse_writes(box)
    box.put("critical", {"n": 0}, now=T0)
    for n in range(1, 30):
        box.put("aggregate", {"n": n}, now=T0)
    assert box.held_in_memory() == 10
    kinds = [e.kind for e in box.peek(100)]
    assert kinds[0] == "critical"
    assert kinds.count("aggregate") == 9
    assert box.dropped() == {"aggregate": 20}
    refuse_writes(box, False)
    clock.now += 60
    box.retry()
    assert box.dropped() == {"aggregate": 20}  # counted in the file now
    assert box.depth() == 10
    box.close()


def test_acknowledged_events_are_not_resent_when_the_delete_fails(tmp_path: Path) -> None:
    clock = Clock()
    box = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=1000, clock=clock)
    box.put_many([("aggregate", {"n": n}) for n in range(3)], now=T0)
    first = box.peek(2)
    refuse_writes(box)  # the DELETE of the acknowledged events fails
    box.ack(e.seq for e in first)
    assert [json.loads(e.body)["n"] for e in box.peek(10)] == [2]
    assert box.depth() == 1
    refuse_writes(box, False)
    clock.now += 60
    box.retry()
    assert box.depth() == 1
    box.close()
    assert Outbox(tmp_path / "outbox.db", node="pi-1", max_events=9).depth() == 1


def test_healthz_says_degraded_and_stays_200(tmp_path: Path) -> None:
    """A liveness probe must not restart a reporter whose disk is full: that would lose the
    events it holds in memory."""
    status = Status()
    status.problem("outbox", "cannot write outbox.db: database or disk is full", "held")
    api = ReadApi(tmp_path / "raw.db", node="pi-1", token=None, bind="127.0.0.1", port=0,
                  status=status)  # fmt: skip
    code, body = api.handle("/healthz", "", None)
    assert code == 200
    assert body["status"] == "degraded"
    assert body["problems"]["outbox"]["detail"].endswith("database or disk is full")
    status.resolved("outbox")
    assert api.handle("/healthz", "", None)[1]["status"] == "ok"
