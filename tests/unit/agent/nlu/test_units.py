"""Units: conversions, the unit a question asks for, and how values are shown."""

from __future__ import annotations

import math

import pytest

from agent_bruno.agent.nlu.units import (
    UnitError,
    convert,
    decimals,
    format_value,
    requested_unit,
    shown_number,
)


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (20.0, "°C", "°F", 68.0),
        (-40.0, "°C", "°F", -40.0),
        (0.0, "°C", "K", 273.15),
        (212.0, "°F", "°C", 100.0),
        (32.0, "°F", "K", 273.15),
        (300.0, "K", "°C", 26.85),
        (1013.25, "hPa", "inHg", 29.9213),
        (29.92, "inHg", "hPa", 1013.208),
        (1013.25, "hPa", "mmHg", 760.0),
        (1013.25, "hPa", "kPa", 101.325),
        (1013.25, "hPa", "mbar", 1013.25),
        (1013.25, "hPa", "Pa", 101_325.0),
        (101.325, "kPa", "hPa", 1013.25),
        (20.0, "C", "fahrenheit", 68.0),
    ],
)
def test_convert(value: float, source: str, target: str, expected: float) -> None:
    assert convert(value, source, target) == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize(
    ("source", "target"),
    [("°C", "°F"), ("°F", "K"), ("K", "°C"), ("hPa", "inHg"), ("mmHg", "kPa"), ("mbar", "Pa")],
)
@pytest.mark.parametrize("value", [-40.0, 0.0, 21.7, 1013.2])
def test_round_trip(value: float, source: str, target: str) -> None:
    assert convert(convert(value, source, target), target, source) == pytest.approx(value)


@pytest.mark.parametrize("unit", ["°C", "%", "ppm", "count", "", "hPa", "furlong"])
def test_same_unit_is_unchanged(unit: str) -> None:
    assert convert(12.5, unit, unit) == 12.5


@pytest.mark.parametrize(
    ("source", "target"), [("°C", "hPa"), ("inHg", "°F"), ("%", "ppm"), ("K", "count")]
)
def test_incompatible_units_are_refused_naming_both(source: str, target: str) -> None:
    with pytest.raises(UnitError) as info:
        convert(1.0, source, target)
    assert repr(source) in str(info.value)
    assert repr(target) in str(info.value)


def test_unknown_unit_is_named() -> None:
    with pytest.raises(UnitError, match="'furlong'"):
        convert(1.0, "°C", "furlong")


def test_unit_error_is_a_value_error() -> None:
    assert issubclass(UnitError, ValueError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("how hot is it in fahrenheit", "°F"),
        ("temperature in °F please", "°F"),
        ("kitchen temp in F?", "°F"),
        ("what is it °F", "°F"),
        ("22 degrees f?", "°F"),
        ("in kelvin", "K"),
        ("show it in K", "K"),
        ("in celsius", "°C"),
        ("Temp in C?", "°C"),
        ("20°F in °C", "°C"),
        ("convert 20 °C to fahrenheit", "°F"),
        ("pressure in inHg", "inHg"),
        ("pressure in inches of mercury", "inHg"),
        ("pressure in kPa", "kPa"),
        ("pressure in mmHg", "mmHg"),
        ("pressure in mbar", "mbar"),
        ("pressure in millibars", "mbar"),
        ("pressure in hectopascals", "hPa"),
        ("PRESSURE IN HPA", "hPa"),
    ],
)
def test_requested_unit(text: str, expected: str) -> None:
    assert requested_unit(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "What's the temperature in the warehouse?",
        "how hot is the office",
        "is the fridge on?",
        "coffee machine temperature",
        "the f word",
        "in F-wing",
        "any alerts in k8s?",
        "plan c for the greenhouse",
        "",
    ],
)
def test_no_requested_unit(text: str) -> None:
    assert requested_unit(text) is None


@pytest.mark.parametrize(
    ("unit", "metric", "expected"),
    [
        ("°C", "temperature", 1),
        ("°F", None, 1),
        ("K", None, 1),  # kelvin like °C (an average was shown as 294.16 K)
        ("%", "humidity", 1),
        ("hPa", "pressure", 1),
        ("mbar", None, 1),
        ("kPa", None, 2),
        ("inHg", None, 2),
        ("mmHg", None, 1),
        ("ppm", "co2", 0),
        ("count", "motion", 0),
        ("", "load_1m", 2),
        ("furlongs", None, 2),  # a unit without its own rule: two decimals
    ],
)
def test_decimals(unit: str, metric: str | None, expected: int) -> None:
    assert decimals(unit, metric) == expected


@pytest.mark.parametrize(
    ("value", "unit", "metric", "expected"),
    [
        (22.5, "°C", "temperature", "22.5 °C"),
        (71.6, "°F", None, "71.6 °F"),
        (45.0, "%", "humidity", "45.0 %"),
        (1013.2, "hPa", "pressure", "1013.2 hPa"),
        (850.0, "ppm", "co2", "850 ppm"),
        (3.0, "count", "motion", "3 detections"),
        (1.0, "count", "motion", "1 detection"),
        (0.0, "count", "motion", "0 detections"),
        (1.25, "", "load_1m", "1.25"),
        (29.9213, "inHg", None, "29.92 inHg"),
        (22.45, "°C", None, "22.5 °C"),
        (-22.45, "°C", None, "-22.5 °C"),
        (2.675, "", None, "2.68"),
        (0.5, "ppm", None, "1 ppm"),
        (-0.5, "ppm", None, "-1 ppm"),
        (-0.04, "°C", None, "0.0 °C"),
    ],
)
def test_format_value(value: float, unit: str, metric: str | None, expected: str) -> None:
    assert format_value(value, unit, metric) == expected


@pytest.mark.parametrize(
    ("celsius", "kelvin"),
    [(21.01, "294.2 K"), (48.2, "321.4 K"), (18.4, "291.6 K"), (21.6, "294.8 K")],
)
def test_kelvin_has_one_decimal_rounded_half_away_after_conversion(
    celsius: float, kelvin: str
) -> None:
    """A kelvin average came with 2 decimals (294.16 K), and 48.2 °C converts to
    321.34999999999997 K in floating point, which must still round up to 321.4 K."""
    assert format_value(convert(celsius, "°C", "K"), "K", "temperature") == kelvin


@pytest.mark.parametrize(
    ("value", "unit", "metric", "expected"),
    [
        (2.25, "°C", None, 2.3),  # half away from zero, not to even
        (2.675, "", None, 2.68),
        (849.6, "ppm", "co2", 850.0),
        (321.34999999999997, "K", None, 321.4),
        (1e15, "", None, 1e15),
    ],
)
def test_shown_number_is_the_value_as_shown(value, unit, metric, expected) -> None:
    assert shown_number(value, unit, metric) == expected


def test_shown_number_leaves_a_value_that_is_not_finite() -> None:
    assert math.isnan(shown_number(float("nan"), "°C"))
    assert shown_number(float("inf"), "°C") == float("inf")
