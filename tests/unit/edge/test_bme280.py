"""BME280 / BMP280 over I2C: the datasheet's compensation, against a fake bus holding a chip.

The calibration and raw counts are the BMP280 datasheet's worked example (§3.12, table 16:
dig_T1 = 27504 … dig_P9 = 6000, adc_T = 519888, adc_P = 415148 → 25.08 °C and 100653 Pa),
stored in the fake chip's registers byte for byte as a real chip stores them. That example
has no humidity; the humidity coefficients below are plausible inputs only, and the result is
checked against the datasheet's independent floating-point formula (BME280 §8.1).
"""

from __future__ import annotations

import errno
import logging
import os
import struct

import pytest

from edge_reporter.sensors import bosch
from edge_reporter.sensors.bme280 import (
    REG_CHIP_ID,
    REG_CTRL_HUM,
    REG_CTRL_MEAS,
    REG_DATA,
    REG_STATUS,
    Bme280Source,
)

NOW = 1_764_160_000.0
EXAMPLE = bosch.Calibration(
    27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000,
    h1=75, h2=362, h3=0, h4=313, h5=50, h6=30,
)  # fmt: skip
ADC_T, ADC_P = 519888, 415148


def calibration_registers(c: bosch.Calibration) -> tuple[bytes, bytes]:
    """The two calibration blocks as the chip holds them (little-endian, H4/H5 packed)."""
    tp = struct.pack("<HhhHhhhhhhhh", c.t1, c.t2, c.t3, c.p1, c.p2, c.p3, c.p4, c.p5, c.p6,
                     c.p7, c.p8, c.p9) + bytes([0x00, c.h1])  # fmt: skip
    h4, h5 = c.h4 & 0xFFF, c.h5 & 0xFFF
    h = struct.pack("<hB", c.h2, c.h3) + bytes(
        [h4 >> 4, (h4 & 0x0F) | ((h5 & 0x0F) << 4), h5 >> 4]
    ) + struct.pack("<b", c.h6)  # fmt: skip
    return tp, h


class FakeChip:
    """A BME280/BMP280 behind smbus2's calls: registers, forced mode, scripted raw counts."""

    def __init__(
        self, chip_id: int = 0x60, address: int = 0x76, *, calibration: bosch.Calibration = EXAMPLE
    ) -> None:
        self.address = address
        self.regs = bytearray(256)
        self.regs[REG_CHIP_ID] = chip_id
        tp, h = calibration_registers(calibration)
        self.regs[bosch.CALIB_TP : bosch.CALIB_TP + len(tp)] = tp
        self.regs[bosch.CALIB_H : bosch.CALIB_H + len(h)] = h
        for reg in range(REG_DATA, REG_DATA + 6):
            self.regs[reg] = 0x80 if reg in (REG_DATA, REG_DATA + 3) else 0  # skipped: 0x80000
        self.regs[REG_DATA + 6] = 0x80
        self.counts = [(ADC_T, ADC_P, 30000)]
        self.busy_polls = 2  # "measuring" for the first status reads after a trigger
        self.failures: list[int] = []  # errnos raised by the next bus calls
        self.writes: list[tuple[int, int]] = []
        self.closed = 0
        self._busy = 0

    def _check(self, i2c_addr: int) -> None:
        if self.failures:
            code = self.failures.pop(0)
            raise OSError(code, os.strerror(code))
        if i2c_addr != self.address:
            raise OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))

    def read_byte_data(self, i2c_addr: int, register: int) -> int:
        self._check(i2c_addr)
        if register == REG_STATUS:
            if self._busy:
                self._busy -= 1
                return 0x08
            return 0x00
        return self.regs[register]

    def write_byte_data(self, i2c_addr: int, register: int, value: int) -> None:
        self._check(i2c_addr)
        self.writes.append((register, value))
        self.regs[register] = value
        if register == REG_CTRL_MEAS and value & 0b11 == 0b01:  # forced mode: one conversion
            adc_t, adc_p, adc_h = self.counts.pop(0) if len(self.counts) > 1 else self.counts[0]
            data = [adc_p >> 12, (adc_p >> 4) & 0xFF, (adc_p & 0x0F) << 4,
                    adc_t >> 12, (adc_t >> 4) & 0xFF, (adc_t & 0x0F) << 4,
                    adc_h >> 8, adc_h & 0xFF]  # fmt: skip
            self.regs[REG_DATA : REG_DATA + 8] = bytes(data)
            self._busy = self.busy_polls

    def read_i2c_block_data(self, i2c_addr: int, register: int, length: int) -> list[int]:
        self._check(i2c_addr)
        return list(self.regs[register : register + length])

    def close(self) -> None:
        self.closed += 1


