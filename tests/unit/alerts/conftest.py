"""Fixtures: an agent app with alert settings (two principals, a loopback receiver as the
default channel, no group wait) and clients for each principal; every app built in a test
(the restart tests build several) takes its alert service's time from the test's `SkipClock`."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from agent_bruno.alerts.receiver import Receiver, receiver
from agent_bruno.alerts.wiring import open_alerts
from agent_bruno.app import create_app
from agent_bruno.settings import Settings
from tests.unit.agent.helpers import make_settings
from tests.unit.alerts.helpers import SkipClock

ALICE = "alice-token-3f9a1c7e5b2d"
BOB = "bob-token-8e2d4a6c1f9b"
HOOK_SECRET = "hook-secret-5a7c9e1b3d"
SLACK_SECRET = "slack-signing-2b4d6f8a0c"


@pytest.fixture(autouse=True)
def clock() -> Iterator[SkipClock]:
    """The alert service's clock in every app `create_app` builds during the test (one clock
    for all of them: time never runs back across a restart). A test that does not skip runs
    on real time."""
    clock = SkipClock()
    with pytest.MonkeyPatch.context() as mp:  # its own: tests may `monkeypatch.undo()`
        mp.setattr("agent_bruno.app.open_alerts", functools.partial(open_alerts, clock=clock))
        yield clock


@pytest.fixture
def hook(clock: SkipClock) -> Iterator[Receiver]:
    with receiver(secret=HOOK_SECRET, clock=clock.now) as r:
        yield r


@pytest.fixture
def settings(tmp_path: Path, hook: Receiver) -> Settings:
    return make_settings(
        tmp_path,
        api_principals={"alice": ALICE, "bob": BOB},
        alert_allow_hosts=["127.0.0.1/32"],
        alert_default_url=hook.url + "/hook",
        alert_default_secret=HOOK_SECRET,
        alert_group_wait_s=0.0,
        alert_group_interval_s=1.0,
        slack_signing_secret=SLACK_SECRET,
        public_url="http://bruno.test:30120",
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def _client(app: FastAPI, token: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(
        transport=transport, base_url="http://agent", headers={"Authorization": f"Bearer {token}"}
    )


@pytest.fixture
async def alice(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app, ALICE) as c:
        yield c


@pytest.fixture
async def bob(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app, BOB) as c:
        yield c
