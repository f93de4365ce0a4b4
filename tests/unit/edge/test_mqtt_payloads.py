"""Payloads in the shapes Zigbee2MQTT, Tasmota, ESPHome and Home Assistant discovery publish."""

from __future__ import annotations

import json

import pytest

from edge_reporter.sensors.mqtt.decoder import MqttDecoder
from edge_reporter.sensors.mqtt.discovery import Template, parse_template
from edge_reporter.sensors.mqtt.formats import (
    DEFAULT_SUBSCRIPTIONS,
    Decoded,
    normalize,
    number,
    slug,
    snake,
    topic_matches,
)

# zigbee2mqtt/bridge/devices (retained), trimmed to three devices: an Aqara climate sensor, an
# Aqara motion sensor and an IKEA bulb (whose properties are all settable: state, not readings).
BRIDGE_DEVICES = [
    {"ieee_address": "0x00124b0018e1f2a3", "type": "Coordinator", "friendly_name": "Coordinator"},
    {
        "ieee_address": "0x00158d0004866f0b",
        "type": "EndDevice",
        "friendly_name": "living_room/climate",
        "supported": True,
        "definition": {
            "model": "WSDCGQ11LM",
            "vendor": "Aqara",
            "description": "Temperature, humidity and pressure sensor",
            "exposes": [
                {
                    "type": "numeric",
                    "name": "battery",
                    "property": "battery",
                    "access": 1,
                    "unit": "%",
                    "value_min": 0,
                    "value_max": 100,
                    "category": "diagnostic",
                },
                {
                    "type": "numeric",
                    "name": "temperature",
                    "property": "temperature",
                    "access": 1,
                    "unit": "°C",
                    "description": "Measured temperature value",
                },
                {
                    "type": "numeric",
                    "name": "humidity",
                    "property": "humidity",
                    "access": 1,
                    "unit": "%",
                    "description": "Measured relative humidity",
                },
                {
                    "type": "numeric",
                    "name": "pressure",
                    "property": "pressure",
                    "access": 1,
                    "unit": "hPa",
                    "description": "The measured atmospheric pressure",
                },
                {
                    "type": "numeric",
                    "name": "voltage",
                    "property": "voltage",
                    "access": 1,
                    "unit": "mV",
                    "category": "diagnostic",
                },
                {
                    "type": "numeric",
                    "name": "linkquality",
                    "property": "linkquality",
                    "access": 1,
                    "unit": "lqi",
                    "value_min": 0,
                    "value_max": 255,
                    "category": "diagnostic",
                },
            ],
        },
    },
    {
        "ieee_address": "0x00158d00045b2c11",
        "type": "EndDevice",
        "friendly_name": "hallway_motion",
        "definition": {
            "model": "RTCGQ11LM",
            "vendor": "Aqara",
            "exposes": [
                {
                    "type": "binary",
                    "name": "occupancy",
                    "property": "occupancy",
                    "access": 1,
                    "value_on": True,
                    "value_off": False,
                },
                {
                    "type": "numeric",
                    "name": "illuminance",
                    "property": "illuminance",
                    "access": 1,
                    "unit": "lx",
                },
                {
                    "type": "numeric",
                    "name": "device_temperature",
                    "property": "device_temperature",
                    "access": 1,
                    "unit": "°C",
                    "category": "diagnostic",
                },
                {
                    "type": "numeric",
                    "name": "linkquality",
                    "property": "linkquality",
                    "access": 1,
                    "unit": "lqi",
                },
            ],
        },
    },
    {
        "ieee_address": "0x000d6ffffe2a3b4c",
        "type": "Router",
        "friendly_name": "desk_lamp",
        "definition": {
            "model": "LED1545G12",
            "vendor": "IKEA",
            "exposes": [
                {
                    "type": "light",
                    "features": [
                        {
                            "type": "binary",
                            "name": "state",
                            "property": "state",
                            "access": 7,
                            "value_on": "ON",
                            "value_off": "OFF",
                            "value_toggle": "TOGGLE",
                        },
                        {
                            "type": "numeric",
                            "name": "brightness",
                            "property": "brightness",
                            "access": 7,
                            "value_min": 0,
                            "value_max": 254,
                        },
                        {
                            "type": "numeric",
                            "name": "color_temp",
                            "property": "color_temp",
                            "access": 7,
                            "unit": "mired",
                        },
                    ],
                },
                {
                    "type": "enum",
                    "name": "power_on_behavior",
                    "property": "power_on_behavior",
                    "access": 7,
                    "values": ["off", "on", "toggle", "previous"],
                    "category": "config",
                },
            ],
        },
    },
]

