"""`agent-bruno serve` as a real process on loopback: ingest, read, graceful stop."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import httpx
import pytest

from agent_bruno.localrun import free_port, serve_agent
from tests.unit.agent.helpers import API_TOKEN, NODE1_TOKEN, aggregate, auth, envelope

pytestmark = pytest.mark.e2e


def test_serve_ingests_answers_and_stops_cleanly(tmp_path: Path):
    port = free_port()
    env = {"AGENT_BRUNO_REPORTER_TOKENS": f"pi-node-1={NODE1_TOKEN}",
           "AGENT_BRUNO_API_TOKEN": API_TOKEN}  # fmt: skip
    with serve_agent(tmp_path, port, env, log=tmp_path / "serve.log") as proc:
        try:
            base = f"http://127.0.0.1:{port}"
            r = httpx.post(
                f"{base}/v1/events", json=envelope([aggregate(1)]), headers=auth(NODE1_TOKEN)
            )
            assert r.json()["accepted"] == 1
            assert httpx.get(f"{base}/readyz").status_code == 200
            catalog = httpx.get(f"{base}/v1/catalog", headers=auth(API_TOKEN)).json()
            assert catalog["nodes"] == ["pi-node-1"]
        finally:
            proc.send_signal(signal.SIGTERM)
            # uvicorn shuts down gracefully, then re-raises the signal it caught
            assert proc.wait(20) in (0, -signal.SIGTERM)
    wal = tmp_path / "agent-bruno.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # the writer closed with a checkpoint
    conn = sqlite3.connect(tmp_path / "agent-bruno.db")
    try:
        assert conn.execute("SELECT count(*) FROM rollup_5m").fetchone() == (1,)
    finally:
        conn.close()
