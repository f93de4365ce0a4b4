"""NAB v1.1 scoring, written from its published definition (no NAB code).

A detector emits one anomaly score per row. For a threshold t, every scorable row whose score
is >= t is a detection. Each labelled window earns the best (= earliest) of its detections,
weighted by a scaled sigmoid of the position inside the window, or pays `fn_weight` when it has
none; each detection outside a window pays `fp_weight`, scaled by how far it lies past the end of
the preceding window (full cost before the first window). Rows of the probationary period (the
first 15 % of a file, at most 750 rows) are ignored. One threshold is chosen per profile for the
whole corpus: the one with the best total, found exactly by sweeping the sorted scores once.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

PROBATION_FRACTION = 0.15
PROBATION_MAX_ROWS = 750  # 15 % of 5,000 rows: NAB caps the probationary period there


@dataclass(frozen=True, slots=True)
class CostMatrix:
    """Weights of one NAB profile."""

    tp_weight: float
    fp_weight: float
    fn_weight: float


# The three profiles of NAB v1.1 (`config/profiles.json`); loaded from the data dir when present.
PROFILES: dict[str, CostMatrix] = {
    "standard": CostMatrix(tp_weight=1.0, fp_weight=0.11, fn_weight=1.0),
    "reward_low_FP_rate": CostMatrix(tp_weight=1.0, fp_weight=0.22, fn_weight=1.0),
    "reward_low_FN_rate": CostMatrix(tp_weight=1.0, fp_weight=0.11, fn_weight=2.0),
}


def profiles_from_json(
    data: Mapping[str, Mapping[str, Mapping[str, float]]],
) -> dict[str, CostMatrix]:
    """Build cost matrices from the parsed `config/profiles.json`."""
    return {
        name: CostMatrix(
            tp_weight=float(p["CostMatrix"]["tpWeight"]),
            fp_weight=float(p["CostMatrix"]["fpWeight"]),
            fn_weight=float(p["CostMatrix"]["fnWeight"]),
        )
        for name, p in data.items()
    }


def probationary_length(n_rows: int) -> int:
    """Rows at the start of a file that are never scored."""
    return min(math.floor(PROBATION_FRACTION * n_rows), PROBATION_MAX_ROWS)


def scaled_sigmoid(position: float) -> float:
    """NAB's weighting: ~+1 at a window's left edge, 0 at its right edge, -> -1 far after it."""
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


_MAX_TP = scaled_sigmoid(-1.0)  # the earliest detection is worth exactly tp_weight


@dataclass(frozen=True, slots=True)
class Row:
    """One scorable row: its anomaly score and what a detection there is worth (unweighted).

    `window` is a corpus-unique window id, or -1 outside any window. Inside a window `value` is
    the true-positive credit in (0, 1]; outside it is the false-positive factor in [-1, 0).
    """

    score: float
    value: float
    window: int


@dataclass(frozen=True, slots=True)
class FileRows:
    """The scorable rows of one data file and the ids of its windows."""

    name: str
    rows: list[Row]
    windows: list[int]


def window_spans(
    timestamps: Sequence[float], windows: Iterable[tuple[float, float]]
) -> list[tuple[int, int]]:
    """Row index spans [left, right] of windows given as (start, end) times, inclusive."""
    spans: list[tuple[int, int]] = []
    for start, end in windows:
        left = bisect_left(timestamps, start)
        right = bisect_right(timestamps, end) - 1
        if right >= left:
            spans.append((left, right))
    spans.sort()
    return spans


def file_rows(
    name: str, scores: Sequence[float], spans: Sequence[tuple[int, int]], first_window_id: int
) -> FileRows:
    """Label every scorable row of one file with its window and unweighted detection value."""
    n = len(scores)
    probation = probationary_length(n)
    rows: list[Row] = []
    window_ids: list[int] = []
    span_at = 0
    prev_right = -1
    prev_width = 0
    for i in range(n):
        while span_at < len(spans) and spans[span_at][1] < i:
            prev_right = spans[span_at][1]
            prev_width = spans[span_at][1] - spans[span_at][0] + 1
            span_at += 1
        inside = span_at < len(spans) and spans[span_at][0] <= i
        if inside:
            left, right = spans[span_at]
            width = right - left + 1
            # NAB's position runs from -1 (left edge) to -1/width (right edge).
            value = scaled_sigmoid(-(right - i + 1) / width) / _MAX_TP
            window = first_window_id + span_at
        elif prev_right < 0:
            value, window = -1.0, -1  # before any window: full false-positive cost
        else:
            # A single-row window would divide by zero; NAB treats it as very far away.
            position = (i - prev_right) / (prev_width - 1) if prev_width > 1 else 3.5
            value, window = scaled_sigmoid(position), -1
        if i < probation:
            continue
        if window >= 0 and (not window_ids or window_ids[-1] != window):
            window_ids.append(window)
        rows.append(Row(scores[i], value, window))
    return FileRows(name, rows, window_ids)


@dataclass(frozen=True, slots=True)
class SweepResult:
    """Best threshold of one profile and its raw and normalized scores."""

    profile: str
    threshold: float
    raw: float
    null_raw: float
    perfect_raw: float

    @property
    def normalized(self) -> float:
        """100 * (raw - null) / (perfect - null): the null detector scores 0, a perfect one 100."""
        return 100.0 * (self.raw - self.null_raw) / (self.perfect_raw - self.null_raw)


def sweep(files: Sequence[FileRows], cost: CostMatrix, profile: str, n_windows: int) -> SweepResult:
    """Find the corpus-wide threshold with the best raw score, exactly.

    Lowering the threshold past each distinct score adds that score's rows as detections; keeping
    each window's best credit in a dict makes every step O(1), so the sweep is one sort plus one
    pass.
    """
    rows = sorted((r for f in files for r in f.rows), key=lambda r: r.score, reverse=True)
    best_in_window = {w: -cost.fn_weight for f in files for w in f.windows}
    null_raw = -cost.fn_weight * len(best_in_window)
    total = null_raw
    best_total, best_threshold = total, math.inf
    tp_w, fp_w = cost.tp_weight, cost.fp_weight
    i, n = 0, len(rows)
    while i < n:
        threshold = rows[i].score
        # Consume every row with this exact score before recording the total for it.
        while i < n and rows[i].score == threshold:
            row = rows[i]
            if row.window < 0:
                total += row.value * fp_w
            else:
                credit = row.value * tp_w
                old = best_in_window[row.window]
                if credit > old:
                    best_in_window[row.window] = credit
                    total += credit - old
            i += 1
        if total > best_total:
            best_total, best_threshold = total, threshold
    return SweepResult(profile, best_threshold, best_total, null_raw, cost.tp_weight * n_windows)


@dataclass(frozen=True, slots=True)
class Tally:
    """What one file scores at a fixed threshold."""

    raw: float
    detected: int  # windows with at least one detection
    missed: int
    false_positives: int  # detections outside every window


def tally(file: FileRows, cost: CostMatrix, threshold: float) -> Tally:
    """Score one file at a fixed threshold (for per-file and per-category breakdowns)."""
    best = dict.fromkeys(file.windows, -cost.fn_weight)
    hit: set[int] = set()
    fp = 0.0
    fp_count = 0
    for row in file.rows:
        if row.score < threshold:
            continue
        if row.window < 0:
            fp += row.value * cost.fp_weight
            fp_count += 1
        else:
            hit.add(row.window)
            best[row.window] = max(best[row.window], row.value * cost.tp_weight)
    return Tally(fp + sum(best.values()), len(hit), len(best) - len(hit), fp_count)


def raw_at_threshold(file: FileRows, cost: CostMatrix, threshold: float) -> float:
    """Raw score of one file at a fixed threshold."""
    return tally(file, cost, threshold).raw