# ESPHome's discovery configs use Home Assistant's abbreviated keys.
ESPHOME_TEMPERATURE_CONFIG = {
    "dev_cla": "temperature",
    "unit_of_meas": "°C",
    "stat_cla": "measurement",
    "name": "Temperature",
    "stat_t": "livingroom/sensor/temperature/state",
    "avty_t": "livingroom/status",
    "uniq_id": "ESPsensortemperature",
    "dev": {
        "ids": "a0b1c2d3e4f5",
        "name": "livingroom",
        "sw": "esphome v2024.2.0 Feb 20 2024, 10:00:00",
        "mdl": "esp01_1m",
        "mf": "espressif",
    },
}
ESPHOME_WIFI_CONFIG = {
    **ESPHOME_TEMPERATURE_CONFIG,
    "dev_cla": "signal_strength",
    "unit_of_meas": "dBm",
    "name": "WiFi Signal",
    "ent_cat": "diagnostic",
    "stat_t": "livingroom/sensor/wifi_signal/state",
    "uniq_id": "ESPsensorwifi_signal",
}
ESPHOME_MOTION_CONFIG = {
    "dev_cla": "motion",
    "name": "Motion",
    "stat_t": "livingroom/binary_sensor/motion/state",
    "avty_t": "livingroom/status",
    "uniq_id": "ESPbinary_sensormotion",
    "dev": {"ids": "a0b1c2d3e4f5", "name": "livingroom"},
}

# Device discovery (Home Assistant 2024.11+): one config, its components under `cmps`.
GARDEN_DEVICE = {
    "dev": {"ids": "0AFFD2", "name": "Garden"},
    "o": {"name": "bla2mqtt", "sw": "2.1"},
    "cmps": {
        "t1": {
            "p": "sensor",
            "device_class": "temperature",
            "unit_of_measurement": "°C",
            "value_template": "{{ value_json.temperature}}",
            "unique_id": "0AFFD2_t",
        },
        "h1": {
            "p": "sensor",
            "device_class": "humidity",
            "unit_of_measurement": "%",
            "value_template": "{{ value_json.humidity | round(1) }}",
            "unique_id": "0AFFD2_h",
        },
    },
    "state_topic": "garden/state",
    "qos": 2,
}


def js(data: object) -> bytes:
    return json.dumps(data).encode()


def readings(decoded: Decoded) -> dict[tuple[str, str], tuple[str, float | None]]:
    return {(v.sensor, v.metric): (v.unit, v.value) for v in decoded.values}


@pytest.fixture
def decoder() -> MqttDecoder:
    return MqttDecoder(DEFAULT_SUBSCRIPTIONS)


# --- Zigbee2MQTT ----------------------------------------------------------------------------


