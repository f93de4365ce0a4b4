"""An agent SIGKILLed while it delivers notifications loses none and processes none twice.

A real `agent-bruno serve` alerts a slow (1 s) webhook receiver about 12 groups firing and then
resolving. It is killed while requests are in flight, restarted on the same data, and the
receiver must end with every notification, each group's firing before its resolve. A request
in flight at the kill is sent again under the same notification id (at least once): the
receiver recognises it, so nothing is processed twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_bruno.alerts.receiver import Receiver, receiver
from bench.alerts_scenario import HOOK_SECRET, AlertAgent, aggregate

pytestmark = pytest.mark.e2e
GROUPS = 12


@pytest.fixture
def slow_hook() -> Iterator[Receiver]:
    with receiver(secret=HOOK_SECRET, delay_s=1.0) as r:
        yield r


def test_sigkill_during_delivery_loses_and_doubles_nothing(
    tmp_path: Path, slow_hook: Receiver
) -> None:
    agent = AlertAgent(tmp_path, slow_hook.url + "/hook")
    agent.start()
    try:
        agent.subscribe(
            {"kind": "threshold", "metric": "temperature", "op": "above", "value": 50,
             "severity": "critical"},
        )  # fmt: skip
        start = float(int(time.time() // 300) * 300 - 1200)
        for g in range(GROUPS):  # one group per location
            agent.send([aggregate(agent, "t-1", start, 20, 60)], location=f"room-{g}")
        for g in range(GROUPS):
            agent.send([aggregate(agent, "t-1", start + 300, 20, 21)], location=f"room-{g}")
        deadline = time.monotonic() + 20
        while slow_hook.arrivals < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert slow_hook.arrivals >= 3, "no delivery started"
        agent.kill()  # requests are in flight now
        delivered_before = len(slow_hook.distinct())
        assert delivered_before < 2 * GROUPS, "everything was delivered before the kill"
        agent.start()
        slow_hook.wait_for(2 * GROUPS, timeout_s=60)
        deadline = time.monotonic() + 60
        while len(slow_hook.distinct()) < 2 * GROUPS and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        agent.stop()
    distinct = slow_hook.distinct()
    assert len(distinct) == 2 * GROUPS  # nothing lost
    by_group: dict[str, list[str]] = {}
    for got in sorted(distinct.values(), key=lambda r: r.at):
        note = got.json()
        assert got.signature_ok is True
        by_group.setdefault(note["group_key"], []).append(note["status"])
    assert sorted(by_group.values()) == [["firing", "resolved"]] * GROUPS  # in order, once each
    resent = [r for r in slow_hook.ok() if r.repeat]
    print(f"before kill {delivered_before}, arrivals {slow_hook.arrivals}, resent {len(resent)}")
    # Only what was in flight at the kill may come again, and always under its own id.
    assert len(resent) <= slow_hook.arrivals - delivered_before
