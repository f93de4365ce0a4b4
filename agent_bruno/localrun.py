"""Running the agent and reporters as local processes: used by the demo, benchmarks and tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

# An agent start-up took ~30 s on a loaded 2-core machine; waiting ends as soon as it answers.
READY_TIMEOUT_S = 120.0


class NotReady(RuntimeError):
    """A process exited or did not become ready in time; the message holds its log's tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_free(port: int) -> bool:
    """Whether `port` on 127.0.0.1 can be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def spawn(module_args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `python -m MODULE ARGS...` with this interpreter, output appended to `log`."""
    with log.open("ab") as handle:  # the child keeps its own descriptor
        return subprocess.Popen(  # noqa: S603 - our interpreter and our modules
            [sys.executable, "-m", *module_args],
            env={**os.environ, **env},
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def tail(log: Path, lines: int = 15) -> str:
    """The last lines of a log file."""
    if not log.exists():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def wait_ready(
    url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = READY_TIMEOUT_S
) -> None:
    """Wait until the agent at `url` answers /readyz; raise NotReady if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise NotReady(f"the agent exited with code {proc.returncode}:\n{tail(log)}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise NotReady(f"the agent was not ready after {timeout:.0f}s:\n{tail(log)}")


def serve_agent(
    data_dir: Path,
    port: int,
    env: Mapping[str, str],
    *,
    log: Path | None = None,
    timeout: float = READY_TIMEOUT_S,
) -> subprocess.Popen[bytes]:
    """Start `agent-bruno serve` on 127.0.0.1:`port` over `data_dir` (plus `env`) and return it
    once ready; if it does not get ready it is killed and NotReady says why."""
    full = {
        "AGENT_BRUNO_HOST": "127.0.0.1",
        "AGENT_BRUNO_PORT": str(port),
        "AGENT_BRUNO_DATA_DIR": str(data_dir),
        **env,
    }
    log = log or data_dir / "agent.log"
    proc = spawn(["agent_bruno.cli", "serve", "--log-level", "warning"], full, log)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc, log, timeout)
    except NotReady:
        proc.kill()
        proc.wait()
        raise
    return proc
