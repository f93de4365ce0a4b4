"""What each sensor kind measures, declared as data: metric, unit and triage limits.

Hard limits are the sensor's physical measuring range (a value outside it is a broken sensor
or wiring), or for node health the point where the Pi is in trouble (85 °C throttling, a full
disk). Triage compares every reading against them before any statistics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from edge_reporter.model import SensorSpec
from edge_reporter.triage import TriageConfig


@dataclass(frozen=True, slots=True)
class MetricDescription:
    """One metric a sensor kind produces, with its triage defaults."""

    metric: str
    unit: str
    triage: TriageConfig

    def spec(self, sensor: str) -> SensorSpec:
        """The series this metric forms on the named sensor."""
        return SensorSpec(sensor, self.metric, self.unit)


# `resolution` is the smallest change that means something for the metric (the sensor's
# resolution, or a step worth noticing for node health); below it a change is noise.
DHT22: tuple[MetricDescription, ...] = (
    MetricDescription(
        "temperature", "°C", TriageConfig(hard_min=-40.0, hard_max=80.0, resolution=0.1)
    ),
    MetricDescription("humidity", "%", TriageConfig(hard_min=0.0, hard_max=100.0, resolution=0.5)),
)
BMP280: tuple[MetricDescription, ...] = (
    MetricDescription(
        "pressure", "hPa", TriageConfig(hard_min=300.0, hard_max=1100.0, resolution=0.1)
    ),
)
PIR: tuple[MetricDescription, ...] = (
    # Detections per reading interval; triggers are bursty, and hours of zeros at night are
    # normal, so only a negative count is broken and the stuck rule is off.
    MetricDescription(
        "motion", "count", TriageConfig(hard_min=0.0, stuck_count=None, resolution=1.0)
    ),
)
MHZ19: tuple[MetricDescription, ...] = (
    MetricDescription("co2", "ppm", TriageConfig(hard_min=0.0, hard_max=5000.0, resolution=10.0)),
)
# Node health comes from the kernel, not from a sensor that can freeze, and disk or memory use
# legitimately holds still for hours: the stuck-value rule is off for it.
NODE: tuple[MetricDescription, ...] = (
    MetricDescription(
        "cpu_percent",
        "%",
        TriageConfig(hard_min=0.0, hard_max=100.0, stuck_count=None, resolution=5.0),
    ),
    MetricDescription(
        "memory_percent",
        "%",
        TriageConfig(hard_min=0.0, hard_max=95.0, stuck_count=None, resolution=2.0),
    ),
    MetricDescription(
        "disk_percent",
        "%",
        TriageConfig(hard_min=0.0, hard_max=95.0, stuck_count=None, resolution=2.0),
    ),
    MetricDescription("load_1m", "", TriageConfig(hard_min=0.0, stuck_count=None, resolution=0.5)),
    MetricDescription(
        "soc_temp_c",
        "°C",
        TriageConfig(hard_min=-20.0, hard_max=85.0, stuck_count=None, resolution=1.0),
    ),
)

# Real sensors over I2C (Bosch datasheet operating ranges: -40..85 °C, 0..100 %RH, 300..1100 hPa).
BME280_TEMPERATURE = MetricDescription(
    "temperature", "°C", TriageConfig(hard_min=-40.0, hard_max=85.0, resolution=0.1)
)
BME280: tuple[MetricDescription, ...] = (BME280_TEMPERATURE, DHT22[1], BMP280[0])
BMP280_I2C: tuple[MetricDescription, ...] = (BME280_TEMPERATURE, BMP280[0])
# Devices on an MQTT broker: their model (hence range) is unknown, so the limits are the widest
# that common consumer sensors share (-55..125 °C covers DS18B20, SHT, BME and Zigbee sensors),
# and the stuck rule is off for quantities that legitimately hold still for hours.
MQTT: tuple[MetricDescription, ...] = (
    MetricDescription(
        "temperature", "°C", TriageConfig(hard_min=-55.0, hard_max=125.0, resolution=0.1)
    ),
    MetricDescription("humidity", "%", TriageConfig(hard_min=0.0, hard_max=100.0, resolution=0.5)),
    BMP280[0],
    MetricDescription("co2", "ppm", TriageConfig(hard_min=0.0, hard_max=40000.0, resolution=10.0)),
    MetricDescription(
        "battery",
        "%",
        TriageConfig(hard_min=0.0, hard_max=100.0, stuck_count=None, resolution=1.0),
    ),
    MetricDescription("illuminance", "lx", TriageConfig(hard_min=0.0, stuck_count=None)),
    MetricDescription(
        "pm2_5", "µg/m³", TriageConfig(hard_min=0.0, stuck_count=None, resolution=1.0)
    ),
    MetricDescription(
        "pm10", "µg/m³", TriageConfig(hard_min=0.0, stuck_count=None, resolution=1.0)
    ),
    MetricDescription("power", "W", TriageConfig(stuck_count=None, resolution=1.0)),
    MetricDescription("energy", "kWh", TriageConfig(hard_min=0.0, stuck_count=None)),
    # Binary sensors as 0/1: hours of the same state are normal.
    *(
        MetricDescription(m, "", TriageConfig(hard_min=0.0, hard_max=1.0, stuck_count=None))
        for m in ("occupancy", "motion", "contact", "water_leak", "door", "window", "moisture")
    ),
)

# Sensor kinds accepted in SENSORS, by the name written there.
KINDS: Mapping[str, tuple[MetricDescription, ...]] = {
    "sim-dht22": DHT22,
    "sim-pressure": BMP280,
    "sim-motion": PIR,
    "sim-co2": MHZ19,
    "node": NODE,
    "dht22": DHT22,
    "bme280": BME280,
    "bmp280": BMP280_I2C,
    "mqtt": MQTT,
}

# By metric name, the first kind declaring a metric wins (the simulated ones come first).
_BY_METRIC: Mapping[str, MetricDescription] = {
    d.metric: d for group in reversed(list(KINDS.values())) for d in group
}


def triage_config_for(spec: SensorSpec, kind: str | None = None) -> TriageConfig:
    """Triage defaults for a series: its kind's description of the metric in the same unit.

    Without a kind, by metric name; an unknown metric, or one in another unit than described
    (e.g. a voltage in mV where V is declared), gets plain thresholds.
    """
    if kind is None:
        description = _BY_METRIC.get(spec.metric)
    else:
        description = next((d for d in KINDS.get(kind, ()) if d.metric == spec.metric), None)
    if description is None or description.unit != spec.unit:
        return TriageConfig()
    return description.triage
