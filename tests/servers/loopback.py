"""Loopback servers for tests that may run side by side (pytest-xdist's workers).

A port found free and bound later can be taken in between by another worker; these hold their
socket from the moment the port is chosen.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

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


@contextmanager
def serve_in_thread(app: FastAPI, *, start_timeout_s: float = 30.0) -> Iterator[str]:
    """Run `app` under uvicorn in a thread (its own loop, no signal handlers) on a socket bound
    before the server starts; yield its URL, stop it after."""
    sock = bound_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-test", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout_s
        while not server.started:
            assert thread.is_alive(), "the server thread exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        yield url
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()
