"""Raw samples packed into blocks: one compressed block per series and hour, pure functions.

A row per reading cost 23 bytes on disk (key, REAL value, record and B-tree overhead). A block
holds every reading of one series in one hour, sorted by time, encoded losslessly:

- timestamps as the differences between the IEEE-754 bit patterns of consecutive times (exact
  for any float; a steady 1 Hz series makes them all equal),
- values as decimal integers with differences when every value of the block round-trips
  exactly through `k` decimals (what sensors report), otherwise as raw float bits,
- both byte-shuffled (the n-th byte of every number together) and compressed with zstd.

Dedup stays exact on (series, ts): a block is merged with new points by their float value.
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import zstandard

BLOCK_S = 3600  # one block per series per hour
FORMAT = 1
MAX_DECIMALS = 6
_HEADER = struct.Struct("<BBBI")  # format, value encoding, decimals, count
_RAW, _DECIMAL = 0, 1
# Beyond 2**53 a decimal integer is no longer exact in a float; keep far below.
_MAX_SCALED = 2.0**52
_ZSTD_LEVEL = 3

Floats = npt.NDArray[np.float64]
_local = threading.local()


class BlockError(ValueError):
    """A stored block cannot be decoded (a foreign or damaged value)."""


@dataclass(frozen=True, slots=True)
class Merged:
    """A block's points after a merge, and which of the offered points were new."""

    ts: Floats
    values: Floats
    fresh_ts: Floats
    fresh_values: Floats


