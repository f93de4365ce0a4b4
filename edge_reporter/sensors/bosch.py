"""Bosch BME280 / BMP280 compensation, as the datasheets give it (pure integer arithmetic).

The chips report raw ADC counts; each is trimmed at the factory and carries its calibration
("trimming parameters") in registers 0x88..0xA1 and, for the BME280's humidity, 0xE1..0xE7.
These are the datasheets' fixed-point formulas (BME280 datasheet §4.2.3 and §8.2; BMP280
datasheet §3.11.3 with the 64-bit pressure variant): temperature in 0.01 °C, pressure in Pa
as Q24.8, humidity in %RH as Q22.10. C's `>>` on negative values is an arithmetic shift, as
Python's; C's `/` truncates toward zero, hence `_div`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

CALIB_TP = 0x88  # 26 bytes: dig_T1..dig_P9, a reserved byte, dig_H1 (BME280 only)
CALIB_TP_LEN = 26
CALIB_H = 0xE1  # 7 bytes: dig_H2..dig_H6 (BME280 only)
CALIB_H_LEN = 7
SKIPPED_20BIT = 0x80000  # what a measurement skipped (or never run) reads as
SKIPPED_16BIT = 0x8000


@dataclass(frozen=True, slots=True)
class Calibration:
    """The chip's trimming parameters (dig_T*, dig_P*, and dig_H* on a BME280)."""

    t1: int
    t2: int
    t3: int
    p1: int
    p2: int
    p3: int
    p4: int
    p5: int
    p6: int
    p7: int
    p8: int
    p9: int
    h1: int = 0
    h2: int = 0
    h3: int = 0
    h4: int = 0
    h5: int = 0
    h6: int = 0

    @classmethod
    def from_registers(cls, tp: bytes, h: bytes | None = None) -> Calibration:
        """Unpack registers 0x88..0xA1 (26 bytes) and, for a BME280, 0xE1..0xE7 (7 bytes)."""
        if len(tp) != CALIB_TP_LEN or (h is not None and len(h) != CALIB_H_LEN):
            raise ValueError(f"calibration blocks of {len(tp)} and {len(h or b'')} bytes")
        t1, t2, t3, p1, p2, p3, p4, p5, p6, p7, p8, p9 = struct.unpack("<HhhHhhhhhhhh", tp[:24])
        if h is None:
            return cls(t1, t2, t3, p1, p2, p3, p4, p5, p6, p7, p8, p9)
        h2, h3 = struct.unpack("<hB", h[:3])
        # dig_H4 and dig_H5 are signed 12-bit values sharing register 0xE5.
        h4 = _signed12((h[3] << 4) | (h[4] & 0x0F))
        h5 = _signed12((h[5] << 4) | (h[4] >> 4))
        h6 = struct.unpack("<b", h[6:7])[0]
        return cls(t1, t2, t3, p1, p2, p3, p4, p5, p6, p7, p8, p9, tp[25], h2, h3, h4, h5, h6)


def _signed12(value: int) -> int:
    return value - 0x1000 if value & 0x800 else value


def _div(a: int, b: int) -> int:
    """C's integer division, truncating toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def t_fine(c: Calibration, adc_t: int) -> int:
    """The fine temperature the pressure and humidity formulas need."""
    var1 = (((adc_t >> 3) - (c.t1 << 1)) * c.t2) >> 11
    var2 = (((((adc_t >> 4) - c.t1) * ((adc_t >> 4) - c.t1)) >> 12) * c.t3) >> 14
    return var1 + var2


def temperature_centi(fine: int) -> int:
    """Temperature in 0.01 °C ("5123" = 51.23 °C)."""
    return (fine * 5 + 128) >> 8


def pressure_q24_8(c: Calibration, adc_p: int, fine: int) -> int | None:
    """Pressure in Pa as Q24.8 ("24674867" = 24674867 / 256 = 96386.2 Pa); None if undefined."""
    var1 = fine - 128000
    var2 = var1 * var1 * c.p6
    var2 = var2 + ((var1 * c.p5) << 17)
    var2 = var2 + (c.p4 << 35)
    var1 = ((var1 * var1 * c.p3) >> 8) + ((var1 * c.p2) << 12)
    var1 = (((1 << 47) + var1) * c.p1) >> 33
    if var1 == 0:
        return None  # avoids a division by zero, as the datasheet does
    p = 1048576 - adc_p
    p = _div(((p << 31) - var2) * 3125, var1)
    var1 = (c.p9 * (p >> 13) * (p >> 13)) >> 25
    var2 = (c.p8 * p) >> 19
    return ((p + var1 + var2) >> 8) + (c.p7 << 4)


def humidity_q22_10(c: Calibration, adc_h: int, fine: int) -> int:
    """Relative humidity in % as Q22.10 ("47445" = 47445 / 1024 = 46.333 %RH)."""
    v = fine - 76800
    v = ((((adc_h << 14) - (c.h4 << 20) - (c.h5 * v)) + 16384) >> 15) * (
        ((((((v * c.h6) >> 10) * (((v * c.h3) >> 11) + 32768)) >> 10) + 2097152) * c.h2 + 8192)
        >> 14
    )
    v = v - (((((v >> 15) * (v >> 15)) >> 7) * c.h1) >> 4)
    v = min(max(v, 0), 419430400)
    return v >> 12


@dataclass(frozen=True, slots=True)
class Measurement:
    """One compensated measurement; a value is None when the chip skipped it."""

    temperature_c: float | None
    pressure_hpa: float | None
    humidity_pct: float | None


def compensate(c: Calibration, adc_t: int, adc_p: int, adc_h: int | None = None) -> Measurement:
    """Temperature (°C), pressure (hPa) and, given `adc_h`, humidity (%RH) from raw counts."""
    if adc_t == SKIPPED_20BIT:
        return Measurement(None, None, None)
    fine = t_fine(c, adc_t)
    temperature = temperature_centi(fine) / 100
    pressure: float | None = None
    if adc_p != SKIPPED_20BIT:
        q = pressure_q24_8(c, adc_p, fine)
        pressure = None if q is None else round(q / 256 / 100, 2)
    humidity: float | None = None
    if adc_h is not None and adc_h != SKIPPED_16BIT:
        humidity = round(humidity_q22_10(c, adc_h, fine) / 1024, 2)
    return Measurement(temperature, pressure, humidity)


def raw_counts(data: bytes) -> tuple[int, int, int | None]:
    """(adc_T, adc_P, adc_H) from a burst read of 0xF7..0xFC (BMP280) or ..0xFE (BME280)."""
    adc_p = (data[0] << 12) | (data[1] << 4) | (data[2] >> 4)
    adc_t = (data[3] << 12) | (data[4] << 4) | (data[5] >> 4)
    adc_h = (data[6] << 8) | data[7] if len(data) >= 8 else None
    return adc_t, adc_p, adc_h