def sensor(chip: FakeChip, kind: str = "bme280", **kw: object) -> tuple[Bme280Source, list[float]]:
    slept: list[float] = []
    src = Bme280Source(
        kind,
        "office",
        address=0x76,
        open_bus=lambda _bus: chip,
        sleep=slept.append,
        **kw,  # type: ignore[arg-type]
    )
    return src, slept


def values(src: Bme280Source) -> dict[str, float | None]:
    return {r.metric: r.value for r in src.read(NOW)}


# --- the compensation formulas ----------------------------------------------------------------


def test_datasheet_example_temperature_and_pressure() -> None:
    fine = bosch.t_fine(EXAMPLE, ADC_T)
    assert fine == 128422  # the datasheet's t_fine
    assert bosch.temperature_centi(fine) == 2508  # 25.08 °C
    pressure = bosch.pressure_q24_8(EXAMPLE, ADC_P, fine)
    assert pressure is not None
    assert round(pressure / 256) == 100653  # Pa


def float_formulas(c: bosch.Calibration, adc_t: int, adc_p: int, adc_h: int) -> tuple[float, ...]:
    """The datasheet's floating-point compensation (BME280 §8.1), written independently."""
    v1 = (adc_t / 16384.0 - c.t1 / 1024.0) * c.t2
    v2 = ((adc_t / 131072.0 - c.t1 / 8192.0) ** 2) * c.t3
    fine = int(v1 + v2)
    temperature = (v1 + v2) / 5120.0
    v1 = fine / 2.0 - 64000.0
    v2 = v1 * v1 * c.p6 / 32768.0
    v2 = v2 + v1 * c.p5 * 2.0
    v2 = v2 / 4.0 + c.p4 * 65536.0
    v1 = (c.p3 * v1 * v1 / 524288.0 + c.p2 * v1) / 524288.0
    v1 = (1.0 + v1 / 32768.0) * c.p1
    p = 1048576.0 - adc_p
    p = (p - v2 / 4096.0) * 6250.0 / v1
    p = p + (c.p9 * p * p / 2147483648.0 + p * c.p8 / 32768.0 + c.p7) / 16.0
    h = fine - 76800.0
    h = (adc_h - (c.h4 * 64.0 + c.h5 / 16384.0 * h)) * (
        c.h2 / 65536.0 * (1.0 + c.h6 / 67108864.0 * h * (1.0 + c.h3 / 67108864.0 * h))
    )
    h = min(100.0, max(0.0, h * (1.0 - c.h1 * h / 524288.0)))
    return temperature, p / 100.0, h


@pytest.mark.parametrize("adc_h", [20000, 26000, 30000, 34000, 40000])
@pytest.mark.parametrize("adc_t", [480000, 519888, 560000])
def test_integer_formulas_agree_with_the_floating_point_ones(adc_t: int, adc_h: int) -> None:
    measured = bosch.compensate(EXAMPLE, adc_t, ADC_P, adc_h)
    temperature, pressure, humidity = float_formulas(EXAMPLE, adc_t, ADC_P, adc_h)
    assert measured.temperature_c == pytest.approx(temperature, abs=0.01)
    assert measured.pressure_hpa == pytest.approx(pressure, abs=0.01)
    assert measured.humidity_pct == pytest.approx(humidity, abs=0.02)


def test_calibration_is_unpacked_from_the_registers() -> None:
    tp, h = calibration_registers(EXAMPLE)
    assert bosch.Calibration.from_registers(tp, h) == EXAMPLE
    signed = bosch.Calibration(
        27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000,
        h1=75, h2=-362, h3=7, h4=-5, h5=-1000, h6=-3,
    )  # fmt: skip
    tp, h = calibration_registers(signed)
    assert bosch.Calibration.from_registers(tp, h) == signed
    assert bosch.Calibration.from_registers(tp).h1 == 0  # a BMP280 has no humidity block


