"""Forwarder edges: what the operator reads when the agent refuses or is unreachable, the byte
bound of a batch, and how refusals count towards the backoff. Found by mutation testing
(`make mutate MODULES=forwarder`): each test fails on an edit of edge_reporter/forwarder.py
that the older tests let through.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import logging
import random
import sqlite3
from pathlib import Path

import httpx
import pytest

from edge_reporter.forwarder import Forwarder, Outcome, Reporter
from edge_reporter.outbox import Outbox, PendingEvent

pytestmark = pytest.mark.looptime

T0 = 1_764_115_200.0


def make(
    tmp_path: Path, agent: httpx.MockTransport, **kwargs: float
) -> tuple[Outbox, httpx.AsyncClient, Forwarder]:
    box = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=10_000)
    client = httpx.AsyncClient(transport=agent)
    fwd = Forwarder(
        box,
        client,
        url="http://agent/v1/events",
        token="k3Yq9-tW7xZ2pL0vR5mN",
        reporter=Reporter("pi-1", "warehouse", "homelab"),
        clock=lambda: asyncio.get_running_loop().time(),
        **kwargs,  # type: ignore[arg-type]
    )
    return box, client, fwd


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    ("status", "advice"),
    [
        (401, "check AGENT_TOKEN and NODE_NAME for node pi-1"),
        (403, "check AGENT_TOKEN and NODE_NAME for node pi-1"),
        (400, "the agent does not accept this reporter's wire format; upgrade one of them"),
        (422, "the agent does not accept this reporter's wire format; upgrade one of them"),
    ],
)
async def test_a_refusal_tells_the_operator_what_to_check_quoting_the_agent(
    tmp_path: Path, status: int, advice: str, caplog: pytest.LogCaptureFixture
) -> None:
    answer = "no such token: " + "x" * 400  # quoted up to 300 characters
    agent = httpx.MockTransport(lambda _req: httpx.Response(status, text=answer))
    box, client, fwd = make(tmp_path, agent)
    box.put_many([("critical", {"n": n}) for n in range(3)], now=T0)
    assert await fwd.send_once() is Outcome.REFUSED
    assert errors(caplog) == [
        f"forwarder: agent refused the request ({status} {answer[:300]}); 3 events kept, {advice}"
    ]
    await client.aclose()


async def test_an_unreachable_agent_is_named_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failures = iter([httpx.ConnectError("connection refused"), httpx.ReadTimeout(""), None])

    def agent(request: httpx.Request) -> httpx.Response:
        failure = next(failures)
        if failure is not None:
            raise failure
        return httpx.Response(200, json={"accepted": 1, "rejected": []})

    box, client, fwd = make(tmp_path, httpx.MockTransport(agent))
    box.put("aggregate", {"n": 1}, now=T0)
    assert await fwd.send_once() is Outcome.RETRY
    assert await fwd.send_once() is Outcome.RETRY
    assert errors(caplog) == [
        "forwarder: batch of 1 not delivered (ConnectError: connection refused); kept, attempt 1",
        "forwarder: batch of 1 not delivered (ReadTimeout: no detail); kept, attempt 2",
    ]
    assert await fwd.send_once() is Outcome.DELIVERED
    await client.aclose()


async def test_a_batch_stays_within_its_byte_bound(tmp_path: Path) -> None:
    sizes: list[int] = []

    def agent(request: httpx.Request) -> httpx.Response:
        events = json.loads(gzip.decompress(request.content))["events"]
        sizes.append(len(events))
        return httpx.Response(200, json={"accepted": len(events), "rejected": []})

    box, client, fwd = make(tmp_path, httpx.MockTransport(agent), batch_bytes=1000)
    box.put_many([("aggregate", {"pad": "x" * 180}) for _ in range(10)], now=T0)
    assert await fwd.drain() is Outcome.EMPTY
    # Each event's body is ~230 bytes: four fit under 1,000, not ten.
    assert sizes == [4, 4, 2]
    await client.aclose()


async def test_refusals_count_towards_the_backoff_of_a_later_outage(tmp_path: Path) -> None:
    """Two refused requests then a 503: the retry waits as the third failure in a row does
    (base · 2², jittered), and the failures are counted for the metrics."""
    answers = iter([401, 401, 503, 200])
    times: list[float] = []

    def agent(_request: httpx.Request) -> httpx.Response:
        times.append(asyncio.get_running_loop().time())
        status = next(answers)
        return httpx.Response(status, json={"accepted": 1, "rejected": []})

    box, client, fwd = make(
        tmp_path, httpx.MockTransport(agent), backoff_base=1, backoff_cap=60, idle_poll=600
    )
    fwd._rng = random.Random(9)
    jitter = random.Random(9).uniform(0.5, 1.0)
    box.put("critical", {"n": 1}, now=T0)
    task = asyncio.create_task(fwd.run())
    for _ in range(200):
        if len(times) == 4:
            break
        await asyncio.sleep(1.0)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == pytest.approx([60.0, 60.0, 4 * jitter], abs=0.01)
    assert fwd.stats["failures"] == 3
    assert box.depth() == 0
    fwd.stop()
    await task
    await client.aclose()


async def test_an_agent_answering_an_error_status_is_quoted_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    agent = httpx.MockTransport(lambda _req: httpx.Response(503, text="busy, try later"))
    box, client, fwd = make(tmp_path, agent)
    box.put("aggregate", {"n": 1}, now=T0)
    assert await fwd.send_once() is Outcome.RETRY
    assert errors(caplog) == [
        "forwarder: batch of 1 not delivered (HTTP 503 busy, try later); kept, attempt 1"
    ]
    await client.aclose()


async def test_a_413_on_two_events_halves_the_batch_instead_of_dropping_one(
    tmp_path: Path,
) -> None:
    sizes: list[int] = []

    def agent(request: httpx.Request) -> httpx.Response:
        events = json.loads(gzip.decompress(request.content))["events"]
        sizes.append(len(events))
        if len(events) > 1:
            return httpx.Response(413)
        return httpx.Response(200, json={"accepted": 1, "rejected": []})

    box, client, fwd = make(tmp_path, httpx.MockTransport(agent))
    box.put_many([("critical", {"n": 1}), ("critical", {"n": 2})], now=T0)
    assert await fwd.drain() is Outcome.EMPTY
    assert sizes == [2, 1, 1]
    assert fwd.stats == {"sent": 2, "batches": 2, "rejected": 0, "failures": 0}
    await client.aclose()


async def test_every_event_over_the_size_limit_is_counted(tmp_path: Path) -> None:
    def agent(request: httpx.Request) -> httpx.Response:
        events = json.loads(gzip.decompress(request.content))["events"]
        if any("pad" in e for e in events):
            return httpx.Response(413)
        return httpx.Response(200, json={"accepted": len(events), "rejected": []})

    box, client, fwd = make(tmp_path, httpx.MockTransport(agent))
    box.put_many(
        [("aggregate", {"pad": "x"}), ("aggregate", {"n": 1}), ("aggregate", {"pad": "y"})],
        now=T0,
    )
    assert await fwd.drain() is Outcome.EMPTY
    assert fwd.stats["rejected"] == 2
    assert fwd.stats["sent"] == 1
    await client.aclose()


async def test_the_envelope_is_compact_utf8(tmp_path: Path) -> None:
    bodies: list[bytes] = []

    def agent(request: httpx.Request) -> httpx.Response:
        bodies.append(gzip.decompress(request.content))
        return httpx.Response(200, json={"accepted": 1, "rejected": []})

    box = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=10)
    client = httpx.AsyncClient(transport=httpx.MockTransport(agent))
    fwd = Forwarder(
        box,
        client,
        url="http://agent/v1/events",
        token="t" * 20,
        reporter=Reporter("pi-1", "Küche", "homelab"),
        wall_clock=lambda: T0,
    )
    [event_id] = box.put_many([("aggregate", {"n": 1})], now=T0)
    assert await fwd.send_once() is Outcome.DELIVERED
    assert bodies == [
        '{"schema_version":1,"reporter":{"node":"pi-1","location":"Küche","cluster":"homelab"},'
        f'"sent_at":{T0:.3f},"events":[{{"id":"{event_id}","n":1}}]}}'.encode()
    ]
    await client.aclose()


async def test_the_defaults_retry_within_a_second_and_poll_every_minute(tmp_path: Path) -> None:
    """Built as the reporter builds it (defaults): a first failure is retried within 1 s, an
    event put without a wake-up goes out at the next idle poll, one minute later."""
    answers = iter([503, 200, 200])
    times: list[float] = []

    def agent(_request: httpx.Request) -> httpx.Response:
        times.append(asyncio.get_running_loop().time())
        return httpx.Response(next(answers), json={"accepted": 1, "rejected": []})

    acked: list[tuple[int, float]] = []
    box = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=10)
    client = httpx.AsyncClient(transport=httpx.MockTransport(agent))
    fwd = Forwarder(
        box,
        client,
        url="http://agent/v1/events",
        token="t" * 20,
        reporter=Reporter("pi-1", "lab", "homelab"),
        clock=lambda: asyncio.get_running_loop().time(),
        on_ack=lambda batch, at: acked.append((len(batch), at)),
    )
    box.put("aggregate", {"n": 1}, now=T0)
    task = asyncio.create_task(fwd.run())
    await asyncio.sleep(5)
    assert len(times) == 2
    assert 0.5 <= times[1] - times[0] <= 1.0
    box.put("aggregate", {"n": 2}, now=T0)  # no notify: found by the idle poll
    await asyncio.sleep(70)
    assert len(times) == 3
    assert times[2] - times[1] == pytest.approx(60.0, abs=0.01)
    assert acked == [(1, pytest.approx(times[1], abs=0.01)), (1, pytest.approx(times[2], abs=0.01))]
    fwd.stop()
    await task
    await client.aclose()


async def test_a_critical_cuts_short_the_backoff_of_a_failed_disk_read_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No request was made yet (the outbox read failed first): a critical arriving during the
    backoff goes out at once, not after it."""
    times: list[float] = []

    def agent(_request: httpx.Request) -> httpx.Response:
        times.append(asyncio.get_running_loop().time())
        return httpx.Response(200, json={"accepted": 1, "rejected": []})

    box, client, fwd = make(
        tmp_path, httpx.MockTransport(agent), backoff_base=30, backoff_cap=60, idle_poll=600
    )
    real_peek = box.peek
    calls = {"n": 0}

    def peek(limit: int, *, max_bytes: int | None = None) -> list[PendingEvent]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise sqlite3.OperationalError("disk I/O error")
        return real_peek(limit, max_bytes=max_bytes)

    monkeypatch.setattr(box, "peek", peek)
    task = asyncio.create_task(fwd.run())
    await asyncio.sleep(1.0)
    assert fwd.in_backoff
    woken = asyncio.get_running_loop().time()
    box.put("critical", {"n": 1}, now=T0)
    fwd.notify(urgent=True)
    await asyncio.sleep(0.5)
    assert times == [pytest.approx(woken, abs=0.01)]
    fwd.stop()
    await task
    await client.aclose()
