"""A notification receiver on loopback: records every request, answers as scripted.

It stands in for a Slack incoming webhook, PagerDuty's Events API, a team's webhook endpoint:
a real HTTP server (stdlib, its own thread) that keeps each request's headers and body, can
verify the agent's webhook signature like a receiver would, and answers from a script (e.g.
500, then 429 with Retry-After, then 200) or with a delay.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agent_bruno.alerts.notifiers.webhook import verify


@dataclass
class Received:
    """One request as the receiver saw it."""

    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int
    signature_ok: bool | None = None

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Receiver:
    """What the server recorded, and how it answers."""

    url: str = ""
    secret: str | None = None  # verify X-Bruno-Signature with this secret when set
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, n: int, timeout_s: float = 10.0) -> list[Received]:
        """Wait until `n` requests were answered 2xx; return every request so far."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if sum(1 for r in self.received if 200 <= r.answered < 300) >= n:
                    return list(self.received)
            time.sleep(0.02)
        with self.lock:
            got = list(self.received)
        raise AssertionError(f"expected {n} delivered requests, got {len(got)}: {got}")

    async def until(self, n: int, timeout_s: float = 10.0) -> list[Received]:
        """Like `wait_for`, without blocking the event loop."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(self.ok()) >= n:
                return self.ok()
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected {n} delivered requests, got {self.received}")

    def ok(self) -> list[Received]:
        """Requests answered 2xx."""
        with self.lock:
            return [r for r in self.received if 200 <= r.answered < 300]


def _handler(state: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            if state.delay_s:
                time.sleep(state.delay_s)
            with state.lock:
                status, extra = state.script.pop(0) if state.script else (200, {})
                ok = None
                if state.secret is not None:
                    ok = verify(
                        state.secret,
                        headers.get("x-bruno-timestamp", ""),
                        body,
                        headers.get("x-bruno-signature", ""),
                        time.time(),
                    )
                    if not ok:
                        status = 401
                state.received.append(Received(time.time(), self.path, headers, body, status, ok))
            reply = b'{"status":"ok"}' if status < 300 else b'{"error":"scripted"}'
            self.send_response(status)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    return Handler


@contextmanager
def receiver(**options: Any) -> Iterator[Receiver]:
    """Run a receiver on 127.0.0.1 on an ephemeral port until the block ends."""
    state = Receiver(**options)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="receiver", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
