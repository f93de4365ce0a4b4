"""Edge reporter bench (a): the resident memory of the real `python -m edge_reporter` process
against a stand-in agent on loopback, alone and with the MQTT source on a real Mosquitto."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.common import Figure
from bench.reporter_agent import NODE, REPO, SENSORS, TOKEN, _StandinHandler
from edge_reporter.store import StoreReader

READ_TOKEN = "bench-read-5d2a8c7e1f4b9a6c"
RSS_SECONDS = 25
RSS_WARMUP = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _vm_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _wait_listening(proc: subprocess.Popen[bytes], port: int, limit_s: float = 60.0) -> None:
    """Wait until the reporter's read API accepts connections (start-up is slow under load)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"edge_reporter exited early with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"edge_reporter's read API did not listen on port {port} in {limit_s} s")


def _reporter_rss(
    extra_env: dict[str, str] | None = None, sensors_extra: str = ""
) -> tuple[list[float], int, int]:
    """Run `python -m edge_reporter` for RSS_SECONDS: (VmRSS samples, series, exit code)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StandinHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    read_port = _free_port()
    sensors = ",".join(f"{kind}:{name}" for name, kind in SENSORS.items()) + ",node" + sensors_extra
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(REPO),
            "STUDIO_AGENT_URL": f"http://127.0.0.1:{server.server_address[1]}",
            "AGENT_TOKEN": TOKEN,
            "NODE_NAME": NODE,
            "LOCATION": "bench",
            "DATA_DIR": tmp,
            "REPORT_INTERVAL": "0.25",
            "AGGREGATE_INTERVAL": "2",
            "SENSORS": sensors,
            "FAULTS": "dht22-1/temperature:spike@5:+70,mhz19-1/co2:stuck@8:for5",
            "READ_API_PORT": str(read_port),
            "READ_API_TOKEN": READ_TOKEN,
            "READ_API_BIND": "127.0.0.1",
            "LOG_LEVEL": "ERROR",
            **(extra_env or {}),
        }
        proc = subprocess.Popen([sys.executable, "-m", "edge_reporter"], env=env, cwd=REPO)
        samples: list[float] = []
        try:
            _wait_listening(proc, read_port)
            for second in range(RSS_SECONDS):
                time.sleep(1)
                if proc.poll() is not None:
                    raise RuntimeError(f"edge_reporter exited early with {proc.returncode}")
                if second >= 2:  # exercise the read API as a user would
                    request = urllib.request.Request(
                        f"http://127.0.0.1:{read_port}/v1/readings?limit=500",
                        headers={"Authorization": f"Bearer {READ_TOKEN}"},
                    )
                    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
                        answer.read()
                if second >= RSS_WARMUP:
                    samples.append(_vm_rss_mib(proc.pid))
            series = 0
            with StoreReader(Path(tmp) / "raw.db") as reader:
                series = len(reader.series())
        finally:
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=15)
            server.shutdown()
            server.server_close()
    return samples, series, rc


def measure_rss() -> Figure:
    """Run `python -m edge_reporter` for RSS_SECONDS and take the steady-state VmRSS."""
    samples, series, rc = _reporter_rss()
    return Figure(
        "reporter steady-state RSS",
        round(max(samples), 1),
        "MiB",
        ("<=", 48),
        f"max VmRSS over s {RSS_WARMUP}-{RSS_SECONDS} of the real process (median "
        f"{statistics.median(samples):.1f}); {series} series (10 simulated + node health), "
        f"REPORT_INTERVAL=0.25 s, read API queried 1/s, stand-in agent; exit code {rc} on SIGTERM",
    )


MQTT_DEVICES = 20  # Zigbee2MQTT climate sensors, plus as many Tasmota BME280 boards
MQTT_PERIOD_S = 0.5  # each device publishes this often (a real one: every 1-5 minutes)


def _mqtt_load(port: int, stop: threading.Event) -> int:
    """Publish as a busy home network would, until `stop`; returns messages sent."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-devices")
    client.connect("127.0.0.1", port)
    client.loop_start()
    sent = 0
    try:
        while not stop.wait(MQTT_PERIOD_S):
            for i in range(MQTT_DEVICES):
                z2m = {"temperature": 20 + i / 10, "humidity": 40 + i, "pressure": 1013.2,
                       "battery": 90, "voltage": 3000 + i, "linkquality": 120}  # fmt: skip
                client.publish(f"zigbee2mqtt/room-{i}/climate", json.dumps(z2m))
                tasmota = {"Time": "2026-11-26T12:00:00", "BME280": {"Temperature": 21.0 + i / 10,
                           "Humidity": 45.0, "DewPoint": 8.6, "Pressure": 1012.9},
                           "PressureUnit": "hPa", "TempUnit": "C"}  # fmt: skip
                client.publish(f"tele/board-{i}/SENSOR", json.dumps(tasmota))
                sent += 2
    finally:
        client.disconnect()
        client.loop_stop()
    return sent


def measure_rss_mqtt() -> Figure | None:
    """The same run with the MQTT source subscribed to a real Mosquitto under load."""
    from tests.servers.mosquitto import Mosquitto, mosquitto_binary

    binary = mosquitto_binary()
    if binary is None:
        print("bench_reporter: mosquitto not installed; MQTT RSS not measured", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp), binary=binary)
        broker.start()
        stop = threading.Event()
        sent: list[int] = []
        load = threading.Thread(target=lambda: sent.append(_mqtt_load(broker.port, stop)))
        load.start()
        try:
            samples, series, rc = _reporter_rss(
                {"MQTT_URL": broker.url, "MQTT_MAX_SERIES": "512"}, ",mqtt"
            )
        finally:
            stop.set()
            load.join(timeout=10)
            broker.stop()
    rate = 2 * MQTT_DEVICES / MQTT_PERIOD_S
    return Figure(
        "reporter steady-state RSS, with the MQTT source",
        round(max(samples), 1),
        "MiB",
        ("<=", 48),
        f"as above plus SENSORS=mqtt on a real Mosquitto: {MQTT_DEVICES} Zigbee2MQTT and "
        f"{MQTT_DEVICES} Tasmota devices publishing {rate:.0f} messages/s ({sum(sent):,} sent); "
        f"{series} series stored; median {statistics.median(samples):.1f}; exit code {rc}",
    )
