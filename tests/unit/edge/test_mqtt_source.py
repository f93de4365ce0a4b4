"""What the MQTT source hands to triage between messages: nothing when quiet, dropouts when not.

Messages go through the source's real paho callback (as paho's thread calls it) with a frozen
clock; the broker itself is exercised in tests/e2e/test_mqtt_broker.py.
"""

from __future__ import annotations

import json

import paho.mqtt.client as paho
import pytest

from edge_reporter.sensor_config import MqttConfig
from edge_reporter.sensors.mqtt.source import MAX_PAYLOAD, MqttSource

NOW = 1_764_160_000.0


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def message(topic: str, payload: bytes | dict[str, object]) -> paho.MQTTMessage:
    msg = paho.MQTTMessage(topic=topic.encode())
    msg.payload = json.dumps(payload).encode() if isinstance(payload, dict) else payload
    return msg


@pytest.fixture
def clock() -> Clock:
    return Clock()


def connected(clock: Clock, **kw: object) -> MqttSource:
    cfg = MqttConfig(host="127.0.0.1", port=1, client_id="t", stale_after=600, **kw)  # type: ignore[arg-type]
    source = MqttSource(cfg, reserved={"node"}, clock=clock)
    source._connected = True  # as after a CONNACK; no broker in this file
    return source


def hear(source: MqttSource, topic: str, payload: bytes | dict[str, object]) -> None:
    source._on_message(source._client, None, message(topic, payload))


def by_series(source: MqttSource) -> dict[tuple[str, str], float | None]:
    return {(r.sensor, r.metric): r.value for r in source.read(NOW)}


def test_a_quiet_device_reads_nothing_then_a_dropout_once_stale(clock: Clock) -> None:
    source = connected(clock)
    hear(source, "zigbee2mqtt/hall", {"temperature": 20.5})
    assert by_series(source) == {("hall", "temperature"): 20.5}
    clock.t += 300
    assert by_series(source) == {}  # no news is not a repeat of the last value
    clock.t += 301
    assert by_series(source) == {("hall", "temperature"): None}  # silent > MQTT_STALE_AFTER
    hear(source, "zigbee2mqtt/hall", {"temperature": 20.7})
    assert by_series(source) == {("hall", "temperature"): 20.7}


def test_an_offline_device_reads_as_dropouts_until_it_is_back(clock: Clock) -> None:
    source = connected(clock)
    hear(source, "tele/porch/SENSOR", {"AM2301": {"Temperature": 12.0, "Humidity": 80.0}})
    source.read(NOW)
    hear(source, "tele/porch/LWT", b"Offline")
    assert by_series(source) == {
        ("porch-am2301", "temperature"): None,
        ("porch-am2301", "humidity"): None,
    }
    hear(source, "tele/porch/LWT", b"Online")
    assert by_series(source) == {}


def test_a_zigbee_bridge_going_down_takes_its_devices_with_it(clock: Clock) -> None:
    source = connected(clock)
    hear(source, "zigbee2mqtt/hall", {"temperature": 20.5})
    hear(source, "zigbee2mqtt/kitchen", {"humidity": 55.0})
    source.read(NOW)
    hear(source, "zigbee2mqtt/bridge/state", {"state": "offline"})
    assert set(by_series(source).values()) == {None}
    assert len(by_series(source)) == 2


def test_a_lost_broker_makes_every_series_a_dropout(clock: Clock) -> None:
    source = connected(clock)
    hear(source, "zigbee2mqtt/hall", {"temperature": 20.5})
    source.read(NOW)
    source._on_disconnect(source._client, None, None, "connection lost")
    assert by_series(source) == {("hall", "temperature"): None}
    assert source.drain(NOW) == []  # the push path sends no dropouts of its own


def test_drain_hands_over_only_what_arrived(clock: Clock) -> None:
    source = connected(clock)
    hear(source, "zigbee2mqtt/hall", {"temperature": 20.5})
    hear(source, "zigbee2mqtt/hall", {"temperature": 20.6})
    assert [(r.metric, r.value, r.ts) for r in source.drain(NOW)] == [("temperature", 20.6, NOW)]
    assert source.drain(NOW) == []


def test_a_device_named_like_a_configured_sensor_keeps_apart(clock: Clock) -> None:
    source = connected(clock)
    hear(source, "zigbee2mqtt/node", {"temperature": 20.5})
    assert by_series(source) == {("node-mqtt", "temperature"): 20.5}


def test_series_are_bounded(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    source = connected(clock, max_series=3)
    for i in range(5):
        hear(source, f"zigbee2mqtt/room-{i}", {"temperature": 20.0})
    assert len(source.specs()) == 3
    assert "MQTT_MAX_SERIES=3" in caplog.text


def test_nothing_a_device_sends_stops_the_client_thread(
    clock: Clock, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = connected(clock)
    hear(source, "zigbee2mqtt/big", b"{" + b" " * MAX_PAYLOAD + b"}")
    bad = paho.MQTTMessage(topic=b"zigbee2mqtt/\xff\xfe")
    source._on_message(source._client, None, bad)

    def broken(topic: str, payload: bytes) -> object:
        raise KeyError("a decoder bug")

    monkeypatch.setattr(source._decoder, "decode", broken)
    hear(source, "zigbee2mqtt/hall", {"temperature": 20.5})
    assert source.specs() == []
    assert "bytes was ignored" in caplog.text
    assert "not UTF-8" in caplog.text
    assert "a decoder bug" in caplog.text
