"""Across a restart: what was stored but not evaluated (a crash right after the commit) is
evaluated when the agent starts again, and what was already notified is not sent again."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi import FastAPI

from agent_bruno.alerts.receiver import Receiver
from agent_bruno.app import create_app
from agent_bruno.settings import Settings
from tests.unit.alerts.conftest import ALICE
from tests.unit.alerts.helpers import SkipClock
from tests.unit.alerts.test_subscriptions_api import humidity, ingest

RULE = {"kind": "threshold", "metric": "humidity", "op": "below", "value": 30, "unit": "%"}


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://agent",
        headers={"Authorization": f"Bearer {ALICE}"},
    )  # fmt: skip


@pytest.mark.parametrize("age_s", [900, 2700], ids=["recent", "caught-up-30-min-late"])
async def test_a_write_stored_but_not_evaluated_fires_after_the_restart(
    settings: Settings,
    hook: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    clock: SkipClock,
    age_s: int,
) -> None:
    """`age_s`: how old the data is when it arrives. A reporter catching up after an outage
    sends windows half an hour old; the replay used to cover only 15 minutes of data time, so
    such a write, acknowledged just before a crash, never fired (or resolved) after it."""
    # Times taken when the test runs, not at import: a loaded full run reaches it late.
    start = float(int(time.time() // 300) * 300 - age_s)
    first = create_app(settings)
    async with first.router.lifespan_context(first), client(first) as c:
        assert (await c.post("/v1/subscriptions", json={"rule": RULE})).status_code == 201
        await ingest(c, [humidity(1, 35, 40, start)])  # evaluated: nothing crossed
        # The agent dies after committing the next write and before evaluating it.
        monkeypatch.setattr(first.state.services.alerts, "observe", lambda *a, **k: None)
        await ingest(c, [humidity(2, 27, 29, start + 300)])
    assert hook.received == []
    monkeypatch.undo()
    again = create_app(settings)
    async with again.router.lifespan_context(again), client(again) as c:
        (got,) = await hook.until(1)
        assert got.json()["status"] == "firing"
        assert got.json()["alerts"][0]["value"] == 27
    # A third start replays the same data: the alert is already firing and notified.
    third = create_app(settings)
    async with third.router.lifespan_context(third), client(third) as c:
        await ingest(c, [humidity(3, 33, 36, start + 600)])  # back above 32 %: resolves
        await clock.skip(unless=lambda: len(hook.distinct()) >= 2)  # its group interval
        # Counted by notification id: delivery is at least once, so a firing delivered just
        # before the second stop may come again under its id (receivers dedupe on it).
        got = await hook.until(2, distinct=True)
    assert [r.json()["status"] for r in got] == ["firing", "resolved"]


async def test_replay_resolves_an_alert_where_it_fired_after_the_node_moved(
    settings: Settings, hook: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node moved from the lab to the office, and its lab alert's resolve was stored but not
    evaluated before a crash. The replay used to merge the node's series under its latest
    place, so it evaluated the lab's data as the office's and the lab alert stayed firing."""
    settings = settings.model_copy(update={"reporter_moves": "allow"})
    start = float(int(time.time() // 300) * 300 - 1200)
    first = create_app(settings)
    async with first.router.lifespan_context(first), client(first) as c:
        assert (await c.post("/v1/subscriptions", json={"rule": RULE})).status_code == 201
        await ingest(c, [humidity(1, 20, 25, start)], location="lab")  # fires in the lab
        await ingest(c, [humidity(2, 35, 40, start)], location="office")
        (got,) = await hook.until(1)
        assert got.json()["alerts"][0]["labels"]["location"] == "lab"
        monkeypatch.setattr(first.state.services.alerts, "observe", lambda *a, **k: None)
        await ingest(c, [humidity(3, 35, 40, start + 300)], location="lab")  # not evaluated
        await ingest(c, [humidity(4, 35, 40, start + 300)], location="office")
    monkeypatch.undo()
    again = create_app(settings)
    async with again.router.lifespan_context(again), client(again) as c:
        got = await hook.until(2, distinct=True)
    assert [r.json()["status"] for r in got] == ["firing", "resolved"]
    assert got[1].json()["alerts"][0]["labels"]["location"] == "lab"
