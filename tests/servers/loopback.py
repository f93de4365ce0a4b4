"""Loopback servers for tests that may run side by side (pytest-xdist's workers).

A port found free and bound later can be taken in between by another worker; these hold their
socket from the moment the port is chosen.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import uvicorn
from fastapi import FastAPI


def bound_socket() -> socket.socket:
    """A TCP socket bound to a free port on 127.0.0.1 (not listening yet)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port held but not listening: every connection is refused, and no other test
    can start a server on it meanwhile."""
    with bound_socket() as sock:
        port: int = sock.getsockname()[1]
        yield port


@contextmanager
def refused_url() -> Iterator[str]:
    """`http://127.0.0.1:PORT` on a `refused_port()`."""
    with refused_port() as port:
        yield f"http://127.0.0.1:{port}"


class PromptServer(uvicorn.Server):
    """A uvicorn server that stops as soon as it is told: its main loop waits on an event that
    `stop()` sets from any thread (uvicorn's own checks `should_exit` every 0.1 s), and its
    shutdown waits for open connections and tasks in short polls (uvicorn's pauses 0.1 s first
    and polls every 0.1 s), within `timeout_graceful_shutdown` (5 s when unset), then cancels
    what still runs. A test server starts and stops dozens of times a run; these pauses were
    most of each test's time. `ready` is set once it accepts connections, so a starter waits
    on it instead of polling `started`."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.ready.set()

    async def main_loop(self) -> None:
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        if not self.should_exit:  # set before `stop()` could see the loop
            await self._wake.wait()

    def stop(self) -> None:
        """Ask the server to stop, from any thread; returns at once."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(wake.set)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.config.timeout_graceful_shutdown or 5.0)
        state = self.server_state
        while (state.connections or state.tasks) and not self.force_exit:
            if loop.time() >= deadline:
                for task in state.tasks:
                    task.cancel(msg="the test server stopped")
                break
            await asyncio.sleep(0.002)
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


@contextmanager
def serve_in_thread(app: FastAPI, *, start_timeout_s: float = 30.0) -> Iterator[str]:
    """Run `app` under uvicorn in a thread (its own loop, no signal handlers) on a socket bound
    before the server starts; yield its URL, stop it after."""
    sock = bound_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="on")
    server = PromptServer(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-test", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout_s
        while not server.ready.wait(0.05):  # the thread may have died instead
            assert thread.is_alive(), "the server thread exited"
            assert time.monotonic() < deadline, "the server did not start"
        yield url
    finally:
        server.stop()
        thread.join(20)
        sock.close()
