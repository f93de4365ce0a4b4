"""The MQTT source against a real Mosquitto on loopback: payloads, outages, credentials, TLS.

Each test starts its own broker (Debian's `mosquitto`) on an ephemeral port with a temporary
config, and stops it. Publishing is done with paho-mqtt, as a device's firmware would.
"""

from __future__ import annotations

import gc
import gzip
import http.server
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge_reporter.engine import Engine
from edge_reporter.model import Reading
from edge_reporter.outbox import Outbox
from edge_reporter.sensor_config import MqttConfig
from edge_reporter.sensors.faults import parse_faults
from edge_reporter.sensors.mqtt.formats import DEFAULT_SUBSCRIPTIONS
from edge_reporter.sensors.mqtt.source import MqttSource
from edge_reporter.sensors.registry import default_triage
from edge_reporter.sensors.simulated import SimulatedSource
from edge_reporter.store import LocalStore
from tests.servers.mosquitto import Mosquitto, make_tls_files, require_mosquitto
from tests.unit.edge.test_mqtt_payloads import (
    BRIDGE_DEVICES,
    ESPHOME_TEMPERATURE_CONFIG,
    GARDEN_DEVICE,
)

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
TASMOTA_BME280 = (
    b'{"Time":"2024-05-01T10:00:00","BME280":{"Temperature":21.2,"Humidity":64.5,'
    b'"DewPoint":14.1,"Pressure":991.4},"PressureUnit":"hPa","TempUnit":"C"}'
)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path, binary=require_mosquitto())
    server.start()
    yield server
    server.stop()


def config(server: Mosquitto, **extra: Any) -> MqttConfig:
    return MqttConfig(
        host="127.0.0.1",
        port=server.port,
        client_id=f"edge-reporter-test-{time.monotonic_ns()}",
        subscriptions=DEFAULT_SUBSCRIPTIONS,
        **extra,
    )


def publish(server: Mosquitto, messages: list[tuple[str, bytes, bool]], **auth: str) -> None:
    """Publish as a device would: QoS 1, retained where the project retains."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="device-under-test")
    if auth:
        client.username_pw_set(auth["username"], auth["password"])
    if server.url.startswith("mqtts"):
        raise AssertionError("publish over TLS is not needed here")
    client.connect("127.0.0.1", server.port)
    client.loop_start()
    try:
        for topic, payload, retain in messages:
            client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


def wait_for(what: str, check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Collector:
    """Drains a source into a dict keyed by series, as the reporter's push path does."""

    def __init__(self, source: MqttSource) -> None:
        self.source = source
        self.seen: dict[tuple[str, str], Reading] = {}

    def drain(self) -> dict[tuple[str, str], Reading]:
        for r in self.source.drain(time.time()):
            self.seen[r.sensor, r.metric] = r
        return self.seen

    def has(self, *keys: tuple[str, str]) -> Callable[[], bool]:
        return lambda: all(k in self.drain() for k in keys)


def test_four_projects_payloads_arrive_with_units(broker: Mosquitto) -> None:
    # Retained before the reporter connects, as on a running home network.
    publish(
        broker,
        [
            ("zigbee2mqtt/bridge/devices", json.dumps(BRIDGE_DEVICES).encode(), True),
            (
                "homeassistant/sensor/livingroom/temperature/config",
                json.dumps(ESPHOME_TEMPERATURE_CONFIG).encode(),
                True,
            ),
            ("homeassistant/device/0AFFD2/config", json.dumps(GARDEN_DEVICE).encode(), True),
        ],
    )
    source = MqttSource(config(broker))
    wake = threading.Event()
    source.start(wake.set)
    try:
        wait_for("connection", lambda: source.connected)
        got = Collector(source)
        # The discovery config arrives retained; its state topic is subscribed to on the fly.
        publish(
            broker,
            [
                (
                    "zigbee2mqtt/living_room/climate",
                    b'{"temperature":22.35,"humidity":58.21,'
                    b'"pressure":1012.3,"battery":97,"linkquality":65}',
                    False,
                ),
                ("tele/kitchen/SENSOR", TASMOTA_BME280, False),
            ],
        )
        wait_for(
            "zigbee2mqtt and tasmota readings",
            got.has(("living_room-climate", "temperature"), ("kitchen-bme280", "pressure")),
        )
        publish(broker, [("livingroom/sensor/temperature/state", b"22.50", False)])
        wait_for("esphome reading", got.has(("livingroom", "temperature")))
        # garden/state is covered by no configured filter: subscribed to once announced.
        wait_for("the announced topic", lambda: "garden/state" in source._discovered)
        publish(broker, [("garden/state", b'{"temperature":12.3,"humidity":80.06}', False)])
        wait_for("the announced device's readings", got.has(("garden", "humidity")))
        assert wake.is_set()
    finally:
        source.close()
    units = {k: (r.unit, r.value) for k, r in got.seen.items()}
    assert units[("living_room-climate", "temperature")] == ("°C", 22.35)
    assert units[("living_room-climate", "battery")] == ("%", 97.0)
    assert ("living_room-climate", "linkquality") not in units
    assert units[("kitchen-bme280", "pressure")] == ("hPa", 991.4)
    assert units[("kitchen-bme280", "dew_point")] == ("°C", 14.1)
    assert units[("livingroom", "temperature")] == ("°C", 22.5)
    assert units[("garden", "humidity")] == ("%", 80.1)
    assert {(s.sensor, s.metric, s.unit) for s in source.specs()} >= {
        ("living_room-climate", "humidity", "%"),
        ("livingroom", "temperature", "°C"),
    }


