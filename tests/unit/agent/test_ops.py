"""Ops endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from tests.unit.agent.helpers import (
    API_TOKEN,
    NODE1_TOKEN,
    NOW,
    aggregate,
    auth,
    envelope,
    heartbeat,
)


async def test_healthz(client):
    r = await client.get("/healthz")
    assert r.json() == {"status": "ok"}


async def test_readyz_until_the_writer_stops(app, client):
    assert (await client.get("/readyz")).status_code == 200
    app.state.services.writer.stop()
    r = await client.get("/readyz")
    assert r.status_code == 503
    assert "writer" in r.json()["problems"][0]
    ingest = await client.post(
        "/v1/events", json=envelope([aggregate(1)]), headers=auth(NODE1_TOKEN)
    )
    assert ingest.status_code == 503


async def test_readyz_reports_a_failed_commit_until_one_succeeds(app, client, monkeypatch):
    storage = app.state.services.writer._storage
    real = storage.apply_batch

    def disk_full(requests):
        raise OSError("database or disk is full")

    monkeypatch.setattr(storage, "apply_batch", disk_full)
    body, h1 = envelope([aggregate(1)]), auth(NODE1_TOKEN)
    assert (await client.post("/v1/events", json=body, headers=h1)).status_code == 503
    r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["problems"] == ["the last commit failed: database or disk is full"]
    monkeypatch.setattr(storage, "apply_batch", real)
    assert (await client.post("/v1/events", json=body, headers=h1)).status_code == 200
    assert (await client.get("/readyz")).status_code == 200


async def test_metrics_after_ingest(client):
    beat = heartbeat(1, outbox={"depth": 4, "dropped": 2, "oldest_age_s": 1.0})
    events = [aggregate(1), aggregate(1), beat, {"id": "bad", "type": "aggregate"}]
    await client.post("/v1/events", json=envelope(events), headers=auth(NODE1_TOKEN))
    await client.post("/v1/events", json=envelope([]), headers=auth("unknown-token-12345678"))
    r = await client.get("/metrics", headers=auth(API_TOKEN))
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    for line in [
        'agent_bruno_ingest_events_total{outcome="accepted",type="aggregate"} 1.0',
        'agent_bruno_ingest_events_total{outcome="duplicate",type="aggregate"} 1.0',
        'agent_bruno_ingest_events_total{outcome="rejected",type="aggregate"} 1.0',
        'agent_bruno_ingest_events_total{outcome="accepted",type="heartbeat"} 1.0',
        'agent_bruno_ingest_rejections_total{reason="invalid_event"} 1.0',
        'agent_bruno_ingest_rejections_total{reason="unauthorized"} 1.0',
        'agent_bruno_reporter_outbox_depth{node="pi-node-1"} 4.0',
        'agent_bruno_reporter_outbox_dropped{node="pi-node-1"} 2.0',
        'agent_bruno_request_duration_seconds_count{route="/v1/events"} 2.0',
        'agent_bruno_file_bytes{file="database_wal"}',
    ]:
        assert line in text, line
    assert "agent_bruno_group_commit_requests_bucket{le=" in text


async def test_unknown_paths_share_one_latency_label(client):
    await client.get("/nope/1")
    await client.get("/nope/2")
    text = (await client.get("/metrics", headers=auth(API_TOKEN))).text
    assert 'agent_bruno_request_duration_seconds_count{route="other"} 2.0' in text


async def test_read_routes_have_their_own_latency_label(client):
    await client.get("/v1/nodes")
    await client.get("/healthz")
    text = (await client.get("/metrics", headers=auth(API_TOKEN))).text
    assert 'agent_bruno_request_duration_seconds_count{route="/v1/nodes"} 1.0' in text
    assert 'agent_bruno_request_duration_seconds_count{route="/healthz"} 1.0' in text


async def test_outbox_gauge_follows_the_newest_heartbeat_not_a_late_retry(client):
    """Regression: an older heartbeat delivered late moved the gauge backwards while
    /v1/nodes (correctly) kept the newer one."""
    new = heartbeat(2, ts=NOW + 300, outbox={"depth": 4, "dropped": 0, "oldest_age_s": 1.0})
    old = heartbeat(1, ts=NOW, outbox={"depth": 90, "dropped": 7, "oldest_age_s": 900.0})
    for beat in (new, old):
        await client.post("/v1/events", json=envelope([beat]), headers=auth(NODE1_TOKEN))
    text = (await client.get("/metrics", headers=auth(API_TOKEN))).text
    assert 'agent_bruno_reporter_outbox_depth{node="pi-node-1"} 4.0' in text
    assert 'agent_bruno_reporter_outbox_dropped{node="pi-node-1"} 0.0' in text


async def test_metrics_give_the_size_of_each_data_file(client, settings):
    # Background tasks (retention, alert and graph upkeep) may write while the scrape runs, and
    # the database file only grows between checkpoints: the figure lies between two stats.
    before = settings.database_path.stat().st_size
    text = (await client.get("/metrics", headers=auth(API_TOKEN))).text
    after = settings.database_path.stat().st_size
    sizes = {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("agent_bruno_file_bytes{")
    }
    assert set(sizes) == {"database", "database_wal", "threads", "threads_wal"}
    assert 0 < before <= sizes["database"] <= after
