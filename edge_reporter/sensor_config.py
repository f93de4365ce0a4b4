"""SENSORS and the MQTT broker: which sources the reporter builds, parsed from the environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from edge_reporter.auth_policy import placeholder_problem
from edge_reporter.envparse import (
    NAME,
    ConfigError,
    checked_name,
    err,
    get,
    integer,
    value_or_file,
)
from edge_reporter.sensors.descriptions import KINDS
from edge_reporter.sensors.faults import FaultSpec, parse_duration, parse_faults
from edge_reporter.sensors.mqtt.formats import DEFAULT_SUBSCRIPTIONS, FORMATS

SENSORS_SYNTAX = (
    "KIND:NAME[@ADDRESS],... with KIND in "
    + ", ".join(KINDS)
    + " (e.g. sim-dht22:dht22-1,dht22:porch,bme280:office@1:0x76,mqtt,node)"
)
# Kinds that take an @ADDRESS, and what it looks like.
_ADDRESSED = {
    "dht22": "an IIO device (iio:device0) or its name (dht11@4)",
    "bme280": "an I2C address as [BUS:]ADDRESS, e.g. 1:0x76 or 0x77",
    "bmp280": "an I2C address as [BUS:]ADDRESS, e.g. 1:0x76 or 0x77",
}
_IIO_DEVICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}")
_I2C = re.compile(r"(?:(?:i2c-)?(\d{1,3}):)?0x([0-9a-fA-F]{2})")
BOSCH_ADDRESSES = (0x76, 0x77)


@dataclass(frozen=True, slots=True)
class SensorEntry:
    """One entry of SENSORS: which kind of source, under which sensor name."""

    kind: str
    name: str
    address: str | None = None


def parse_i2c_address(text: str) -> tuple[int, int]:
    """`[BUS:]ADDRESS` (e.g. `1:0x76`, `i2c-1:0x77`, `0x76`) as (bus, address); bus 1 by default."""
    match = _I2C.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not an I2C address; expected [BUS:]ADDRESS, e.g. 1:0x76")
    bus, address = int(match.group(1) or 1), int(match.group(2), 16)
    if address not in BOSCH_ADDRESSES:
        raise ValueError(f"{text!r}: a BME280/BMP280 answers only at 0x76 or 0x77 (SDO low/high)")
    return bus, address


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """The broker the `mqtt` source subscribes to, and how it reads what it hears."""

    host: str
    port: int
    client_id: str
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    # (format, topic filter) pairs; a format says how payloads on matching topics are read.
    subscriptions: tuple[tuple[str, str], ...] = DEFAULT_SUBSCRIPTIONS
    stale_after: float = 7200.0
    max_series: int = 256

    @property
    def url(self) -> str:
        """The broker's URL, without credentials (for logs)."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_sensors(raw: str) -> tuple[SensorEntry, ...]:
    """SENSORS: `KIND:NAME[@ADDRESS],...`, names unique, at most one mqtt entry."""
    entries: list[SensorEntry] = []
    for item in (i.strip() for i in raw.split(",")):
        if not item:
            continue
        head, at, address = item.partition("@")  # an I2C address has a colon of its own
        kind, _, name = head.partition(":")
        if kind not in KINDS:
            raise ConfigError(
                f"SENSORS entry {item!r}: unknown kind {kind!r}; expected {SENSORS_SYNTAX}. "
                "A new driver is added in edge_reporter/sensors (see sensors/base.py)."
            )
        name = name or kind
        if not NAME.fullmatch(name):
            raise ConfigError(
                f"SENSORS entry {item!r}: sensor name {name!r} must be 1-128 letters, digits, "
                "'.', '_' or '-'"
            )
        if any(e.name == name for e in entries):
            raise ConfigError(f"SENSORS={raw!r}: sensor name {name!r} is used twice")
        entries.append(SensorEntry(kind, name, _address(item, kind, address) if at else None))
    if not entries:
        raise err("SENSORS", raw, SENSORS_SYNTAX)
    if sum(e.kind == "mqtt" for e in entries) > 1:
        raise ConfigError(f"SENSORS={raw!r}: one mqtt entry per reporter (one broker, MQTT_URL)")
    return tuple(entries)


def _address(item: str, kind: str, address: str) -> str:
    """The @ADDRESS of a SENSORS entry, checked (and normalized for I2C) for its kind."""
    expected = _ADDRESSED.get(kind)
    if expected is None:
        raise ConfigError(f"SENSORS entry {item!r}: a {kind} sensor takes no @ADDRESS")
    if kind == "dht22":
        if not _IIO_DEVICE.fullmatch(address):
            raise ConfigError(f"SENSORS entry {item!r}: {address!r} is not {expected}")
        return address
    try:
        bus, i2c = parse_i2c_address(address)
    except ValueError as exc:
        raise ConfigError(f"SENSORS entry {item!r}: {exc}") from None
    return f"{bus}:0x{i2c:02x}"


