"""Plain data shared by sensor sources, triage, the local store and the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How a reading was classified by triage."""

    NORMAL = "normal"
    WARNING = "warning"
    CRITICAL = "critical"


class Kind(StrEnum):
    """What a flag says about the world: the sensor is broken, or the process did something odd.

    Sensor faults (past the physical range, non-finite, stuck, dropout) are kept out of
    statistics downstream; process anomalies are real measurements and stay in.
    """

    SENSOR_FAULT = "sensor_fault"
    PROCESS_ANOMALY = "process_anomaly"


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """One series a source produces: a metric of a physical sensor."""

    sensor: str
    metric: str
    unit: str


@dataclass(frozen=True, slots=True)
class Reading:
    """One sample of one series. `value` is None when the sensor gave no reading (dropout)."""

    ts: float
    sensor: str
    metric: str
    unit: str
    value: float | None

    @property
    def series(self) -> str:
        """Series key, `sensor/metric`."""
        return f"{self.sensor}/{self.metric}"