def test_zigbee2mqtt_device_state_with_units_from_bridge_devices(decoder: MqttDecoder) -> None:
    decoder.decode("zigbee2mqtt/bridge/devices", js(BRIDGE_DEVICES))
    state = {
        "battery": 97,
        "humidity": 58.21,
        "linkquality": 65,
        "pressure": 1012.3,
        "temperature": 22.35,
        "voltage": 3025,
    }
    out = decoder.decode("zigbee2mqtt/living_room/climate", js(state))
    assert readings(out) == {
        ("living_room-climate", "battery"): ("%", 97.0),
        ("living_room-climate", "humidity"): ("%", 58.21),
        ("living_room-climate", "pressure"): ("hPa", 1012.3),
        ("living_room-climate", "temperature"): ("°C", 22.35),
        ("living_room-climate", "voltage"): ("mV", 3025.0),
    }  # no linkquality: radio diagnostics, not a measurement
    assert out.values[0].devices == (
        "z2m:zigbee2mqtt/living_room/climate",
        "z2m:zigbee2mqtt",
    )


def test_zigbee2mqtt_binary_exposes_are_zero_or_one(decoder: MqttDecoder) -> None:
    decoder.decode("zigbee2mqtt/bridge/devices", js(BRIDGE_DEVICES))
    state = {
        "battery": 100,
        "device_temperature": 28,
        "illuminance": 31,
        "linkquality": 102,
        "occupancy": True,
        "power_outage_count": 4,
        "voltage": 3055,
    }
    assert readings(decoder.decode("zigbee2mqtt/hallway_motion", js(state))) == {
        ("hallway_motion", "occupancy"): ("", 1.0),
        ("hallway_motion", "illuminance"): ("lx", 31.0),
        ("hallway_motion", "device_temperature"): ("°C", 28.0),
    }  # properties the exposes do not list (power_outage_count) are not guessed


def test_zigbee2mqtt_settable_properties_are_state_not_readings(decoder: MqttDecoder) -> None:
    decoder.decode("zigbee2mqtt/bridge/devices", js(BRIDGE_DEVICES))
    lamp = {"state": "ON", "brightness": 215, "color_temp": 325, "linkquality": 80}
    assert decoder.decode("zigbee2mqtt/desk_lamp", js(lamp)).values == []


def test_zigbee2mqtt_before_bridge_devices_uses_known_property_units(
    decoder: MqttDecoder,
) -> None:
    # An old firmware's battery as text (seen in the wild); unknown properties are left out.
    state = {"battery": "100.00", "temperature": 19.5, "linkquality": 99, "brightness": 10}
    assert readings(decoder.decode("zigbee2mqtt/0x00158d0001a2b3c4", js(state))) == {
        ("0x00158d0001a2b3c4", "battery"): ("%", 100.0),
        ("0x00158d0001a2b3c4", "temperature"): ("°C", 19.5),
    }


def test_zigbee2mqtt_attribute_output_and_commands(decoder: MqttDecoder) -> None:
    decoder.decode("zigbee2mqtt/bridge/devices", js(BRIDGE_DEVICES))
    out = decoder.decode("zigbee2mqtt/living_room/climate/temperature", b"21.9")
    assert readings(out) == {("living_room-climate", "temperature"): ("°C", 21.9)}
    assert decoder.decode("zigbee2mqtt/desk_lamp/set", js({"state": "OFF"})).values == []


@pytest.mark.parametrize(
    ("topic", "payload", "key", "online"),
    [
        (
            "zigbee2mqtt/living_room/climate/availability",
            b'{"state":"offline"}',
            "z2m:zigbee2mqtt/living_room/climate",
            False,
        ),
        (
            "zigbee2mqtt/hallway_motion/availability",
            b"online",
            "z2m:zigbee2mqtt/hallway_motion",
            True,
        ),
        ("zigbee2mqtt/bridge/state", b'{"state":"offline"}', "z2m:zigbee2mqtt", False),
        ("tele/kitchen/LWT", b"Offline", "tasmota:kitchen", False),
        ("tele/kitchen/LWT", b"Online", "tasmota:kitchen", True),
    ],
)
def test_availability_messages(
    decoder: MqttDecoder, topic: str, payload: bytes, key: str, online: bool
) -> None:
    assert decoder.decode(topic, payload).availability == [(key, online)]


