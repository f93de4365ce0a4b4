"""Forwarder: envelope, outages, lost acks, 413 splitting, auth failures, urgent wake-ups.

Time is the event loop's (looptime): waits of a minute take no real time, and "at once" means
no timer ran between the wake-up and the request, however loaded the machine is.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import logging
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from edge_reporter import forwarder as forwarder_module
from edge_reporter.engine import Engine
from edge_reporter.forwarder import Forwarder, Outcome, Reporter
from edge_reporter.outbox import Outbox, PendingEvent
from edge_reporter.sensors.registry import default_triage
from edge_reporter.sensors.simulated import SimulatedSource
from edge_reporter.store import LocalStore

pytestmark = pytest.mark.looptime

T0 = 1_764_115_200.0
TOKEN = "k3Yq9-tW7xZ2pL0vR5mN"
Handler = Callable[[httpx.Request], httpx.Response]


class FakeAgent:
    """Records what it stores, deduplicating on id like the real agent; can be made to fail."""

    def __init__(self) -> None:
        self.stored: list[str] = []
        self.requests: list[httpx.Request] = []
        self.sizes: list[int] = []  # events per request
        self.times: list[float] = []  # when each request arrived, by the loop's clock
        self.fail_with: (
            Callable[[httpx.Request, list[dict[str, object]]], httpx.Response | None] | None
        ) = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = request.content
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        events = json.loads(body)["events"]
        self.sizes.append(len(events))
        self.times.append(asyncio.get_running_loop().time())
        if self.fail_with is not None:
            failure = self.fail_with(request, events)
            if failure is not None:
                return failure
        return self.store(events)

    def lose_next_ack(self, error: type[httpx.TransportError], message: str) -> None:
        """Store the next batch, then fail as if the answer was lost on the way back."""
        lost = {"done": False}

        def store_then_lose(
            request: httpx.Request, events: list[dict[str, object]]
        ) -> httpx.Response | None:
            if lost["done"]:
                return None
            lost["done"] = True
            self.store(events)
            raise error(message, request=request)

        self.fail_with = store_then_lose

    def store(self, events: list[dict[str, object]]) -> httpx.Response:
        seen = set(self.stored)
        fresh = [str(e["id"]) for e in events if e["id"] not in seen]
        self.stored.extend(fresh)
        return httpx.Response(
            200,
            json={"accepted": len(fresh), "duplicates": len(events) - len(fresh), "rejected": []},
        )


def make(
    tmp_path: Path, agent: Handler, **kwargs: float
) -> tuple[Outbox, httpx.AsyncClient, Forwarder]:
    box = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=10_000)
    client = httpx.AsyncClient(transport=httpx.MockTransport(agent))
    fwd = Forwarder(
        box,
        client,
        url="http://agent/v1/events",
        token=TOKEN,
        reporter=Reporter("pi-1", "warehouse", "homelab"),
        clock=loop_time,
        wall_clock=lambda: T0 + loop_time(),
        **kwargs,  # type: ignore[arg-type]
    )
    return box, client, fwd


def loop_time() -> float:
    """The running event loop's clock (looptime's, in these tests)."""
    return asyncio.get_running_loop().time()


async def until(condition: Callable[[], bool], within_s: float = 5.0) -> None:
    """Poll `condition` until true; fail after `within_s` seconds of loop time.

    Steps of 50 ms: looptime turns every step into loop cycles, and the times the tests check
    are taken by the fake agent as requests arrive, not by this poll.
    """
    for _ in range(int(within_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def fill(box: Outbox, n: int, kind: str = "aggregate") -> list[str]:
    return box.put_many([(kind, {"type": "aggregate", "ts": T0 + i}) for i in range(n)], now=T0)


async def test_envelope_headers_and_gzip(tmp_path: Path) -> None:
    agent = FakeAgent()
    box, client, fwd = make(tmp_path, agent)
    ids = fill(box, 3)
    assert await fwd.send_once() is Outcome.DELIVERED
    request = agent.requests[0]
    assert request.url == "http://agent/v1/events"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["content-encoding"] == "gzip"
    envelope = json.loads(gzip.decompress(request.content))
    assert envelope["schema_version"] == 1
    assert envelope["reporter"] == {"node": "pi-1", "location": "warehouse", "cluster": "homelab"}
    assert [e["id"] for e in envelope["events"]] == ids
    # This reporter's clock as it sent: the agent measures the reporter's clock offset with it.
    assert envelope["sent_at"] == pytest.approx(T0 + loop_time(), abs=1e-3)
    assert box.depth() == 0
    await client.aclose()


async def test_outage_then_complete_in_order_delivery_without_duplicates(tmp_path: Path) -> None:
    agent = FakeAgent()
    failures = iter([httpx.Response(503), None, httpx.Response(429), httpx.Response(500)])

    def flaky(request: httpx.Request, events: list[dict[str, object]]) -> httpx.Response | None:
        try:
            failure = next(failures)
        except StopIteration:
            return None
        if failure is None:
            raise httpx.ConnectError("connection refused", request=request)
        return failure

    agent.fail_with = flaky
    box, client, fwd = make(tmp_path, agent, backoff_base=0.01, backoff_cap=0.05, batch_events=7)
    expected = fill(box, 10)
    task = asyncio.create_task(fwd.run())
    for _ in range(4):  # more events arrive during the outage
        await asyncio.sleep(0.01)
        expected += fill(box, 5)
        fwd.notify()
    await until(lambda: box.depth() == 0 and len(agent.stored) == len(expected))
    fwd.stop()
    await task
    assert agent.stored == expected  # complete, in order, each once
    assert fwd.stats["failures"] == 4
    await client.aclose()


async def test_lost_ack_is_resent_and_deduplicated_by_the_agent(tmp_path: Path) -> None:
    agent = FakeAgent()
    agent.lose_next_ack(httpx.ReadError, "connection reset while reading the answer")
    box, client, fwd = make(tmp_path, agent)
    ids = fill(box, 4)
    assert await fwd.send_once() is Outcome.RETRY
    assert box.depth() == 4  # not acknowledged, so kept
    assert await fwd.send_once() is Outcome.DELIVERED
    assert agent.stored == ids
    assert len(agent.requests) == 2
    await client.aclose()


@pytest.mark.parametrize("status", [400, 422])
async def test_envelope_refusal_keeps_every_event(tmp_path: Path, status: int) -> None:
    """Regression: an agent refusing the envelope (e.g. a newer schema_version) made the
    forwarder halve batches down to single events and drop each one, emptying the outbox."""
    agent = FakeAgent()
    agent.fail_with = lambda _req, _events: httpx.Response(
        status, json={"error": "invalid envelope: schema_version"}
    )
    box, client, fwd = make(tmp_path, agent)
    ids = fill(box, 20, kind="critical")
    assert await fwd.drain() is Outcome.REFUSED
    assert [e.id for e in box.peek(100)] == ids
    assert len(agent.requests) == 1  # no splitting: no event is at fault
    assert fwd._backoff(Outcome.REFUSED) == 60
    agent.fail_with = None
    assert await fwd.drain() is Outcome.EMPTY
    assert agent.stored == ids
    await client.aclose()


async def test_413_splits_the_batch(tmp_path: Path) -> None:
    agent = FakeAgent()
    agent.fail_with = lambda _req, events: httpx.Response(413) if len(events) > 3 else None
    box, client, fwd = make(tmp_path, agent, batch_events=16)
    ids = fill(box, 10)
    assert await fwd.drain() is Outcome.EMPTY
    assert agent.stored == ids
    assert box.depth() == 0
    await client.aclose()


async def test_single_event_over_the_size_limit_is_dropped_not_retried_forever(
    tmp_path: Path,
) -> None:
    agent = FakeAgent()
    agent.fail_with = lambda _req, events: (
        httpx.Response(413, json={"error": "too large"})
        if any(e["ts"] == T0 + 1 for e in events)
        else None
    )
    box, client, fwd = make(tmp_path, agent)
    ids = fill(box, 3)
    assert await fwd.drain() is Outcome.EMPTY
    assert agent.stored == [ids[0], ids[2]]
    assert fwd.stats["rejected"] == 1
    await client.aclose()


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failure_keeps_events_and_backs_off_at_the_cap(
    tmp_path: Path, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    agent = FakeAgent()
    agent.fail_with = lambda _req, _events: httpx.Response(status, json={"detail": "unknown token"})
    box, client, fwd = make(tmp_path, agent, backoff_cap=60)
    fill(box, 5)
    assert await fwd.send_once() is Outcome.REFUSED
    assert box.depth() == 5
    assert fwd._backoff(Outcome.REFUSED) == 60
    assert "AGENT_TOKEN" in caplog.text
    agent.fail_with = None
    assert await fwd.drain() is Outcome.EMPTY
    assert len(agent.stored) == 5
    await client.aclose()


async def test_rejected_items_are_logged_counted_and_not_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def agent(request: httpx.Request) -> httpx.Response:
        events = json.loads(gzip.decompress(request.content))["events"]
        rejected = [{"index": 1, "id": events[1]["id"], "error": "value: not finite"}]
        return httpx.Response(200, json={"accepted": 1, "duplicates": 0, "rejected": rejected})

    box, client, fwd = make(tmp_path, agent)
    ids = fill(box, 2)
    assert await fwd.send_once() is Outcome.DELIVERED
    assert box.depth() == 0
    assert fwd.stats["rejected"] == 1
    assert ids[1] in caplog.text
    assert "value: not finite" in caplog.text
    await client.aclose()


async def test_415_falls_back_to_uncompressed(tmp_path: Path) -> None:
    agent = FakeAgent()
    agent.fail_with = lambda req, _events: (
        httpx.Response(415) if req.headers.get("content-encoding") == "gzip" else None
    )
    box, client, fwd = make(tmp_path, agent)
    fill(box, 2)
    assert await fwd.drain() is Outcome.EMPTY
    assert len(agent.stored) == 2
    assert "content-encoding" not in agent.requests[-1].headers
    await client.aclose()


async def test_idle_forwarder_sends_a_critical_at_once(tmp_path: Path) -> None:
    agent = FakeAgent()
    box, client, fwd = make(tmp_path, agent, idle_poll=60)
    task = asyncio.create_task(fwd.run())
    await asyncio.sleep(5)  # idle: waiting up to a minute for something to send
    assert agent.requests == []
    woken_at = loop_time()
    [event_id] = fill(box, 1, kind="critical")
    fwd.notify(urgent=True)
    await until(lambda: bool(agent.stored))
    assert agent.times == [pytest.approx(woken_at, abs=0.01)]  # no timer ran in between
    assert agent.stored == [event_id]
    fwd.stop()
    await task
    await client.aclose()


async def test_critical_cuts_a_long_backoff_short_at_the_urgent_gap(tmp_path: Path) -> None:
    agent = FakeAgent()
    outage = {"on": True}
    agent.fail_with = lambda _req, _events: httpx.Response(503) if outage["on"] else None
    box, client, fwd = make(tmp_path, agent, backoff_base=30, backoff_cap=60)
    fill(box, 2)
    task = asyncio.create_task(fwd.run())
    await until(lambda: fwd.in_backoff)
    failed_at = agent.times[0]
    outage["on"] = False  # the agent is back, but the forwarder sleeps 15-30 s
    await asyncio.sleep(0.5)
    fill(box, 1, kind="critical")
    fwd.notify(urgent=True)
    await until(lambda: len(agent.stored) == 3)
    # Sent URGENT_MIN_GAP_S after the failed attempt, not at the end of the backoff.
    assert agent.times[1] == pytest.approx(failed_at + forwarder_module.URGENT_MIN_GAP_S, abs=0.05)
    fwd.stop()
    await task
    await client.aclose()


async def test_criticals_reach_a_down_agent_at_most_once_per_urgent_gap(tmp_path: Path) -> None:
    """A stream of criticals against an agent that stays down: one attempt per 2 s, not one
    per critical."""
    agent = FakeAgent()
    agent.fail_with = lambda _req, _events: httpx.Response(503)
    box, client, fwd = make(tmp_path, agent, backoff_base=30, backoff_cap=60)
    fill(box, 1)
    task = asyncio.create_task(fwd.run())
    await until(lambda: fwd.in_backoff)
    started = loop_time()
    for _ in range(40):  # a critical every 0.25 s for 10 s
        fill(box, 1, kind="critical")
        fwd.notify(urgent=True)
        await asyncio.sleep(0.25)
    during = [t for t in agent.times if t > started]
    gap = forwarder_module.URGENT_MIN_GAP_S
    assert 3 <= len(during) <= 10 / gap + 1, agent.times
    assert all(b - a >= gap - 0.01 for a, b in zip(agent.times, agent.times[1:], strict=False))
    fwd.stop()
    await task
    await client.aclose()


@pytest.mark.parametrize("status", [401, 403])
async def test_a_critical_does_not_cut_short_the_wait_after_a_refused_token(
    tmp_path: Path, status: int
) -> None:
    """Regression (mutation check): against an agent refusing our token, criticals made one
    request become six in a second. The refusal is waited out for the whole backoff cap."""
    agent = FakeAgent()
    agent.fail_with = lambda _req, _events: httpx.Response(status, json={"detail": "bad token"})
    box, client, fwd = make(tmp_path, agent, backoff_cap=60)
    fill(box, 1)
    task = asyncio.create_task(fwd.run())
    await until(lambda: fwd.in_backoff)
    for _ in range(50):  # a critical every second for 50 s
        fill(box, 1, kind="critical")
        fwd.notify(urgent=True)
        await asyncio.sleep(1.0)
    assert len(agent.requests) == 1
    await until(lambda: len(agent.requests) == 2, within_s=15)
    assert agent.times[1] - agent.times[0] == pytest.approx(60, abs=0.05)
    assert box.depth() == 51  # nothing dropped while refused
    fwd.stop()
    await task
    await client.aclose()


async def test_plain_notify_does_not_cut_a_backoff_short(tmp_path: Path) -> None:
    agent = FakeAgent()
    agent.fail_with = lambda _req, _events: httpx.Response(503)
    rng = random.Random(7)
    box, client, fwd = make(tmp_path, agent, backoff_base=30, backoff_cap=60)
    fwd._rng = rng
    fill(box, 1)
    task = asyncio.create_task(fwd.run())
    await until(lambda: fwd.in_backoff)
    for _ in range(10):  # aggregates keep arriving during the backoff
        await asyncio.sleep(1.0)
        fill(box, 1)
        fwd.notify()
    assert len(agent.requests) == 1
    await until(lambda: len(agent.requests) == 2, within_s=30)
    assert 15 <= agent.times[1] - agent.times[0] <= 30  # the backoff, jittered in [15, 30]
    fwd.stop()
    await task
    await client.aclose()


async def test_batch_size_grows_back_after_413(tmp_path: Path) -> None:
    """Regression (mutation check): after a 413 the batch stayed small for good, so a backlog
    took many times the requests once the agent's limit was back."""
    agent = FakeAgent()
    limited = {"on": True}
    agent.fail_with = lambda _req, events: (
        httpx.Response(413) if limited["on"] and len(events) > 4 else None
    )
    box, client, fwd = make(tmp_path, agent, batch_events=16)
    fill(box, 4)
    assert await fwd.drain() is Outcome.EMPTY
    assert agent.sizes == [4]
    fill(box, 16)
    assert await fwd.drain() is Outcome.EMPTY
    # 413 on 16 and on 8: halved each time; doubled after each success, so it probes 8 again.
    assert agent.sizes == [4, 16, 8, 4, 8, 4, 8, 4, 4]
    limited["on"] = False
    agent.sizes.clear()
    ids = fill(box, 64)
    assert await fwd.drain() is Outcome.EMPTY
    assert agent.sizes == [16, 16, 16, 16]  # back at the configured size
    assert agent.stored[-64:] == ids
    await client.aclose()


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap(tmp_path: Path) -> None:
    box, _client, fwd = make(tmp_path, FakeAgent(), backoff_base=1, backoff_cap=60)
    delays = []
    for failures in range(1, 10):
        fwd._failures = failures
        delays.append(fwd._backoff(Outcome.RETRY))
    for failures, delay in enumerate(delays, start=1):
        ceiling = min(60, 2 ** (failures - 1))
        assert ceiling / 2 <= delay <= ceiling
    box.close()


