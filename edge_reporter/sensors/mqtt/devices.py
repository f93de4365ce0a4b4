"""Native payloads of Zigbee2MQTT, Tasmota and ESPHome, decoded into readings with units.

- Zigbee2MQTT publishes one JSON object per device on `BASE/FRIENDLY_NAME`
  (`{"temperature":22.35,"humidity":58.2,"battery":97,"linkquality":65}`) and describes every
  device, with units, in the retained `BASE/bridge/devices` ("exposes"). Properties a user can
  set (a lamp's brightness) are state, not measurements, and are skipped; so is radio link
  quality.
- Tasmota publishes `tele/TOPIC/SENSOR` every TelePeriod (300 s by default):
  `{"Time":"…","BME280":{"Temperature":21.2,"Humidity":64.5,"Pressure":991.4},
  "PressureUnit":"hPa","TempUnit":"C"}`; each sensor block becomes sensor `TOPIC-BLOCK`, and
  `null` (a failed DHT read) is a dropout. `tele/TOPIC/LWT` says Online / Offline.
- ESPHome publishes each entity's state as plain text on `NODE/sensor/OBJECT_ID/state`
  ("22.50", or "nan" when its sensor failed). Units come only with its discovery messages
  (see discovery.py); a bare state topic has none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edge_reporter.sensors.mqtt.formats import (
    Decoded,
    Value,
    normalize,
    number,
    slug,
    snake,
    wildcard_levels,
)

# Units of common Zigbee2MQTT properties, for devices whose exposes are not (yet) known.
Z2M_UNITS: Mapping[str, str] = {
    "temperature": "°C",
    "local_temperature": "°C",
    "device_temperature": "°C",
    "humidity": "%",
    "soil_moisture": "%",
    "pressure": "hPa",
    "co2": "ppm",
    "voc": "ppb",
    "formaldehyd": "mg/m³",
    "pm25": "µg/m³",
    "pm10": "µg/m³",
    "illuminance": "lx",
    "illuminance_lux": "lx",
    "battery": "%",
    "voltage": "mV",
    "power": "W",
    "energy": "kWh",
    "current": "A",
    "occupancy": "",
    "presence": "",
    "contact": "",
    "water_leak": "",
    "smoke": "",
    "vibration": "",
    "tamper": "",
}
Z2M_METRICS: Mapping[str, str] = {"pm25": "pm2_5"}
_Z2M_SKIPPED = frozenset({"linkquality"})
_ACCESS_SET = 0b010  # Zigbee2MQTT's access bit for properties a user can set


@dataclass(frozen=True, slots=True)
class _Expose:
    unit: str
    on: object = True
    off: object = False


def _exposes(items: object, into: dict[str, _Expose]) -> None:
    """Collect readable properties (with units) from a device's exposes, features included."""
    if not isinstance(items, list):
        return
    for item in items:
        if not isinstance(item, dict):
            continue
        _exposes(item.get("features"), into)
        prop, kind = item.get("property"), item.get("type")
        access = item.get("access", 1)
        if (
            not isinstance(prop, str)
            or kind not in ("numeric", "binary")
            or not isinstance(access, int)
            or access & _ACCESS_SET
            or item.get("category") == "config"
            or prop in _Z2M_SKIPPED
        ):
            continue
        unit = item.get("unit")
        into[prop] = _Expose(
            unit if isinstance(unit, str) else "",
            item.get("value_on", True),
            item.get("value_off", False),
        )


