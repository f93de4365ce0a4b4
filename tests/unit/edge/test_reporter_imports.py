"""The reporter stays small: importing all of it loads no agent-side framework."""

from __future__ import annotations

import subprocess
import sys

import pytest

FORBIDDEN = ("fastapi", "starlette", "pydantic", "langchain", "langgraph", "neo4j", "agent_bruno")
MODULES = (
    "edge_reporter.main",
    "edge_reporter.read_api",
    "edge_reporter.explain",
    "edge_reporter.forwarder",
    "edge_reporter.engine",
    "edge_reporter.sensors.mqtt.source",
    "edge_reporter.sensors.dht22",
    "edge_reporter.sensors.bme280",
)


@pytest.mark.e2e  # starts a process
def test_reporter_imports_no_agent_framework() -> None:
    """A Pi installs only the `edge` extra; an accidental import would fail there at start."""
    code = (
        f"import sys; import {', '.join(MODULES)}; "
        f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r}))))"
    )
    loaded = subprocess.run(  # noqa: S603 - our interpreter, fixed code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []
