"""A Bosch BME280 (temperature, humidity, pressure) or BMP280 (temperature, pressure) on I2C.

Read with smbus2 from `/dev/i2c-N` rather than through the kernel's bmp280 IIO driver: no
device-tree overlay or reboot is needed, the chip is identified by its id register (so a
BMP280 sold as a BME280, a common mix-up, is named in the log), and each read is one forced
measurement at 1x oversampling with the filter off, after which the chip sleeps: Bosch's
setting for weather monitoring, which keeps self-heating out of the temperature. The
compensation is the datasheet's own integer arithmetic (bosch.py).

Raspberry Pi: `dtparam=i2c_arm=on`, the sensor at 0x76 (SDO to GND) or 0x77 (SDO to VCC) on
bus 1. A bus error (no answer, EIO) is retried twice within 0.1 s; a read still failing is a
dropout (None).
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable
from typing import Protocol

from edge_reporter.model import Reading, SensorSpec
from edge_reporter.sensors.bosch import (
    CALIB_H,
    CALIB_H_LEN,
    CALIB_TP,
    CALIB_TP_LEN,
    Calibration,
    Measurement,
    compensate,
    raw_counts,
)
from edge_reporter.sensors.descriptions import BME280, BMP280_I2C

log = logging.getLogger(__name__)

REG_CHIP_ID = 0xD0
REG_CTRL_HUM = 0xF2
REG_STATUS = 0xF3
REG_CTRL_MEAS = 0xF4
REG_CONFIG = 0xF5
REG_DATA = 0xF7
CHIP_BME280 = 0x60
CHIP_BMP280 = (0x56, 0x57, 0x58)  # two engineering samples, then the production id
STATUS_MEASURING = 0x08
STATUS_IM_UPDATE = 0x01
OSRS_X1 = 0b001
MODE_FORCED = 0b01
MEASURE_MAX_S = 0.0093  # datasheet, all three at 1x oversampling
ATTEMPTS = 3
RETRY_PAUSE_S = 0.05
_TRANSIENT = frozenset({errno.EREMOTEIO, errno.EIO, errno.ETIMEDOUT, errno.EAGAIN})


class I2cBus(Protocol):
    """What is used of smbus2.SMBus."""

    def read_byte_data(self, i2c_addr: int, register: int) -> int:
        """One register."""
        ...

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None:
        """Write one register."""
        ...

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        """`length` registers from `register` on."""
        ...

    def close(self) -> None:
        """Release the bus device."""
        ...


class ChipError(OSError):
    """The device at the address is not the chip the configuration names."""


def open_smbus(bus: int) -> I2cBus:
    """The real bus, `/dev/i2c-<bus>`."""
    from smbus2 import SMBus

    return SMBus(bus)


class Bme280Source:
    """One BME280 (`kind="bme280"`) or BMP280 (`kind="bmp280"`) at an I2C address."""

    def __init__(
        self,
        kind: str,
        name: str,
        *,
        bus: int = 1,
        address: int = 0x76,
        open_bus: Callable[[int], I2cBus] = open_smbus,
        attempts: int = ATTEMPTS,
        pause_s: float = RETRY_PAUSE_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if kind not in ("bme280", "bmp280"):
            raise ValueError(f"kind={kind!r}: expected bme280 or bmp280")
        self._kind = kind
        self._name = name
        self._bus = bus
        self._address = address
        self._open = open_bus
        self._attempts = max(1, attempts)
        self._pause = pause_s
        self._sleep = sleep
        self._descriptions = BME280 if kind == "bme280" else BMP280_I2C
        self._calibration: Calibration | None = None
        self._humidity = kind == "bme280"
        self._said: str | None = None

    @property
    def where(self) -> str:
        """Bus and address, as written in SENSORS (`1:0x76`)."""
        return f"{self._bus}:0x{self._address:02x}"

    def specs(self) -> list[SensorSpec]:
        """Temperature (°C), humidity (%, BME280 only) and pressure (hPa)."""
        return [d.spec(self._name) for d in self._descriptions]

    def read(self, now: float) -> list[Reading]:
        """One forced measurement, retried on bus errors; None for what could not be read."""
        measured = Measurement(None, None, None)
        for attempt in range(self._attempts):
            try:
                measured = self._measure()
                self._said = None
                break
            except OSError as exc:
                self._calibration = None  # read it again: the chip may have been replaced
                retry = exc.errno in _TRANSIENT and not isinstance(exc, ChipError)
                if not retry or attempt + 1 == self._attempts:
                    self._say(self._explain(exc))
                    break
                self._sleep(self._pause)
        values = {
            "temperature": measured.temperature_c,
            "humidity": measured.humidity_pct,
            "pressure": measured.pressure_hpa,
        }
        return [
            Reading(now, self._name, d.metric, d.unit, values[d.metric]) for d in self._descriptions
        ]

    def _measure(self) -> Measurement:
        bus = self._open(self._bus)
        try:
            calibration = self._calibration or self._setup(bus)
            self._calibration = calibration
            if self._humidity:
                bus.write_byte_data(self._address, REG_CTRL_HUM, OSRS_X1)  # applies at ctrl_meas
            ctrl = (OSRS_X1 << 5) | (OSRS_X1 << 2) | MODE_FORCED
            bus.write_byte_data(self._address, REG_CTRL_MEAS, ctrl)
            self._sleep(MEASURE_MAX_S)
            for _ in range(20):  # the conversion ends within MEASURE_MAX_S; allow slack
                if not bus.read_byte_data(self._address, REG_STATUS) & STATUS_MEASURING:
                    break
                self._sleep(0.002)
            else:
                raise OSError(errno.ETIMEDOUT, "measurement did not finish")
            data = bytes(
                bus.read_i2c_block_data(self._address, REG_DATA, 8 if self._humidity else 6)
            )
        finally:
            bus.close()
        adc_t, adc_p, adc_h = raw_counts(data)
        return compensate(calibration, adc_t, adc_p, adc_h if self._humidity else None)

    def _setup(self, bus: I2cBus) -> Calibration:
        """Check the chip id, wait for its calibration to load, read it, turn the filter off."""
        chip = bus.read_byte_data(self._address, REG_CHIP_ID)
        if chip == CHIP_BME280:
            pass
        elif chip in CHIP_BMP280:
            if self._kind == "bme280":
                raise ChipError(
                    errno.ENODEV,
                    f"the chip at {self.where} is a BMP280 (id 0x{chip:02x}), which has no "
                    f"humidity sensor; use SENSORS=bmp280:{self._name}@{self.where}",
                )
        else:
            raise ChipError(
                errno.ENODEV,
                f"the chip at {self.where} has id 0x{chip:02x}, not a BME280 (0x60) "
                "or BMP280 (0x58)",
            )
        for _ in range(10):
            if not bus.read_byte_data(self._address, REG_STATUS) & STATUS_IM_UPDATE:
                break
            self._sleep(0.002)
        tp = bytes(bus.read_i2c_block_data(self._address, CALIB_TP, CALIB_TP_LEN))
        h = (
            bytes(bus.read_i2c_block_data(self._address, CALIB_H, CALIB_H_LEN))
            if self._humidity
            else None
        )
        bus.write_byte_data(self._address, REG_CONFIG, 0x00)  # no standby, filter off
        log.info("%s %s: chip 0x%02x at %s", self._kind, self._name, chip, self.where)
        return Calibration.from_registers(tp, h)

    def _explain(self, exc: OSError) -> str:
        if isinstance(exc, ChipError):
            return str(exc.strerror)
        if isinstance(exc, FileNotFoundError):
            return (
                f"no /dev/i2c-{self._bus}: enable I2C (dtparam=i2c_arm=on) and give the "
                "container the device"
            )
        if exc.errno == errno.EREMOTEIO:
            return (
                f"no device answers at {self.where} (wiring? SDO to GND is 0x76, to VCC 0x77; "
                "`i2cdetect -y 1` lists what answers)"
            )
        return f"bus {self._bus} at {self.where}: {exc}"

    def _say(self, problem: str) -> None:
        """Log a problem when it starts, not at every read."""
        if problem != self._said:
            self._said = problem
            log.warning("%s %s: %s", self._kind, self._name, problem)
