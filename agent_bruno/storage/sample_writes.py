"""Bulk readings into sample blocks: merge, dedup on (series, ts), rollups, and pruning.

Readings arrive as columns; each series' readings are sorted and deduplicated (first offered
wins) with numpy, then merged hour block by hour block into the blocks this transaction
changed, which `flush` writes (one statement) before the commit. Blocks written by recent
commits are kept decoded (`recent`), so an import that fills the current hour's block batch by
batch does not read and decode it back each time, and with their stored bytes, so points that
only extend a block are encoded on their own and appended as a part (`blocks.append`). The
block a series grew by parts is encoded whole again once the series has points in a later
hour (`_open`), so closed hours are stored as compactly as before.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict

import numpy as np

from agent_bruno.reading_columns import ReadingColumns
from agent_bruno.storage import blocks
from agent_bruno.storage.base import PruneWrite, WriteOutcome
from agent_bruno.storage.blocks import BLOCK_S, Floats
from agent_bruno.storage.rollups import Rollup
from agent_bruno.storage.schema import BUCKET_5M

BlockKey = tuple[int, int]  # (series id, block start)
# A block's points, the decimals its values need at least (`blocks.encode`), and its encoded
# bytes (None: `flush` encodes it whole).
Points = tuple[Floats, Floats, int, bytes | None]
RECENT_BLOCKS = 256  # decoded blocks kept after their commit (at most ~15 MB of points)
_EMPTY: Floats = np.empty(0, dtype=np.float64)
_UPSERT_BLOCK = """
INSERT INTO sample_blocks (series_id, start, count, first_ts, last_ts, data)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (series_id, start) DO UPDATE SET
    count = excluded.count, first_ts = excluded.first_ts, last_ts = excluded.last_ts,
    data = excluded.data
