"""`/v1/subscriptions` end to end in one process: a sentence becomes a rule with its backtest,
ingest fires it, the loopback receiver gets the signed webhook, owners are kept apart."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from agent_bruno.alerts.receiver import Receiver
from tests.unit.agent.helpers import NODE1_TOKEN, auth, envelope
from tests.unit.alerts.helpers import SkipClock

NOW = float(int(time.time() // 300) * 300 - 900)  # windows that have ended


def humidity(i: int, lo: float, hi: float, start: float) -> dict[str, Any]:
    return {
        "id": f"h-{i}-{start}", "type": "aggregate", "ts": start + 300, "sensor": "dht22-1",
        "metric": "humidity", "unit": "%", "start": start, "end": start + 300, "count": 5,
        "min": lo, "max": hi, "mean": (lo + hi) / 2, "last": hi,
    }  # fmt: skip


async def settled(client: httpx.AsyncClient, n: int) -> list[dict[str, Any]]:
    """The caller's notifications once `n` of them are no longer pending (the receiver sees a
    request before the agent has recorded its answer)."""
    for _ in range(200):
        rows: list[dict[str, Any]] = (await client.get("/v1/notifications")).json()["notifications"]
        if sum(1 for r in rows if r["status"] != "pending") >= n:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"notifications still pending: {rows}")


async def ingest(client: httpx.AsyncClient, events: list[dict[str, Any]], **reporter: Any) -> None:
    body = envelope(events, **reporter)
    r = await client.post("/v1/events", json=body, headers=auth(NODE1_TOKEN))
    assert r.status_code == 200, r.text


async def test_sentence_to_rule_backtest_fire_and_resolve(
    alice: httpx.AsyncClient, hook: Receiver, clock: SkipClock
) -> None:
    # Two hours of history with one dry spell, so the backtest has something to say.
    history = [humidity(i, 25 if 6 <= i < 9 else 40, 45, NOW - 7200 + 300 * i) for i in range(22)]
    await ingest(alice, history)
    r = await alice.post("/v1/subscriptions", json={"text": "Alert me if humidity drops below 30%"})
    assert r.status_code == 201, r.text
    body = r.json()
    sub = body["subscription"]
    assert body["understood"] == "humidity below 30%; resolves once back above 32%"
    assert sub["rule"]["kind"] == "threshold"
    assert sub["rule"]["value"] == 30
    assert sub["destination"]["url"] == "http://127.0.0.1:…" or "…" in sub["destination"]["url"]
    assert body["backtest"]["fired"] == 1
    assert body["backtest"]["fired_seconds"] == 900
    assert "would have fired once" in body["backtest"]["text"]
    # A dry window fires at once (group wait 0 in these settings) ...
    await ingest(alice, [humidity(100, 27.5, 31, NOW)])
    (first,) = await hook.until(1)
    note = first.json()
    assert first.signature_ok is True
    assert first.headers["x-bruno-notification-id"] == note["id"]
    assert note["status"] == "firing"
    assert note["alerts"][0]["labels"]["location"] == "warehouse"
    assert note["alerts"][0]["value"] == 27.5
    assert note["link"].endswith(f"/v1/subscriptions/{sub['id']}")
    # ... a window back above 32 % resolves it.
    await ingest(alice, [humidity(101, 33, 36, NOW + 300)])
    await clock.skip(unless=lambda: len(hook.ok()) >= 2)  # the group interval (1 s)
    got = await hook.until(2, timeout_s=15)
    assert got[1].json()["status"] == "resolved"
    listed = await settled(alice, 2)
    assert [n["status"] for n in listed] == ["delivered", "delivered"]
    assert listed[0]["created_at"] - listed[1]["created_at"] >= 1.0 - 1e-3  # it waited


async def test_owners_cannot_see_or_change_each_others(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    rule = {"kind": "threshold", "metric": "co2", "op": "above", "value": 1000}
    r = await alice.post("/v1/subscriptions", json={"rule": rule})
    assert r.status_code == 201
    sub_id = r.json()["subscription"]["id"]
    assert (await bob.get("/v1/subscriptions")).json()["subscriptions"] == []
    for method, path in [
        ("GET", f"/v1/subscriptions/{sub_id}"),
        ("DELETE", f"/v1/subscriptions/{sub_id}"),
        ("POST", f"/v1/subscriptions/{sub_id}/pause"),
    ]:
        assert (await bob.request(method, path)).status_code == 404
    assert (await alice.get(f"/v1/subscriptions/{sub_id}")).status_code == 200


async def test_manage_pause_snooze_update_delete(alice: httpx.AsyncClient) -> None:
    rule = {"kind": "threshold", "metric": "humidity", "op": "below", "value": 30, "unit": "%"}
    sub_id = (await alice.post("/v1/subscriptions", json={"rule": rule})).json()["subscription"][
        "id"
    ]
    paused = (await alice.post(f"/v1/subscriptions/{sub_id}/pause")).json()
    assert paused["paused"] is True
    snoozed = (await alice.post(f"/v1/subscriptions/{sub_id}/snooze", json={"for": "2h"})).json()
    assert 7190 < snoozed["snoozed_until"] - time.time() <= 7200
    resumed = (await alice.post(f"/v1/subscriptions/{sub_id}/resume")).json()
    assert resumed["paused"] is False
    assert resumed["snoozed_until"] is None
    changed = await alice.patch(f"/v1/subscriptions/{sub_id}", json={"rule": {**rule, "value": 25}})
    assert changed.json()["description"] == "humidity below 25%"
    assert (await alice.delete(f"/v1/subscriptions/{sub_id}")).status_code == 200
    assert (await alice.get(f"/v1/subscriptions/{sub_id}")).status_code == 404


async def test_refusals_and_questions_are_clear(alice: httpx.AsyncClient) -> None:
    r = await alice.post("/v1/subscriptions", json={"text": "alert me if it goes below 30"})
    assert r.status_code == 422
    assert "of what?" in r.json()["detail"]
    r = await alice.post("/v1/subscriptions", json={"text": "page me on critical anomalies"})
    assert r.status_code == 422
    assert "pagerduty destination" in r.json()["detail"]
    r = await alice.post(
        "/v1/subscriptions", json={"text": "x", "rule": {"kind": "node", "condition": "offline"}}
    )
    assert r.status_code == 422


async def test_destinations_are_checked_and_secrets_not_echoed(alice: httpx.AsyncClient) -> None:
    rule = {"kind": "node", "condition": "offline"}
    r = await alice.post(
        "/v1/subscriptions",
        json={"rule": rule, "destination": {"kind": "webhook", "url": "https://169.254.169.254/x"}},
    )
    assert r.status_code == 422
    assert "metadata" in r.json()["detail"]
    r = await alice.post(
        "/v1/subscriptions",
        json={"rule": rule, "destination": {"kind": "pagerduty", "url": "http://127.0.0.1:9/x",
                                            "secret": "R0UTINGKEY1234567890abcdef"}},
    )  # fmt: skip
    assert r.status_code == 201
    assert "R0UTINGKEY1234567890abcdef" not in r.text
    # Nothing stored yet: the node rule's backtest says it has nothing to replay.
    assert "cannot be tested" in r.json()["backtest"]["text"]


async def test_what_if_backtest(alice: httpx.AsyncClient) -> None:
    history = [humidity(i, 27 if i in (3, 4) else 35, 45, NOW - 3600 + 300 * i) for i in range(12)]
    await ingest(alice, history)
    r = await alice.post(
        "/v1/subscriptions/backtest", json={"text": "alert me if humidity drops below 28%"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["backtest"]["fired"] == 1
    r = await alice.post(
        "/v1/subscriptions/backtest", json={"text": "alert me if humidity drops below 26%"}
    )
    assert r.json()["backtest"]["fired"] == 0
    assert "would not have fired" in r.json()["backtest"]["text"]


async def test_unauthenticated_callers_are_refused(app: Any) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://agent") as anon:
        assert (await anon.get("/v1/subscriptions")).status_code == 401
        r = await anon.get("/v1/subscriptions", headers={"Authorization": "Bearer nope-nope-nope"})
        assert r.status_code == 401


def episode(phase: str, rev: int, severity: str = "critical", **extra: Any) -> dict[str, Any]:
    """A reporter's episode event for the warehouse CO2 sensor."""
    return {
        "id": f"ep-{rev}", "type": "episode", "ts": NOW + rev, "sensor": "mhz19-1",
        "metric": "co2", "unit": "ppm", "phase": phase, "start": NOW, "last": NOW + rev,
        "kind": "process_anomaly", "rule": "score", "severity": severity, "count": rev,
        "readings": rev, "peak_value": 1342.0, "reason": "CO2 step", "revision": rev,
        **({"end": NOW + rev} if phase == "close" else {}), **extra,
    }  # fmt: skip


async def test_reporter_episodes_fire_and_resolve_episode_rules(
    alice: httpx.AsyncClient, hook: Receiver, clock: SkipClock
) -> None:
    await ingest(alice, [humidity(0, 40, 45, NOW - 300)])  # the catalog knows the warehouse
    r = await alice.post(
        "/v1/subscriptions", json={"text": "alert me on critical anomalies in the warehouse"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["understood"] == "critical anomalies in warehouse"
    await ingest(alice, [episode("open", 1, "warning")])
    await ingest(alice, [episode("update", 2)])  # escalated to critical: fires
    (fired,) = await hook.until(1)
    assert fired.json()["severity"] == "critical"
    assert fired.json()["alerts"][0]["reason"] == "CO2 step"
    await ingest(alice, [episode("close", 3)])
    await clock.skip(unless=lambda: len(hook.ok()) >= 2)  # the group interval
    resolved = (await hook.until(2, timeout_s=15))[1].json()
    assert resolved["status"] == "resolved"
