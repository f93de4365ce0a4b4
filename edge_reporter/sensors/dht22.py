"""A DHT22 (AM2302) read through the Linux kernel's IIO driver, `dht11`.

Raspberry Pi OS: `dtoverlay=dht11,gpiopin=4` in config.txt (the dht11 driver tells the two
chips apart and serves the DHT22 too). The device appears as
`/sys/bus/iio/devices/iio:deviceN` with a `name` (`dht11`, or `dht11@4` where the kernel names
the device after its device-tree node) and two files read in thousandths: `in_temp_input`
(millidegrees Celsius, "21300" = 21.3 °C) and `in_humidityrelative_input` (milli-percent,
"45600" = 45.6 %).

Each read of a file starts a transfer (the driver caches it for 2 s, so both files come from
one). Transfers fail often on a single-wire bus: EIO for a checksum error or lost sync,
ETIMEDOUT when too few edges arrived, EAGAIN when the kernel's clock is too coarse. A failed
read is retried after the 2 s the sensor needs between transfers; one still failing is a
dropout (None). A read blocks up to about a second per attempt, which is why the reporter
reads sources in a worker thread.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable
from pathlib import Path

from edge_reporter.model import Reading, SensorSpec
from edge_reporter.sensors.descriptions import DHT22

log = logging.getLogger(__name__)

IIO_DEVICES = Path("/sys/bus/iio/devices")
ATTEMPTS = 3
RETRY_PAUSE_S = 2.1  # the DHT22 needs 2 s between transfers
# (metric, sysfs file, decimals): the driver gives thousandths, the DHT22 resolves tenths.
_CHANNELS = (("temperature", "in_temp_input", 1), ("humidity", "in_humidityrelative_input", 1))
_TRANSIENT = frozenset({errno.EIO, errno.ETIMEDOUT, errno.EAGAIN, errno.EBUSY})


class Dht22Source:
    """Temperature and humidity of one DHT22 on the kernel's dht11 IIO driver."""

    def __init__(
        self,
        name: str,
        device: str | None = None,
        *,
        root: Path = IIO_DEVICES,
        attempts: int = ATTEMPTS,
        pause_s: float = RETRY_PAUSE_S,
        sleep: Callable[[float], None] = time.sleep,
        read: Callable[[Path], str] = Path.read_text,
    ) -> None:
        self._name = name
        self._device = device  # `iio:deviceN`, or the IIO name (`dht11@4`); None: the only one
        self._root = root
        self._attempts = max(1, attempts)
        self._pause = pause_s
        self._sleep = sleep
        self._read = read  # tests inject the driver's errors here
        self._path: Path | None = None
        self._said: str | None = None
        self.failures = 0  # transfers that failed, retried or not (for tests and logs)

    def specs(self) -> list[SensorSpec]:
        """Temperature (°C) and relative humidity (%)."""
        return [d.spec(self._name) for d in DHT22]

    def read(self, now: float) -> list[Reading]:
        """One transfer (retried when it fails); a channel that keeps failing reads as None."""
        values: dict[str, float | None] = {metric: None for metric, _, _ in _CHANNELS}
        path = self._resolve()
        for attempt in range(self._attempts):
            if path is None:
                break
            retry = False
            for metric, file, decimals in _CHANNELS:
                if values[metric] is None:
                    values[metric], retry = self._read_channel(path / file, decimals)
                    if retry:
                        break  # both files share one transfer: the next one needs a pause
            if not retry or attempt + 1 == self._attempts:
                break
            self._sleep(self._pause)
        return [Reading(now, self._name, d.metric, d.unit, values[d.metric]) for d in DHT22]

    def _read_channel(self, path: Path, decimals: int) -> tuple[float | None, bool]:
        """(value, whether a failure is worth a retry)."""
        try:
            text = self._read(path)
        except FileNotFoundError:
            self._path = None  # the overlay was unloaded or the device renumbered
            self._say(f"{path} is gone; looking for the device again at the next read")
            return None, False
        except OSError as exc:
            self.failures += 1
            if exc.errno in _TRANSIENT:
                return None, True
            self._say(f"{path}: {exc}")
            return None, False
        try:
            return round(int(text.strip()) / 1000, decimals), False
        except ValueError:
            self._say(f"{path} holds {text.strip()[:20]!r}, not a number in thousandths")
            return None, False

    def _resolve(self) -> Path | None:
        """The device directory, found again whenever it went missing."""
        if self._path is not None:
            return self._path
        try:
            candidates = sorted(p for p in self._root.iterdir() if p.name.startswith("iio:device"))
        except OSError as exc:
            self._say(
                f"cannot list {self._root} ({exc}): no IIO device at all; is "
                "dtoverlay=dht11,gpiopin=N in config.txt, and /sys mounted in the container?"
            )
            return None
        if self._device is not None and self._device.startswith("iio:device"):
            found = [p for p in candidates if p.name == self._device]
        else:
            found = [p for p in candidates if _matches(_name_of(p), self._device)]
        if len(found) != 1:
            names = ", ".join(f"{p.name} ({_name_of(p)})" for p in candidates) or "none"
            want = self._device or "a dht11 device"
            hint = (
                f"; name one with SENSORS=dht22:{self._name}@iio:deviceN"
                if len(found) > 1
                else "; is dtoverlay=dht11,gpiopin=N in config.txt?"
            )
            self._say(f"{len(found)} IIO devices match {want} under {self._root} [{names}]{hint}")
            return None
        self._path = found[0]
        self._said = None
        log.info("DHT22 %s reads %s (%s)", self._name, self._path, _name_of(self._path))
        return self._path

    def _say(self, problem: str) -> None:
        """Log a problem when it starts, not at every read."""
        if problem != self._said:
            self._said = problem
            log.warning("DHT22 %s: %s", self._name, problem)


def _name_of(device: Path) -> str:
    try:
        return (device / "name").read_text().strip()
    except OSError:
        return "?"


def _matches(name: str, wanted: str | None) -> bool:
    if wanted is None:
        return name == "dht11" or name.startswith("dht11@")
    return name == wanted
