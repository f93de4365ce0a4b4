"""Decoded sample blocks kept for reads, keyed by the stored bytes themselves.

A read of recent raw data decodes the same few blocks again and again (a dashboard's windows
overlap; the current hour's block is in every one). Keyed by the block's stored value, a kept
decoding is exact by construction: a block that changed is another key, and the old one ages
out. Bounded in bytes, least recently used dropped first; shared by the reader threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from agent_bruno.storage import blocks
from agent_bruno.storage.blocks import Floats

MAX_BYTES = 16 << 20


class DecodedBlocks:
    """`blocks.decode` with the answers kept (read-only arrays: callers must not write)."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[bytes, tuple[Floats, Floats]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def decode(self, data: bytes) -> tuple[Floats, Floats]:
        """The (times, values) of a stored block."""
        with self._lock:
            found = self._entries.get(data)
            if found is not None:
                self._entries.move_to_end(data)
                self.hits += 1
                return found
            self.misses += 1
        ts, values = blocks.decode(data)
        ts.flags.writeable = False
        values.flags.writeable = False
        cost = _cost(data, ts)
        if cost > self.max_bytes:
            return ts, values
        with self._lock:
            if data not in self._entries:
                self._entries[data] = (ts, values)
                self._bytes += cost
            while self._bytes > self.max_bytes:
                old, (old_ts, _) = self._entries.popitem(last=False)
                self._bytes -= _cost(old, old_ts)
        return ts, values

    def __len__(self) -> int:
        return len(self._entries)


def _cost(data: bytes, ts: Floats) -> int:
    """Bytes an entry holds: the key and both arrays."""
    return len(data) + 2 * ts.nbytes
