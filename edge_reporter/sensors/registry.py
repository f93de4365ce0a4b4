"""Build the configured sources and their detectors (the only place sensor kinds are wired).

Drivers are imported only when SENSORS names their kind: a reporter of simulated sensors
never loads the MQTT client or smbus2.
"""

from __future__ import annotations

from pathlib import Path

from edge_reporter.config import ReporterConfig
from edge_reporter.engine import TriageFactory
from edge_reporter.model import SensorSpec
from edge_reporter.sensor_config import SensorEntry, parse_i2c_address
from edge_reporter.sensors.base import SensorSource
from edge_reporter.sensors.descriptions import triage_config_for
from edge_reporter.sensors.node_health import NodeHealthSource
from edge_reporter.sensors.simulated import SimulatedSource
from edge_reporter.triage import SeriesTriage


def build_sources(config: ReporterConfig, *, origin: float) -> list[SensorSource]:
    """One source per SENSORS entry; fault offsets of simulated sensors count from `origin`."""
    return [_source(config, entry, origin) for entry in config.sensors]


def _source(config: ReporterConfig, entry: SensorEntry, origin: float) -> SensorSource:
    if entry.kind == "node":
        disk = config.data_dir if config.data_dir.exists() else Path("/")
        return NodeHealthSource(entry.name, disk_path=disk)
    if entry.kind == "dht22":
        from edge_reporter.sensors.dht22 import Dht22Source

        return Dht22Source(entry.name, entry.address)
    if entry.kind in ("bme280", "bmp280"):
        from edge_reporter.sensors.bme280 import Bme280Source

        bus, address = parse_i2c_address(entry.address or "1:0x76")
        return Bme280Source(entry.kind, entry.name, bus=bus, address=address)
    if entry.kind == "mqtt":
        from edge_reporter.sensors.mqtt.source import MqttSource

        if config.mqtt is None:  # the configuration requires MQTT_URL with an mqtt entry
            raise ValueError("SENSORS lists mqtt but there is no MQTT configuration")
        return MqttSource(config.mqtt, reserved={e.name for e in config.sensors})
    return SimulatedSource(
        entry.kind, entry.name, seed=config.seed, origin=origin, faults=config.faults
    )


def default_triage(spec: SensorSpec) -> SeriesTriage:
    """A streaming detector for one series with its metric's declared limits."""
    return SeriesTriage(triage_config_for(spec), unit=spec.unit)


def triage_factory(config: ReporterConfig) -> TriageFactory:
    """Detectors with each sensor's own kind's limits; sensors heard over MQTT get mqtt's."""
    kinds = {e.name: e.kind for e in config.sensors}
    other = "mqtt" if "mqtt" in kinds.values() else None

    def make(spec: SensorSpec) -> SeriesTriage:
        return SeriesTriage(triage_config_for(spec, kinds.get(spec.sensor, other)), unit=spec.unit)

    return make
