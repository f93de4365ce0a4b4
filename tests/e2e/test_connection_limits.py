"""Issue 7, defect 9: no connection caps or timeouts. A real agent process closes connections
that send no request or send it too slowly, caps connections per client, and answers questions
over a client's rate with 429 and Retry-After, while ingest goes on."""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent_bruno.localrun import free_port, serve_agent

pytestmark = pytest.mark.e2e
TOKEN = "api-" + secrets.token_hex(12)
REPORTER = "rep-" + secrets.token_hex(12)


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = serve_agent(
        tmp_path,
        port,
        {
            "AGENT_BRUNO_API_TOKEN": TOKEN,
            "AGENT_BRUNO_REPORTER_TOKENS": f"pi-1={REPORTER}",
            "AGENT_BRUNO_HEADER_TIMEOUT_S": "1",
            "AGENT_BRUNO_MAX_CONNECTIONS_PER_CLIENT": "40",
            "AGENT_BRUNO_QUESTIONS_PER_CLIENT_PER_MIN": "8",
        },
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)


def _closed(sock: socket.socket) -> bool:
    sock.settimeout(0.2)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def test_no_connection_caps_or_timeouts(agent: str) -> None:
    """Regression: 3,000 half-open sockets were held with none closed after 15 s."""
    port = int(agent.rsplit(":", 1)[1])
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(30)]
    slow = socket.create_connection(("127.0.0.1", port))
    slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never finished
    try:
        # Over the per-client cap (40): the extra connections are closed at once.
        extra = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
        time.sleep(0.3)
        assert sum(_closed(s) for s in extra) >= 10
        for s in extra:
            s.close()
        # Meanwhile the agent serves: its health and a reporter's batch.
        assert httpx.get(f"{agent}/healthz", timeout=5).status_code == 200
        time.sleep(1.6)
        assert all(_closed(s) for s in silent), "idle connections are still open"
        assert _closed(slow), "a request whose headers never end is still open"
    finally:
        for s in [*silent, slow]:
            s.close()
    assert httpx.get(f"{agent}/healthz", timeout=5).status_code == 200

    # Questions over a client's rate (8 a minute, bursts of 2) get 429 with Retry-After.
    headers = {"Authorization": f"Bearer {TOKEN}"}
    codes = []
    for _ in range(6):
        r = httpx.post(f"{agent}/query", content="List all Pi nodes", headers=headers, timeout=30)
        codes.append(r.status_code)
    assert codes[:2] == [200, 200]
    assert 429 in codes
    refused = next(
        r
        for r in [httpx.get(f"{agent}/chat", params={"q": "hi"}, headers=headers, timeout=30)]
        if r.status_code == 429
    )
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "too many questions" in refused.json()["detail"]
    # Ingest is not a question: a reporter's batch goes through regardless.
    beat = {"id": "h1", "type": "heartbeat", "ts": time.time(), "interval_s": 60}
    batch = {"schema_version": 1, "reporter": {"node": "pi-1", "location": "lab"}, "events": [beat]}
    r = httpx.post(
        f"{agent}/v1/events", json=batch, headers={"Authorization": f"Bearer {REPORTER}"}
    )
    assert r.json()["accepted"] == 1