async def test_three_hour_outage_then_in_order_delivery_despite_a_lost_ack(tmp_path: Path) -> None:
    agent = FakeAgent()
    agent.fail_with = lambda _req, _events: httpx.Response(503)
    box, client, fwd = make(tmp_path, agent, batch_events=50)
    store = LocalStore(tmp_path / "raw.db", retention_days=7, max_bytes=10**8)
    engine = Engine(
        sources=[SimulatedSource("sim-dht22", "dht22-1", seed=1, origin=T0)],
        store=store,
        outbox=box,
        triage_factory=default_triage,
        aggregate_interval=300,
    )
    for minute in range(180):
        engine.sample(T0 + minute * 60)
        engine.flush_due(T0 + minute * 60)
        if minute % 15 == 0:
            assert await fwd.send_once() is Outcome.RETRY
    expected = [e.id for e in box.peek(10_000)]
    assert len(expected) > 100  # aggregates and heartbeats of three hours

    agent.lose_next_ack(httpx.RemoteProtocolError, "agent went away mid-answer")
    assert await fwd.drain() is Outcome.RETRY
    assert await fwd.drain() is Outcome.EMPTY
    assert agent.stored == expected
    store.close()
    await client.aclose()


async def test_unexpected_error_does_not_kill_the_sender(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = FakeAgent()
    box, client, fwd = make(tmp_path, agent, backoff_base=0.01, backoff_cap=0.02)
    fill(box, 2)
    real_peek = box.peek
    calls = {"n": 0}

    def flaky_peek(limit: int, *, max_bytes: int | None = None) -> list[PendingEvent]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise sqlite3.OperationalError("disk I/O error")
        return real_peek(limit, max_bytes=max_bytes)

    monkeypatch.setattr(box, "peek", flaky_peek)
    task = asyncio.create_task(fwd.run())
    await until(lambda: len(agent.stored) == 2)
    fwd.stop()
    await task
    await client.aclose()


async def test_unexpected_errors_back_off_like_failed_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that keeps failing is retried with the growing backoff, not in a tight loop nor
    at the idle poll; the first good read delivers."""
    agent = FakeAgent()
    box, client, fwd = make(tmp_path, agent, backoff_base=1, backoff_cap=60, idle_poll=600)
    fwd._rng = random.Random(3)
    expected_rng = random.Random(3)
    fill(box, 2)
    real_peek = box.peek
    attempts: list[float] = []

    def failing_peek(limit: int, *, max_bytes: int | None = None) -> list[PendingEvent]:
        attempts.append(loop_time())
        if len(attempts) <= 3:
            raise sqlite3.OperationalError("disk I/O error")
        return real_peek(limit, max_bytes=max_bytes)

    monkeypatch.setattr(box, "peek", failing_peek)
    task = asyncio.create_task(fwd.run())
    await until(lambda: len(agent.stored) == 2, within_s=30)
    gaps = [b - a for a, b in itertools.pairwise(attempts[:4])]
    # Ceilings 1, 2, 4 s (base · 2^(failures-1)), each jittered in [0.5, 1] of it.
    expected = [c * expected_rng.uniform(0.5, 1.0) for c in (1, 2, 4)]
    assert gaps == pytest.approx(expected, abs=0.01)
    assert fwd.stats["failures"] == 0  # unexpected errors are not counted as failed requests
    assert not fwd.in_backoff
    fwd.stop()
    await task
    await client.aclose()


async def test_an_idle_forwarder_sends_new_aggregates_when_notified(tmp_path: Path) -> None:
    """A plain notify (no critical) wakes an idle sender at once, not at the next idle poll."""
    agent = FakeAgent()
    box, client, fwd = make(tmp_path, agent, idle_poll=60)
    task = asyncio.create_task(fwd.run())
    await asyncio.sleep(5)
    woken_at = loop_time()
    fill(box, 3)
    fwd.notify()
    await until(lambda: len(agent.stored) == 3)
    assert agent.times == [pytest.approx(woken_at, abs=0.01)]
    fwd.stop()
    await task
    await client.aclose()


async def test_a_backoff_lasts_its_whole_delay(tmp_path: Path) -> None:
    agent = FakeAgent()
    agent.fail_with = lambda _req, _events: httpx.Response(503)
    box, client, fwd = make(tmp_path, agent, backoff_base=1.5, backoff_cap=60)
    fwd._rng = random.Random(5)
    expected_rng = random.Random(5)
    fill(box, 1)
    task = asyncio.create_task(fwd.run())
    await until(lambda: len(agent.requests) == 3, within_s=30)
    ceilings = (1.5, 3.0)
    expected = [c * expected_rng.uniform(0.5, 1.0) for c in ceilings]
    gaps = [b - a for a, b in zip(agent.times, agent.times[1:], strict=False)]
    assert gaps[:2] == pytest.approx(expected, abs=0.01)
    fwd.stop()
    await task
    await client.aclose()


async def test_rejected_items_of_every_shape_are_named_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The agent names rejected items by index, by id or both; odd entries are skipped, an
    index out of range names no event, and every batch is acknowledged once with its time."""
    acked: list[tuple[list[str], float]] = []

    def agent(request: httpx.Request) -> httpx.Response:
        events = json.loads(gzip.decompress(request.content))["events"]
        if acked:  # the second batch: all taken
            return httpx.Response(200, json={"accepted": len(events), "rejected": []})
        rejected = [
            {"index": 0, "error": "ts: in the future"},  # by index only
            {"id": "named-by-id", "error": "unit: unknown"},  # by id only
            {"index": len(events), "error": "out of range"},  # names no event
            "not an object",
            {"index": 2, "id": events[2]["id"], "error": "value: not finite"},
        ]
        return httpx.Response(200, json={"accepted": 1, "duplicates": 0, "rejected": rejected})

    box, client, fwd = make(tmp_path, agent)
    fwd._on_ack = lambda batch, at: acked.append(([e.id for e in batch], at))
    ids = fill(box, 3)
    caplog.set_level(logging.DEBUG, logger="edge_reporter.forwarder")
    assert await fwd.send_once() is Outcome.DELIVERED
    assert fwd.stats == {"sent": 3, "batches": 1, "rejected": 4, "failures": 0}
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        f"forwarder: agent rejected event {ids[0]}: ts: in the future",
        "forwarder: agent rejected event named-by-id: unit: unknown",
        "forwarder: agent rejected event None: out of range",
        f"forwarder: agent rejected event {ids[2]}: value: not finite",
    ]
    bodies = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(bodies) == 2  # the bodies of the two events named by index
    assert acked == [(ids, pytest.approx(loop_time()))]
    more = fill(box, 2)
    assert await fwd.send_once() is Outcome.DELIVERED
    assert (fwd.stats["sent"], fwd.stats["batches"]) == (5, 2)
    assert [a[0] for a in acked] == [ids, more]
    await client.aclose()