def test_zigbee2mqtt_payload_that_is_not_json_is_a_problem_not_a_crash(
    decoder: MqttDecoder,
) -> None:
    out = decoder.decode("zigbee2mqtt/garage", b"\xff\xfe not json")
    assert out.values == []
    assert out.problem is not None
    assert "garage" in out.problem


# --- Tasmota --------------------------------------------------------------------------------


def test_tasmota_bme280_and_pms5003(decoder: MqttDecoder) -> None:
    payload = (
        b'{"Time":"2026-03-07T12:54:34","BME280":{"Temperature":20.7,"Humidity":24.4,'
        b'"DewPoint":-0.4,"Pressure":1013.4},"PMS5003":{"CF1":22,"CF2.5":32,"CF10":49,"PM1":22,'
        b'"PM2.5":32,"PM10":49,"PB0.3":4146,"PB0.5":934,"PB1":153,"PB2.5":48,"PB5":8,"PB10":2},'
        b'"PressureUnit":"hPa","TempUnit":"C"}'
    )
    got = readings(decoder.decode("tele/tasmota_F847F7/SENSOR", payload))
    assert got[("tasmota_f847f7-bme280", "temperature")] == ("°C", 20.7)
    assert got[("tasmota_f847f7-bme280", "humidity")] == ("%", 24.4)
    assert got[("tasmota_f847f7-bme280", "dew_point")] == ("°C", -0.4)
    assert got[("tasmota_f847f7-bme280", "pressure")] == ("hPa", 1013.4)
    assert got[("tasmota_f847f7-pms5003", "pm2_5")] == ("µg/m³", 32.0)
    assert got[("tasmota_f847f7-pms5003", "pb0_3")] == ("", 4146.0)  # counts, unit unknown
    assert ("tasmota_f847f7-pms5003", "cf2_5") not in got


def test_tasmota_energy_plug(decoder: MqttDecoder) -> None:
    payload = (
        b'{"Time":"2021-08-25T20:37:29","ENERGY":{"TotalStartTime":"2021-08-01T20:07:29",'
        b'"Total":284.509,"Yesterday":0.086,"Today":0.132,"Period":0,"Power":2,'
        b'"ApparentPower":6,"ReactivePower":6,"Factor":0.36,"Voltage":122,"Current":0.052}}'
    )
    got = readings(decoder.decode("tele/plug-3/SENSOR", payload))
    assert got[("plug-3-energy", "energy")] == ("kWh", 284.509)
    assert got[("plug-3-energy", "power")] == ("W", 2.0)
    assert got[("plug-3-energy", "voltage")] == ("V", 122.0)
    assert got[("plug-3-energy", "power_factor")] == ("", 0.36)
    assert not any(metric == "total_start_time" for _, metric in got)


def test_tasmota_fahrenheit_is_read_in_celsius(decoder: MqttDecoder) -> None:
    payload = (
        b'{"Time":"2020-01-26T17:45:30","DS18B20-1":{"Id":"000008BD38BF","Temperature":78.8},'
        b'"DS18B20-2":{"Id":"000008BD9714","Temperature":77.0},"TempUnit":"F"}'
    )
    assert readings(decoder.decode("tele/boiler/SENSOR", payload)) == {
        ("boiler-ds18b20-1", "temperature"): ("°C", 26.0),
        ("boiler-ds18b20-2", "temperature"): ("°C", 25.0),
    }


def test_tasmota_failed_dht_read_is_a_dropout(decoder: MqttDecoder) -> None:
    payload = (
        b'{"Time":"2024-05-01T10:00:00","AM2301":{"Temperature":null,"Humidity":null},'
        b'"TempUnit":"C"}'
    )
    assert readings(decoder.decode("tele/porch/SENSOR", payload)) == {
        ("porch-am2301", "temperature"): ("°C", None),
        ("porch-am2301", "humidity"): ("%", None),
    }


