"""Read-API parameters: times, steps, limits."""

from __future__ import annotations

import pytest

from agent_bruno.api.errors import ApiError
from agent_bruno.api.params import parse_limit, parse_step, parse_time, time_range

NOW = 1_764_160_000.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1764150000", 1764150000.0),
        ("1764150000.5", 1764150000.5),
        ("now", NOW),
        ("-30m", NOW - 1800),
        ("-1h", NOW - 3600),
        ("-7d", NOW - 7 * 86400),
        ("-1.5h", NOW - 5400),
        ("2025-11-26T12:26:40Z", NOW),
        ("2025-11-26T12:26:40", NOW),
        ("2025-11-26T13:26:40 01:00", NOW),  # '+' decoded to a space in a query string
    ],
)
def test_parse_time(text, expected):
    assert parse_time("start", text, NOW) == expected


@pytest.mark.parametrize(
    "text", ["", "soon", "-1y", "1h", "-inf", "inf", "-5", "0001-01-01", "2999-01-01T00:00"]
)
def test_bad_time_names_parameter_and_value(text):
    with pytest.raises(ApiError) as info:
        parse_time("end", text, NOW)
    assert info.value.status == 422
    assert f"end={text!r}" in info.value.message


@pytest.mark.parametrize(
    ("text", "step"), [(None, 300), ("60", 60), ("5m", 300), ("1h", 3600), ("900", 900)]
)
def test_parse_step(text, step):
    assert parse_step(text, NOW - 86400, NOW) == step


def test_default_step_for_long_ranges_is_hourly():
    assert parse_step(None, NOW - 30 * 86400, NOW) == 3600


@pytest.mark.parametrize("text", ["0", "-60", "1.5", "450", "x", "1", "nan"])
def test_bad_steps(text):
    with pytest.raises(ApiError, match="step="):
        parse_step(text, NOW - 86400, NOW)


def test_time_range_defaults_and_order():
    assert time_range(None, None, NOW, 3600) == (NOW - 3600, NOW)
    with pytest.raises(ApiError, match="before end"):
        time_range("-1h", "-2h", NOW, 3600)


@pytest.mark.parametrize(("text", "ok"), [(None, 100), ("1", 1), ("10000", 10000)])
def test_limit(text, ok):
    assert parse_limit(text) == ok


@pytest.mark.parametrize("text", ["0", "10001", "ten"])
def test_bad_limit(text):
    with pytest.raises(ApiError, match="limit="):
        parse_limit(text)