def test_a_dropped_broker_never_stops_the_other_sensors_and_reconnects(
    broker: Mosquitto, tmp_path: Path
) -> None:
    source = MqttSource(config(broker), reconnect_min_s=0.05, reconnect_max_s=0.4)
    origin = 1_764_115_200.0
    sim = SimulatedSource(
        "sim-dht22",
        "dht22-1",
        seed=3,
        origin=origin,
        faults=parse_faults("dht22-1/temperature:spike@30:+70"),
    )
    store = LocalStore(tmp_path / "raw.db", retention_days=7, max_bytes=2**26)
    outbox = Outbox(tmp_path / "outbox.db", node="pi-mqtt", max_events=10_000)
    engine = Engine(
        sources=[sim, source],
        store=store,
        outbox=outbox,
        triage_factory=default_triage,
        aggregate_interval=300,
    )
    source.start()
    try:
        wait_for("connection", lambda: source.connected)
        publish(broker, [("tele/porch/SENSOR", TASMOTA_BME280, False)])
        wait_for("a first reading", lambda: bool(source.specs()))
        engine.sample(origin)

        broker.stop()
        wait_for("the lost connection to be noticed", lambda: not source.connected)
        started = time.monotonic()
        flagged = []
        for second in range(1, 40):  # the simulated sensor's spike comes at 30 s
            flagged += engine.sample(origin + second)
        assert time.monotonic() - started < 2.0, "sampling waited for the broker"
        assert [
            (r.sensor, v.severity.value) for r, v in flagged if v.severity.value == "critical"
        ] == [("dht22-1", "critical")]
        assert outbox.depth() >= 1  # the critical is in the outbox while MQTT is down
        mqtt_now = list(source.read(origin + 41))
        assert mqtt_now
        assert all(r.value is None for r in mqtt_now)

        broker.start()  # same port: the broker comes back
        wait_for("the reconnection", lambda: source.connected, timeout=5)
        publish(broker, [("tele/porch/SENSOR", TASMOTA_BME280, False)])
        wait_for(
            "readings after the outage",
            lambda: any(r.value is not None for r in source.read(origin + 42)),
        )
    finally:
        source.close()
        store.close()
        outbox.close()


