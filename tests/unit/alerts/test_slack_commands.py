"""`POST /slack/commands`: signed requests create and manage; forged, replayed ones are refused."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI

from agent_bruno.alerts.receiver import receiver
from agent_bruno.api.slack import slack_signature
from tests.unit.alerts.conftest import SLACK_SECRET


def form(text: str, user: str = "U1", team: str = "T1", **extra: str) -> bytes:
    fields = {"team_id": team, "user_id": user, "command": "/bruno", "text": text, **extra}
    return urlencode(fields).encode()


def signed(body: bytes, at: float | None = None, secret: str = SLACK_SECRET) -> dict[str, str]:
    stamp = str(int(time.time() if at is None else at))
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(secret, stamp, body),
        "Content-Type": "application/x-www-form-urlencoded",
    }


@pytest.fixture
async def slack(app: FastAPI) -> Any:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as c:
        yield c


async def command(client: httpx.AsyncClient, text: str, **kw: str) -> dict[str, Any]:
    body = form(text, **kw)
    r = await client.post("/slack/commands", content=body, headers=signed(body))
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    assert data["response_type"] == "ephemeral"
    return data


async def test_create_list_snooze_change_stop(slack: httpx.AsyncClient) -> None:
    made = await command(slack, "alert me if humidity drops below 30%")
    assert "OK, subscribed (sub_" in made["text"]
    assert "): humidity below 30%; resolves once back above 32%." in made["text"]
    assert "Backtest:" in made["text"]
    listed = await command(slack, "what am I subscribed to?")
    assert "You have 1 subscription" in listed["text"]
    assert "Snoozed" in (await command(slack, "snooze the humidity alert for 2 hours"))["text"]
    changed = await command(slack, "make the humidity alert 25% instead")
    assert "now humidity below 25%" in changed["text"]
    # Another Slack user sees nothing of it.
    other = await command(slack, "what am I subscribed to?", user="U2")
    assert "no alert subscriptions" in other["text"]
    assert (
        "no alert subscriptions"
        in (await command(slack, "stop the humidity alert", user="U2"))["text"]
    )
    assert "Stopped" in (await command(slack, "stop the humidity alert"))["text"]
    assert "no alert subscriptions" in (await command(slack, "what am I subscribed to?"))["text"]


async def test_forged_signature_is_refused(slack: httpx.AsyncClient) -> None:
    body = form("alert me if humidity drops below 30%")
    r = await slack.post("/slack/commands", content=body, headers=signed(body, secret="x" * 24))
    assert r.status_code == 401
    assert "bad Slack signature" in r.json()["detail"]
    # A body changed after signing is refused too.
    headers = signed(body)
    r = await slack.post("/slack/commands", content=body + b"&x=1", headers=headers)
    assert r.status_code == 401


async def test_replayed_request_is_refused(slack: httpx.AsyncClient) -> None:
    body = form("what am I subscribed to?")
    r = await slack.post("/slack/commands", content=body, headers=signed(body, time.time() - 301))
    assert r.status_code == 401
    assert "replay" in r.json()["detail"]


async def test_unsigned_request_is_refused(slack: httpx.AsyncClient) -> None:
    r = await slack.post("/slack/commands", content=form("help"))
    assert r.status_code == 401


async def test_help(slack: httpx.AsyncClient) -> None:
    assert "alert me if humidity" in (await command(slack, ""))["text"]


async def test_a_slow_command_answers_at_once_and_posts_to_the_response_url(
    slack: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("agent_bruno.api.slack.ANSWER_WITHIN_S", 0.0)
    with receiver() as slack_side:
        made = await command(
            slack, "alert me if humidity drops below 30%", response_url=slack_side.url + "/resp"
        )
        assert made["text"].startswith("Working on it")
        (posted,) = await slack_side.until(1)
    assert posted.path == "/resp"
    assert posted.json()["response_type"] == "ephemeral"
    assert "): humidity below 30%; resolves once back above 32%." in posted.json()["text"]
