"""Fault table (issue 7), the agent's side: its disk full, its database corrupt or truncated.

A full disk is SQLite's own "database or disk is full" (max_page_count on the writer's
connection: the file may not grow by one more page). Ingest answers 503 with Retry-After and
acknowledges nothing it did not store; once there is room again the refused batches are taken and
every acknowledged event is there. A damaged database is the store of what was acknowledged, so
it is never replaced: the agent refuses to start, names the file and says what to do, and leaves
the file as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_bruno.app import create_app
from agent_bruno.storage.base import StorageError
from tests.unit.agent.helpers import (
    API_TOKEN,
    NODE1_TOKEN,
    NOW,
    auth,
    envelope,
    make_settings,
    reading,
)

H1 = auth(NODE1_TOKEN)


def _critical(i: int) -> dict[str, object]:
    return reading(i, ts=NOW + i, reason=f"hard limit {i} " + "x" * 400)


async def test_agent_disk_full_answers_503_then_takes_everything_back(app, client, settings):
    """Nothing acknowledged is lost while the disk is full, and nothing refused is half-stored."""
    conn = app.state.services.writer._storage._writer.conn
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages + 4}")
    acknowledged: list[str] = []
    refused: list[list[dict[str, object]]] = []
    for batch in range(60):
        events = [_critical(batch * 10 + k) for k in range(10)]
        r = await client.post("/v1/events", json=envelope(events), headers=H1)
        if r.status_code == 200:
            assert r.json()["accepted"] == 10, r.json()
            acknowledged.extend(str(e["id"]) for e in events)
            continue
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "5"
        assert "full" in r.text
        refused.append(events)
    assert acknowledged, "the disk filled up at once"
    assert refused, "the disk never filled up"
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert "full" in ready.text

    conn.execute("PRAGMA max_page_count = 1073741823")  # room again
    for events in refused:  # the reporter's retries
        r = await client.post("/v1/events", json=envelope(events), headers=H1)
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == 10, r.text
        acknowledged.extend(str(e["id"]) for e in events)
    assert (await client.get("/readyz")).status_code == 200
    params = {"node": "pi-node-1", "view": "readings", "start": str(NOW - 60), "limit": "1000"}
    r = await client.get("/v1/anomalies", params=params, headers=auth(API_TOKEN))
    listed = r.json()["anomalies"]
    assert len(listed) == len(acknowledged) == 600


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
async def test_a_damaged_agent_database_is_named_and_kept(tmp_path: Path, damage: str) -> None:
    """The agent does not start on a damaged database and does not touch it."""
    settings = make_settings(tmp_path)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        pass
    path = settings.database_path
    if damage == "garbage":
        path.write_bytes(b"not a database " * 2000)
    else:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2 + 100])
    before = path.read_bytes()
    app = create_app(settings)
    with pytest.raises(StorageError) as raised:
        async with app.router.lifespan_context(app):
            pass
    message = str(raised.value)
    assert str(path) in message
    assert "damaged" in message
    assert "backup" in message
    assert path.read_bytes() == before
