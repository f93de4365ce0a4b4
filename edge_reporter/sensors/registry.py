"""Build the configured sources and their detectors (the only place sensor kinds are wired)."""

from __future__ import annotations

from pathlib import Path

from edge_reporter.config import ReporterConfig
from edge_reporter.model import SensorSpec
from edge_reporter.sensors.base import SensorSource
from edge_reporter.sensors.descriptions import triage_config_for
from edge_reporter.sensors.node_health import NodeHealthSource
from edge_reporter.sensors.simulated import SimulatedSource
from edge_reporter.triage import SeriesTriage


def build_sources(config: ReporterConfig, *, origin: float) -> list[SensorSource]:
    """One source per SENSORS entry; fault offsets of simulated sensors count from `origin`."""
    sources: list[SensorSource] = []
    for entry in config.sensors:
        if entry.kind == "node":
            disk = config.data_dir if config.data_dir.exists() else Path("/")
            sources.append(NodeHealthSource(entry.name, disk_path=disk))
        else:
            sources.append(
                SimulatedSource(
                    entry.kind, entry.name, seed=config.seed, origin=origin, faults=config.faults
                )
            )
    return sources


def default_triage(spec: SensorSpec) -> SeriesTriage:
    """A streaming detector for one series with its metric's declared limits."""
    return SeriesTriage(triage_config_for(spec), unit=spec.unit)
