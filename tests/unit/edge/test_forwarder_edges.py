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
from pathlib import Path

import httpx
import pytest

from edge_reporter.forwarder import Forwarder, Outcome, Reporter
from edge_reporter.outbox import Outbox

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
