"""A webhook receiver on loopback: records (and optionally prints) every notification.

What a team's endpoint does with the agent's webhooks, small enough to read: a real HTTP
server (stdlib, its own thread) that verifies `X-Bruno-Signature`, recognises a notification
it has already processed by `X-Bruno-Notification-Id` (a retry after a lost answer), and
answers as scripted (e.g. 500, then 429 with Retry-After, then 200), after a delay, or
once it is let go (a destination that hangs). The demo
prints each notification with it; tests and benchmarks count what arrived.

`python -m agent_bruno.alerts.receiver --port 9111 --secret S` runs one until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from agent_bruno.alerts.notifiers.webhook import verify

_T = TypeVar("_T")


@dataclass
class Received:
    """One request as the receiver saw it."""

    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int
    signature_ok: bool | None = None
    repeat: bool = False  # a notification id this receiver had already processed
    answer_lost: bool = False  # the sender was gone before it could read the answer

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
    hold: threading.Event | None = None  # when given, answer only once it is set (at most 60 s)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_receive: Callable[[Received], None] | None = None
    arrivals: int = 0  # requests that arrived, answered or not yet
    clock: Callable[[], float] = time.time  # stamps `Received.at`, checks signatures' age
    _pokes: list[Callable[[], None]] = field(default_factory=list, init=False, repr=False)

    def _poke(self) -> None:
        with self.lock:
            pokes = list(self._pokes)
        for poke in pokes:
            poke()

    def distinct(self) -> dict[str, Received]:
        """The first 2xx-answered request of each notification id."""
        out: dict[str, Received] = {}
        for r in self.ok():
            out.setdefault(r.headers.get("x-bruno-notification-id", f"#{id(r)}"), r)
        return out

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

    async def until(
        self, n: int, timeout_s: float = 30.0, *, distinct: bool = False
    ) -> list[Received]:
        """Like `wait_for`, without blocking the event loop; `distinct` counts notification
        ids (a repeat delivered at least once counts once) and returns the first of each."""

        def done() -> list[Received] | None:
            got = list(self.distinct().values()) if distinct else self.ok()
            return got if len(got) >= n else None

        got = await self._watch(done, timeout_s)
        if got is None:
            raise AssertionError(f"expected {n} delivered requests, got {self.received}")
        return got

    async def arrived(self, n: int, timeout_s: float = 30.0) -> None:
        """Wait until `n` requests arrived, answered or still held."""
        if await self._watch(lambda: True if self.arrivals >= n else None, timeout_s) is None:
            raise AssertionError(f"expected {n} requests to arrive, got {self.arrivals}")

    async def _watch(self, done: Callable[[], _T | None], timeout_s: float) -> _T | None:
        """`done()` once it is not None, checked each time a request arrives or is answered
        (the server's thread wakes this loop), or None after `timeout_s`."""
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def poke() -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed after the wait ended
                loop.call_soon_threadsafe(changed.set)

        with self.lock:
            self._pokes.append(poke)
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    changed.clear()
                    got = done()
                    if got is not None:
                        return got
                    await changed.wait()
        except TimeoutError:
            return done()
        finally:
            with self.lock:
                self._pokes.remove(poke)

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
            with state.lock:
                state.arrivals += 1
            state._poke()
            if state.delay_s:
                time.sleep(state.delay_s)
            if state.hold is not None:
                state.hold.wait(60)
            with state.lock:
                status, extra = state.script.pop(0) if state.script else (200, {})
                ok = None
                if state.secret is not None:
                    ok = verify(
                        state.secret,
                        headers.get("x-bruno-timestamp", ""),
                        body,
                        headers.get("x-bruno-signature", ""),
                        state.clock(),
                    )
                    if not ok:
                        status = 401
                ident = headers.get("x-bruno-notification-id")
                seen = ident is not None and any(
                    r.headers.get("x-bruno-notification-id") == ident and r.answered < 300
                    for r in state.received
                )
                got = Received(state.clock(), self.path, headers, body, status, ok, seen)
                state.received.append(got)
            state._poke()
            if state.on_receive is not None and status < 300:
                state.on_receive(got)
            reply = b'{"status":"ok"}' if status < 300 else b'{"error":"scripted"}'
            try:
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except OSError:  # the sender went away before the answer (killed mid-request)
                got.answer_lost = True

    return Handler


@contextmanager
def receiver(port: int = 0, **options: Any) -> Iterator[Receiver]:
    """Run a receiver on 127.0.0.1 (an ephemeral port unless given) until the block ends."""
    state = Receiver(**options)
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    # Polled every 50 ms: the block's end (shutdown) waits for one poll, 0.5 s by default.
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="receiver", daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def show(got: Received) -> None:
    """Print one notification the way a person reads it."""
    try:
        data = got.json()
    except ValueError:
        print(f"receiver: {len(got.body)} bytes that are not JSON", flush=True)
        return
    text = data.get("text") if isinstance(data, dict) else None
    mark = " (repeat of an id already processed)" if got.repeat else ""
    signed = {True: "signature ok", False: "BAD SIGNATURE", None: "unsigned"}[got.signature_ok]
    print(f"\n>>> notification {data.get('id', '?')} ({signed}){mark}", flush=True)
    print("    " + str(text or data).replace("\n", "\n    "), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run a printing receiver until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m agent_bruno.alerts.receiver")
    parser.add_argument("--port", type=int, default=9111)
    parser.add_argument("--secret", default=None, help="verify X-Bruno-Signature with it")
    args = parser.parse_args(argv)
    with receiver(port=args.port, secret=args.secret, on_receive=show) as r:
        print(f"receiver listening on {r.url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
