"""Outbox: durable, ordered, bounded, with the drop policy; survives a kill before sending."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from edge_reporter.forwarder import Forwarder, Outcome, Reporter
from edge_reporter.outbox import Outbox

T0 = 1_764_115_200.0
REPO = Path(__file__).resolve().parents[3]


def test_ids_are_unique_ordered_and_survive_reopen(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=100)
    first = box.put_many([("aggregate", {"n": 1}), ("critical", {"n": 2})], now=T0)
    box.close()
    box = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=100)
    third = box.put("heartbeat", {"n": 3}, now=T0 + 1)
    assert first[0].startswith(f"pi-1:{box.instance}:")
    assert [int(i.rsplit(":", 1)[1]) for i in [*first, third]] == [1, 2, 3]
    pending = box.peek(10)
    assert [json.loads(e.body)["n"] for e in pending] == [1, 2, 3]
    assert [json.loads(e.body)["id"] for e in pending] == [*first, third]
    box.ack([pending[0].seq])
    assert box.depth() == 2
    assert box.oldest_age(T0 + 10) == 10.0
    box.close()


def test_sequence_is_never_reused_after_ack(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", node="n", max_events=100)
    a = box.put("aggregate", {}, now=T0)
    box.ack(e.seq for e in box.peek(10))
    b = box.put("aggregate", {}, now=T0)
    assert a != b
    box.close()


def test_other_file_other_instance(tmp_path: Path) -> None:
    a = Outbox(tmp_path / "a.db", node="n", max_events=100)
    b = Outbox(tmp_path / "b.db", node="n", max_events=100)
    assert a.instance != b.instance
    a.close()
    b.close()


def test_peek_respects_byte_limit_but_returns_at_least_one(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", node="n", max_events=100)
    box.put_many([("aggregate", {"pad": "x" * 100})] * 5, now=T0)
    assert len(box.peek(10, max_bytes=300)) == 2
    assert len(box.peek(10, max_bytes=10)) == 1
    box.close()


def test_full_outbox_drops_heartbeats_then_aggregates_then_warnings_then_criticals(
    tmp_path: Path,
) -> None:
    box = Outbox(tmp_path / "o.db", node="n", max_events=4)
    box.put_many(
        [
            ("critical", {"n": 0}),
            ("aggregate", {"n": 1}),
            ("warning", {"n": 2}),
            ("heartbeat", {"n": 3}),
        ],
        now=T0,
    )
    box.put("aggregate", {"n": 4}, now=T0)  # drops the heartbeat
    box.put("aggregate", {"n": 5}, now=T0)  # drops the oldest aggregate (1)
    assert [json.loads(e.body)["n"] for e in box.peek(10)] == [0, 2, 4, 5]
    box.put_many([("critical", {"n": 6}), ("critical", {"n": 7})], now=T0)  # drops 4 and 5
    box.put("critical", {"n": 8}, now=T0)  # drops the warning
    box.put("critical", {"n": 9}, now=T0)  # only criticals left: the oldest goes
    assert [json.loads(e.body)["n"] for e in box.peek(10)] == [6, 7, 8, 9]
    assert box.dropped() == {"heartbeat": 1, "aggregate": 3, "warning": 1, "critical": 1}
    box.close()
    assert Outbox(tmp_path / "o.db", node="n", max_events=4).dropped()["aggregate"] == 3


def test_unknown_kind_is_refused(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", node="n", max_events=4)
    with pytest.raises(ValueError, match="kind='gossip'"):
        box.put("gossip", {}, now=T0)
    assert box.depth() == 0
    box.close()


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from edge_reporter.outbox import Outbox
    box = Outbox(Path(sys.argv[1]), node="pi-1", max_events=1000)
    for i in range(50):
        kind = "critical" if i % 10 == 0 else "aggregate"
        box.put(kind, {"type": "aggregate", "n": i}, now=1764115200.0 + i)
    print("ready", flush=True)
    time.sleep(60)
    """
)


def enqueue_then_get_killed(path: Path) -> None:
    """Run a writer process that enqueues 50 events, then SIGKILL it before it sends any."""
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.e2e  # starts a process
async def test_outbox_survives_a_kill_between_write_and_send(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    await asyncio.to_thread(enqueue_then_get_killed, path)
    received: list[int] = []

    def agent(request: httpx.Request) -> httpx.Response:
        events = json.loads(gzip.decompress(request.content))["events"]
        received.extend(e["n"] for e in events)
        return httpx.Response(200, json={"accepted": len(events), "duplicates": 0, "rejected": []})

    box = Outbox(path, node="pi-1", max_events=1000)
    async with httpx.AsyncClient(transport=httpx.MockTransport(agent)) as client:
        forwarder = Forwarder(
            box,
            client,
            url="http://agent/v1/events",
            token="t" * 20,
            reporter=Reporter("pi-1", "lab", "homelab"),
            batch_events=20,
        )
        assert await forwarder.drain() is Outcome.EMPTY
    assert received == list(range(50))
    assert box.depth() == 0
    box.close()
