"""Benchmark figures: nearest-rank percentiles and target verdicts."""

from __future__ import annotations

import pytest

from bench.common import Figure, percentile


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        (list(range(1, 11)), 50, 5),  # regression: banker's rounding gave 6
        (list(range(1, 11)), 30, 3),
        (list(range(1, 11)), 99, 10),
        (list(range(1, 101)), 99, 99),
        ([7.0], 50, 7.0),
    ],
)
def test_nearest_rank_percentile(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == expected


def test_figure_verdicts() -> None:
    assert Figure("p99", 9.0, "µs", ("<=", 10.0)).passed is True
    assert Figure("rps", 2000.0, "req/s", (">=", 2500.0)).passed is False
    assert Figure("info", 1.0, "x").passed is None
