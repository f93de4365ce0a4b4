"""Rollups: pure, associative merging of (count, min, max, sum, last, last_ts) per bucket."""

from __future__ import annotations

from agent_bruno.storage.schema import BUCKET_1H

# [count, min, max, sum, last, last_ts]
Rollup = list[float]

_UPSERT_ROLLUP = """
INSERT INTO {table} (series_id, bucket, count, min, max, sum, last, last_ts)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (series_id, bucket) DO UPDATE SET
    count = {table}.count + excluded.count,
    min = min({table}.min, excluded.min),
    max = max({table}.max, excluded.max),
    -- NULL (refused by NOT NULL, so the item is rejected) rather than an overflowed sum
    sum = CASE WHEN abs({table}.sum + excluded.sum) <= 1.7976931348623157e308
               THEN {table}.sum + excluded.sum END,
    last = CASE WHEN excluded.last_ts >= {table}.last_ts THEN excluded.last ELSE {table}.last END,
    last_ts = max({table}.last_ts, excluded.last_ts)
"""
UPSERT_5M = _UPSERT_ROLLUP.format(table="rollup_5m")
UPSERT_1H = _UPSERT_ROLLUP.format(table="rollup_1h")


def merge_point(groups: dict[tuple[int, int], Rollup], key: tuple[int, int], p: Rollup) -> None:
    """Merge rollup `p` into `groups[key]` (associative: order of merges does not matter)."""
    cur = groups.get(key)
    if cur is None:
        groups[key] = list(p)
        return
    cur[0] += p[0]
    if p[1] < cur[1]:
        cur[1] = p[1]
    if p[2] > cur[2]:
        cur[2] = p[2]
    cur[3] += p[3]
    if p[5] >= cur[5]:
        cur[4] = p[4]
        cur[5] = p[5]


def hourly(groups: dict[tuple[int, int], Rollup]) -> dict[tuple[int, int], Rollup]:
    """Fold 5-minute groups into hourly ones."""
    out: dict[tuple[int, int], Rollup] = {}
    for (sid, bucket), p in groups.items():
        merge_point(out, (sid, bucket - bucket % BUCKET_1H), p)
    return out
