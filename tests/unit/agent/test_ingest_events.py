"""POST /v1/events: every bad input is refused cleanly, and nothing wrong is stored."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest

from agent_bruno.app import create_app
from agent_bruno.storage.base import StorageError
from tests.unit.agent.helpers import (
    NODE1_TOKEN,
    NODE2_TOKEN,
    NOW,
    aggregate,
    auth,
    count,
    envelope,
    heartbeat,
    make_settings,
    nothing_stored,
    query,
    reading,
)

H1 = auth(NODE1_TOKEN)


async def test_each_event_type_is_stored(client, settings):
    explanation = {"id": "x-1", "type": "explanation", "ts": NOW + 2, "ref": "r-1",
                   "text": "heat source nearby", "model": "qwen2.5:0.5b"}  # fmt: skip
    body = envelope([reading(1), aggregate(1), heartbeat(1), explanation])
    r = await client.post("/v1/events", json=body, headers=H1)
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 4, "duplicates": 0, "rejected": []}
    assert query(settings, "SELECT severity, value, explanation FROM anomalies") == [
        ("critical", 28.1, "heat source nearby")
    ]
    assert query(settings, "SELECT count, min, max, sum, last FROM rollup_5m") == [
        (5, 40.1, 41.0, pytest.approx(202.5), 40.9)
    ]
    assert count(settings, "rollup_1h") == 1
    assert count(settings, "samples") == 0  # flagged readings are anomalies; aggregates count them
    assert query(settings, "SELECT node, location, cluster FROM nodes") == [
        ("pi-node-1", "warehouse", "homelab")
    ]


async def test_dropout_warning_without_a_value_is_stored(client, settings):
    """Regression: a sensor that gave no reading is reported with value null, not rejected."""
    dropout = reading(1, severity="warning") | {"value": None, "reason": "no reading for 3 samples"}
    r = await client.post("/v1/events", json=envelope([dropout]), headers=H1)
    assert r.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert query(settings, "SELECT severity, value, reason FROM anomalies") == [
        ("warning", None, "no reading for 3 samples")
    ]


async def test_explanation_before_its_reading_is_attached_later(client, settings):
    note = {"id": "x-1", "type": "explanation", "ts": NOW, "ref": "r-1", "text": "why"}
    assert (await client.post("/v1/events", json=envelope([note]), headers=H1)).status_code == 200
    assert (await client.post("/v1/events", json=envelope([reading(1)]), headers=H1)).is_success
    assert query(settings, "SELECT explanation FROM anomalies") == [("why",)]
    assert count(settings, "pending_explanations") == 0


async def test_parked_explanations_go_to_their_own_readings(client, settings):
    notes = [
        {"id": f"x-{i}", "type": "explanation", "ts": NOW, "ref": f"r-{i}", "text": f"why {i}"}
        for i in (1, 3)
    ]
    assert (await client.post("/v1/events", json=envelope(notes), headers=H1)).status_code == 200
    readings = [reading(i, ts=NOW + i) for i in (1, 2, 3)]
    assert (await client.post("/v1/events", json=envelope(readings), headers=H1)).is_success
    assert query(settings, "SELECT event_id, explanation FROM anomalies ORDER BY event_id") == [
        ("r-1", "why 1"),
        ("r-2", None),
        ("r-3", "why 3"),
    ]
    assert count(settings, "pending_explanations") == 0


async def test_duplicates_across_requests_are_not_stored_twice(client, settings):
    body = envelope([aggregate(1), aggregate(2, start=NOW + 300), reading(1)])
    first = await client.post("/v1/events", json=body, headers=H1)
    again = await client.post("/v1/events", json=body, headers=H1)
    assert first.json()["accepted"] == 3
    assert again.json() == {"accepted": 0, "duplicates": 3, "rejected": []}
    assert query(settings, "SELECT sum(count) FROM rollup_5m") == [(10,)]
    assert count(settings, "anomalies") == 1


async def test_duplicate_ids_within_a_request_count_once(client, settings):
    r = await client.post("/v1/events", json=envelope([aggregate(1), aggregate(1)]), headers=H1)
    assert r.json() == {"accepted": 1, "duplicates": 1, "rejected": []}
    assert query(settings, "SELECT sum(count) FROM rollup_5m") == [(5,)]


async def test_same_id_from_two_nodes_is_two_events(client, settings):
    await client.post("/v1/events", json=envelope([aggregate(1)]), headers=H1)
    r = await client.post(
        "/v1/events", json=envelope([aggregate(1)], node="pi-node-2"), headers=auth(NODE2_TOKEN)
    )
    assert r.json()["accepted"] == 1
    assert count(settings, "event_ids") == 2


async def test_partial_batch_stores_valid_and_names_rejected(client, settings):
    bad_agg = aggregate(2, min=45.0)  # min above mean
    events = [aggregate(1), bad_agg, reading(3, severity="meh"), {"type": "nope"}, "junk"]
    r = await client.post("/v1/events", json=envelope(events), headers=H1)
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == 1
    rejected = {item["index"]: item for item in body["rejected"]}
    assert set(rejected) == {1, 2, 3, 4}
    assert rejected[1]["id"] == "a-2"
    assert "mean 40.5 is outside" in rejected[1]["error"]
    assert rejected[2]["id"] == "r-3"
    assert "severity" in rejected[2]["error"]
    assert "type" in rejected[3]["error"]
    assert count(settings, "event_ids") == 1
    assert count(settings, "anomalies") == 0


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("ts", 12.0, "greater than or equal"),
        ("value", "NaN", "finite"),
        ("sensor", "", "at least 1"),
        ("sensor", "s" * 129, "at most 128"),
        ("id", "", "at least 1"),
    ],
)
async def test_bad_field_is_named(client, settings, field, value, needle):
    r = await client.post("/v1/events", json=envelope([reading(1, **{field: value})]), headers=H1)
    (item,) = r.json()["rejected"]
    assert field in item["error"]
    assert needle in item["error"]
    assert nothing_stored(settings)


async def test_counts_too_big_for_the_database_are_rejected_not_503(client, settings):
    huge = heartbeat(1, outbox={"depth": 10**30, "dropped": 0})
    r = await client.post(
        "/v1/events", json=envelope([aggregate(1, count=10**30), huge]), headers=H1
    )
    assert r.status_code == 200
    assert [x["index"] for x in r.json()["rejected"]] == [0, 1]
    assert nothing_stored(settings)


async def test_unknown_token_is_401_with_challenge(client, settings):
    r = await client.post(
        "/v1/events", json=envelope([aggregate(1)]), headers=auth("not-a-known-token-123")
    )
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    missing = await client.post("/v1/events", json=envelope([aggregate(1)]))
    assert missing.status_code == 401
    assert nothing_stored(settings)


async def test_wrong_node_is_403(client, settings):
    r = await client.post("/v1/events", json=envelope([aggregate(1)], node="pi-node-2"), headers=H1)
    assert r.status_code == 403
    assert "pi-node-2" in r.json()["detail"]
    assert "pi-node-1" in r.json()["detail"]
    assert nothing_stored(settings)


async def test_malformed_json_is_400_with_position(client, settings):
    body = b'{"schema_version": 1,\n "reporter": {"node": "pi-node-1",,}}'
    r = await client.post(
        "/v1/events", content=body, headers={**H1, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    detail = r.json()
    assert (detail["line"], detail["column"]) == (2, 35)
    assert detail["position"] == 56
    assert "line 2" in detail["detail"]
    assert nothing_stored(settings)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.update(schema_version=2), "schema_version"),
        (lambda b: b["reporter"].pop("node"), "reporter.node"),
        (lambda b: b.update(events={"not": "a list"}), "events"),
        (lambda b: b["reporter"].update(location=""), "reporter.location"),
    ],
)
async def test_envelope_errors_are_422_naming_the_field(client, settings, mutate, field):
    body = envelope([aggregate(1)])
    mutate(body)
    r = await client.post("/v1/events", json=body, headers=H1)
    assert r.status_code == 422
    assert field in r.json()["fields"]
    assert field in r.json()["detail"]
    assert nothing_stored(settings)


async def test_top_level_not_an_object_is_422(client, settings):
    r = await client.post("/v1/events", json=[1, 2], headers=H1)
    assert r.status_code == 422
    assert nothing_stored(settings)


async def test_gzip_body_is_accepted(client, settings):
    raw = orjson.dumps(envelope([aggregate(1)]))
    headers = {**H1, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    r = await client.post("/v1/events", content=gzip.compress(raw), headers=headers)
    assert r.status_code == 200, r.text
    assert count(settings, "rollup_5m") == 1


async def test_broken_gzip_is_400(client, settings):
    headers = {**H1, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    r = await client.post("/v1/events", content=b"\x1f\x8b not gzip", headers=headers)
    assert r.status_code == 400
    truncated = gzip.compress(orjson.dumps(envelope([aggregate(1)])))[:-12]
    r = await client.post("/v1/events", content=truncated, headers=headers)
    assert r.status_code == 400
    assert nothing_stored(settings)


async def test_gzip_missing_only_its_trailer_is_400_truncated(client, settings):
    """Regression (mutation check): a body whose deflate data is whole but whose CRC and length
    trailer is missing was stored with a 200 when the end-of-stream check was removed."""
    headers = {**H1, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    whole = gzip.compress(orjson.dumps(envelope([aggregate(1)])))
    r = await client.post("/v1/events", content=whole[:-8], headers=headers)
    assert r.status_code == 400
    assert r.json()["detail"] == "the gzip body is truncated; send it again"
    assert nothing_stored(settings)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Encoding": "br"}, 415),
        ({"Content-Encoding": "deflate"}, 415),
        ({"Content-Type": "text/plain"}, 415),
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ],
)
async def test_unsupported_encoding_or_type_is_415(client, settings, headers, status):
    all_headers = {**H1, "Content-Type": "application/json", **headers}
    body = orjson.dumps(envelope([aggregate(1)]))
    r = await client.post("/v1/events", content=body, headers=all_headers)
    assert r.status_code == status
    assert nothing_stored(settings)


@pytest.mark.parametrize("encoding", ["br", " Deflate "])
async def test_an_unsupported_encoding_is_named_with_what_to_send(client, settings, encoding):
    """Regression (mutation check): the 415 says which encoding and what to send instead, with
    its code (a client tells it from an unsupported media type)."""
    headers = {**H1, "Content-Type": "application/json", "Content-Encoding": encoding}
    r = await client.post("/v1/events", content=b"{}", headers=headers)
    assert r.status_code == 415
    problem = r.json()
    name = encoding.strip().lower()
    assert problem["detail"] == f"Content-Encoding '{name}' is not supported; send gzip or identity"
    assert problem["code"] == "unsupported_encoding"
    assert nothing_stored(settings)


@pytest.fixture
async def small_client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    settings = make_settings(tmp_path, max_body_bytes=4096)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as c:
            yield c, settings


async def test_oversized_body_is_413(small_client):
    client, settings = small_client
    body = orjson.dumps(envelope([aggregate(i) for i in range(40)]))
    assert len(body) > 4096
    r = await client.post(
        "/v1/events", content=body, headers={**H1, "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert "4096" in r.json()["detail"]
    assert nothing_stored(settings)


def _padded(size: int) -> bytes:
    """An envelope of exactly `size` bytes (JSON whitespace after it)."""
    body = orjson.dumps(envelope([aggregate(1)]))
    assert len(body) <= size
    return body + b" " * (size - len(body))


@pytest.mark.parametrize("streamed", [False, True])
async def test_body_of_exactly_the_limit_is_accepted(small_client, streamed):
    """Regression (mutation check): the limit is inclusive; one byte more is refused."""
    client, _settings = small_client
    headers = {**H1, "Content-Type": "application/json"}

    def content(size: int) -> bytes | AsyncIterator[bytes]:
        body = _padded(size)
        if not streamed:
            return body

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(body), 1000):
                yield body[i : i + 1000]

        return chunks()

    r = await client.post("/v1/events", content=content(4097), headers=headers)
    assert r.status_code == 413
    r = await client.post("/v1/events", content=content(4096), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1


async def test_gzip_body_decompressing_to_exactly_the_limit_is_accepted(small_client):
    client, _settings = small_client
    headers = {**H1, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    r = await client.post("/v1/events", content=gzip.compress(_padded(4097)), headers=headers)
    assert r.status_code == 413
    assert "decompressed" in r.json()["detail"]
    r = await client.post("/v1/events", content=gzip.compress(_padded(4096)), headers=headers)
    assert r.status_code == 200, r.text


async def test_oversized_streamed_body_is_413(small_client):
    client, settings = small_client

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1000

    r = await client.post(
        "/v1/events", content=chunks(), headers={**H1, "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert nothing_stored(settings)


async def test_gzip_bomb_is_413(small_client):
    client, settings = small_client
    bomb = gzip.compress(b"[" + b" " * 1_000_000 + b"]")
    assert len(bomb) < 4096
    headers = {**H1, "Content-Type": "application/json", "Content-Encoding": "gzip"}
    r = await client.post("/v1/events", content=bomb, headers=headers)
    assert r.status_code == 413
    assert "decompressed" in r.json()["detail"]
    assert nothing_stored(settings)


async def test_storage_failure_is_503_and_nothing_acknowledged(app, client, settings, monkeypatch):
    def broken(requests):
        raise StorageError("disk I/O error")

    monkeypatch.setattr(app.state.services.storage, "apply_batch", broken)
    r = await client.post("/v1/events", json=envelope([aggregate(1)]), headers=H1)
    assert r.status_code == 503
    assert "nothing was stored" in r.json()["detail"]
    monkeypatch.undo()
    assert nothing_stored(settings)
    ok = await client.post("/v1/events", json=envelope([aggregate(1)]), headers=H1)
    assert ok.json()["accepted"] == 1


async def test_failed_request_leaves_no_trace_and_its_retry_is_stored(
    client, settings, monkeypatch
):
    # Requests committed in the same batch as a failing one: test_storage's
    # test_failing_request_does_not_sink_its_batch.
    from agent_bruno.storage import event_writes

    def explode(writer, req, event):
        raise RuntimeError("boom")

    with monkeypatch.context() as patched:
        patched.setattr(event_writes, "_heartbeat", explode)
        r = await client.post("/v1/events", json=envelope([aggregate(1), heartbeat(1)]), headers=H1)
    assert r.status_code == 503
    assert nothing_stored(settings)
    r = await client.post("/v1/events", json=envelope([aggregate(1), heartbeat(1)]), headers=H1)
    assert r.json()["accepted"] == 2


async def test_empty_event_list_is_fine(client, settings):
    r = await client.post("/v1/events", json=envelope([]), headers=H1)
    assert r.json() == {"accepted": 0, "duplicates": 0, "rejected": []}
    assert nothing_stored(settings)


async def test_older_heartbeat_does_not_replace_newer(client, settings):
    await client.post("/v1/events", json=envelope([heartbeat(2, ts=NOW + 600)]), headers=H1)
    await client.post("/v1/events", json=envelope([heartbeat(1, ts=NOW)]), headers=H1)
    assert query(settings, "SELECT ts FROM nodes") == [(NOW + 600,)]