def test_tasmota_multichannel_arrays_and_custom_full_topic() -> None:
    decoder = MqttDecoder([("tasmota", "tasmota/+/tele/SENSOR")])
    payload = b'{"Time":"2024-05-01T10:00:00","ENERGY":{"Power":[12,0],"Voltage":231}}'
    got = readings(decoder.decode("tasmota/dual-r3/tele/SENSOR", payload))
    assert got == {
        ("dual-r3-energy", "power_1"): ("W", 12.0),
        ("dual-r3-energy", "power_2"): ("W", 0.0),
        ("dual-r3-energy", "voltage"): ("V", 231.0),
    }


# --- ESPHome and Home Assistant discovery ----------------------------------------------------


def test_esphome_with_discovery_gets_units_and_skips_diagnostics(decoder: MqttDecoder) -> None:
    out = decoder.decode(
        "homeassistant/sensor/livingroom/temperature/config", js(ESPHOME_TEMPERATURE_CONFIG)
    )
    assert out.subscribe == ["livingroom/sensor/temperature/state", "livingroom/status"]
    wifi = decoder.decode(
        "homeassistant/sensor/livingroom/wifi_signal/config", js(ESPHOME_WIFI_CONFIG)
    )
    assert wifi.subscribe == []
    state = decoder.decode("livingroom/sensor/temperature/state", b"22.50")
    assert readings(state) == {("livingroom", "temperature"): ("°C", 22.5)}
    assert state.values[0].devices == ("ha:livingroom/status",)
    failed = decoder.decode("livingroom/sensor/temperature/state", b"nan")
    assert readings(failed) == {("livingroom", "temperature"): ("°C", None)}
    assert decoder.decode("livingroom/sensor/wifi_signal/state", b"-61").values == []
    assert decoder.decode("livingroom/status", b"offline").availability == [
        ("ha:livingroom/status", False)
    ]


def test_esphome_binary_sensor(decoder: MqttDecoder) -> None:
    decoder.decode(
        "homeassistant/binary_sensor/livingroom/motion/config", js(ESPHOME_MOTION_CONFIG)
    )
    on = decoder.decode("livingroom/binary_sensor/motion/state", b"ON")
    off = decoder.decode("livingroom/binary_sensor/motion/state", b"OFF")
    assert readings(on) == {("livingroom", "motion"): ("", 1.0)}
    assert readings(off) == {("livingroom", "motion"): ("", 0.0)}


def test_esphome_without_discovery_reads_bare_states_without_a_unit(
    decoder: MqttDecoder,
) -> None:
    out = decoder.decode("greenhouse/sensor/soil_moisture/state", b"41.2")
    assert readings(out) == {("greenhouse", "soil_moisture"): ("", 41.2)}


def test_empty_config_removes_the_entity(decoder: MqttDecoder) -> None:
    topic = "homeassistant/sensor/livingroom/temperature/config"
    decoder.decode(topic, js(ESPHOME_TEMPERATURE_CONFIG))
    decoder.decode(topic, b"")
    # Now only the bare ESPHome reading remains: no unit.
    out = decoder.decode("livingroom/sensor/temperature/state", b"22.5")
    assert readings(out) == {("livingroom", "temperature"): ("", 22.5)}