@pytest.mark.parametrize("answer", [b"not json", b"[1, 2]", b'{"rejected": "all"}'])
async def test_an_odd_200_answer_still_acknowledges_the_batch(
    tmp_path: Path, answer: bytes
) -> None:
    box, client, fwd = make(tmp_path, lambda _req: httpx.Response(200, content=answer))
    fill(box, 2)
    assert await fwd.send_once() is Outcome.DELIVERED
    assert box.depth() == 0
    assert fwd.stats["rejected"] == 0
    await client.aclose()


async def test_a_success_resets_the_backoff_to_its_base(tmp_path: Path) -> None:
    agent = FakeAgent()
    failing = {"on": True}
    agent.fail_with = lambda _req, _events: httpx.Response(503) if failing["on"] else None
    box, client, fwd = make(tmp_path, agent, backoff_base=1, backoff_cap=60)
    fwd._rng = random.Random(1)
    fill(box, 1)
    for _ in range(4):
        assert await fwd.send_once() is Outcome.RETRY
    assert fwd.in_backoff
    failing["on"] = False
    assert await fwd.send_once() is Outcome.DELIVERED
    assert not fwd.in_backoff
    failing["on"] = True
    fill(box, 1)
    assert await fwd.send_once() is Outcome.RETRY
    assert fwd._backoff(Outcome.RETRY) <= 1.0  # the first failure again: base, not 2^4
    await client.aclose()
