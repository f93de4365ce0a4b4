"""What each sensor kind measures, declared as data: metric, unit and triage limits.

Hard limits are the sensor's physical measuring range (a value outside it is a broken sensor
or wiring), or for node health the point where the Pi is in trouble (85 °C throttling, a full
disk). Triage compares every reading against them before any statistics.

The stuck-value rule follows the kind's resolution and natural behaviour: how long it may hold
one value in a quiet world (`min_seconds`), values it rests at (a PIR's 0), and, for metrics not
described here, only values identical to many decimals for an hour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edge_reporter.model import SensorSpec
from edge_reporter.triage import StuckRule, TriageConfig


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
#
# Stuck values: the sensor reports in fixed steps (DHT22: 0.1 °C and 0.1 %RH; BMP280: 0.01 hPa;
# MH-Z19: 1 ppm), so repeats are normal; how long one value may last depends on the quantity. A
# DHT22 in a quiet room can hold a 0.1 °C step for many minutes, humidity drifts more, pressure
# and CO2 move nearly all the time. Each rule also waits for a run four times longer than any
# this series has shown (`longest_factor`), and flags a run of 6 hours whatever the history.
_HOURS_6 = 6 * 3600.0


def _config(**settings: Any) -> TriageConfig:
    """Triage settings of a described metric: a warning needs a reading 2σ off its baseline.

    Metrics not described here (NAB's series, say) keep `TriageConfig()`: there, a pattern
    break within the usual spread is often what matters, and nothing is known of the sensor.
    A simulated normal week of the demo's ten series then raises at most one warning episode
    per series (`python -m evals.triage`, "normal week"); 3σ would also miss a slow drift
    (4 °C an hour, the reporter bench's), whose baseline spread grows with it.
    """
    return TriageConfig(warning_sigma=2.0, **settings)


DHT22: tuple[MetricDescription, ...] = (
    MetricDescription(
        "temperature",
        "°C",
        _config(
            hard_min=-40.0,
            hard_max=80.0,
            resolution=0.1,
            stuck=StuckRule(min_seconds=1800.0, max_seconds=_HOURS_6, min_decimals=None),
        ),
    ),
    MetricDescription(
        "humidity",
        "%",
        _config(
            hard_min=0.0,
            hard_max=100.0,
            resolution=0.5,
            stuck=StuckRule(min_seconds=120.0, max_seconds=_HOURS_6, min_decimals=None),
        ),
    ),
)
BMP280: tuple[MetricDescription, ...] = (
    MetricDescription(
        "pressure",
        "hPa",
        _config(
            hard_min=300.0,
            hard_max=1100.0,
            resolution=0.1,
            stuck=StuckRule(min_seconds=300.0, max_seconds=_HOURS_6, min_decimals=None),
        ),
    ),
)
PIR: tuple[MetricDescription, ...] = (
    # Detections per reading interval: bursts while people are about and hours of zeros at
    # night are the normal signal, so there is no statistical score (a count is not a level)
    # and a run of zeros is never stuck; the same non-zero count for an hour is.
    MetricDescription(
        "motion",
        "count",
        _config(
            hard_min=0.0,
            resolution=1.0,
            statistical=False,
            stuck=StuckRule(min_seconds=3600.0, natural=(0.0,), min_decimals=None),
        ),
    ),
)
MHZ19: tuple[MetricDescription, ...] = (
    MetricDescription(
        "co2",
        "ppm",
        _config(
            hard_min=0.0,
            hard_max=5000.0,
            resolution=10.0,
            stuck=StuckRule(min_seconds=300.0, max_seconds=_HOURS_6, min_decimals=None),
        ),
    ),
)
# Node health comes from the kernel, not from a sensor that can freeze, and disk or memory use
# legitimately holds still for hours: the stuck-value rule is off for it.
NODE: tuple[MetricDescription, ...] = (
    MetricDescription(
        "cpu_percent",
        "%",
        _config(hard_min=0.0, hard_max=100.0, stuck=None, resolution=5.0),
    ),
    MetricDescription(
        "memory_percent",
        "%",
        _config(hard_min=0.0, hard_max=95.0, stuck=None, resolution=2.0),
    ),
    MetricDescription(
        "disk_percent",
        "%",
        _config(hard_min=0.0, hard_max=95.0, stuck=None, resolution=2.0),
    ),
    MetricDescription("load_1m", "", _config(hard_min=0.0, stuck=None, resolution=0.5)),
    MetricDescription(
        "soc_temp_c",
        "°C",
        _config(hard_min=-20.0, hard_max=85.0, stuck=None, resolution=1.0),
    ),
)

# Real sensors over I2C (Bosch datasheet operating ranges: -40..85 °C, 0..100 %RH, 300..1100 hPa).
BME280_TEMPERATURE = MetricDescription(
    "temperature",
    "°C",
    _config(hard_min=-40.0, hard_max=85.0, resolution=0.1, stuck=DHT22[0].triage.stuck),
)
BME280: tuple[MetricDescription, ...] = (BME280_TEMPERATURE, DHT22[1], BMP280[0])
BMP280_I2C: tuple[MetricDescription, ...] = (BME280_TEMPERATURE, BMP280[0])
# Devices on an MQTT broker: their model (hence range) is unknown, so the limits are the widest
# that common consumer sensors share (-55..125 °C covers DS18B20, SHT, BME and Zigbee sensors),
# and the stuck rule is off for quantities that legitimately hold still for hours. Temperature,
# humidity and CO2 hold still like the DHT22's and MH-Z19's.
MQTT: tuple[MetricDescription, ...] = (
    MetricDescription(
        "temperature",
        "°C",
        _config(hard_min=-55.0, hard_max=125.0, resolution=0.1, stuck=DHT22[0].triage.stuck),
    ),
    MetricDescription(
        "humidity",
        "%",
        _config(hard_min=0.0, hard_max=100.0, resolution=0.5, stuck=DHT22[1].triage.stuck),
    ),
    BMP280[0],
    MetricDescription(
        "co2",
        "ppm",
        _config(hard_min=0.0, hard_max=40000.0, resolution=10.0, stuck=MHZ19[0].triage.stuck),
    ),
    MetricDescription(
        "battery", "%", _config(hard_min=0.0, hard_max=100.0, stuck=None, resolution=1.0)
    ),
    MetricDescription("illuminance", "lx", _config(hard_min=0.0, stuck=None)),
    MetricDescription("pm2_5", "µg/m³", _config(hard_min=0.0, stuck=None, resolution=1.0)),
    MetricDescription("pm10", "µg/m³", _config(hard_min=0.0, stuck=None, resolution=1.0)),
    MetricDescription("power", "W", _config(stuck=None, resolution=1.0)),
    MetricDescription("energy", "kWh", _config(hard_min=0.0, stuck=None)),
    # Binary sensors as 0/1: hours of the same state are normal, and a change of state is the
    # signal itself, not an anomaly: no stuck rule and no statistical score.
    *(
        MetricDescription(m, "", _config(hard_min=0.0, hard_max=1.0, stuck=None, statistical=False))
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
