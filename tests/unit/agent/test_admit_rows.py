"""Bulk readings are screened all at once with the same verdicts as one full check per row: the
times of the policy, the bounds of each row's metric and unit."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from agent_bruno.admission import TimePolicy, admit_readings
from agent_bruno.plausible import problem
from agent_bruno.reading_columns import ReadingColumns
from agent_bruno.wire import Rejected

NOW = 1_800_000_000.0
POLICY = TimePolicy.at(NOW, future_s=300, hot_days=30, rollup_days=365)
UNITS = [("temperature", "°C"), ("temperature", "C"), ("humidity", "%"), ("pressure", "hPa"),
         ("co2", "ppm"), ("cpu_percent", "%"), ("whatever", "")]  # fmt: skip
VALUES = [21.5, -300.0, 101.0, 150.0, -1.0, 1e13, 6_400.0, 0.0, math.nan, math.inf, 1e12]
TIMES = [NOW, NOW + 299, NOW + 301, NOW - 30 * 86_400 + 1, NOW - 31 * 86_400, 0.0]


def one_by_one(rows: list[Any], policy: TimePolicy | None, by_line: bool) -> list[Rejected]:
    """What the full checks, row by row, refuse."""
    out = []
    for pos, row in enumerate(rows):
        ts = row["ts"]
        why = None if policy is None else policy.problem(ts, ts, rollup=False)
        why = why or problem(row["metric"], row["unit"], (row["value"],))
        if why is not None:
            out.append(Rejected(index=None if by_line else pos, line=pos if by_line else None,
                                error=why))  # fmt: skip
    return out


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("policy", [POLICY, None])
def test_inline_screening_refuses_exactly_what_the_full_checks_refuse(
    seed: int, policy: TimePolicy | None
) -> None:
    rng = random.Random(seed)
    rows = []
    for _ in range(200):
        metric, unit = rng.choice(UNITS)
        rows.append({"ts": rng.choice(TIMES), "node": "n", "location": "l", "sensor": "s",
                     "metric": metric, "value": rng.choice(VALUES), "unit": unit})  # fmt: skip
    by_line = seed % 2 == 0
    columns = ReadingColumns.from_rows(rows)
    admitted = admit_readings(columns, list(range(len(rows))), policy, by_line=by_line)
    refused = one_by_one(rows, policy, by_line)
    assert admitted.rejected == refused
    assert len(admitted.columns) + len(refused) == len(rows)
    assert admitted.positions == [
        pos for pos in range(len(rows)) if all((r.line if by_line else r.index) != pos
                                                for r in refused)
    ]  # fmt: skip
