"""The one interface every sensor source implements.

Adding a real driver is a small class next to the simulated ones, e.g. a DHT22 on GPIO4::

    class Dht22Source:
        def __init__(self, name: str, pin: int) -> None:
            self._name, self._pin = name, pin

        def specs(self) -> list[SensorSpec]:
            return [d.spec(self._name) for d in DHT22]          # descriptions.py

        def read(self, now: float) -> list[Reading]:
            raw = _read_dht22(self._pin)                        # None on a checksum error
            return [Reading(now, self._name, "temperature", "°C", raw and raw.temperature),
                    Reading(now, self._name, "humidity", "%", raw and raw.humidity)]

then a `"dht22"` entry in `descriptions.KINDS` and a branch in `sensors.build_sources`.
`read` must not raise: a failed bus read is a reading with `value=None`, never 0.
"""

from __future__ import annotations

from typing import Protocol

from edge_reporter.model import Reading, SensorSpec


class SensorSource(Protocol):
    """A source of readings: declares its series and reads them at a given time."""

    def specs(self) -> list[SensorSpec]:
        """The series this source produces."""
        ...

    def read(self, now: float) -> list[Reading]:
        """One reading per series, stamped `now`; `value=None` when there is no reading."""
        ...
