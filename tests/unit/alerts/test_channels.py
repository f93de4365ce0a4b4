"""Real deliveries to loopback receivers: Slack Block Kit and PagerDuty Events v2 payloads in
their documented shapes, a receiver answering 500 then 429 with Retry-After."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from agent_bruno.alerts.receiver import receiver
from tests.unit.alerts.helpers import SkipClock
from tests.unit.alerts.test_subscriptions_api import NOW, humidity, ingest, settled

RULE = {"kind": "threshold", "metric": "humidity", "op": "below", "value": 30, "unit": "%",
        "severity": "critical"}  # fmt: skip


async def subscribe(client: httpx.AsyncClient, destination: dict[str, Any]) -> str:
    r = await client.post("/v1/subscriptions", json={"rule": RULE, "destination": destination})
    assert r.status_code == 201, r.text
    return str(r.json()["subscription"]["id"])


def check_block_kit(message: dict[str, Any]) -> None:
    """Slack's documented limits for an incoming-webhook message with blocks."""
    assert isinstance(message["text"], str)
    assert message["text"]
    blocks = message["blocks"]
    assert 1 <= len(blocks) <= 50
    for block in blocks:
        assert block["type"] in {"header", "section", "context", "divider"}
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert block["text"]["type"] in {"mrkdwn", "plain_text"}
                assert len(block["text"]["text"]) <= 3000
            for f in block.get("fields", []):
                assert f["type"] in {"mrkdwn", "plain_text"}
                assert len(f["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        if block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10


async def test_slack_block_kit(alice: httpx.AsyncClient) -> None:
    with receiver() as slack:
        await subscribe(alice, {"kind": "slack", "url": slack.url + "/services/T1/B1/xyz"})
        await ingest(alice, [humidity(1, 27, 29, NOW)])
        (got,) = await slack.until(1)
        assert got.path == "/services/T1/B1/xyz"
        message = got.json()
        check_block_kit(message)
        text = str(message)
        assert "27%" in text
        assert "warehouse" in text
        assert "30%" in text
        assert message["blocks"][0]["text"]["text"].startswith("[FIRING:1]")
        assert "<http://bruno.test:30120/v1/subscriptions/" in text  # a link back


async def test_pagerduty_trigger_then_resolve_with_one_dedup_key(
    alice: httpx.AsyncClient, clock: SkipClock
) -> None:
    key = "R0UTINGKEY1234567890abcdef012345"
    with receiver(clock=clock.now) as pd:
        await subscribe(alice, {"kind": "pagerduty", "url": pd.url + "/v2/enqueue", "secret": key})
        await ingest(alice, [humidity(1, 27, 29, NOW)])
        await pd.until(1)
        await ingest(alice, [humidity(2, 33, 36, NOW + 300)])
        await clock.skip(unless=lambda: len(pd.ok()) >= 2)  # the group interval (1 s)
        trigger, resolve = (r.json() for r in await pd.until(2, timeout_s=15))
    rows = await settled(alice, 2)  # newest first
    assert rows[0]["created_at"] - rows[1]["created_at"] >= 1.0 - 1e-3  # the resolve waited
    assert trigger["routing_key"] == key
    assert trigger["event_action"] == "trigger"
    assert resolve == {
        "routing_key": key, "dedup_key": trigger["dedup_key"], "event_action": "resolve",
    }  # fmt: skip
    assert len(trigger["dedup_key"]) <= 255
    payload = trigger["payload"]
    assert payload["severity"] == "critical"
    assert 0 < len(payload["summary"]) <= 1024
    assert payload["source"] == "pi-node-1"
    assert payload["group"] == "warehouse"
    assert payload["timestamp"].endswith("Z")
    assert trigger["links"][0]["href"].startswith("http://bruno.test:30120/")


async def test_500_then_429_with_retry_after_then_delivered(
    alice: httpx.AsyncClient, clock: SkipClock
) -> None:
    # Retry-After 5 s: longer than any backoff after two failures (≤ 2 s), so a sender that
    # ignored it would be seen. The waits are skipped on the clock the receiver stamps with.
    script = [(500, {}), (429, {"Retry-After": "5"})]
    with receiver(script=script, clock=clock.now) as flaky:
        await subscribe(alice, {"kind": "webhook", "url": flaky.url + "/in"})
        await ingest(alice, [humidity(1, 27, 29, NOW)])
        backoff = await clock.skip()  # after the 500
        retry_after = await clock.skip()  # after the 429
        await flaky.until(1, timeout_s=20)
        attempts = list(flaky.received)
    assert [a.answered for a in attempts] == [500, 429, 200]
    ids = {a.headers["x-bruno-notification-id"] for a in attempts}
    assert len(ids) == 1  # one notification, retried under its id
    assert attempts[2].at - attempts[1].at >= 4.95  # Retry-After honoured
    assert retry_after is not None
    assert 4.0 <= retry_after <= 5.0
    assert 0.4 <= attempts[1].at - attempts[0].at <= 2.5  # backoff with jitter after the 500
    assert backoff is not None
    assert 0.4 <= backoff <= 1.0  # asked for: 1 s · [0.5, 1]
    rows = await settled(alice, 1)
    assert rows[0]["status"] == "delivered"
    assert rows[0]["attempts"] == 3


async def test_a_4xx_is_permanent_and_the_lane_moves_on(
    alice: httpx.AsyncClient, clock: SkipClock
) -> None:
    with receiver(script=[(400, {})], clock=clock.now) as strict:
        await subscribe(alice, {"kind": "webhook", "url": strict.url + "/in"})
        await ingest(alice, [humidity(1, 27, 29, NOW)])
        await ingest(alice, [humidity(2, 33, 36, NOW + 300)])
        await clock.skip(unless=lambda: len(strict.ok()) >= 1)  # the group interval
        (resolved,) = await strict.until(1, timeout_s=15)
    assert resolved.json()["status"] == "resolved"
    rows = await settled(alice, 2)
    assert [r["status"] for r in rows] == ["delivered", "failed"]
    assert "HTTP 400" in rows[1]["last_error"]


async def test_delivery_outcomes_are_counted_in_metrics(
    alice: httpx.AsyncClient, clock: SkipClock
) -> None:
    with receiver(script=[(503, {})], clock=clock.now) as flaky:
        await subscribe(alice, {"kind": "webhook", "url": flaky.url + "/in"})
        await ingest(alice, [humidity(1, 27, 29, NOW)])
        await clock.skip()  # the backoff after the 503
        await flaky.until(1, timeout_s=20)
        await settled(alice, 1)
    text = (await alice.get("/metrics")).text
    assert 'agent_bruno_alert_deliveries_total{channel="webhook",outcome="retryable"} 1.0' in text
    assert 'agent_bruno_alert_deliveries_total{channel="webhook",outcome="delivered"} 1.0' in text


async def test_a_slow_destination_does_not_hold_up_another(alice: httpx.AsyncClient) -> None:
    gate = threading.Event()
    with receiver(hold=gate) as slow, receiver() as fast:
        try:
            await subscribe(alice, {"kind": "webhook", "url": slow.url + "/slow"})
            await subscribe(alice, {"kind": "webhook", "url": fast.url + "/fast"})
            await ingest(alice, [humidity(1, 27, 29, NOW)])
            (got,) = await fast.until(1, timeout_s=10)
            await slow.arrived(1, timeout_s=10)  # the slow one's request may arrive after
            # the fast one was delivered while the slow one's request is held unanswered
            assert slow.received == []
        finally:
            gate.set()
        (late,) = await slow.until(1, timeout_s=10)
    assert got.json()["status"] == late.json()["status"] == "firing"  # each got the alert
