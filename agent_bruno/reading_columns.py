"""Bulk readings as columns: what the importers produce, admission screens and storage writes.

A 5,000-reading import as 5,000 dictionaries cost more to build, screen and regroup than to
store. As columns it is three arrays (series index, time, value) and the few distinct series
they name, so screening and grouping are a handful of numpy operations per batch, and each
series' names are checked once, not once per reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter

import numpy as np
import numpy.typing as npt

from agent_bruno.wire import DEFAULT_CLUSTER, BulkReading

# (cluster, node, location, sensor, metric, unit)
SeriesKey = tuple[str, str, str, str, str, str]
Floats = npt.NDArray[np.float64]
Indices = npt.NDArray[np.intp]

_NAMES = itemgetter("node", "location", "sensor", "metric", "unit")
_TS = itemgetter("ts")
_VALUE = itemgetter("value")


@dataclass(frozen=True, slots=True)
class ReadingColumns:
    """Validated readings: reading i is `values[i]` at `ts[i]` of series `keys[series[i]]`.

    `keys` are distinct, in the order first seen. The arrays are never written to once built.
    """

    keys: list[SeriesKey]
    series: Indices
    ts: Floats
    values: Floats

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def from_rows(cls, rows: Sequence[BulkReading]) -> ReadingColumns:
        """Columns of validated rows (a missing cluster is the default one)."""
        index: dict[SeriesKey, int] = {}
        series = np.empty(len(rows), dtype=np.intp)
        for i, row in enumerate(rows):
            key = (row.get("cluster", DEFAULT_CLUSTER), *_NAMES(row))
            series[i] = index.setdefault(key, len(index))
        return cls(
            list(index),
            series,
            np.fromiter(map(_TS, rows), dtype=np.float64, count=len(rows)),
            np.fromiter(map(_VALUE, rows), dtype=np.float64, count=len(rows)),
        )

    @classmethod
    def empty(cls) -> ReadingColumns:
        """No readings."""
        return cls([], np.empty(0, dtype=np.intp), np.empty(0), np.empty(0))

    def take(self, which: Indices | npt.NDArray[np.bool_] | list[int]) -> ReadingColumns:
        """The readings at `which` (indices or a mask), in that order; the same keys."""
        return ReadingColumns(self.keys, self.series[which], self.ts[which], self.values[which])

    def rows(self) -> list[BulkReading]:
        """The readings as rows (the cluster named only when it is not the default)."""
        shapes: list[dict[str, str]] = []
        for cluster, node, location, sensor, metric, unit in self.keys:
            shape = {"node": node, "location": location, "sensor": sensor, "metric": metric,
                     "unit": unit}  # fmt: skip
            if cluster != DEFAULT_CLUSTER:
                shape["cluster"] = cluster
            shapes.append(shape)
        return [
            {"ts": ts, "value": value, **shapes[k]}  # type: ignore[typeddict-item]
            for k, ts, value in zip(
                self.series.tolist(), self.ts.tolist(), self.values.tolist(), strict=True
            )
        ]