def test_zigbee2mqtt_discovery_is_read_once_natively(decoder: MqttDecoder) -> None:
    config = {
        "availability": [
            {"topic": "zigbee2mqtt/bridge/state", "value_template": "{{ value_json.state }}"}
        ],
        "device": {
            "identifiers": ["zigbee2mqtt_0x00158d0004866f0b"],
            "manufacturer": "Aqara",
            "name": "living_room/climate",
        },
        "device_class": "temperature",
        "object_id": "living_room/climate_temperature",
        "state_class": "measurement",
        "state_topic": "zigbee2mqtt/living_room/climate",
        "unique_id": "0x00158d0004866f0b_temperature_zigbee2mqtt",
        "unit_of_measurement": "°C",
        "value_template": "{{ value_json.temperature }}",
    }
    decoder.decode("homeassistant/sensor/0x00158d0004866f0b/temperature/config", js(config))
    out = decoder.decode("zigbee2mqtt/living_room/climate", js({"temperature": 22.4}))
    assert readings(out) == {("living_room-climate", "temperature"): ("°C", 22.4)}

    only_discovery = MqttDecoder([("homeassistant", "homeassistant/#")])
    sub = only_discovery.decode(
        "homeassistant/sensor/0x00158d0004866f0b/temperature/config", js(config)
    )
    assert sub.subscribe == ["zigbee2mqtt/living_room/climate", "zigbee2mqtt/bridge/state"]
    out = only_discovery.decode(
        "zigbee2mqtt/living_room/climate", js({"temperature": 22.4, "humidity": 51})
    )
    assert readings(out) == {("living_room-climate", "temperature"): ("°C", 22.4)}
    bridge = only_discovery.decode("zigbee2mqtt/bridge/state", b'{"state":"offline"}')
    assert bridge.availability == [("ha:zigbee2mqtt/bridge/state", False)]


def test_tasmota_legacy_discovery_with_base_topic_and_template() -> None:
    decoder = MqttDecoder([("homeassistant", "homeassistant/#")])
    config = {
        "name": "Kitchen AM2301 Temperature",
        "stat_t": "~SENSOR",
        "avty_t": "~LWT",
        "pl_avail": "Online",
        "pl_not_avail": "Offline",
        "uniq_id": "A1B2C3_AM2301_Temperature",
        "dev": {"ids": ["A1B2C3"], "name": "Kitchen"},
        "unit_of_meas": "°F",
        "dev_cla": "temperature",
        "frc_upd": True,
        "val_tpl": "{{value_json['AM2301'].Temperature}}",
        "~": "tele/kitchen/",
    }
    decoder.decode("homeassistant/sensor/A1B2C3_AM2301_Temperature/config", js(config))
    payload = b'{"Time":"2024-05-01T10:00:00","AM2301":{"Temperature":71.6,"Humidity":40.1}}'
    assert readings(decoder.decode("tele/kitchen/SENSOR", payload)) == {
        ("kitchen", "temperature"): ("°C", 22.0)
    }
    assert decoder.decode("tele/kitchen/LWT", b"Online").availability == [
        ("ha:tele/kitchen/LWT", True)
    ]


def test_device_discovery_components() -> None:
    decoder = MqttDecoder([("homeassistant", "homeassistant/#")])
    decoder.decode("homeassistant/device/0AFFD2/config", js(GARDEN_DEVICE))
    out = decoder.decode("garden/state", js({"temperature": 12.3, "humidity": 80.06}))
    assert readings(out) == {
        ("garden", "temperature"): ("°C", 12.3),
        ("garden", "humidity"): ("%", 80.1),
    }


def test_two_entities_of_one_class_on_one_device_keep_apart() -> None:
    decoder = MqttDecoder([("homeassistant", "homeassistant/#")])
    for object_id in ("dht_temperature", "ds18b20_temperature"):
        config = {
            **ESPHOME_TEMPERATURE_CONFIG,
            "stat_t": f"livingroom/sensor/{object_id}/state",
            "uniq_id": f"ESPsensor{object_id}",
        }
        decoder.decode(f"homeassistant/sensor/livingroom/{object_id}/config", js(config))
    first = decoder.decode("livingroom/sensor/dht_temperature/state", b"21.0")
    second = decoder.decode("livingroom/sensor/ds18b20_temperature/state", b"21.4")
    assert readings(first) == {("livingroom", "temperature"): ("°C", 21.0)}
    assert readings(second) == {("livingroom", "ds18b20_temperature"): ("°C", 21.4)}


