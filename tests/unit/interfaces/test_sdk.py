"""The `homelab` SDK against a real, seeded agent on loopback (sync and async clients)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd
import pytest

import homelab.data
from homelab import (
    AgentUnreachable,
    AsyncEdgeData,
    AuthError,
    BadRequest,
    EdgeData,
)
from homelab.core import agent_url, span
from tests.unit.interfaces.live import HOURS, LiveAgent


@pytest.mark.parametrize(
    ("agent", "env", "url"),
    [
        ("agent-bruno", {}, "http://agent-bruno.agent-bruno.svc.cluster.local:30120"),
        (
            "agent-bruno",
            {"HOMELAB_NAMESPACE": "lab"},
            "http://agent-bruno.lab.svc.cluster.local:30120",
        ),
        ("agent-bruno", {"HOMELAB_AGENT_URL": "http://10.0.0.5:30120/"}, "http://10.0.0.5:30120"),
        ("http://127.0.0.1:30120/", {"HOMELAB_AGENT_URL": "http://x"}, "http://127.0.0.1:30120"),
    ],
)
def test_a_short_agent_name_is_the_in_cluster_service(agent, env, url):
    assert agent_url(agent, env) == url


@pytest.mark.parametrize(
    ("bad", "needle"),
    [("Agent Bruno!", "neither a URL"), ("", "neither a URL")],
)
def test_a_bad_agent_name_is_refused(bad, needle):
    with pytest.raises(BadRequest, match=needle):
        agent_url(bad, {})


@pytest.mark.parametrize(
    ("time_range", "needle"),
    [("yesterday", "write a span"), ("0h", "longer than zero"), (timedelta(0), "longer than zero")],
)
def test_bad_time_ranges_are_named(time_range, needle):
    with pytest.raises(BadRequest, match=needle):
        span(time_range, datetime.now(UTC))


def test_anomalies_are_typed_with_their_explanation(agent: LiveAgent):
    with EdgeData(agent.url, agent.token) as data:
        found = data.get_anomalies(cluster="homelab", severity="critical", time_range="6h")
    assert {(a.node, a.location) for a in found} == {
        ("pi-node-1", "warehouse"),
        ("pi-node-2", "office"),
    }
    spike = next(a for a in found if a.location == "warehouse")
    assert spike.sensor_id == "dht22-1"
    assert spike.value == 28.0
    assert spike.severity == "critical"
    assert "above" in spike.reason
    assert spike.ai_analysis == "A sudden jump like this is usually a door or HVAC."
    assert spike.time.tzinfo is not None
    assert abs((datetime.now(UTC) - spike.time).total_seconds()) < HOURS * 3600


def test_anomaly_filters_and_namespaces(agent: LiveAgent):
    with EdgeData(agent.url, agent.token) as data:
        assert [a.location for a in data.get_anomalies(location="office", time_range="6h")] == [
            "office"
        ]
        assert len(data.get_anomalies(namespace="vision", time_range="6h")) == 2
        assert data.get_anomalies(namespace="nowhere", time_range="6h") == []
        assert data.get_anomalies(time_range="1m") == []


def test_long_lists_are_paged(agent: LiveAgent, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(homelab.data, "PAGE", 1)
    seen: list[str] = []
    real = httpx.Client.get

    def counting(self, url, **kwargs):
        seen.append(str(url))
        return real(self, url, **kwargs)

    monkeypatch.setattr(httpx.Client, "get", counting)
    with EdgeData(agent.url, agent.token) as data:
        found = data.get_anomalies(time_range="6h")
    assert len(found) == 2
    assert seen.count("/v1/anomalies") == 2  # one anomaly per page


def test_timeseries_is_a_dataframe_in_the_documented_layout(agent: LiveAgent):
    with EdgeData(agent.url, agent.token) as data:
        df = data.get_timeseries(cluster="homelab", sensors=["dht22-1"], time_range="6h")
    assert isinstance(df.index, pd.DatetimeIndex)
    assert str(df.index.tz) == "UTC"
    assert df.index.name == "time"
    assert list(df.columns) == [
        "cluster", "node", "location", "sensor", "metric", "unit",
        "value", "min", "max", "count", "anomaly",
    ]  # fmt: skip
    assert set(df["metric"]) == {"temperature", "humidity"}
    per_series = df.groupby(["node", "metric"]).size()
    assert per_series.min() >= HOURS * 12 - 1
    flagged = df[df["anomaly"]]
    assert set(zip(flagged["node"], flagged["metric"], strict=True)) == {
        ("pi-node-1", "temperature"),
        ("pi-node-2", "temperature"),
    }
    assert len(flagged) == 2
    wide = df[df["metric"] == "temperature"].pivot_table(
        index="time", columns="location", values="value"
    )
    assert (wide["office"] > wide["warehouse"]).all()


def test_long_ranges_are_fetched_in_windows(agent: LiveAgent, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(homelab.core, "MAX_POINTS", 10)
    with EdgeData(agent.url, agent.token) as data:
        df = data.get_timeseries(sensors=["dht22-1"], time_range="6h", step="5m",
                                 include_anomalies=False, metric="humidity")  # fmt: skip
    assert "anomaly" not in df.columns
    assert not df.reset_index().duplicated(["time", "node"]).any()
    assert df.groupby("node").size().min() >= HOURS * 12 - 1


def test_readings_come_oldest_first(agent: LiveAgent):
    with EdgeData(agent.url, agent.token) as data:
        rows = data.get_readings(location="warehouse", metric="temperature", time_range="2h")
    assert rows
    assert all(r.time.tzinfo is not None for r in rows)
    assert [r.time for r in rows] == sorted(r.time for r in rows)
    assert all(r.unit == "°C" and r.location == "warehouse" for r in rows)


def test_query_returns_the_answer_with_its_data(agent: LiveAgent):
    with EdgeData(agent.url, agent.token) as data:
        answer = data.query("What's the temperature in the warehouse?")
        follow = data.query("and the humidity?", thread_id=answer.thread_id)
    assert "warehouse" in answer.text
    assert "°C" in answer.text
    assert answer.mode == "builtin"
    assert answer.calls
    assert answer.data
    assert "%" in follow.text
    assert follow.thread_id == answer.thread_id


def test_chat_streams_events(agent: LiveAgent):
    with EdgeData(agent.url, agent.token) as data:
        events = list(data.chat("temperature in the office?"))
    kinds = [e.kind for e in events]
    assert kinds[0] == "status"
    assert kinds[-1] == "done"
    assert "token" in kinds
    assert "tool_call" in kinds


def test_subscribe_in_words(agent: LiveAgent):
    with EdgeData(agent.url, agent.token) as data:
        with pytest.raises(BadRequest, match="where should the alerts go"):
            data.subscribe("Alert me if humidity drops below 30% in the warehouse")
        sub = data.subscribe(
            "Alert me if humidity drops below 30% in the warehouse",
            destination={"kind": "webhook", "url": "http://127.0.0.1:9/hook"},
        )
        listed = {s.id: s for s in data.subscriptions()}
        with pytest.raises(BadRequest, match="no subscription"):
            data.unsubscribe("sub_000000000000")
        with pytest.raises(BadRequest, match="not a subscription id"):
            data.unsubscribe("../nodes")
        with pytest.raises(BadRequest, match="empty"):
            data.subscribe(" ")
        data.unsubscribe(sub.id)
        after = {s.id for s in data.subscriptions()}
    assert sub.id
    assert "humidity" in sub.description
    assert "30" in sub.description
    assert sub.rule["kind"]
    assert isinstance(sub.backtest, dict)
    assert listed[sub.id].description == sub.description
    assert listed[sub.id].rule == sub.rule
    assert sub.id not in after


async def test_the_async_client_subscribes_lists_and_unsubscribes(agent: LiveAgent):
    async with AsyncEdgeData(agent.url, agent.token) as data:
        sub = await data.subscribe(
            "Alert me if temperature goes above 35 in the warehouse",
            destination={"kind": "webhook", "url": "http://127.0.0.1:9/hook"},
        )
        assert sub.id in {s.id for s in await data.subscriptions()}
        await data.unsubscribe(sub.id)
        assert sub.id not in {s.id for s in await data.subscriptions()}


def test_errors_say_what_to_do(agent: LiveAgent):
    with EdgeData(agent.url, "wrong-token") as data, pytest.raises(AuthError, match="token"):
        data.get_anomalies()
    with EdgeData(agent.url, agent.token) as data:
        with pytest.raises(BadRequest, match="severity"):
            data.get_anomalies(severity="catastrophic")
        with pytest.raises(BadRequest, match="empty"):
            data.query("  ")
    with (
        EdgeData("http://127.0.0.1:9", agent.token, timeout=2) as data,
        pytest.raises(AgentUnreachable, match="did not answer"),
    ):
        data.get_readings()


async def test_the_async_client_gives_the_same_answers(agent: LiveAgent):
    async with AsyncEdgeData(agent.url, agent.token) as data:
        found = await data.get_anomalies(time_range="6h")
        df = await data.get_timeseries(sensors=["dht22-1"], time_range="6h", metric="humidity")
        answer = await data.query("humidity in the office?")
        kinds = [e.kind async for e in data.chat("temperature in the warehouse?")]
        with pytest.raises(BadRequest, match="severity"):
            await data.get_anomalies(severity="x")
    with EdgeData(agent.url, agent.token) as sync:
        assert {a.id for a in found} == {a.id for a in sync.get_anomalies(time_range="6h")}
    assert not df.empty
    assert not df["anomaly"].any()
    assert "%" in answer.text
    assert kinds[-1] == "done"
    assert "token" in kinds
