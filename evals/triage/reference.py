"""A published NAB detector, ported to check that our scorer reproduces the NAB scoreboard.

NAB's windowed Gaussian detector: the anomaly score of a value is 1 - Q(|z|), with z against the
mean and standard deviation of a window of earlier values that grows to 6,400 rows and then
slides in steps of 100 rows. NAB scored the CSV files its detectors wrote, whose scores carry 12
significant digits (Python 2's float formatting), so the port rounds the same way: without it,
scores within 5e-13 of 1.0 no longer tie and the sweep picks a threshold NAB never could.
Scoreboard (results/final_results.json): standard 39.65, reward_low_FP_rate 20.87,
reward_low_FN_rate 47.41.
"""

from __future__ import annotations

import math

from evals.triage.corpus import DataFile

WINDOW_ROWS = 6400
STEP_ROWS = 100
PUBLISHED = {"standard": 39.65, "reward_low_FP_rate": 20.87, "reward_low_FN_rate": 47.41}
_SQRT2 = math.sqrt(2.0)


def _tail(x: float, mean: float, std: float) -> float:
    """Probability of a normal sample at least as far from the mean as `x` on its side."""
    return 0.5 * math.erfc(abs(x - mean) / std / _SQRT2)


def _mean_std(window: list[float]) -> tuple[float, float]:
    n = len(window)
    mean = sum(window) / n
    std = math.sqrt(sum((w - mean) ** 2 for w in window) / n)
    return mean, std or 1e-6


def windowed_gaussian_scores(data: DataFile) -> list[float]:
    """Scores of NAB's windowed Gaussian detector for one file, as NAB stored them."""
    window: list[float] = []
    pending: list[float] = []
    mean, std = 0.0, 1.0
    total = total_sq = 0.0
    out: list[float] = []
    for x in data.values:
        out.append(float(f"{1.0 - _tail(x, mean, std):.12g}") if window else 0.0)
        if len(window) < WINDOW_ROWS:
            # Growing phase: the statistics follow every row; running sums keep it O(1).
            window.append(x)
            total += x
            total_sq += x * x
            n = len(window)
            mean = total / n
            std = math.sqrt(max(0.0, total_sq / n - mean * mean)) or 1e-6
        else:
            pending.append(x)
            if len(pending) == STEP_ROWS:
                window = window[STEP_ROWS:] + pending
                pending = []
                mean, std = _mean_std(window)
    return out
