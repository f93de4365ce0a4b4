"""Encoded read answers kept until the data they come from changes (the storage's version)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field

MAX_ENTRIES = 512
MAX_ENTRY_BYTES = 1 << 20  # bigger answers are not kept
MAX_BYTES = 32 << 20


@dataclass(slots=True)
class AnswerCache:
    """Encoded answers by (query, storage version), least recently used dropped first, bounded
    in entries and bytes. Used from the event loop only (no lock)."""

    max_entries: int = MAX_ENTRIES
    max_bytes: int = MAX_BYTES
    max_entry_bytes: int = MAX_ENTRY_BYTES
    _entries: OrderedDict[tuple[Hashable, int], bytes] = field(default_factory=OrderedDict)
    _bytes: int = 0
    hits: int = 0
    misses: int = 0

    def get(self, query: Hashable, version: int) -> bytes | None:
        """The answer kept for `query` at `version`, if any."""
        body = self._entries.get((query, version))
        if body is None:
            self.misses += 1
            return None
        self._entries.move_to_end((query, version))
        self.hits += 1
        return body

    def put(self, query: Hashable, version: int, body: bytes) -> None:
        """Keep an answer (unless it is too big); older versions' answers go first."""
        if len(body) > self.max_entry_bytes:
            return
        key = (query, version)
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old)
        self._entries[key] = body
        self._bytes += len(body)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._entries)
