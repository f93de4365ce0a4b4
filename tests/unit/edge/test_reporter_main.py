"""The reporter process: config errors exit 2; a short run delivers everything, then stops."""

from __future__ import annotations

import asyncio
import gzip
import http.server
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from edge_reporter.config import ReporterConfig
from edge_reporter.main import build, next_sample_time, serve
from edge_reporter.read_api import ReadApi

REPO = Path(__file__).resolve().parents[3]
TOKEN = "k3Yq9-tW7xZ2pL0vR5mN"


@pytest.mark.e2e  # starts a process
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
            # Long enough that a loaded machine, skipping late sample slots, still samples it.
            "FAULTS": "dht22-1/humidity:step@0.1:+200:for30",
            "READ_API_PORT": "0",
        }
    )
    rt = build(config, now=time.time(), transport=httpx.MockTransport(agent))
    stop = asyncio.Event()

    async def stop_once_delivered() -> None:
        # Stop when all three kinds and the critical have arrived (a loaded machine may take
        # far longer than the 0.7 s a quiet one needs); the deadline only bounds a failure.
        deadline = asyncio.get_running_loop().time() + 60
        while asyncio.get_running_loop().time() < deadline:
            kinds = {str(e["type"]) for e in received}
            if {"heartbeat", "aggregate", "reading"} <= kinds and any(
                e.get("severity") == "critical" for e in received
            ):
                break
            await asyncio.sleep(0.05)
        stop.set()

    watcher = asyncio.create_task(stop_once_delivered())
    await serve(rt, stop)
    await watcher
    kinds = {str(e["type"]) for e in received}
    assert {"heartbeat", "aggregate", "reading"} <= kinds
    critical = [e for e in received if e["type"] == "reading" and e["severity"] == "critical"]
    assert critical
    assert critical[0]["metric"] == "humidity"
    ids = [str(e["id"]) for e in received]
    assert len(ids) == len(set(ids))
    assert [int(i.rsplit(":", 1)[1]) for i in ids] == sorted(int(i.rsplit(":", 1)[1]) for i in ids)
    assert (tmp_path / "raw.db").exists()


class _Agent(http.server.BaseHTTPRequestHandler):
    """Loopback agent recording event types; answers like the real one."""

    received: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = gzip.decompress(self.rfile.read(int(self.headers["Content-Length"])))
        events = json.loads(body)["events"]
        self.received.extend(events)
        answer = json.dumps({"accepted": len(events), "duplicates": 0, "rejected": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.mark.e2e  # starts a process
def test_sigterm_flushes_and_exits_0(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Agent)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    env = {
        "PATH": "/usr/bin:/bin",
        "STUDIO_AGENT_URL": f"http://127.0.0.1:{server.server_address[1]}",
        "AGENT_TOKEN": TOKEN,
        "NODE_NAME": "pi-term",
        "LOCATION": "lab",
        "DATA_DIR": str(tmp_path),
        "REPORT_INTERVAL": "0.1",
        "AGGREGATE_INTERVAL": "60",
        "SENSORS": "sim-co2:mhz19-1",
        "READ_API_PORT": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge_reporter"],
        env=env,
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(200):  # wait for the start-up heartbeat
            if _Agent.received:
                break
            time.sleep(0.02)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, stderr
    kinds = [e["type"] for e in _Agent.received]
    # The start-up heartbeat, then at stop the open window's aggregate and a last heartbeat.
    assert kinds[0] == "heartbeat"
    assert kinds[-2:] == ["aggregate", "heartbeat"]
    assert "stopped" in stderr


@pytest.mark.parametrize(
    ("due", "now", "expected"),
    [
        (100.0, 100.0, 160.0),  # on time
        (100.0, 100.4, 160.0),  # a little late: the cadence holds
        (100.0, 159.9, 160.0),  # late, but the next slot is still ahead
        (100.0, 161.0, 221.0),  # a stall past the next slot: skip it, no back-to-back sample
        (100.0, 400.0, 460.0),
    ],
)
def test_next_sample_time(due: float, now: float, expected: float) -> None:
    """Regression: after a stall of more than one interval the ticker sampled twice at once."""
    assert next_sample_time(due, 60.0, now) == expected


@pytest.mark.parametrize("bind", ["127.0.0.2", "127.1.2.3", "localhost"])
def test_read_api_bind_127_0_0_2_without_a_token_passes_the_check_then_crashes(
    tmp_path: Path, bind: str
) -> None:
    """Regression (issue 7, defect 16): the configuration accepted any loopback address
    without a token, then the read API refused all but 127.0.0.1 with a ValueError traceback."""
    config = ReporterConfig.from_env(
        {
            "STUDIO_AGENT_URL": "http://agent:30120",
            "AGENT_TOKEN": TOKEN,
            "NODE_NAME": "pi-1",
            "LOCATION": "lab",
            "READ_API_BIND": bind,
        }
    )
    assert config.read_api_token is None
    api = ReadApi(
        tmp_path / "raw.db",
        node="pi-1",
        token=None,
        bind=config.read_api_bind,
        port=0,
        poll_interval=0.002,
    )
    host, port = api.start()
    try:
        assert port > 0
        assert httpx.get(f"http://{host}:{port}/healthz").status_code == 200
    finally:
        api.stop()