class Zigbee2Mqtt:
    """Zigbee2MQTT under one base topic; learns units from `bridge/devices`."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._devices: dict[str, dict[str, _Expose]] = {}
        self._bridge = f"z2m:{base}"

    @classmethod
    def for_filter(cls, topic_filter: str) -> Zigbee2Mqtt:
        """The base topic a subscription such as `zigbee2mqtt/#` covers."""
        base = topic_filter[:-2] if topic_filter.endswith("/#") else topic_filter.rpartition("/")[0]
        return cls(base)

    def decode(self, topic: str, payload: bytes) -> Decoded:
        """Decode one message under the base topic."""
        rest = topic[len(self.base) + 1 :] if topic.startswith(self.base + "/") else ""
        if not rest:
            return Decoded(problem=f"{topic!r} is not under Zigbee2MQTT's base {self.base!r}")
        if rest.startswith("bridge/"):
            if rest == "bridge/devices":
                return self._learn(payload)
            if rest == "bridge/state":
                return Decoded(availability=[(self._bridge, _online(payload))])
            return Decoded()
        name, _, last = rest.rpartition("/")
        if last == "availability" and name:
            return Decoded(availability=[(f"z2m:{self.base}/{name}", _online(payload))])
        if last in ("set", "get") or "/set/" in rest or "/get/" in rest:
            return Decoded()  # commands to devices, not their state
        return self._state(rest, payload)

    def _learn(self, payload: bytes) -> Decoded:
        try:
            devices = json.loads(payload)
        except ValueError:
            return Decoded(problem="bridge/devices is not JSON")
        if not isinstance(devices, list):
            return Decoded(problem="bridge/devices is not a list")
        learnt: dict[str, dict[str, _Expose]] = {}
        for device in devices:
            if not isinstance(device, dict) or not isinstance(device.get("friendly_name"), str):
                continue
            exposes: dict[str, _Expose] = {}
            definition = device.get("definition")
            if isinstance(definition, dict):
                _exposes(definition.get("exposes"), exposes)
            learnt[device["friendly_name"]] = exposes
        self._devices = learnt
        return Decoded()

    def _state(self, name: str, payload: bytes) -> Decoded:
        try:
            state = json.loads(payload)
        except ValueError:
            state = payload.decode("utf-8", "replace")
        if not isinstance(state, dict):
            # `output: attribute` publishes each property alone on BASE/NAME/PROPERTY.
            device, _, prop = name.rpartition("/")
            if not device or (device not in self._devices and prop not in Z2M_UNITS):
                return Decoded(problem=f"Zigbee2MQTT {name!r} sent no JSON object")
            name, state = device, {prop: state}
        sensor = slug(name)
        if not sensor:
            return Decoded(problem=f"Zigbee2MQTT device {name!r} has no usable name")
        exposes = self._devices.get(name)
        devices = (f"z2m:{self.base}/{name}", self._bridge)
        out = Decoded()
        for prop, raw in state.items():
            if exposes is not None:
                expose = exposes.get(prop)
                if expose is None:
                    continue
                unit = expose.unit
                if raw == expose.on and not isinstance(raw, bool | int | float):
                    raw = True
                elif raw == expose.off and not isinstance(raw, bool | int | float):
                    raw = False
            elif prop in Z2M_UNITS:
                unit = Z2M_UNITS[prop]
            else:
                continue
            ok, value = number(raw)
            if not ok:
                continue
            metric = Z2M_METRICS.get(prop, snake(prop))
            unit, value = normalize(metric, unit, value)
            out.values.append(Value(sensor, metric, unit, value, devices))
        return out


# Tasmota's JSON keys → metric and unit; temperatures and pressure follow TempUnit and
# PressureUnit. Unknown numeric keys are kept, named in snake case, without a unit.
_TASMOTA: Mapping[str, tuple[str, str]] = {
    "Temperature": ("temperature", "TEMP"),
    "DewPoint": ("dew_point", "TEMP"),
    "Humidity": ("humidity", "%"),
    "Pressure": ("pressure", "PRESSURE"),
    "SeaPressure": ("sea_pressure", "PRESSURE"),
    "CarbonDioxide": ("co2", "ppm"),
    "eCO2": ("eco2", "ppm"),
    "TVOC": ("tvoc", "ppb"),
    "Illuminance": ("illuminance", "lx"),
    "Distance": ("distance", "cm"),
    "Gas": ("gas_resistance", "kΩ"),
    "PM1": ("pm1", "µg/m³"),
    "PM2.5": ("pm2_5", "µg/m³"),
    "PM10": ("pm10", "µg/m³"),
    # ENERGY block of power-metering plugs
    "Total": ("energy", "kWh"),
    "Today": ("energy_today", "kWh"),
    "Yesterday": ("energy_yesterday", "kWh"),
    "Period": ("energy_period", "Wh"),
    "Power": ("power", "W"),
    "ApparentPower": ("apparent_power", "VA"),
    "ReactivePower": ("reactive_power", "var"),
    "Factor": ("power_factor", ""),
    "Voltage": ("voltage", "V"),
    "Current": ("current", "A"),
}
_TASMOTA_SKIPPED = frozenset({"Id", "CF1", "CF2.5", "CF10"})  # ids; "CF" = factory-calibrated PM


def tasmota(topic_filter: str, topic: str, payload: bytes) -> Decoded:
    """Decode `tele/TOPIC/SENSOR` (readings) or `tele/TOPIC/LWT` (availability)."""
    levels = wildcard_levels(topic_filter, topic)
    device = "-".join(levels) if levels else topic.split("/")[-2] if "/" in topic else topic
    key = f"tasmota:{device}"
    last = topic.rsplit("/", 1)[-1]
    if last == "LWT":
        return Decoded(availability=[(key, _online(payload))])
    if last != "SENSOR":
        return Decoded()
    try:
        data = json.loads(payload)
    except ValueError:
        return Decoded(problem=f"Tasmota {device!r} sent a SENSOR payload that is not JSON")
    if not isinstance(data, dict):
        return Decoded(problem=f"Tasmota {device!r} sent a SENSOR payload that is no object")
    units = {
        "TEMP": "°F" if data.get("TempUnit") == "F" else "°C",
        "PRESSURE": str(data.get("PressureUnit") or "hPa"),
    }
    out = Decoded()
    for block, fields in data.items():
        if not isinstance(fields, dict):
            continue  # Time, TempUnit, Switch1 …
        sensor = slug(f"{device}-{block}")
        for name, raw in fields.items():
            if name in _TASMOTA_SKIPPED:
                continue
            metric, unit = _TASMOTA.get(name, (snake(name), ""))
            unit = units.get(unit, unit)
            items = list(enumerate(raw, 1)) if isinstance(raw, list) else [(0, raw)]
            for index, item in items:
                ok, value = number(item)
                if not ok or not metric:
                    continue
                name_i = f"{metric}_{index}" if index else metric
                unit_i, value = normalize(metric, unit, value)
                out.values.append(Value(sensor, name_i, unit_i, value, (key,)))
    return out


def esphome(topic_filter: str, topic: str, payload: bytes) -> Decoded:
    """Decode a bare ESPHome state (`NODE/sensor/OBJECT_ID/state`): a number without a unit."""
    levels = wildcard_levels(topic_filter, topic)
    parts = topic.split("/")
    node, object_id = (levels[0], levels[-1]) if len(levels) >= 2 else (parts[0], parts[-2])
    ok, value = number(payload)
    if not ok:
        text = payload.decode("utf-8", "replace").strip().upper()
        if text not in ("ON", "OFF"):
            return Decoded(problem=f"ESPHome {topic!r}: {text[:20]!r} is not a number")
        value = 1.0 if text == "ON" else 0.0
    sensor, metric = slug(node), snake(object_id)
    if not sensor or not metric:
        return Decoded(problem=f"ESPHome {topic!r} has no usable node or object id")
    return Decoded(values=[Value(sensor, metric, "", value, (f"esphome:{node}",))])


def _online(payload: bytes) -> bool:
    """Availability payloads: `online` / `Online` / `{"state":"online"}`; anything else is off."""
    text = payload.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            data: Any = json.loads(text)
        except ValueError:
            return False
        text = str(data.get("state", "")) if isinstance(data, dict) else ""
    return text.lower() == "online"
