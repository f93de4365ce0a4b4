"""SENSORS for real sensors (addresses) and the MQTT_* variables; the registry that wires them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge_reporter.config import ConfigError, ReporterConfig, SensorEntry
from edge_reporter.model import SensorSpec
from edge_reporter.sensors.bme280 import Bme280Source
from edge_reporter.sensors.dht22 import Dht22Source
from edge_reporter.sensors.mqtt.formats import DEFAULT_SUBSCRIPTIONS
from edge_reporter.sensors.registry import build_sources, triage_factory

BASE = {
    "STUDIO_AGENT_URL": "http://agent-bruno:30120",
    "AGENT_TOKEN": "k3Yq9-tW7xZ2pL0vR5mN",
    "NODE_NAME": "pi-node-1",
    "LOCATION": "warehouse",
}


def parse(**extra: str) -> ReporterConfig:
    return ReporterConfig.from_env({**BASE, **extra})


def test_mqtt_settings_are_only_read_by_the_pi_that_lists_mqtt() -> None:
    """Every Pi of a DaemonSet sees MQTT_URL; one subscribes, the others ignore it."""
    cfg = parse(SENSORS="dht22:porch,node", MQTT_URL="mqtt://broker", MQTT_CA_FILE="/nope.pem")
    assert cfg.mqtt is None


def test_real_sensor_kinds_and_addresses() -> None:
    cfg = parse(
        SENSORS="dht22:porch,dht22:shed@iio:device1,bme280:office@0x77,bmp280:attic@i2c-3:0x76,node"
    )
    assert cfg.sensors == (
        SensorEntry("dht22", "porch"),
        SensorEntry("dht22", "shed", "iio:device1"),
        SensorEntry("bme280", "office", "1:0x77"),
        SensorEntry("bmp280", "attic", "3:0x76"),
        SensorEntry("node", "node"),
    )
    sources = build_sources(cfg, origin=0.0)
    assert isinstance(sources[1], Dht22Source)
    assert isinstance(sources[2], Bme280Source)
    assert sources[2].where == "1:0x77"
    assert sources[3].where == "3:0x76"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("sensors", "expected"),
    [
        ("bme280:office@0x40", "only at 0x76 or 0x77"),
        ("bme280:office@bus1", "is not an I2C address"),
        ("dht22:porch@/sys/bus", "is not an IIO device"),
        ("node@x", "takes no @ADDRESS"),
        ("sim-dht22:a@iio:device0", "takes no @ADDRESS"),
        ("mqtt,mqtt:second", "one mqtt entry"),
    ],
)
def test_bad_addresses_are_named(sensors: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse(SENSORS=sensors, MQTT_URL="mqtt://broker")


def test_mqtt_defaults() -> None:
    cfg = parse(SENSORS="mqtt,node", MQTT_URL="mqtt://mosquitto")
    assert cfg.mqtt is not None
    assert (cfg.mqtt.host, cfg.mqtt.port, cfg.mqtt.tls) == ("mosquitto", 1883, False)
    assert cfg.mqtt.client_id == "edge-reporter-pi-node-1"
    assert cfg.mqtt.subscriptions == DEFAULT_SUBSCRIPTIONS
    assert cfg.mqtt.stale_after == 7200
    assert cfg.mqtt.url == "mqtt://mosquitto:1883"


def test_mqtt_full(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    password = tmp_path / "password"
    password.write_text("r4nd0m-br0ker-pw\n")
    cfg = parse(
        SENSORS="mqtt:broker,node",
        MQTT_URL="mqtts://broker.lan",
        MQTT_USERNAME="edge",
        MQTT_PASSWORD_FILE=str(password),
        MQTT_CA_FILE=str(ca),
        MQTT_TOPICS="zigbee2mqtt=z2m/#, tasmota=tasmota/+/tele/SENSOR",
        MQTT_STALE_AFTER="30m",
        MQTT_MAX_SERIES="64",
    )
    mqtt = cfg.mqtt
    assert mqtt is not None
    assert (mqtt.port, mqtt.tls, mqtt.ca_file) == (8883, True, ca)
    assert (mqtt.username, mqtt.password) == ("edge", "r4nd0m-br0ker-pw")
    assert mqtt.subscriptions == (("zigbee2mqtt", "z2m/#"), ("tasmota", "tasmota/+/tele/SENSOR"))
    assert (mqtt.stale_after, mqtt.max_series) == (1800, 64)
    assert "r4nd0m" not in repr(cfg)  # the password stays out of logs and tracebacks


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"SENSORS": "mqtt"}, "MQTT_URL is not set"),
        ({"MQTT_URL": "http://broker"}, "mqtt://HOST"),
        ({"MQTT_URL": "mqtt://broker:99999"}, "a port in 1..65535"),
        ({"MQTT_URL": "mqtt://edge:secret@broker"}, "carries credentials"),
        ({"MQTT_URL": "mqtt://broker", "MQTT_PASSWORD": "s3cr3t-pw"}, "MQTT_USERNAME is not set"),
        (
            {"MQTT_URL": "mqtt://broker", "MQTT_USERNAME": "u", "MQTT_PASSWORD": "changeme"},
            "placeholder",
        ),
        ({"MQTT_URL": "mqtt://broker", "MQTT_CA_FILE": "/etc/hostname"}, "mqtts://"),
        ({"MQTT_URL": "mqtts://broker", "MQTT_CA_FILE": "/nonexistent.pem"}, "MQTT_CA_FILE"),
        ({"MQTT_URL": "mqtts://broker", "MQTT_CERT_FILE": "/etc/hostname"}, "go together"),
        ({"MQTT_URL": "mqtt://broker", "MQTT_TOPICS": "zwave=z/#"}, "FORMAT=FILTER"),
        (
            {"MQTT_URL": "mqtt://broker", "MQTT_TOPICS": "tasmota=tele/#/SENSOR"},
            "is not a topic filter",
        ),
        (
            {"MQTT_URL": "mqtt://broker", "MQTT_TOPICS": "tasmota=tele/a+/SENSOR"},
            "is not a topic filter",
        ),
        ({"MQTT_URL": "mqtt://broker", "MQTT_STALE_AFTER": "soon"}, "MQTT_STALE_AFTER"),
    ],
)
def test_bad_mqtt_settings_are_named(extra: dict[str, str], expected: str) -> None:
    env = (
        {"SENSORS": "mqtt,node", **extra}
        if extra.get("SENSORS") is None and "no mqtt" not in expected
        else extra
    )
    with pytest.raises(ConfigError, match=expected) as info:
        parse(**env)
    assert "secret" not in str(info.value)


def test_triage_limits_follow_the_kind() -> None:
    cfg = parse(SENSORS="sim-dht22:dht22-1,bme280:office,mqtt", MQTT_URL="mqtt://broker")
    make = triage_factory(cfg)
    # 82 °C: past the DHT22's 80 °C range, within the BME280's 85, and within MQTT's 125.
    verdicts = {
        sensor: make(SensorSpec(sensor, "temperature", "°C")).update(1.0, 82.0).severity.value
        for sensor in ("dht22-1", "office", "boiler-ds18b20")
    }
    assert verdicts == {"dht22-1": "critical", "office": "normal", "boiler-ds18b20": "normal"}
    mv = make(SensorSpec("sensor-x", "voltage", "mV")).update(1.0, 3025.0)
    assert mv.severity.value == "normal"


@pytest.mark.e2e  # starts a process
def test_a_reporter_of_simulated_sensors_loads_no_mqtt_or_i2c_library() -> None:
    code = (
        "import sys; from edge_reporter.config import ReporterConfig; "
        "from edge_reporter.sensors.registry import build_sources; "
        "cfg = ReporterConfig.from_env({'STUDIO_AGENT_URL': 'http://a:1', "
        "'AGENT_TOKEN': 'k3Yq9-tW7xZ2pL0vR5mN', 'NODE_NAME': 'n', 'LOCATION': 'l', "
        "'SENSORS': 'sim-dht22:d,node'}); build_sources(cfg, origin=0.0); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('paho', 'smbus2')))"
    )
    out = subprocess.run(  # noqa: S603 - our interpreter, fixed code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


def test_sensors_per_node_from_a_file(tmp_path: Path) -> None:
    """A DaemonSet gives every Pi one environment; each Pi's sensors come from its own key."""
    mine = tmp_path / "pi-node-1"
    mine.write_text("dht22:porch@iio:device0,node\n")
    cfg = parse(SENSORS_FILE=str(mine))
    assert cfg.sensors == (
        SensorEntry("dht22", "porch", "iio:device0"),
        SensorEntry("node", "node"),
    )
    with pytest.raises(ConfigError, match="SENSORS_FILE='/nonexistent/pi-node-9'"):
        parse(SENSORS_FILE="/nonexistent/pi-node-9")
    with pytest.raises(ConfigError, match="both set"):
        parse(SENSORS="node", SENSORS_FILE=str(mine))
