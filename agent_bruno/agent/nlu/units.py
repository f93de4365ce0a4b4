"""Units of the pipeline's metrics: conversion, the unit a question asks for, and display."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Context, Decimal

_TEMPERATURE = ("°C", "°F", "K")
_PASCALS = {
    "Pa": 1.0,
    "hPa": 100.0,
    "mbar": 100.0,
    "kPa": 1000.0,
    "inHg": 3386.389,
    "mmHg": 133.322387415,
}
_CANONICAL = {
    unit.lower(): unit for unit in (*_TEMPERATURE, *_PASCALS, "%", "ppm", "count", "")
} | {
    "c": "°C", "degc": "°C", "celsius": "°C", "f": "°F", "degf": "°F", "fahrenheit": "°F",
    "°k": "K", "kelvin": "K", "millibar": "mbar", "mb": "mbar", "percent": "%",
}  # fmt: skip
_DECIMALS = {
    "°C": 1, "°F": 1, "K": 1, "%": 1, "hPa": 1, "mbar": 1, "kPa": 2, "inHg": 2, "mmHg": 1,
    "Pa": 0, "ppm": 0, "count": 0, "": 2,
}  # fmt: skip
_METRIC_DECIMALS = {"load_1m": 2, "motion": 0}
_SPOKEN = {
    "°F": ("fahrenheit", "farenheit", "degrees fahrenheit", "degrees f", "degree f", "deg f"),
    "°C": ("celsius", "celcius", "centigrade", "degrees celsius", "degrees c", "deg c"),
    "K": ("kelvin", "kelvins"),
    "inHg": ("inhg", "inches of mercury", "inch of mercury", "in hg", "inches"),
    "mmHg": ("mmhg", "mm hg", "mm of mercury", "millimeters of mercury", "millimetres of mercury"),
    "kPa": ("kpa", "kilopascal", "kilopascals"),
    "mbar": ("mbar", "millibar", "millibars"),
    "hPa": ("hpa", "hectopascal", "hectopascals"),
}
_MISSPELT = {"°F": ("fahrenheight", "farenheight", "farhenheit", "fahreneit", "fahrenhiet", "degf")}
_LETTERS = {"f": "°F", "c": "°C", "k": "K"}
_SPOKEN_UNIT = {
    alias: unit
    for table in (_SPOKEN, _MISSPELT)
    for unit, aliases in table.items()
    for alias in aliases
}
_ASKED = re.compile(
    r"(?<![\w-])(?:(?P<prep>in|into|to)\s+)?(?:(?P<word>"
    + "|".join(re.escape(a).replace(r"\ ", r"\s+") for a in sorted(_SPOKEN_UNIT, key=len)[::-1])
    + r")|(?P<letter>[fck]))(?![\w-])"
    r"|(?:(?<![\w-])(?P<prep2>in|into|to)\s*)?[°º˚]\s*(?P<degree>[cfk])(?![a-z])",
    re.IGNORECASE,
)


class UnitError(ValueError):
    """A conversion between units that measure different things, or an unknown unit."""


def _canonical(unit: str) -> str:
    found = _CANONICAL.get(unit.strip().lower().replace(" ", ""))
    if found is None:
        known = ", ".join(repr(u) for u in dict.fromkeys(_CANONICAL.values()))
        raise UnitError(f"unknown unit {unit!r}; known units: {known}")
    return found


def _to_celsius(value: float, unit: str) -> float:
    if unit == "°F":
        return (value - 32.0) * 5.0 / 9.0
    return value - 273.15 if unit == "K" else value


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert `value` between temperature (°C, °F, K) or pressure (hPa, kPa, inHg...) units."""
    if from_unit == to_unit:
        return value
    source, target = _canonical(from_unit), _canonical(to_unit)
    if source == target:
        return value
    if source in _TEMPERATURE and target in _TEMPERATURE:
        celsius = _to_celsius(value, source)
        if target == "°F":
            return celsius * 9.0 / 5.0 + 32.0
        return celsius + 273.15 if target == "K" else celsius
    if source in _PASCALS and target in _PASCALS:
        return value * _PASCALS[source] / _PASCALS[target]
    raise UnitError(
        f"cannot convert {from_unit!r} to {to_unit!r}: they measure different things; "
        "temperature converts among °C, °F and K, pressure among Pa, hPa, mbar, kPa, inHg, mmHg"
    )


def find_unit(text: str) -> tuple[str, int, int] | None:
    """The unit a question asks its answer in and where it is said ('in fahrenheit' → °F),
    preferring one after "in"/"to"; None when it asks for none."""
    found: list[tuple[bool, str, int, int]] = []
    for m in _ASKED.finditer(text):
        prep = bool(m.group("prep") or m.group("prep2"))
        if m.group("degree"):
            found.append((prep, _LETTERS[m.group("degree").lower()], m.start(), m.end()))
        elif m.group("word"):
            word = " ".join(m.group("word").lower().split())
            found.append((prep, _SPOKEN_UNIT[word], m.start(), m.end()))
        elif prep and m.group("letter"):
            found.append((prep, _LETTERS[m.group("letter").lower()], m.start(), m.end()))
    ranked = sorted(found, key=lambda item: not item[0])
    return (ranked[0][1], ranked[0][2], ranked[0][3]) if ranked else None


def requested_unit(text: str) -> str | None:
    """Return the unit a question asks its answer in ('in fahrenheit' -> '°F'), or None."""
    found = find_unit(text)
    return found[0] if found else None


def decimals(unit: str, metric: str | None = None) -> int:
    """Return how many decimals a value of this unit (or metric) is shown with."""
    if metric in _METRIC_DECIMALS:
        return _METRIC_DECIMALS[metric]
    return _DECIMALS.get(unit, 2)


# Beyond this magnitude fixed decimals stop meaning anything (and exceed Decimal's default
# precision: 1e27 with one decimal raised InvalidOperation); such values show as 1.23457e+27.
_FIXED_MAX = 1e15
_CONTEXT = Context(prec=40, rounding=ROUND_HALF_UP)
# Digits past this many decimals are a float's, not a reading's (sensors give 1-2 decimals).
_NOISE_PLACES = 9


def _round(value: float, places: int) -> str:
    """Round the shortest repr of `value` half away from zero, so 2.675 shows as 2.68; float
    noise from a conversion is dropped first (48.2 °C is 321.34999999999997 K: 321.4 K)."""
    if abs(value) >= _FIXED_MAX:
        return f"{value:.6g}"
    text = str(
        Decimal(repr(round(float(value), _NOISE_PLACES))).quantize(
            Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_CONTEXT
        )
    )
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def shown_number(value: float, unit: str, metric: str | None = None) -> float:
    """The value as `format_value` shows it, as a number (rounded the same way)."""
    if not math.isfinite(value) or abs(value) >= _FIXED_MAX:
        return value
    return float(_round(value, decimals(unit, metric)))


def format_value(value: float, unit: str, metric: str | None = None) -> str:
    """Show a value with its unit: '22.5 °C', '45.0 %', '850 ppm', '3 detections', '1.25'."""
    if not math.isfinite(value):
        return f"{value} {unit}".strip()
    number = _round(value, decimals(unit, metric))
    if unit == "count":
        return f"{number} detection" + ("" if number == "1" else "s")
    return f"{number} {unit}" if unit else number
