"""Series answers as pandas DataFrames.

Layout of `get_timeseries` (one row per series and bucket, long format):

| column | type | meaning |
|---|---|---|
| index `time` | `datetime64[ns, UTC]` | bucket start |
| `cluster`, `node`, `location`, `sensor`, `metric`, `unit` | str | the series |
| `value` | float | mean of the readings in the bucket |
| `min`, `max` | float | their range |
| `count` | int | how many readings |
| `anomaly` | bool | the edge flagged a reading of this series in the bucket |

Pivot for one column per sensor: `df.pivot_table(index="time", columns="sensor", values="value")`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from homelab.core import Anomaly

COLUMNS = [
    "cluster",
    "node",
    "location",
    "sensor",
    "metric",
    "unit",
    "value",
    "min",
    "max",
    "count",
]


def page_frame(page: Mapping[str, Any]) -> pd.DataFrame:
    """One `GET /v1/series` answer as rows of the layout above (without `anomaly`)."""
    rows: dict[str, list[Any]] = {name: [] for name in ["ts", *COLUMNS, "step"]}
    for s in page["series"]:
        for p in s["points"]:
            rows["ts"].append(p["ts"])
            for name in ("cluster", "node", "location", "sensor", "metric", "unit"):
                rows[name].append(s[name])
            rows["value"].append(p["mean"])
            rows["min"].append(p["min"])
            rows["max"].append(p["max"])
            rows["count"].append(p["count"])
            rows["step"].append(s["step"])
    return pd.DataFrame(rows)


def _flags(frame: pd.DataFrame, anomalies: Iterable[Anomaly]) -> pd.Series:
    """True where an anomaly of the row's series falls in its bucket [ts, ts + step)."""
    flagged: set[tuple[str, str, str, float]] = set()
    for a in anomalies:
        flagged.add((a.node, a.sensor_id, a.metric, a.time.timestamp()))
    if not flagged or frame.empty:
        return pd.Series(False, index=frame.index, dtype=bool)
    marks = pd.Series(False, index=frame.index, dtype=bool)
    keyed = frame.groupby(["node", "sensor", "metric"], sort=False)
    for (node, sensor, metric), rows in keyed:
        times = [t for (n, s, m, t) in flagged if (n, s, m) == (node, sensor, metric)]
        if not times:
            continue
        starts = rows["ts"].to_numpy()
        ends = starts + rows["step"].to_numpy()
        hit = [any(lo <= t < hi for t in times) for lo, hi in zip(starts, ends, strict=True)]
        marks.loc[rows.index] = pd.Series(hit, index=rows.index, dtype=bool)
    return marks


def timeseries(parts: list[pd.DataFrame], anomalies: list[Anomaly] | None) -> pd.DataFrame:
    """The pages joined in the documented layout, with `anomaly` flags when asked for."""
    frame = pd.concat(parts, ignore_index=True) if parts else page_frame({"series": []})
    frame = frame.sort_values(["ts", "node", "sensor", "metric"], kind="stable", ignore_index=True)
    if anomalies is not None:
        frame["anomaly"] = _flags(frame, anomalies)
    frame["count"] = frame["count"].astype("int64")
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame["ts"], unit="s", utc=True), name="time")
    return frame.drop(columns=["ts", "step"])