def test_unsupported_template_is_skipped_and_said() -> None:
    decoder = MqttDecoder([("homeassistant", "homeassistant/#")])
    config = {**ESPHOME_TEMPERATURE_CONFIG, "val_tpl": "{{ (value | float) * 1.8 + 32 }}"}
    out = decoder.decode("homeassistant/sensor/livingroom/temperature/config", js(config))
    assert out.subscribe == []
    assert out.problem is not None
    assert "value_template" in out.problem


@pytest.mark.parametrize(
    "payload", [b"not json", b"[1,2]", b'{"stat_t": 5}', b'{"dev_cla":"temperature"}']
)
def test_broken_discovery_configs_are_problems_not_crashes(payload: bytes) -> None:
    decoder = MqttDecoder([("homeassistant", "homeassistant/#")])
    out = decoder.decode("homeassistant/sensor/x/y/config", payload)
    assert out.values == []
    assert out.subscribe == []
    assert out.problem is not None


# --- pure helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ value }}", Template()),
        ("{{ value | float }}", Template()),
        ("{{ value_json.temperature }}", Template(True, ("temperature",))),
        ("{{value_json['AM2301'].Temperature}}", Template(True, ("AM2301", "Temperature"))),
        ('{{ value_json["a"][0].b | float(0) | round(2) }}', Template(True, ("a", 0, "b"), 2)),
        (None, Template()),
        ("{{ value_json.t if value_json.t is defined else 0 }}", None),
        ("{{ states('sensor.x') }}", None),
    ],
)
def test_parse_template(text: str | None, expected: Template | None) -> None:
    assert parse_template(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (21.5, (True, 21.5)),
        ("21.5", (True, 21.5)),
        (b" 7 ", (True, 7.0)),
        (True, (True, 1.0)),
        (None, (True, None)),
        ("nan", (True, None)),
        ("unavailable", (True, None)),
        (float("inf"), (True, None)),
        ("ON", (False, None)),
        ({"a": 1}, (False, None)),
    ],
)
def test_number(raw: object, expected: tuple[bool, float | None]) -> None:
    assert number(raw) == expected


@pytest.mark.parametrize(
    ("metric", "unit", "value", "expected"),
    [
        ("temperature", "°F", 212.0, ("°C", 100.0)),
        ("dew_point", "F", 32.0, ("°C", 0.0)),
        ("temperature", "K", 293.15, ("°C", 20.0)),
        ("pressure", "mmHg", 760.0, ("hPa", 1013.25)),
        ("pressure", "inHg", 29.92, ("hPa", 1013.21)),
        ("pressure", "kPa", 101.3, ("hPa", 1013.0)),
        ("voltage", "mV", 3025.0, ("mV", 3025.0)),
        ("temperature", "°F", None, ("°C", None)),
    ],
)
def test_normalize(
    metric: str, unit: str, value: float | None, expected: tuple[str, float | None]
) -> None:
    assert normalize(metric, unit, value) == expected


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("zigbee2mqtt/#", "zigbee2mqtt/a/b", True),
        ("zigbee2mqtt/#", "zigbee2mqtt", True),
        ("tele/+/SENSOR", "tele/kitchen/SENSOR", True),
        ("tele/+/SENSOR", "tele/kitchen/STATE", False),
        ("tele/+/SENSOR", "tele/a/b/SENSOR", False),
        ("+/sensor/+/state", "livingroom/sensor/t/state", True),
        ("#", "$SYS/broker/uptime", False),
    ],
)
def test_topic_matches(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected


def test_names() -> None:
    assert slug(" Living Room/Temp ") == "living-room-temp"
    assert slug("0x00158d0001a2b3c4") == "0x00158d0001a2b3c4"
    assert snake("DewPoint") == "dew_point"
    assert snake("PM2.5") == "pm2_5"
    assert snake("ApparentPower") == "apparent_power"
