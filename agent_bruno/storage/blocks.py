"""Raw samples packed into blocks: one compressed block per series and hour, pure functions.

A row per reading cost 23 bytes on disk (key, REAL value, record and B-tree overhead). A block
holds every reading of one series in one hour, sorted by time, encoded losslessly:

- timestamps as the differences between the IEEE-754 bit patterns of consecutive times (exact
  for any float; a steady 1 Hz series makes them all equal),
- values as decimal integers with differences when every value of the block round-trips
  exactly through `k` decimals (what sensors report), otherwise as raw float bits,
- both byte-shuffled (the n-th byte of every number together) and compressed with zstd.

A block that grows at its end (the current hour, batch by batch) is not encoded again whole
each time: the new points are encoded on their own and appended as a part (`append`), up to
MAX_PARTS parts, and the writer encodes the block whole again once its hour has moved on.
Re-encoding the whole hour for every 5,000-reading batch cost the writer about a quarter of
its time.

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
# A block of parts: format, parts, count; then per part its length and a FORMAT block.
PARTS_FORMAT = 2
MAX_PARTS = 32
_PARTS_HEADER = struct.Struct("<BHI")
_PART_LENGTH = struct.Struct("<I")
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


def _parts(block: bytes) -> list[bytes]:
    """The FORMAT blocks a block of parts holds (BlockError when it is damaged)."""
    if len(block) < _PARTS_HEADER.size:
        raise BlockError(f"a sample block of {len(block)} bytes is too short")
    _, count, _ = _PARTS_HEADER.unpack_from(block)
    out, at = [], _PARTS_HEADER.size
    for _ in range(count):
        if at + _PART_LENGTH.size > len(block):
            raise BlockError("a sample block ends inside its parts")
        (length,) = _PART_LENGTH.unpack_from(block, at)
        at += _PART_LENGTH.size
        out.append(block[at : at + length])
        at += length
    if at != len(block):
        raise BlockError(f"a sample block's parts hold {at} of its {len(block)} bytes")
    return out


def parts_of(block: bytes) -> int:
    """How many parts a block is made of (1 for a block encoded whole)."""
    if block[:1] == bytes((PARTS_FORMAT,)):
        return int(_PARTS_HEADER.unpack_from(block)[1])
    return 1


def append(block: bytes, ts: Floats, values: Floats, decimals: int = 0) -> bytes:
    """`block` with points later than all of its own appended as one more part (sorted by
    time, unique times): only the new points are encoded (`decimals` as for `encode`)."""
    part = encode(ts, values, decimals)
    if block[:1] == bytes((PARTS_FORMAT,)):
        _, count, n = _PARTS_HEADER.unpack_from(block)
        head = _PARTS_HEADER.pack(PARTS_FORMAT, count + 1, n + len(ts))
        body = block[_PARTS_HEADER.size :]
    else:
        n = _HEADER.unpack_from(block)[3]
        head = _PARTS_HEADER.pack(PARTS_FORMAT, 2, n + len(ts))
        body = _PART_LENGTH.pack(len(block)) + block
    return head + body + _PART_LENGTH.pack(len(part)) + part


def decimals_of(block: bytes) -> int:
    """The decimals a block's values are stored with (MAX_DECIMALS + 1 when as raw bits); of
    a block of parts, the most any part uses."""
    if block[:1] == bytes((PARTS_FORMAT,)):
        return max(decimals_of(part) for part in _parts(block))
    _, kind, k, _ = _HEADER.unpack_from(block)
    return int(k) if kind == _DECIMAL else MAX_DECIMALS + 1


def decode(block: bytes) -> tuple[Floats, Floats]:
    """The (times, values) of a block."""
    if block[:1] != bytes((PARTS_FORMAT,)):
        return _decode_one(block)
    decoded = [_decode_one(part) for part in _parts(block)]
    if not decoded:
        raise BlockError("a sample block holds no parts")
    n = _PARTS_HEADER.unpack_from(block)[2]
    ts = np.concatenate([t for t, _ in decoded])
    if len(ts) != n:
        raise BlockError(f"a sample block's parts hold {len(ts)} points, not {n}")
    return ts, np.concatenate([v for _, v in decoded])


def _decode_one(block: bytes) -> tuple[Floats, Floats]:
    """The (times, values) of a block encoded whole."""
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


def keyed_rollups(
    keys: npt.NDArray[np.int64], ts: Floats, values: Floats, width: int
) -> dict[tuple[int, int], list[float]]:
    """Per (key, `width`-second bucket) of points sorted by time within each key, each key's
    points contiguous: [count, min, max, sum, last, last_ts]. One pass over the points of
    every series of a batch (per series, the same numpy calls cost a batch more than the
    rest of its merge)."""
    if len(ts) == 0:
        return {}
    buckets = floor_buckets(ts, width)
    new = np.empty(len(ts), dtype=bool)
    new[0] = True
    np.not_equal(buckets[1:], buckets[:-1], out=new[1:])
    new[1:] |= keys[1:] != keys[:-1]
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(ts)) - 1
    counts = np.diff(np.append(starts, len(ts)))
    mins = np.minimum.reduceat(values, starts)
    maxs = np.maximum.reduceat(values, starts)
    with np.errstate(over="ignore"):  # an overflowing sum is refused by the writer, not here
        sums = np.add.reduceat(values, starts)
    return {
        (k, b): [c, lo, hi, s, last, last_ts]
        for k, b, c, lo, hi, s, last, last_ts in zip(
            keys[starts].tolist(), buckets[starts].tolist(), counts.tolist(), mins.tolist(),
            maxs.tolist(), sums.tolist(), values[ends].tolist(), ts[ends].tolist(), strict=True,
        )
    }  # fmt: skip