def test_credentials_are_checked_by_the_broker(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = Mosquitto(tmp_path, binary=require_mosquitto(), users={"edge": "broker-pass-8c1f2a"})
    server.start()
    try:
        wrong = MqttSource(
            config(server, username="edge", password="not-the-password"),
            reconnect_min_s=0.05,
            reconnect_max_s=0.2,
        )
        with caplog.at_level(logging.ERROR, logger="edge_reporter.sensors.mqtt.source"):
            wrong.start()
            try:
                wait_for("the refusal to be logged", lambda: "refused" in caplog.text)
                assert not wrong.connected
            finally:
                wrong.close()
        assert "Not authorized" in caplog.text or "password" in caplog.text
        assert "not-the-password" not in caplog.text

        right = MqttSource(config(server, username="edge", password="broker-pass-8c1f2a"))
        right.start()
        try:
            wait_for("connection", lambda: right.connected)
            got = Collector(right)
            publish(
                server,
                [("tele/attic/SENSOR", TASMOTA_BME280, False)],
                username="edge",
                password="broker-pass-8c1f2a",
            )
            wait_for("an authenticated reading", got.has(("attic-bme280", "temperature")))
        finally:
            right.close()
    finally:
        server.stop()


# paho-mqtt leaves the socket of a failed TLS handshake to the garbage collector, which closes
# it (with a ResourceWarning); the reporter retries with backoff, so nothing piles up.
@pytest.mark.filterwarnings("ignore:unclosed <ssl.SSLSocket:ResourceWarning")
def test_tls_with_the_brokers_ca(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed; cannot make a test certificate")
    ca, cert, key = make_tls_files(tmp_path, openssl)
    server = Mosquitto(tmp_path, binary=require_mosquitto(), tls=(ca, cert, key))
    server.start()
    try:
        trusted = MqttSource(config(server, tls=True, ca_file=ca))
        trusted.start()
        try:
            wait_for("a TLS connection", lambda: trusted.connected)
        finally:
            trusted.close()
        untrusted = MqttSource(config(server, tls=True), reconnect_min_s=0.05, reconnect_max_s=0.2)
        with caplog.at_level(logging.WARNING, logger="edge_reporter.sensors.mqtt.source"):
            untrusted.start()
            try:
                wait_for("the certificate to be refused", lambda: "certificate" in caplog.text)
                assert not untrusted.connected
            finally:
                untrusted.close()
                gc.collect()
    finally:
        server.stop()


class _Agent(http.server.BaseHTTPRequestHandler):
    """A loopback agent that records events and the time each arrived."""

    received: ClassVar[list[tuple[float, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = gzip.decompress(self.rfile.read(int(self.headers["Content-Length"])))
        events = json.loads(body)["events"]
        now = time.monotonic()
        self.received.extend((now, e) for e in events)
        answer = json.dumps({"accepted": len(events), "duplicates": 0, "rejected": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        return None


def test_reporter_process_pushes_an_mqtt_critical_at_once(
    broker: Mosquitto, tmp_path: Path
) -> None:
    """The real `python -m edge_reporter` with SENSORS=mqtt,node: a reading beyond the sensor
    limits reaches the agent within the 2 s critical budget, not at the next sample."""
    _Agent.received = []
    agent = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Agent)
    threading.Thread(target=agent.serve_forever, daemon=True).start()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "STUDIO_AGENT_URL": f"http://127.0.0.1:{agent.server_address[1]}",
        "AGENT_TOKEN": "mqtt-e2e-token-5d1c9a7e",
        "NODE_NAME": "pi-mqtt",
        "LOCATION": "lab",
        "DATA_DIR": str(tmp_path / "data"),
        "REPORT_INTERVAL": "30",  # far longer than the budget: a push path must carry it
        "AGGREGATE_INTERVAL": "60",
        "SENSORS": "mqtt,node",
        "MQTT_URL": broker.url,
        "READ_API_PORT": "0",
    }
    log = tmp_path / "reporter.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge_reporter"],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for("the reporter to subscribe", lambda: "subscribed" in log.read_text(), 15)
        state = b'{"temperature":21.5,"humidity":40.0,"battery":90}'
        publish(broker, [("zigbee2mqtt/freezer", state, False)])
        time.sleep(0.3)
        published = time.monotonic()
        publish(broker, [("zigbee2mqtt/freezer", b'{"temperature":150.0}', False)])

        def critical() -> list[tuple[float, dict[str, Any]]]:
            return [
                (t, e)
                for t, e in _Agent.received
                if e.get("type") == "reading" and e.get("severity") == "critical"
            ]

        wait_for("the critical at the agent", lambda: bool(critical()), timeout=10)
        arrived, event = critical()[0]
        assert (event["sensor"], event["metric"], event["unit"]) == ("freezer", "temperature", "°C")
        assert event["value"] == 150.0
        assert "125" in event["reason"]
        assert arrived - published < 2.0
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=20)
        agent.shutdown()
        agent.server_close()
    assert rc == 0, log.read_text()[-3000:]
