"""What the MQTT source hears, as plain data: formats, decoded values, names, numbers and units.

Pure and stdlib-only (the configuration imports it; no MQTT client is loaded for that).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

# How payloads on a subscription are read, by the project that publishes them.
FORMATS = ("zigbee2mqtt", "tasmota", "esphome", "homeassistant")
# Each project's default topics. ESPHome devices also announce themselves by Home Assistant
# discovery (its default), which is where their units come from.
DEFAULT_SUBSCRIPTIONS: tuple[tuple[str, str], ...] = (
    ("zigbee2mqtt", "zigbee2mqtt/#"),
    ("tasmota", "tele/+/SENSOR"),
    ("tasmota", "tele/+/LWT"),
    ("homeassistant", "homeassistant/#"),
    ("esphome", "+/sensor/+/state"),
)
MAX_NAME = 128  # sensor and metric names (the wire format's limit)
MAX_UNIT = 32

_NOT_NAME = re.compile(r"[^a-z0-9_.-]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# Published instead of a number when a device has no reading: a dropout, not a zero.
_NO_READING = frozenset({"", "nan", "-nan", "none", "null", "unknown", "unavailable"})


@dataclass(frozen=True, slots=True)
class Value:
    """One decoded reading: `value` None when the device said it has none (e.g. "nan").

    `devices` are the availability keys it depends on (the device, its bridge); while one of
    them is offline the series reads as a dropout.
    """

    sensor: str
    metric: str
    unit: str
    value: float | None
    devices: tuple[str, ...] = ()


@dataclass(slots=True)
class Decoded:
    """What one message meant: readings, availability changes, topics to subscribe to."""

    values: list[Value] = field(default_factory=list)
    availability: list[tuple[str, bool]] = field(default_factory=list)
    subscribe: list[str] = field(default_factory=list)
    problem: str | None = None  # why (part of) the message was ignored, for the log


def slug(text: str) -> str:
    """A sensor or metric name from a device's own name: `Living Room/Temp` → `living-room-temp`."""
    name = _NOT_NAME.sub("-", text.strip().lower()).strip("-_.")
    return name[:MAX_NAME].rstrip("-_.")


def snake(key: str) -> str:
    """A metric name from a JSON key: `DewPoint` → `dew_point`, `PM2.5` → `pm2_5`."""
    spaced = _CAMEL.sub("_", key.replace(".", "_"))
    return re.sub(r"[^a-z0-9_]+", "_", spaced.lower()).strip("_")[:MAX_NAME]


def number(raw: object) -> tuple[bool, float | None]:
    """(is a reading, its value): numbers and numeric text; "nan", "unknown", null → (True, None).

    Booleans are 1/0. Anything else (objects, words) is not a reading: (False, None).
    """
    if raw is None:
        return True, None
    if isinstance(raw, bool):
        return True, 1.0 if raw else 0.0
    if isinstance(raw, int | float):
        value = float(raw)
        return True, value if math.isfinite(value) else None
    if isinstance(raw, str | bytes):
        text = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw).strip()
        if text.lower() in _NO_READING:
            return True, None
        try:
            value = float(text)
        except ValueError:
            return False, None
        return True, value if math.isfinite(value) else None
    return False, None


_TEMPERATURE_UNITS = {"°C": None, "C": None, "°F": "F", "F": "F", "K": "K"}
_PRESSURE_TO_HPA = {
    "hPa": 1.0,
    "mbar": 1.0,
    "Pa": 0.01,
    "kPa": 10.0,
    "bar": 1000.0,
    "mmHg": 1.333223684,
    "inHg": 33.86388667,
    "psi": 68.94757293,
}


def normalize(metric: str, unit: str, value: float | None) -> tuple[str, float | None]:
    """Temperatures in °C and air pressure in hPa, whatever the device publishes.

    One metric keeps one unit across devices, so triage limits and comparisons hold; every
    other unit is kept as published.
    """
    unit = unit.strip()[:MAX_UNIT]
    if metric == "temperature" or metric.endswith("temperature") or metric == "dew_point":
        scale = _TEMPERATURE_UNITS.get(unit, "")
        if scale is None:
            return "°C", value
        if scale == "F":
            return "°C", None if value is None else round((value - 32.0) * 5.0 / 9.0, 2)
        if scale == "K":
            return "°C", None if value is None else round(value - 273.15, 2)
    if metric in ("pressure", "sea_pressure") and unit in _PRESSURE_TO_HPA:
        factor = _PRESSURE_TO_HPA[unit]
        return "hPa", None if value is None else round(value * factor, 2)
    return unit, value


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether `topic` matches an MQTT filter (`+` one level, `#` the rest; `$` topics apart)."""
    if topic.startswith("$") and not topic_filter.startswith("$"):
        return False
    want, have = topic_filter.split("/"), topic.split("/")
    for i, level in enumerate(want):
        if level == "#":
            return True
        if i >= len(have) or (level != "+" and level != have[i]):
            return False
    return len(want) == len(have)


def wildcard_levels(topic_filter: str, topic: str) -> list[str]:
    """The levels of `topic` that the filter's `+` wildcards matched."""
    pairs = zip(topic_filter.split("/"), topic.split("/"), strict=False)
    return [have for want, have in pairs if want == "+"]
