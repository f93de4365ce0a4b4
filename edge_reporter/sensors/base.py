"""The one interface every sensor source implements.

`read(now)` returns one reading per series stamped `now` (a push source: what arrived since the
last read); a failed bus read is a reading with `value=None`, never 0. It may block (the
reporter reads every source in a worker thread, see sampling.py) but should not raise: an
exception makes all of the source's series dropouts for that sample.

The real drivers show the shape: `dht22.py` (Linux IIO sysfs), `bme280.py` (I2C) and
`mqtt/source.py` (a push source). A new kind is a class like them, its metrics in
`descriptions.KINDS`, and a branch in `registry.build_sources`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from edge_reporter.model import Reading, SensorSpec


class SensorSource(Protocol):
    """A source of readings: declares its series and reads them at a given time."""

    def specs(self) -> list[SensorSpec]:
        """The series this source produces."""
        ...

    def read(self, now: float) -> list[Reading]:
        """One reading per series, stamped `now`; `value=None` when there is no reading."""
        ...


@runtime_checkable
class PushSource(SensorSource, Protocol):
    """A source whose devices report when they like (MQTT): started, drained early, closed."""

    def start(self, wake: Callable[[], None] | None = None) -> None:
        """Begin listening; `wake` is called, from any thread, when readings arrive."""
        ...

    def drain(self, now: float) -> list[Reading]:
        """The readings that arrived since the last read, without dropouts."""
        ...

    def close(self) -> None:
        """Stop listening."""
        ...
