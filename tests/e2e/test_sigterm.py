"""SIGTERM on a real agent process: open /chat streams end with `error` and `done`, and the
process exits well within the 30 s a pod gets before SIGKILL."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from agent_bruno.localrun import free_port, serve_agent
from tests.fakes.ollama import FakeOllama, Reply

pytestmark = pytest.mark.e2e


def test_sigterm_ends_open_chat_streams_without_error_or_done(tmp_path: Path) -> None:
    """Regression (issue 7, defect 17): on SIGTERM, open /chat streams ended without `error`
    or `done`, so a client could not tell a cut answer from a finished one."""
    with FakeOllama([Reply("too late", delay_s=30)], model="m") as fake:
        port = free_port()
        agent = serve_agent(
            tmp_path,
            port,
            {
                "AGENT_BRUNO_OLLAMA_URL": fake.url,
                "AGENT_BRUNO_OLLAMA_MODEL": "m",
                "AGENT_BRUNO_OLLAMA_TIMEOUT_S": "60",
            },
        )
        lines: list[str] = []
        try:
            url = f"http://127.0.0.1:{port}/chat"
            with httpx.stream("GET", url, params={"q": "How warm is it?"}, timeout=40) as r:
                assert r.status_code == 200
                for line in r.iter_lines():
                    lines.append(line)
                    if line == "event: status" and len(lines) < 3:
                        time.sleep(0.5)  # the model is thinking now
                        began = time.monotonic()
                        agent.send_signal(signal.SIGTERM)
            ended = time.monotonic() - began
            code = agent.wait(30)
            exited = time.monotonic() - began
        finally:
            if agent.poll() is None:
                agent.kill()
                agent.wait()
    events = [x.removeprefix("event: ") for x in lines if x.startswith("event: ")]
    assert events[-2:] == ["error", "done"], lines
    error = next(x for x in lines[lines.index("event: error") :] if x.startswith("data: "))
    assert "shutting down" in error
    assert ended < 10, ended
    assert exited < 20, exited
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
    assert code in (0, -signal.SIGTERM), (tmp_path / "agent.log").read_text()