"""


class SampleBlocks:
    """The blocks of the writer's connection: changed by this transaction, and recent ones."""

    def __init__(self, conn: sqlite3.Connection, recent: int = RECENT_BLOCKS) -> None:
        self.conn = conn
        self._dirty: dict[BlockKey, Points] = {}
        self._recent: OrderedDict[BlockKey, Points] = OrderedDict()
        self._max_recent = recent
        # Per series, the start of its block stored in parts that is still to be made whole.
        self._open: dict[int, int] = {}

    def forget(self) -> None:
        """After a transaction failed: drop its blocks, and the kept ones too (cheap to read
        again, and nothing then depends on what a failed commit left behind)."""
        self._dirty.clear()
        self._recent.clear()
        self._open.clear()

    def merge(
        self,
        columns: ReadingColumns,
        sids: dict[int, int],
        rollups: dict[tuple[int, int], Rollup],
        spans: dict[int, tuple[float, float]],
    ) -> tuple[int, dict[BlockKey, Points]]:
        """Merge readings (`sids[k]`: the id of `columns.keys[k]`) with this transaction's
        blocks; fill `rollups` with the 5-minute groups and `spans` with the times of what is
        new. Return how many readings were new and the blocks they change, which `adopt`
        makes part of the transaction once the caller's statements all worked."""
        changed: dict[BlockKey, Points] = {}
        # Sorted by series, then time, the first offered first among equal times (lexsort is
        # stable), and one point per (series, time): the first offered wins.
        order = np.lexsort((columns.ts, columns.series))
        series, ts, values = columns.series[order], columns.ts[order], columns.values[order]
        if len(ts) > 1:
            keep = np.ones(len(ts), dtype=bool)  # the first point is new; the rest set below
            np.not_equal(series[1:], series[:-1], out=keep[1:])
            keep[1:] |= ts[1:] != ts[:-1]
            if not keep.all():
                series, ts, values = series[keep], ts[keep], values[keep]
        wins = blocks.floor_buckets(ts, BLOCK_S)
        cuts = np.flatnonzero((series[1:] != series[:-1]) | (wins[1:] != wins[:-1])) + 1
        bounds = [0, *cuts.tolist(), len(ts)]
        fresh_ts: list[Floats] = []
        fresh_values: list[Floats] = []
        fresh_sids: list[int] = []
        for a, b, k, start in zip(
            bounds[:-1], bounds[1:], series[bounds[:-1]].tolist(), wins[bounds[:-1]].tolist(),
            strict=True,
        ):  # fmt: skip
            sid = sids[k]
            key = (sid, start)
            old_ts, old_values, decimals, data = changed.get(key) or self._block(key)
            merged = blocks.merge(old_ts, old_values, ts[a:b], values[a:b])
            if len(merged.fresh_ts) == 0:
                continue
            changed[key] = (merged.ts, merged.values, decimals,
                            self._grown(key, old_ts, data, decimals, merged, changed))  # fmt: skip
            fresh_ts.append(merged.fresh_ts)
            fresh_values.append(merged.fresh_values)
            fresh_sids.append(sid)
            first, last = float(merged.fresh_ts[0]), float(merged.fresh_ts[-1])
            span = spans.get(sid)
            spans[sid] = (first, last) if span is None else (min(span[0], first),
                                                              max(span[1], last))  # fmt: skip
        if not fresh_ts:
            return 0, changed
        counts = [len(t) for t in fresh_ts]
        keys = np.repeat(np.array(fresh_sids, dtype=np.int64), counts)
        # A series' new points are contiguous and sorted: each (series, bucket) once.
        rollups.update(
            blocks.keyed_rollups(keys, np.concatenate(fresh_ts), np.concatenate(fresh_values),
                                 BUCKET_5M)
        )  # fmt: skip
        accepted = sum(counts)
        return accepted, changed

    def _grown(
        self,
        key: BlockKey,
        old_ts: Floats,
        data: bytes | None,
        decimals: int,
        merged: blocks.Merged,
        changed: dict[BlockKey, Points],
    ) -> bytes | None:
        """The bytes of a block that `merged` grew: the stored ones with the new points
        appended as a part when they all come after the stored ones, else None (encoded whole
        at `flush`). A series' block that went on in parts before an earlier one of it was made
        whole gets that one made whole (in `changed`)."""
        sid, start = key
        opened = self._open.get(sid)
        if opened is not None and opened < start:
            earlier = changed.get((sid, opened)) or self._block((sid, opened))
            if earlier[3] is not None and blocks.parts_of(earlier[3]) > 1:
                changed[(sid, opened)] = (*earlier[:3], None)
            del self._open[sid]
        if data is None or len(old_ts) == 0 or not merged.fresh_ts[0] > old_ts[-1]:
            return None
        if blocks.parts_of(data) >= blocks.MAX_PARTS:
            return None
        if opened is None or opened < start:
            self._open[sid] = start
        return blocks.append(data, merged.fresh_ts, merged.fresh_values, decimals)

    def adopt(self, changed: dict[BlockKey, Points]) -> None:
        """Make blocks from `merge` part of this transaction (`flush` writes them)."""
        self._dirty.update(changed)

    def _block(self, key: BlockKey) -> Points:
        """The points of one block as of this transaction (empty when there is none)."""
        pending = self._dirty.get(key)
        if pending is not None:
            return pending
        kept = self._recent.get(key)
        if kept is not None:
            return kept
        row = self.conn.execute(
            "SELECT data FROM sample_blocks WHERE series_id = ? AND start = ?", key
        ).fetchone()
        if row is None:
            return _EMPTY, _EMPTY, 0, None
        return (*blocks.decode(row[0]), blocks.decimals_of(row[0]), row[0])

    def flush(self) -> None:
        """Write the blocks this transaction changed (one statement for all of them)."""
        if not self._dirty:
            return
        rows = []
        for key, (ts, values, decimals, data) in self._dirty.items():
            if data is None:
                data = blocks.encode(ts, values, decimals)
                self._dirty[key] = (ts, values, blocks.decimals_of(data), data)
            rows.append((*key, len(ts), float(ts[0]), float(ts[-1]), data))
        self.conn.executemany(_UPSERT_BLOCK, rows)

    def committed(self) -> None:
        """The transaction is durable: keep its blocks decoded for the next ones."""
        for key, points in self._dirty.items():
            self._recent[key] = points
            self._recent.move_to_end(key)
        self._dirty.clear()
        while len(self._recent) > self._max_recent:
            self._recent.popitem(last=False)

    def prune(self, req: PruneWrite) -> WriteOutcome:
        """Delete whole blocks older than the cutoff, about `batch` readings at a time; in the
        last round, cut the expired readings out of the blocks the cutoff falls in.

        Blocks this transaction changed are left to the next pass (they are written at commit).
        """
        whole = self.conn.execute(
            "SELECT rowid, count, series_id, start FROM sample_blocks WHERE start <= ? "
            "ORDER BY start LIMIT ?",
            (req.before - BLOCK_S, max(1, req.batch)),
        ).fetchall()
        picked, deleted = [], 0
        for rowid, n, sid, start in whole:
            if deleted >= req.batch:
                break
            picked.append((rowid,))
            self._recent.pop((sid, start), None)
            deleted += n
        self.conn.executemany("DELETE FROM sample_blocks WHERE rowid = ?", picked)
        if deleted >= req.batch:
            return WriteOutcome(accepted=deleted)
        straddling = self.conn.execute(
            "SELECT series_id, start, data FROM sample_blocks WHERE start > ? AND start < ?",
            (req.before - BLOCK_S, req.before),
        ).fetchall()
        trimmed = []
        for sid, start, data in straddling:
            if (sid, start) in self._dirty:
                continue
            ts, values = blocks.decode(data)
            keep = ts >= req.before
            deleted += int(len(ts) - np.count_nonzero(keep))
            if not keep.all():
                self._recent.pop((sid, start), None)
            if not keep.any():
                self.conn.execute(
                    "DELETE FROM sample_blocks WHERE series_id = ? AND start = ?", (sid, start)
                )
            elif not keep.all():
                trimmed.append(_block_row(sid, start, ts[keep], values[keep]))
        self.conn.executemany(_UPSERT_BLOCK, trimmed)
        return WriteOutcome(accepted=deleted)


def _block_row(
    sid: int, start: int, ts: Floats, values: Floats, decimals: int = 0
) -> tuple[int, int, int, float, float, bytes]:
    """The `sample_blocks` row of a block's points."""
    data = blocks.encode(ts, values, decimals)
    return (sid, start, len(ts), float(ts[0]), float(ts[-1]), data)