def _mqtt_subscriptions(raw: str) -> tuple[tuple[str, str], ...]:
    """MQTT_TOPICS: `FORMAT=FILTER,...`, each filter a valid MQTT topic filter."""
    pairs: list[tuple[str, str]] = []
    syntax = f"FORMAT=FILTER,... with FORMAT in {', '.join(FORMATS)}, e.g. tasmota=tele/+/SENSOR"
    for item in (i.strip() for i in raw.split(",")):
        if not item:
            continue
        fmt, eq, topic = (p.strip() for p in item.partition("="))
        if not eq or fmt not in FORMATS:
            raise err("MQTT_TOPICS", raw, syntax)
        levels = topic.split("/")
        if (
            not topic
            or len(topic) > 256
            or any(("+" in lv and lv != "+") or ("#" in lv and lv != "#") for lv in levels)
            or "#" in levels[:-1]
        ):
            raise ConfigError(
                f"MQTT_TOPICS entry {item!r}: {topic!r} is not a topic filter "
                "('+' matches one whole level, '#' only the rest, e.g. zigbee2mqtt/#)"
            )
        pairs.append((fmt, topic))
    if not pairs:
        raise err("MQTT_TOPICS", raw, syntax)
    return tuple(pairs)


def _existing_file(env: Mapping[str, str], name: str) -> Path | None:
    value = get(env, name)
    if value is None:
        return None
    if not Path(value).is_file():
        raise err(name, value, "the path of a readable PEM file")
    return Path(value)


def parse_mqtt(
    env: Mapping[str, str], sensors: tuple[SensorEntry, ...], node: str
) -> MqttConfig | None:
    """The MQTT_* variables, read (and required) only when SENSORS has an mqtt entry.

    A DaemonSet gives every Pi the same MQTT_* variables, but only the Pi whose SENSORS lists
    mqtt subscribes: were all to, each device would be reported once per Pi.
    """
    if not any(e.kind == "mqtt" for e in sensors):
        return None
    url = get(env, "MQTT_URL")
    if url is None:
        raise ConfigError(
            "MQTT_URL is not set: SENSORS lists mqtt, so the broker is needed, "
            "e.g. mqtt://mosquitto:1883 or mqtts://broker:8883"
        )
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise err("MQTT_URL", url, "a port in 1..65535")
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or parts.path not in ("", "/"):
        raise err("MQTT_URL", url, "mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (TLS)")
    if parts.username or parts.password:
        raise ConfigError(
            "MQTT_URL carries credentials: put them in MQTT_USERNAME and MQTT_PASSWORD "
            "(or MQTT_PASSWORD_FILE) so they stay out of logs"
        )
    tls = parts.scheme == "mqtts"
    username = get(env, "MQTT_USERNAME")
    password: str | None = None
    if get(env, "MQTT_PASSWORD") is not None or get(env, "MQTT_PASSWORD_FILE") is not None:
        password, source = value_or_file(env, "MQTT_PASSWORD", "the broker password")
        problem = placeholder_problem(password)
        if problem is not None:
            raise ConfigError(f"{source} {problem}; set the broker's real password")
        if username is None:
            raise ConfigError("MQTT_USERNAME is not set: a broker password needs its user name")
    ca_file = _existing_file(env, "MQTT_CA_FILE")
    cert_file = _existing_file(env, "MQTT_CERT_FILE")
    key_file = _existing_file(env, "MQTT_KEY_FILE")
    if (cert_file is None) != (key_file is None):
        raise ConfigError("MQTT_CERT_FILE and MQTT_KEY_FILE go together (a client certificate)")
    if not tls and (ca_file or cert_file):
        raise err("MQTT_URL", url, "mqtts://… when MQTT_CA_FILE or MQTT_CERT_FILE is set")
    stale_raw = get(env, "MQTT_STALE_AFTER") or "2h"
    try:
        stale = parse_duration(stale_raw)
    except ValueError as exc:
        raise ConfigError(f"MQTT_STALE_AFTER: {exc}") from None
    if stale <= 0:
        raise err("MQTT_STALE_AFTER", stale_raw, "a positive duration, e.g. 2h")
    topics = get(env, "MQTT_TOPICS")
    return MqttConfig(
        host=str(parts.hostname),
        port=port or (8883 if tls else 1883),
        client_id=checked_name(
            "MQTT_CLIENT_ID", get(env, "MQTT_CLIENT_ID") or f"edge-reporter-{node}"
        ),
        tls=tls,
        username=username,
        password=password,
        ca_file=ca_file,
        cert_file=cert_file,
        key_file=key_file,
        subscriptions=DEFAULT_SUBSCRIPTIONS if topics is None else _mqtt_subscriptions(topics),
        stale_after=stale,
        max_series=integer(env, "MQTT_MAX_SERIES", 256, lo=1, hi=100_000),
    )


def check_faults(raw: str, sensors: tuple[SensorEntry, ...]) -> tuple[FaultSpec, ...]:
    """FAULTS, each naming a simulated sensor of SENSORS and one of its metrics."""
    try:
        faults = parse_faults(raw)
    except ValueError as exc:
        raise ConfigError(f"FAULTS: {exc}") from None
    simulated = {e.name: e.kind for e in sensors if e.kind.startswith("sim-")}
    for fault in faults:
        kind = simulated.get(fault.sensor)
        if kind is None:
            raise ConfigError(
                f"FAULTS: {fault.series!r} names no simulated sensor; expected one of "
                f"{sorted(simulated) or 'none (SENSORS lists no sim-* sensor)'}"
            )
        metrics = [d.metric for d in KINDS[kind]]
        if fault.metric not in metrics:
            raise ConfigError(
                f"FAULTS: {fault.series!r}: {kind} has no metric {fault.metric!r}; "
                f"expected one of {metrics}"
            )
    return faults
