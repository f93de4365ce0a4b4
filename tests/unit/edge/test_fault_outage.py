"""Fault table (issue 7): the agent down 1 h and 24 h, on a fast clock.

The real engine samples a simulated DHT22 (with sensor glitches past its range: criticals by hard
limit) once a minute of simulated time while every send fails; then the agent comes back. The
outbox stays within its bound, drops what matters least first (heartbeats, then the oldest
aggregates; never a warning or a critical), and once the agent is back every critical made during
the outage is delivered, in order, once.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from edge_reporter.engine import Engine
from edge_reporter.forwarder import Forwarder, Outcome, Reporter
from edge_reporter.outbox import Outbox
from edge_reporter.sensors.faults import parse_faults
from edge_reporter.sensors.registry import default_triage
from edge_reporter.sensors.simulated import SimulatedSource
from edge_reporter.store import LocalStore
from tests.unit.edge.test_reporter_forwarder import T0, TOKEN, FakeAgent

# Small enough that a day of aggregates and heartbeats overflows it, large enough for an hour.
MAX_EVENTS = 300
SPIKES = "dht22-1/temperature:spike@{}:+70"


@pytest.mark.parametrize(("hours", "overflows"), [(1, False), (24, True)])
async def test_agent_down_keeps_the_outbox_bounded_and_delivers_every_critical(
    tmp_path: Path, hours: int, overflows: bool
) -> None:
    agent = FakeAgent()
    agent.fail_with = lambda _req, _events: httpx.Response(503)
    box = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=MAX_EVENTS)
    client = httpx.AsyncClient(transport=httpx.MockTransport(agent))
    fwd = Forwarder(
        box,
        client,
        url="http://agent/v1/events",
        token=TOKEN,
        reporter=Reporter("pi-1", "warehouse", "homelab"),
        batch_events=100,
    )
    spikes_at = [600 + k * (hours * 3600 - 1200) // 3 for k in range(4)]
    faults = parse_faults(",".join(SPIKES.format(t) for t in spikes_at))
    store = LocalStore(tmp_path / "raw.db", retention_days=7, max_bytes=10**8)
    engine = Engine(
        sources=[SimulatedSource("sim-dht22", "dht22-1", seed=3, origin=T0, faults=faults)],
        store=store,
        outbox=box,
        triage_factory=default_triage,
        aggregate_interval=300,
    )
    for minute in range(hours * 60):
        now = T0 + minute * 60
        engine.sample(now)
        engine.flush_due(now)
        assert box.depth() <= MAX_EVENTS
        if minute % 30 == 0:
            assert await fwd.send_once() is Outcome.RETRY
    pending = box.peek(10_000)
    criticals = [e.id for e in pending if e.kind == "critical"]
    assert len(criticals) == len(spikes_at)

    dropped = box.dropped()
    assert dropped.get("critical", 0) == 0
    assert dropped.get("warning", 0) == 0
    if overflows:
        assert box.depth() == MAX_EVENTS
        # Heartbeats go first (one, the newest, is left), then the oldest aggregates.
        assert dropped["heartbeat"] > 0
        assert dropped["aggregate"] > 0
        assert sum(e.kind == "heartbeat" for e in pending) <= 1
        kept = [json.loads(e.body)["start"] for e in pending if e.kind == "aggregate"]
        assert min(kept) > T0 + 3600  # what is left of the aggregates is the newest
        assert kept == sorted(kept)
    else:
        assert sum(dropped.values()) == 0

    agent.fail_with = None
    assert await fwd.drain() is Outcome.EMPTY
    assert agent.stored == [e.id for e in pending]
    assert [i for i in agent.stored if i in set(criticals)] == criticals
    store.close()
    box.close()
    await client.aclose()
