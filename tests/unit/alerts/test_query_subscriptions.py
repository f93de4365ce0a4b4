"""Subscriptions through `/query` and `/chat`: a sentence creates one, follow-ups in the same
thread manage "it", and other questions still reach the agent."""

from __future__ import annotations

import httpx

from tests.unit.alerts.test_subscriptions_api import NOW, humidity, ingest


async def ask(client: httpx.AsyncClient, text: str, thread: str | None = None) -> httpx.Response:
    headers = {"Accept": "application/json"}
    params = {"thread_id": thread} if thread else {}
    r = await client.post("/query", content=text, headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r


async def test_query_creates_and_manages_in_one_thread(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    await ingest(alice, [humidity(0, 40, 45, NOW)])
    r = await ask(alice, "Alert me if humidity drops below 30%")
    body = r.json()
    assert body["answer"].startswith("OK, subscribed (sub_")
    assert "): humidity below 30%; resolves once back above 32%." in body["answer"]
    assert "Backtest: This would not have fired" in body["answer"]
    (call,) = body["calls"]
    assert call["name"] == "subscriptions"
    sub_id = call["data"]["subscription"]["id"]
    thread = r.headers["x-thread-id"]
    snoozed = (await ask(alice, "snooze it for 2 hours", thread)).json()["answer"]
    assert snoozed.startswith(f"Snoozed {sub_id}")
    changed = (await ask(alice, "make it 25% instead", thread)).json()["answer"]
    assert changed == f"Changed {sub_id}: now humidity below 25%; resolves once back above 27%."
    what_if = (await ask(alice, "how often would 28% have fired last week?", thread)).json()
    assert "would not have fired" in what_if["answer"]
    listed = (await ask(alice, "what am I subscribed to?")).json()["answer"]
    assert sub_id in listed
    assert "snoozed until" in listed
    # Another principal sees none of it, and cannot stop it.
    assert "no alert subscriptions" in (await ask(bob, "what am I subscribed to?")).json()["answer"]
    assert "no alert subscriptions" in (await ask(bob, "stop the humidity alert")).json()["answer"]
    stopped = (await ask(alice, "stop the humidity alert")).json()["answer"]
    assert stopped.startswith(f"Stopped {sub_id}")


async def test_other_questions_still_reach_the_agent(alice: httpx.AsyncClient) -> None:
    await ingest(alice, [humidity(0, 40, 45, NOW)])
    r = await ask(alice, "Show me sensor anomalies in the last hour")
    assert all(c["name"] != "subscriptions" for c in r.json()["calls"])


async def test_chat_streams_the_subscription_reply(alice: httpx.AsyncClient) -> None:
    await ingest(alice, [humidity(0, 40, 45, NOW)])
    r = await alice.get("/chat", params={"q": "alert me if humidity goes below 20%"})
    assert r.status_code == 200
    kinds = [
        line.split(":", 1)[1].strip() for line in r.text.splitlines() if line.startswith("event:")
    ]
    assert kinds == ["status", "tool_call", "tool_result", "answer", "done"]
    assert "humidity below 20%" in r.text
