"""Sample blocks: lossless packing, exact dedup on time, rollups that match point merging."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

from agent_bruno.storage import blocks
from agent_bruno.storage.base import ReadingsWrite, SeriesQuery
from agent_bruno.storage.block_cache import DecodedBlocks
from agent_bruno.storage.blocks import BlockError, decode, encode, merge, unique_first
from agent_bruno.storage.rollups import merge_point
from agent_bruno.storage.sqlite import SqliteStorage

T0 = 1_800_000_000.0


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal to the last bit (so -0.0 differs from 0.0)."""
    return a.shape == b.shape and bool(np.array_equal(a.view(np.int64), b.view(np.int64)))


rng = random.Random(3)
CASES = {
    "1 Hz, two decimals": (
        [T0 + i for i in range(3600)], [round(21 + rng.gauss(0, 1), 2) for _ in range(3600)]
    ),
    "irregular ms times, raw floats": (
        sorted(T0 + rng.random() * 3600 for _ in range(500)),
        [rng.gauss(0, 1e6) for _ in range(500)],
    ),
    "one point": ([T0 + 0.25], [1e-300]),
    "signed zeros and huge values": ([T0, T0 + 1, T0 + 2, T0 + 3], [-0.0, 0.0, 1.7e308, -1.7e308]),
    "integers": ([T0 + 10 * i for i in range(360)], [float(i % 7) for i in range(360)]),
    "year-2000 and year-2100 times": ([946_684_800.0, 4_102_444_800.0], [1.5, 2.5]),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_encode_decode_is_exact(name: str) -> None:
    ts, values = (np.array(x, dtype=np.float64) for x in CASES[name])
    got_ts, got_values = decode(encode(ts, values))
    assert same_bits(got_ts, ts)
    assert same_bits(got_values, values)


def test_a_steady_sensor_costs_about_a_byte_per_reading() -> None:
    ts, values = (np.array(x, dtype=np.float64) for x in CASES["1 Hz, two decimals"])
    assert len(encode(ts, values)) / len(ts) < 2.0


@pytest.mark.parametrize("damage", [b"", b"\x01\x01\x02", b"\x09" + bytes(20)])
def test_a_damaged_block_is_an_error_not_garbage(damage: bytes) -> None:
    with pytest.raises(BlockError):
        decode(damage)


def test_unique_first_keeps_the_first_value_offered_for_a_time() -> None:
    ts, values = unique_first(np.array([3.0, 1.0, 3.0, 2.0]), np.array([30.0, 10.0, 99.0, 20.0]))
    assert ts.tolist() == [1.0, 2.0, 3.0]
    assert values.tolist() == [10.0, 20.0, 30.0]


def test_merge_keeps_stored_values_and_reports_only_new_points() -> None:
    old_ts, old_values = np.array([T0, T0 + 2, T0 + 4]), np.array([1.0, 2.0, 3.0])
    got = merge(old_ts, old_values, np.array([T0 + 1, T0 + 2, T0 + 5]), np.array([7.0, 8.0, 9.0]))
    assert got.ts.tolist() == [T0, T0 + 1, T0 + 2, T0 + 4, T0 + 5]
    assert got.values.tolist() == [1.0, 7.0, 2.0, 3.0, 9.0]
    assert got.fresh_ts.tolist() == [T0 + 1, T0 + 5]


def test_merge_tells_times_apart_that_differ_in_the_last_bit() -> None:
    t = np.array([T0])
    nxt = np.array([math.nextafter(T0, math.inf)])
    assert len(merge(t, np.array([1.0]), nxt, np.array([2.0])).fresh_ts) == 1
    assert len(merge(t, np.array([1.0]), t.copy(), np.array([2.0])).fresh_ts) == 0


def test_rollups_match_merging_point_by_point() -> None:
    ts = np.array(sorted(T0 + rng.random() * 3600 for _ in range(1000)))
    values = np.array([round(rng.gauss(20, 3), 1) for _ in range(1000)])
    expected: dict[tuple[int, int], list[float]] = {}
    for t, v in zip(ts.tolist(), values.tolist(), strict=True):
        merge_point(expected, (0, int(t // 300) * 300), [1, v, v, v, v, t])
    got = {(0, b): p for b, p in blocks.rollups(ts, values, 300)}
    assert got.keys() == expected.keys()
    for key, p in got.items():
        assert p[:3] == expected[key][:3]
        assert p[3] == pytest.approx(expected[key][3])
        assert p[4:] == expected[key][4:]


def test_kept_decodings_are_exact_read_only_and_bounded_in_bytes() -> None:
    ts, values = (np.array(v, dtype=np.float64) for v in CASES["1 Hz, two decimals"])
    full, half = encode(ts, values), encode(ts[:1800], values[:1800])
    kept = DecodedBlocks(max_bytes=len(full) + len(half) + 16 * (3600 + 1800))  # those two
    first = kept.decode(full)
    assert kept.decode(bytes(full))[1] is first[1]  # an equal stored value: the kept arrays
    assert same_bits(first[0], ts)
    assert same_bits(first[1], values)
    assert same_bits(kept.decode(half)[1], values[:1800])  # another value, another entry
    with pytest.raises(ValueError, match="read-only"):
        first[1][0] = 0.0
    assert (kept.hits, kept.misses, len(kept)) == (1, 2, 2)
    kept.decode(encode(ts[:1000], values[:1000]))  # over the bound: the least recent goes
    assert len(kept) == 2
    kept.decode(full)
    assert kept.misses == 4  # `full` was dropped
    with pytest.raises(BlockError):
        kept.decode(b"\x01\x01")


def test_a_read_after_a_block_grew_sees_the_new_points(tmp_path: Path) -> None:
    storage = SqliteStorage(tmp_path / "db.sqlite")
    storage.open_writer()
    rows = [
        {"ts": T0 + 60 * i, "node": "n1", "location": "lab", "sensor": "s",
         "metric": "temperature", "value": float(i), "unit": "°C"}
        for i in range(4)
    ]  # fmt: skip
    query = SeriesQuery(T0, T0 + 3600, 60, node="n1")
    try:
        storage.apply_batch([ReadingsWrite(rows[:2])])
        assert [p.mean for p in storage.query_series(query)[0].points] == [0.0, 1.0]
        storage.apply_batch([ReadingsWrite(rows[2:])])  # the same hour's block, grown
        assert [p.mean for p in storage.query_series(query)[0].points] == [0.0, 1.0, 2.0, 3.0]
    finally:
        storage.close_writer()
        storage.close()


def _hour_rows(start: float, n: int, offset: int = 0) -> list[dict[str, object]]:
    return [
        {"ts": start + i, "node": "n1", "location": "lab", "sensor": "s",
         "metric": "temperature", "value": round(20 + (i + offset) % 17 * 0.01, 2), "unit": "°C"}
        for i in range(n)
    ]  # fmt: skip


def test_an_hour_filled_batch_by_batch_is_appended_in_parts_then_made_whole(
    tmp_path: Path,
) -> None:
    """Each batch that only extends the current hour is encoded on its own (a part), not the
    whole hour again; once the series goes on into the next hour, the closed one is encoded
    whole; every reading reads back exactly, and a repeated batch adds nothing."""
    import sqlite3

    hour = T0 - T0 % 3600
    storage = SqliteStorage(tmp_path / "db.sqlite")
    storage.open_writer()
    rows = _hour_rows(hour, 3600 + 600)
    try:
        for i in range(0, 3600, 600):
            storage.apply_batch([ReadingsWrite(rows[i : i + 600])])
        conn = sqlite3.connect(tmp_path / "db.sqlite")
        (data,) = conn.execute("SELECT data FROM sample_blocks").fetchone()
        assert blocks.parts_of(data) == 6
        again = storage.apply_batch([ReadingsWrite(rows[3000:3600])])[0]
        assert getattr(again, "accepted", None) == 0
        storage.apply_batch([ReadingsWrite(rows[3600:])])  # the next hour: the first closes
        stored = conn.execute("SELECT start, data FROM sample_blocks ORDER BY start").fetchall()
        assert [blocks.parts_of(d) for _, d in stored] == [1, 1]
        got_ts = np.concatenate([decode(d)[0] for _, d in stored])
        got_values = np.concatenate([decode(d)[1] for _, d in stored])
        assert got_ts.tolist() == [r["ts"] for r in rows]
        assert got_values.tolist() == [r["value"] for r in rows]
        conn.close()
    finally:
        storage.close_writer()
        storage.close()


def test_a_block_of_parts_decodes_exactly_and_a_damaged_one_is_an_error() -> None:
    ts, values = (np.array(x, dtype=np.float64) for x in CASES["1 Hz, two decimals"])
    block = encode(ts[:100], values[:100])
    for a in range(100, 3600, 500):
        block = blocks.append(block, ts[a : a + 500], values[a : a + 500])
    got_ts, got_values = decode(block)
    assert same_bits(got_ts, ts)
    assert same_bits(got_values, values)
    for damaged in (block[:-3], block[:9], block + b"\x00"):
        with pytest.raises(BlockError):
            decode(damaged)
