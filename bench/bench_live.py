"""Critical delivery through the real processes: a reporter and an agent talking over loopback.

The reporter samples every 0.5 s and five spikes past the DHT22's range are injected; each is a
critical that must reach the agent at once. The delay of each is the agent's arrival time
(`event_ids.ts`, stamped when the request arrives; the durable commit follows within the ingest
p99) minus the reading's own time on the Pi: sampling, triage, the outbox's fsync, HTTP and
validation are all inside it.
"""

from __future__ import annotations

import secrets
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from agent_bruno.localrun import free_port, spawn, wait_ready
from bench.common import Figure

SPIKES_AT = (3, 6, 9, 12, 15)  # seconds after the reporter starts
RUN_S = 19.0


def _delays(db: Path) -> list[float]:
    """Arrival minus reading time of every injected spike's critical stored by the agent."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        # Only the injected series: a node-health critical must not stand in for a missed spike.
        rows = conn.execute(
            "SELECT e.ts - a.ts FROM anomalies a JOIN event_ids e "
            "ON e.node = a.node AND e.id = a.event_id JOIN series s ON s.id = a.series_id "
            "WHERE a.severity = 'critical' AND s.sensor = 'dht22-1' AND s.metric = 'temperature'"
        ).fetchall()
    finally:
        conn.close()
    return sorted(float(d) for (d,) in rows)


def measure(tmp: Path) -> tuple[list[float], str]:
    """Run both processes with injected spikes; return the critical delays and the logs' tail."""
    port, token = free_port(), secrets.token_urlsafe(24)
    url = f"http://127.0.0.1:{port}"
    agent = spawn(
        ["agent_bruno.cli", "serve"],
        {
            "AGENT_BRUNO_HOST": "127.0.0.1",
            "AGENT_BRUNO_PORT": str(port),
            "AGENT_BRUNO_DATA_DIR": str(tmp / "agent"),
            "AGENT_BRUNO_REPORTER_TOKENS": f"pi-bench={token}",
        },
        tmp / "agent.log",
    )
    reporter: subprocess.Popen[bytes] | None = None
    try:
        wait_ready(url, agent, tmp / "agent.log")
        faults = ",".join(f"dht22-1/temperature:spike@{s}:+70" for s in SPIKES_AT)
        reporter = spawn(
            ["edge_reporter"],
            {
                "STUDIO_AGENT_URL": url,
                "AGENT_TOKEN": token,
                "NODE_NAME": "pi-bench",
                "LOCATION": "lab",
                "REPORT_INTERVAL": "0.5",
                "AGGREGATE_INTERVAL": "5",
                "SENSORS": "sim-dht22:dht22-1,sim-pressure:bmp280-1,sim-co2:mhz19-1,node",
                "FAULTS": faults,
                "DATA_DIR": str(tmp / "reporter"),
                "READ_API_PORT": "0",
            },
            tmp / "reporter.log",
        )
        time.sleep(RUN_S)
        reporter.send_signal(signal.SIGTERM)
        reporter.wait(30)
    finally:
        for proc in (reporter, agent):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
    logs = "\n".join(p.read_text(errors="replace")[-1500:] for p in sorted(tmp.glob("*.log")))
    return _delays(tmp / "agent" / "agent-bruno.db"), logs


def run() -> list[Figure]:
    """Critical delays through real processes on loopback."""
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        delays, logs = measure(Path(tmp))
    if not delays:
        raise RuntimeError(f"no critical reached the agent; logs:\n{logs}")
    shown = ", ".join(f"{d * 1000:.1f}" for d in delays)
    detail = f"real reporter and agent processes on loopback; delays (ms): {shown}"
    return [
        Figure(
            "live criticals delivered / injected",
            len(delays) / len(SPIKES_AT),
            "ratio",
            (">=", 1.0),
            detail,
        ),
        Figure("live critical delay, max", max(delays), "s", ("<=", 2.0), detail),
    ]