def test_skipped_measurements_read_as_none() -> None:
    assert bosch.compensate(EXAMPLE, bosch.SKIPPED_20BIT, ADC_P, 30000) == bosch.Measurement(
        None, None, None
    )
    skipped = bosch.compensate(EXAMPLE, ADC_T, bosch.SKIPPED_20BIT, bosch.SKIPPED_16BIT)
    assert (skipped.pressure_hpa, skipped.humidity_pct) == (None, None)


# --- the source on a fake bus ---------------------------------------------------------------


def test_bme280_forced_measurement_over_the_bus() -> None:
    chip = FakeChip()
    src, _ = sensor(chip)
    got = values(src)
    expected = float_formulas(EXAMPLE, ADC_T, ADC_P, 30000)
    assert got["temperature"] == 25.08
    assert got["pressure"] == pytest.approx(1006.53, abs=0.005)
    assert got["humidity"] == pytest.approx(expected[2], abs=0.02)
    # humidity oversampling first (it applies when ctrl_meas is written), then forced mode
    assert chip.writes[-2:] == [(REG_CTRL_HUM, 0b001), (REG_CTRL_MEAS, 0b001_001_01)]
    assert chip.closed == 1
    assert [(s.metric, s.unit) for s in src.specs()] == [
        ("temperature", "°C"), ("humidity", "%"), ("pressure", "hPa"),
    ]  # fmt: skip


def test_bmp280_has_no_humidity() -> None:
    chip = FakeChip(chip_id=0x58)
    src, _ = sensor(chip, "bmp280")
    assert values(src) == {"temperature": 25.08, "pressure": pytest.approx(1006.53, abs=0.005)}
    assert all(reg != REG_CTRL_HUM for reg, _ in chip.writes)


def test_a_bmp280_configured_as_bme280_is_named(caplog: pytest.LogCaptureFixture) -> None:
    src, slept = sensor(FakeChip(chip_id=0x58))
    with caplog.at_level(logging.WARNING):
        assert values(src) == {"temperature": None, "humidity": None, "pressure": None}
    assert "is a BMP280" in caplog.text
    assert "SENSORS=bmp280:office@1:0x76" in caplog.text
    assert slept == []  # not a bus error: no retry


def test_an_unknown_chip_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    src, _ = sensor(FakeChip(chip_id=0x55))  # a BMP180
    with caplog.at_level(logging.WARNING):
        assert values(src)["temperature"] is None
    assert "0x55" in caplog.text


def test_a_nack_is_retried_then_read() -> None:
    chip = FakeChip()
    chip.failures = [errno.EREMOTEIO]
    src, slept = sensor(chip)
    assert values(src)["temperature"] == 25.08
    assert slept.count(0.05) == 1


def test_nothing_at_the_address_is_a_dropout_with_a_hint(
    caplog: pytest.LogCaptureFixture,
) -> None:
    src, slept = sensor(FakeChip(address=0x77))  # the sensor's SDO is high; config says 0x76
    with caplog.at_level(logging.WARNING):
        assert values(src) == {"temperature": None, "humidity": None, "pressure": None}
        assert values(src)["pressure"] is None
    assert caplog.text.count("no device answers at 1:0x76") == 1  # said once, not every read
    assert slept.count(0.05) == 4  # two retries per read


def test_no_i2c_device_node(caplog: pytest.LogCaptureFixture) -> None:
    def missing(_bus: int) -> FakeChip:
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/dev/i2c-1")

    src = Bme280Source("bme280", "office", open_bus=missing, sleep=lambda _s: None)
    with caplog.at_level(logging.WARNING):
        assert values(src)["humidity"] is None
    assert "dtparam=i2c_arm=on" in caplog.text


def test_a_replaced_chip_is_recalibrated() -> None:
    chip = FakeChip()
    src, _ = sensor(chip)
    assert values(src)["temperature"] == 25.08
    chip.failures = [errno.EIO, errno.EIO, errno.EIO]  # unplugged …
    assert values(src)["temperature"] is None
    chip.regs[bosch.CALIB_TP : bosch.CALIB_TP + 2] = struct.pack("<H", EXAMPLE.t1 + 200)
    assert values(src)["temperature"] != 25.08  # … and another chip read with its own trimming


def test_a_measurement_that_never_finishes_times_out() -> None:
    chip = FakeChip()
    chip.busy_polls = 1000
    src, _ = sensor(chip)
    assert values(src)["temperature"] is None