def window(ts: float) -> int:
    """The start of the block holding `ts`."""
    return int(ts // BLOCK_S) * BLOCK_S


def _compressor() -> zstandard.ZstdCompressor:
    """This thread's compressor (zstd contexts are not shared between threads)."""
    c: zstandard.ZstdCompressor | None = getattr(_local, "c", None)
    if c is None:
        c = _local.c = zstandard.ZstdCompressor(level=_ZSTD_LEVEL)
    return c


def _decompressor() -> zstandard.ZstdDecompressor:
    """This thread's decompressor."""
    d: zstandard.ZstdDecompressor | None = getattr(_local, "d", None)
    if d is None:
        d = _local.d = zstandard.ZstdDecompressor()
    return d


def _shuffle(words: npt.NDArray[np.int64]) -> bytes:
    """The n-th byte of every 8-byte word together: runs of equal bytes compress well."""
    return words.view(np.uint8).reshape(-1, 8).T.tobytes()


def _unshuffle(raw: bytes, n: int) -> npt.NDArray[np.int64]:
    """Inverse of `_shuffle` for `n` words."""
    return np.frombuffer(raw, dtype=np.uint8).reshape(8, n).T.copy().view(np.int64).ravel()


def _decimals(values: Floats, start: int = 0) -> tuple[int, npt.NDArray[np.int64]] | None:
    """The fewest decimals `k` from `start` on that every value round-trips through exactly,
    with the scaled integers; None when there is none up to MAX_DECIMALS."""
    bits = values.view(np.int64)
    peak = float(np.max(np.abs(values))) if len(values) else 0.0
    for k in range(start, MAX_DECIMALS + 1):
        scale = 10.0**k
        # The largest magnitude scales to the largest: checked first, no product overflows.
        if not peak * scale < _MAX_SCALED:  # NaN too
            return None
        scaled = np.round(values * scale).astype(np.int64)
        if np.array_equal((scaled / scale).view(np.int64), bits):  # exactly what decode does
            return k, scaled
    return None


def _delta(words: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Each word minus the one before it (the first minus 0); `np.diff` with `prepend` cost
    five times as much."""
    out = np.empty_like(words)
    if len(words):
        out[0] = words[0]
        np.subtract(words[1:], words[:-1], out=out[1:])
    return out


def encode(ts: Floats, values: Floats, decimals: int = 0) -> bytes:
    """Pack points sorted by time (unique times) into a block.

    `decimals` is where the search for the values' decimals starts: a block merged from
    stored points needs at least the decimals those were stored with (`decimals_of`), so
    starting there finds the same answer with fewer tries."""
    n = len(ts)
    found = _decimals(values, decimals)
    if found is None:
        kind, k, words = _RAW, 0, values.view(np.int64)
    else:
        kind, (k, words) = _DECIMAL, found
    payload = _shuffle(_delta(ts.view(np.int64))) + _shuffle(_delta(words))
    return _HEADER.pack(FORMAT, kind, k, n) + _compressor().compress(payload)


def decimals_of(block: bytes) -> int:
    """The decimals a block's values are stored with (MAX_DECIMALS + 1 when as raw bits)."""
    _, kind, k, _ = _HEADER.unpack_from(block)
    return int(k) if kind == _DECIMAL else MAX_DECIMALS + 1


def decode(block: bytes) -> tuple[Floats, Floats]:
    """The (times, values) of a block."""
    if len(block) < _HEADER.size:
        raise BlockError(f"a sample block of {len(block)} bytes is too short")
    fmt, kind, k, n = _HEADER.unpack_from(block)
    if fmt != FORMAT or kind not in (_RAW, _DECIMAL):
        raise BlockError(f"sample block format {fmt}/{kind} is not one this agent-bruno reads")
    try:
        payload = _decompressor().decompress(block[_HEADER.size :])
    except zstandard.ZstdError as exc:
        raise BlockError(f"a sample block does not decompress: {exc}") from exc
    if len(payload) != 16 * n:
        raise BlockError(f"a sample block holds {len(payload)} bytes for {n} points")
    ts = np.cumsum(_unshuffle(payload[: 8 * n], n)).view(np.float64)
    words = np.cumsum(_unshuffle(payload[8 * n :], n))
    values = words.view(np.float64) if kind == _RAW else words / 10.0**k
    return ts, values


def unique_first(ts: Floats, values: Floats) -> tuple[Floats, Floats]:
    """Points sorted by time with one point per time: the first offered wins."""
    if len(ts) < 2 or bool(np.all(ts[1:] > ts[:-1])):
        return ts, values  # already sorted without repeats: how a backfill arrives
    order = np.argsort(ts, kind="stable")
    sorted_ts = ts[order]
    keep = np.ones(len(sorted_ts), dtype=bool)
    keep[1:] = sorted_ts[1:] != sorted_ts[:-1]
    return sorted_ts[keep], values[order][keep]


def merge(old_ts: Floats, old_values: Floats, ts: Floats, values: Floats) -> Merged:
    """Add sorted unique points to a block's; a time already stored keeps its stored value."""
    if len(old_ts) == 0:
        return Merged(ts, values, ts, values)
    if ts[0] > old_ts[-1]:  # appending, the usual case
        return Merged(
            np.concatenate((old_ts, ts)), np.concatenate((old_values, values)), ts, values
        )
    at = np.searchsorted(old_ts, ts)
    clipped = np.minimum(at, len(old_ts) - 1)
    new = old_ts[clipped] != ts
    fresh_ts, fresh_values = ts[new], values[new]
    all_ts = np.concatenate((old_ts, fresh_ts))
    order = np.argsort(all_ts, kind="stable")
    return Merged(
        all_ts[order], np.concatenate((old_values, fresh_values))[order], fresh_ts, fresh_values
    )


def floor_buckets(ts: Floats, width: int) -> npt.NDArray[np.int64]:
    """`(ts // width) * width` for every time, exactly, at a twentieth of the cost: numpy's
    float floor division computes a remainder; a quotient rounded to the next integer is put
    back by an exact check (q * width is a whole number far below 2**53)."""
    q = np.floor(ts / width)
    q -= q * width > ts
    q += (q + 1) * width <= ts
    return q.astype(np.int64) * width


@dataclass(frozen=True, slots=True)
class Buckets:
    """Sorted points grouped into buckets: each bucket's start and statistics, as columns."""

    starts: list[int]
    counts: list[int]
    mins: list[float]
    maxs: list[float]
    sums: list[float]
    lasts: list[float]
    last_ts: list[float]


def buckets_of(ts: Floats, values: Floats, width: int) -> Buckets:
    """Per `width`-second bucket of sorted points, in bucket order."""
    if len(ts) == 0:
        return Buckets([], [], [], [], [], [], [])
    buckets = floor_buckets(ts, width)
    starts = np.flatnonzero(np.concatenate(([True], buckets[1:] != buckets[:-1])))
    ends = np.append(starts[1:], len(ts)) - 1
    counts = np.diff(np.append(starts, len(ts)))
    mins = np.minimum.reduceat(values, starts)
    maxs = np.maximum.reduceat(values, starts)
    with np.errstate(over="ignore"):  # an overflowing sum is refused by the writer, not here
        sums = np.add.reduceat(values, starts)
    return Buckets(
        buckets[starts].tolist(),
        counts.tolist(),
        mins.tolist(),
        maxs.tolist(),
        sums.tolist(),
        values[ends].tolist(),
        ts[ends].tolist(),
    )


def rollups(ts: Floats, values: Floats, width: int) -> list[tuple[int, list[float]]]:
    """Per `width`-second bucket of sorted points: (bucket, [count, min, max, sum, last,
    last_ts]), in bucket order."""
    g = buckets_of(ts, values, width)
    return [
        (b, [c, lo, hi, s, last, last_ts])
        for b, c, lo, hi, s, last, last_ts in zip(
            g.starts, g.counts, g.mins, g.maxs, g.sums, g.lasts, g.last_ts, strict=True
        )
    ]
