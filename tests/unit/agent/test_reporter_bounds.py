"""Issue 7, defects 13 and 7: a reporter token filed data under any location or cluster, and
created any number of series that every question then read, several times, on the event loop."""

from __future__ import annotations

import threading
from pathlib import Path
from unittest.mock import patch

import httpx
import pytest

from agent_bruno.agent.nlu.vocabulary import Vocabulary
from agent_bruno.agent.service import AgentService
from agent_bruno.app import create_app
from tests.unit.agent.helpers import (
    API_TOKEN,
    NODE1_TOKEN,
    aggregate,
    auth,
    envelope,
    heartbeat,
    make_settings,
    query,
    reading,
)
from tests.unit.agent.test_agent_graph import make_context, write_dataset

H1 = auth(NODE1_TOKEN)
HA = auth(API_TOKEN)


async def test_a_reporter_token_binds_only_the_node(client, settings):
    """Regression (defect 13): pi-node-1's token could file data under any location or
    cluster. The node's first place binds it; another is refused with 403 and the reason."""
    first = await client.post("/v1/events", json=envelope([reading(1)]), headers=H1)
    assert first.json()["accepted"] == 1
    for place in ({"location": "office"}, {"cluster": "other"}):
        r = await client.post("/v1/events", json=envelope([reading(2)], **place), headers=H1)
        assert r.status_code == 403
        assert "registered in cluster 'homelab', location 'warehouse'" in r.json()["detail"]
    assert query(settings, "SELECT DISTINCT location, cluster FROM series") == [
        ("warehouse", "homelab")
    ]
    text = (await client.get("/metrics", headers=HA)).text
    assert 'agent_bruno_ingest_rejections_total{reason="wrong_place"} 2.0' in text


async def test_the_binding_survives_a_restart(tmp_path: Path):
    settings = make_settings(tmp_path)
    for location, status in (("warehouse", 200), ("office", 403)):
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://a") as c:
                batch = envelope([reading(1)], location=location)
                r = await c.post("/v1/events", json=batch, headers=H1)
                assert r.status_code == status, r.text


async def test_allowed_moves_are_logged_and_listed(tmp_path: Path, caplog):
    settings = make_settings(tmp_path, reporter_moves="allow")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://a") as c:
            await c.post("/v1/events", json=envelope([reading(1)]), headers=H1)
            batch = envelope([reading(2), heartbeat(1)], location="office")
            assert (await c.post("/v1/events", json=batch, headers=H1)).status_code == 200
            (node,) = (await c.get("/v1/nodes", headers=HA)).json()["nodes"]
    assert node["location"] == "office"
    assert [m["from"]["location"] for m in node["moves"]] == ["warehouse"]
    assert "moved from homelab/warehouse to homelab/office" in caplog.text


async def test_unbounded_series_per_token(tmp_path: Path):
    """Regression (defect 7): any reporter token could create any number of series (20,000
    made every question slow). Items that would start a series beyond the cap are refused by
    item and counted; existing series keep working."""
    settings = make_settings(tmp_path, max_series_per_reporter=3)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://a") as c:
            events = [aggregate(i, sensor=f"s{i}") for i in range(5)] + [
                aggregate(9, sensor="s0", start=aggregate(0)["start"] + 300)
            ]
            body = (await c.post("/v1/events", json=envelope(events), headers=H1)).json()
            assert body["accepted"] == 4
            assert [r["index"] for r in body["rejected"]] == [3, 4]
            assert "already has 3 series" in body["rejected"][0]["error"]
            text = (await c.get("/metrics", headers=HA)).text
    assert 'agent_bruno_ingest_rejections_total{reason="series_cap"} 2.0' in text


@pytest.mark.parametrize("moves", ["refuse", "allow"])
def test_moves_setting(tmp_path: Path, moves: str) -> None:
    assert make_settings(tmp_path, reporter_moves=moves).reporter_moves == moves


class CountingStorage:
    """Storage that counts catalog reads and notes the thread that builds the vocabulary."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.catalog_calls: list[str] = []

    def catalog(self) -> object:
        self.catalog_calls.append(threading.current_thread().name)
        return self.inner.catalog()  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@pytest.mark.parametrize(
    "question", ["What is the temperature in the warehouse?", "Is anything wrong?"]
)
async def test_the_catalog_is_read_once_per_turn_off_the_event_loop(tmp_path: Path, question):
    """Defect 7: every question read the catalog several times and built its vocabulary on the
    event loop (0.5 s blocked with 20,000 series). Now at most once per turn, in a worker
    thread: the second turn, with the data unchanged, takes the first one's."""
    storage = CountingStorage(write_dataset(tmp_path / "db.sqlite"))
    built_on: list[str] = []
    original = Vocabulary.from_catalog.__func__  # type: ignore[attr-defined]

    def spy(cls: type[Vocabulary], rows: object) -> Vocabulary:
        built_on.append(threading.current_thread().name)
        return original(cls, rows)  # type: ignore[no-any-return]

    service = await AgentService.create(make_context(storage))
    try:
        with patch.object(Vocabulary, "from_catalog", classmethod(spy)):
            reply = await service.ask(question, thread_id="t")
            await service.ask(question, thread_id="t")
    finally:
        await service.close()
        storage.inner.close()
    assert reply.calls
    assert len(storage.catalog_calls) == 1  # two turns at one data version: one read
    assert threading.main_thread().name not in storage.catalog_calls
    assert built_on
    assert threading.main_thread().name not in built_on
