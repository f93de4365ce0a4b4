""" "Alert me if humidity drops below 30%" with humidity in two places: every interface asks which
(warehouse or office) and creates nothing until answered; the answer completes the rule in the
same conversation, or a new request carrying the place does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from agent_bruno.agent.nlu.vocabulary import Vocabulary
from agent_bruno.alerts.model import ThresholdRule
from agent_bruno.alerts.parse import understand
from agent_bruno.alerts.scoping import answer, which
from agent_bruno.storage.base import CatalogRow
from tests.unit.agent.helpers import NODE1_TOKEN, NODE2_TOKEN, auth, envelope
from tests.unit.alerts.test_query_subscriptions import ask
from tests.unit.alerts.test_slack_commands import command
from tests.unit.alerts.test_subscriptions_api import NOW, humidity

SENTENCE = "Alert me if humidity drops below 30%"


@pytest.fixture
async def slack(app: FastAPI) -> Any:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as c:
        yield c


async def two_rooms(client: httpx.AsyncClient) -> None:
    """Humidity from pi-node-1 in the warehouse and pi-node-2 in the office."""
    for node, token, where in (
        ("pi-node-1", NODE1_TOKEN, "warehouse"),
        ("pi-node-2", NODE2_TOKEN, "office"),
    ):
        body = envelope([humidity(0, 40, 45, NOW)], node=node, location=where)
        r = await client.post("/v1/events", json=body, headers=auth(token))
        assert r.status_code == 200, r.text


async def subscriptions(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    subs: list[dict[str, Any]] = (await client.get("/v1/subscriptions")).json()["subscriptions"]
    return subs


async def test_api_asks_which_and_creates_nothing(alice: httpx.AsyncClient) -> None:
    await two_rooms(alice)
    r = await alice.post("/v1/subscriptions", json={"text": SENTENCE})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "ambiguous"
    assert problem["question"].startswith("Which humidity? office (dht22-1 on pi-node-2), ")
    assert "warehouse (dht22-1 on pi-node-1)" in problem["question"]
    assert "or say 'any'" in problem["question"]
    assert problem["scopes"] == [{"location": "office"}, {"location": "warehouse"}]
    assert problem["rule"]["value"] == 30
    assert await subscriptions(alice) == []
    # The same request carrying one of the scopes creates it, backtest and all.
    r = await alice.post(
        "/v1/subscriptions", json={"text": SENTENCE, "scope": problem["scopes"][1]}
    )
    assert r.status_code == 201, r.text
    assert r.json()["understood"].startswith("humidity in warehouse below 30%")
    assert r.json()["backtest"]["series"] == 1
    # `{}` says "all of them"; a place in the sentence needs no question either.
    r = await alice.post("/v1/subscriptions", json={"text": SENTENCE, "scope": {}})
    assert r.status_code == 201
    assert r.json()["backtest"]["series"] == 2
    r = await alice.post(
        "/v1/subscriptions", json={"text": SENTENCE.replace("humidity", "office humidity")}
    )
    assert r.status_code == 201
    assert r.json()["subscription"]["rule"]["scope"]["location"] == "office"
    r = await alice.post(
        "/v1/subscriptions", json={"text": "Alert me if humidity anywhere drops below 30%"}
    )
    assert r.status_code == 201
    assert len(await subscriptions(alice)) == 4
    # A scope naming nothing stored is refused, not silently watched.
    r = await alice.post(
        "/v1/subscriptions", json={"text": SENTENCE, "scope": {"location": "garage"}}
    )
    assert r.status_code == 422
    assert "'garage' has no stored series" in r.json()["detail"]


async def test_one_room_asks_nothing(alice: httpx.AsyncClient) -> None:
    body = envelope([humidity(0, 40, 45, NOW)])
    assert (await alice.post("/v1/events", json=body, headers=auth(NODE1_TOKEN))).status_code == 200
    r = await alice.post("/v1/subscriptions", json={"text": SENTENCE})
    assert r.status_code == 201, r.text


async def test_query_thread_answers_the_question(alice: httpx.AsyncClient) -> None:
    await two_rooms(alice)
    r = await ask(alice, SENTENCE)
    asked = r.json()["answer"]
    assert asked.startswith("Which humidity? office (dht22-1 on pi-node-2), warehouse")
    (call,) = r.json()["calls"]
    assert call["name"] == "subscriptions"
    assert await subscriptions(alice) == []
    thread = r.headers["x-thread-id"]
    # Something that is no place keeps the question open and says so ...
    again = (await ask(alice, "the garage", thread)).json()["answer"]
    assert again.startswith("I still need to know where to watch")
    assert await subscriptions(alice) == []
    # ... the answer creates the rule in that place, with its backtest.
    made = (await ask(alice, "the warehouse", thread)).json()["answer"]
    assert made.startswith("OK, subscribed (sub_")
    assert "humidity in warehouse below 30%" in made
    assert "Backtest:" in made
    (sub,) = await subscriptions(alice)
    assert sub["rule"]["scope"]["location"] == "warehouse"
    # "it" is now that subscription.
    assert (
        (await ask(alice, "snooze it for 2 hours", thread))
        .json()["answer"]
        .startswith(f"Snoozed {sub['id']}")
    )


async def test_query_thread_any_of_them_and_never_mind(alice: httpx.AsyncClient) -> None:
    await two_rooms(alice)
    thread = (await ask(alice, SENTENCE)).headers["x-thread-id"]
    made = (await ask(alice, "any of them", thread)).json()["answer"]
    assert made.startswith("OK, subscribed")
    assert "over 2 series" in made
    other = (await ask(alice, "Alert me if humidity rises above 80%")).headers["x-thread-id"]
    dropped = (await ask(alice, "never mind", other)).json()["answer"]
    assert dropped.startswith("OK, I won't set up humidity above 80%")
    assert len(await subscriptions(alice)) == 1
    # A question in a thread without one pending is not taken as an answer.
    fresh = (await ask(alice, "the office", other)).json()
    assert all(c["name"] != "subscriptions" for c in fresh["calls"])


async def test_answer_in_another_thread_or_by_another_owner_creates_nothing(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    await two_rooms(alice)
    thread = (await ask(alice, SENTENCE)).headers["x-thread-id"]
    await ask(bob, "the warehouse", thread)
    assert await subscriptions(bob) == []
    assert await subscriptions(alice) == []


async def test_slack_asks_and_the_next_command_in_the_channel_answers(
    alice: httpx.AsyncClient, slack: httpx.AsyncClient
) -> None:
    await two_rooms(alice)
    asked = await command(slack, SENTENCE.lower(), channel_id="C1")
    assert asked["text"].startswith("Which humidity? office")
    # Another user's answer in the same channel is not this user's.
    other = await command(slack, "the office", channel_id="C1", user="U2")
    assert "OK, subscribed" not in other["text"]
    made = await command(slack, "the office", channel_id="C1")
    assert made["text"].startswith("OK, subscribed (sub_")
    assert "humidity in office below 30%" in made["text"]


ROWS = [
    CatalogRow("homelab", node, where, sensor, metric, unit, 0.0, 100.0)
    for node, where, sensor, metric, unit in (
        ("pi-node-1", "warehouse", "dht22-1", "humidity", "%"),
        ("pi-node-1", "warehouse", "dht22-2", "humidity", "%"),
        ("pi-node-2", "office", "dht22-3", "humidity", "%"),
        ("pi-node-3", "greenhouse", "dht22-4", "humidity", "%"),
        ("pi-node-1", "warehouse", "dht22-1", "temperature", "°C"),
        ("pi-node-3", "greenhouse", "dht22-1", "humidity", "%"),
        ("pi-node-1", "warehouse", "node", "cpu_percent", "%"),
        ("pi-node-2", "office", "node", "cpu_percent", "%"),
    )
]
VOCAB = Vocabulary.from_catalog(ROWS)


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        (SENTENCE, True),
        ("alert me if humidity anywhere drops below 30%", False),
        ("alert me if any humidity sensor drops below 30%", False),
        ("alert me if humidity in any room drops below 30%", False),
        ("tell me when all humidity sensors drop below 30%", False),
        ("alert me if warehouse humidity drops below 30%", False),  # two sensors, one place
        ("alert me if humidity on pi-node-2 drops below 30%", False),
        ("alert me if dht22-4 humidity drops below 30%", False),  # one sensor of that name
        ("alert me if dht22-1 humidity drops below 30%", True),  # two places have a dht22-1
        ("alert me if the temperature goes above 30", False),  # one series
        ("alert me if humidity rises by 10% in 10 minutes", True),  # rate rules too
        ("tell me if a humidity sensor goes silent", False),  # silence: any, naturally
        ("page me on critical humidity anomalies", False),
        ("alert me if cpu_percent goes above 90%", False),  # node health: every node, as node rules
    ],
)
def test_what_counts_as_ambiguous(text: str, asks: bool) -> None:
    understood = understand(text, VOCAB)
    assert understood.rule is not None, understood.words()
    assert (which(understood.rule, text, ROWS) is not None) is asks


@pytest.mark.parametrize(
    ("reply", "scope"),
    [
        ("the warehouse", {"location": "warehouse"}),
        ("warehous", {"location": "warehouse"}),
        ("in the office please", {"location": "office"}),
        ("the greenhouse one", {"location": "greenhouse"}),
        ("pi-node-2", {"node": "pi-node-2"}),
        ("dht22-3", {"node": "pi-node-2", "sensor": "dht22-3"}),
        ("any of them", {}),
        ("all", {}),
        ("everywhere", {}),
        ("dht22-1", None),  # in two places: still a question
        ("office and greenhouse", None),  # one rule watches one place, or all
        ("the garage", None),
        ("what's the humidity in the warehouse?", None),
    ],
)
def test_answers(reply: str, scope: dict[str, str] | None) -> None:
    rule = understand(SENTENCE, VOCAB).rule
    assert isinstance(rule, ThresholdRule)
    pending = which(rule, SENTENCE, ROWS)
    assert pending is not None
    got = answer(reply, rule, pending, VOCAB)
    assert (None if got is None else got.model_dump(exclude_none=True)) == scope
