"""Node rules are backtested over the nodes' stored data (the agent keeps only the latest
heartbeat): a gap longer than 3 heartbeat intervals would have been "offline", a health value
past its limit "unhealthy"; what the history cannot replay is said."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from agent_bruno.alerts.model import NodeRule
from agent_bruno.alerts.node_backtest import NodeHistory, backtest_nodes
from agent_bruno.health import Thresholds
from tests.unit.alerts.test_subscriptions_api import ingest


def cpu(i: int, value: float, start: float) -> dict[str, Any]:
    return {
        "id": f"cpu-{i}", "type": "aggregate", "ts": start + 300, "sensor": "node",
        "metric": "cpu_percent", "unit": "%", "start": start, "end": start + 300, "count": 5,
        "min": value - 1, "max": value, "mean": value, "last": value,
    }  # fmt: skip


def history() -> tuple[float, list[dict[str, Any]]]:
    """Two hours of CPU ending at the last whole 5 minutes before the test runs (windows that
    have ended; taken when the test runs, not at import, since the backtest ends at the real
    clock): 95 % in buckets 2 and 3, and nothing at all for buckets 8-13 (30 minutes: the
    node was down). Returns the first bucket's start and the events."""
    start = float(int(time.time() // 300) * 300) - 7200
    events = [
        cpu(i, 95 if i in (2, 3) else 20, start + 300 * i) for i in range(24) if not 8 <= i < 14
    ]
    return start, events


async def backtest(client: httpx.AsyncClient, text: str) -> dict[str, Any]:
    r = await client.post("/v1/subscriptions/backtest", json={"text": text, "days": 1})
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()["backtest"]
    return result


async def test_offline_is_backtested_from_gaps_in_the_nodes_data(alice: httpx.AsyncClient) -> None:
    start, events = history()
    await ingest(alice, events)
    result = await backtest(alice, "notify me if pi-node-1 goes offline")
    assert result["supported"] is True
    (firing,) = result["firings"]
    # Data stopped at the end of bucket 7; 3 × 300 s later the node counts as offline, until
    # data resumes (the end of bucket 14).
    assert firing["series"] == "pi-node-1"
    assert firing["start"] == pytest.approx(start + 8 * 300 + 900, abs=2)
    assert firing["end"] == start + 15 * 300
    assert "would have fired once" in result["text"]
    assert "keeps only each node's latest heartbeat" in result["text"]
    assert "by data time" in result["text"]


async def test_unhealthy_is_backtested_from_the_health_series(alice: httpx.AsyncClient) -> None:
    start, events = history()
    await ingest(alice, events)
    result = await backtest(alice, "tell me if pi-node-1 becomes unhealthy")
    starts = [f["start"] for f in result["firings"]]
    # CPU over 90 % (buckets 2-3), then offline (an offline node is not healthy either).
    assert starts[0] == start + 3 * 300
    assert result["firings"][0]["end"] == start + 5 * 300
    assert len(starts) == 2
    assert "outbox growth or drops and clock offsets are not kept over time" in result["text"]


async def test_creating_a_node_rule_shows_its_backtest(alice: httpx.AsyncClient) -> None:
    await ingest(alice, history()[1])
    r = await alice.post("/v1/subscriptions", json={"text": "alert me if pi-node-1 goes offline"})
    assert r.status_code == 201, r.text
    assert r.json()["backtest"]["fired"] == 1


def test_a_node_without_health_series_says_only_liveness_is_replayed() -> None:
    h = NodeHistory("pi-node-9", 300.0, [(0.0, 300.0, {}), (300.0, 600.0, {})])
    result = backtest_nodes(NodeRule(condition="unhealthy"), [h], 0.0, 700.0, Thresholds())
    assert result.firings == []
    assert any("No health series stored for pi-node-9" in n for n in result.notes)


@pytest.mark.parametrize(
    ("interval_s", "gap_buckets", "fires"),
    [(300.0, 3, False), (300.0, 4, True), (60.0, 1, True), (600.0, 5, False)],
)
def test_offline_follows_the_nodes_heartbeat_interval(
    interval_s: float, gap_buckets: int, fires: bool
) -> None:
    buckets = [(300.0 * i, 300.0 * i + 300, {}) for i in range(20) if not 5 <= i < 5 + gap_buckets]
    h = NodeHistory("n", interval_s, buckets)
    result = backtest_nodes(NodeRule(condition="offline"), [h], 0.0, 6000.0, Thresholds())
    assert bool(result.firings) is fires


def test_a_node_still_silent_at_the_end_is_still_firing() -> None:
    h = NodeHistory("n", 300.0, [(0.0, 300.0, {})])
    result = backtest_nodes(NodeRule(condition="offline"), [h], 0.0, 3600.0, Thresholds())
    (firing,) = result.firings
    assert firing.end is None
    assert firing.start == pytest.approx(1200.0, abs=2)
