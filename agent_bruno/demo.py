"""`make demo`: the agent and three simulated Pi reporters on this machine, until Ctrl-C.

Everything listens on loopback only. Tokens are generated per run; data lives in `var/demo/`
(wiped at start unless `--keep`). Faults are injected so anomalies show up within a minute:
a DHT22 glitch past the sensor's range (critical, by hard limit), a stuck humidity sensor
(warning, by the stuck rule), and a CO2 step and a temperature step that the statistical detector
flags once it has learnt its baseline (150 readings).
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from agent_bruno.localrun import NotReady, port_free, spawn, tail, wait_ready

SENSORS = "sim-dht22:dht22-1,sim-pressure:bmp280-1,sim-motion:pir-1,sim-co2:mhz19-1,node"


@dataclass(frozen=True, slots=True)
class DemoNode:
    """One simulated Pi."""

    node: str
    location: str
    read_port: int
    faults: str
    workloads: str


NODES = (
    DemoNode(
        "pi-node-1",
        "warehouse",
        9108,
        "dht22-1/temperature:spike@20:+70,dht22-1/temperature:step@200:+6:for10m",
        "edge-reporter,mosquitto",
    ),
    DemoNode(
        "pi-node-2",
        "warehouse-b",
        9109,
        "dht22-1/humidity:stuck@25:for3m",
        "edge-reporter,zigbee2mqtt",
    ),
    DemoNode(
        "pi-node-3",
        "server-room",
        9110,
        "mhz19-1/co2:step@190:+900:for10m",
        "edge-reporter,frigate",
    ),
)


class DemoError(RuntimeError):
    """The demo cannot start; the message says why and what to do."""


def _banner(url: str, read_tokens: dict[str, str], data_dir: Path) -> str:
    first = NODES[0]
    return f"""
agent-bruno demo is running: {url}
  agent log: {data_dir / "agent.log"}   reporter logs: {data_dir}/<node>.log

Three simulated Pis report every second: {", ".join(f"{n.node} ({n.location})" for n in NODES)}.
Injected faults: a DHT22 glitch in the warehouse at ~20 s, a stuck humidity sensor in
warehouse-b at ~25 s, then a CO2 step in the server room and a temperature step in the
warehouse at ~3.5 min (once the detector has learnt its baseline).

Try (reads are open because the demo listens on loopback only):
  curl -s {url}/v1/nodes | python3 -m json.tool
  curl -s '{url}/v1/anomalies?start=-1h' | python3 -m json.tool
  curl -s '{url}/v1/series?metric=temperature&location=warehouse&start=-15m&step=60' \\
       | python3 -m json.tool
  curl -s {url}/v1/catalog | python3 -m json.tool
  curl -s {url}/metrics | grep '^bruno_'
  curl -s -H 'Authorization: Bearer {read_tokens[first.node]}' \\
       'http://127.0.0.1:{first.read_port}/v1/readings?sensor=dht22-1&metric=temperature&limit=20'

Press Ctrl-C to stop.
"""


def run(port: int, data_dir: Path, keep: bool, duration: float | None) -> int:
    """Start everything, print how to use it, and supervise until Ctrl-C or `duration`."""
    for p in (port, *(n.read_port for n in NODES)):
        if not port_free(p):
            raise DemoError(f"port {p} on 127.0.0.1 is in use; stop what uses it and retry")
    if data_dir.exists() and not keep:
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    tokens = {n.node: secrets.token_urlsafe(24) for n in NODES}
    read_tokens = {n.node: secrets.token_urlsafe(24) for n in NODES}
    procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []

    def stop_all() -> None:
        for _, proc, _ in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _, proc, _ in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        agent_log = data_dir / "agent.log"
        agent_env = {
            "AGENT_BRUNO_HOST": "127.0.0.1",
            "AGENT_BRUNO_PORT": str(port),
            "AGENT_BRUNO_DATA_DIR": str(data_dir / "agent"),
            "AGENT_BRUNO_REPORTER_TOKENS": ",".join(f"{k}={v}" for k, v in tokens.items()),
        }
        agent = spawn(["agent_bruno.cli", "serve"], agent_env, agent_log)
        procs.append(("agent", agent, agent_log))
        try:
            wait_ready(url, agent, agent_log, timeout=30)
        except NotReady as exc:
            raise DemoError(str(exc)) from None
        for i, n in enumerate(NODES):
            log = data_dir / f"{n.node}.log"
            env = {
                "STUDIO_AGENT_URL": url,
                "AGENT_TOKEN": tokens[n.node],
                "NODE_NAME": n.node,
                "LOCATION": n.location,
                "CLUSTER": "homelab",
                "REPORT_INTERVAL": "1",
                "AGGREGATE_INTERVAL": "15",
                "SENSORS": SENSORS,
                "FAULTS": n.faults,
                "WORKLOADS": n.workloads,
                "DATA_DIR": str(data_dir / n.node),
                "READ_API_BIND": "127.0.0.1",
                "READ_API_PORT": str(n.read_port),
                "READ_API_TOKEN": read_tokens[n.node],
                "READ_API_URL": f"http://127.0.0.1:{n.read_port}",
                "SEED": str(i + 1),
            }
            procs.append((n.node, spawn(["edge_reporter"], env, log), log))
        print(_banner(url, read_tokens, data_dir), flush=True)
        deadline = None if duration is None else time.monotonic() + duration
        while deadline is None or time.monotonic() < deadline:
            for name, proc, log in procs:
                if proc.poll() is not None:
                    raise DemoError(f"{name} exited with code {proc.returncode}:\n{tail(log)}")
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    finally:
        stop_all()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the demo; a start-up problem exits 1 with the reason."""
    parser = argparse.ArgumentParser(prog="python -m agent_bruno.demo", description=__doc__)
    parser.add_argument("--port", type=int, default=30120, help="agent port (default 30120)")
    parser.add_argument("--data-dir", type=Path, default=Path("var/demo"))
    parser.add_argument("--keep", action="store_true", help="keep data from the last run")
    parser.add_argument("--duration", type=float, default=None, help="stop after N seconds")
    args = parser.parse_args(argv)
    try:
        return run(args.port, args.data_dir, args.keep, args.duration)
    except DemoError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
