"""The reporter process: config errors exit 2; a short run delivers everything, then stops."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from edge_reporter.config import ReporterConfig
from edge_reporter.main import build, serve

REPO = Path(__file__).resolve().parents[3]
TOKEN = "k3Yq9-tW7xZ2pL0vR5mN"


def test_configuration_error_exits_2_naming_the_variable() -> None:
    env = {"PATH": "/usr/bin:/bin", "STUDIO_AGENT_URL": "agent:30120", "AGENT_TOKEN": TOKEN}
    result = subprocess.run(
        [sys.executable, "-m", "edge_reporter"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "STUDIO_AGENT_URL='agent:30120'" in result.stderr
    assert "http://" in result.stderr


async def test_short_run_delivers_readings_aggregates_and_heartbeats(tmp_path: Path) -> None:
    received: list[dict[str, object]] = []

    def agent(request: httpx.Request) -> httpx.Response:
        envelope = json.loads(gzip.decompress(request.content))
        assert envelope["reporter"]["node"] == "pi-1"
        received.extend(envelope["events"])
        n = len(envelope["events"])
        return httpx.Response(200, json={"accepted": n, "duplicates": 0, "rejected": []})

    config = ReporterConfig.from_env(
        {
            "STUDIO_AGENT_URL": "http://agent:30120",
            "AGENT_TOKEN": TOKEN,
            "NODE_NAME": "pi-1",
            "LOCATION": "lab",
            "DATA_DIR": str(tmp_path),
            "REPORT_INTERVAL": "0.05",
            "AGGREGATE_INTERVAL": "0.2",
            "SENSORS": "sim-dht22:dht22-1,node",
            "FAULTS": "dht22-1/humidity:step@0.1:+200:for0.05",
            "READ_API_PORT": "0",
        }
    )
    loop_time = asyncio.get_running_loop().time
    rt = build(config, now=time.time(), transport=httpx.MockTransport(agent))
    stop = asyncio.Event()
    asyncio.get_running_loop().call_at(loop_time() + 0.7, stop.set)
    await serve(rt, stop)
    kinds = {str(e["type"]) for e in received}
    assert {"heartbeat", "aggregate", "reading"} <= kinds
    critical = [e for e in received if e["type"] == "reading" and e["severity"] == "critical"]
    assert critical
    assert critical[0]["metric"] == "humidity"
    ids = [str(e["id"]) for e in received]
    assert len(ids) == len(set(ids))
    assert [int(i.rsplit(":", 1)[1]) for i in ids] == sorted(int(i.rsplit(":", 1)[1]) for i in ids)
    assert (tmp_path / "raw.db").exists()
