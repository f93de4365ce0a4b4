"""The catalog as one turn sees it: read once per question, and only when the data changed.

Every step of a turn wants the stored names (understanding, the system message, each tool's
name checks). With 20,000 series one catalog read and its vocabulary took a good part of a
second, on the event loop, several times per question; now a turn reads it once, and every
step of that turn shares the result. A turn is the run `AgentService` starts
(`AgentContext.catalog`, replaced with a fresh `TurnCatalog` for each run).

Between turns the snapshot is kept in a `CatalogCache` (one per agent) under the storage's
version, which every commit that changes data moves on: a turn after a write reads the
catalog again (in a worker thread, off the event loop), a turn at the same version takes the
kept snapshot without a read or a thread hop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from agent_bruno.agent.nlu.reading import TurnReading
from agent_bruno.agent.nlu.vocabulary import Vocabulary
from agent_bruno.storage.base import CatalogRow


class CatalogSource(Protocol):
    """Where the catalog comes from."""

    def catalog(self) -> list[CatalogRow]:
        """Every stored series."""
        ...


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The catalog's rows and the vocabulary built from them."""

    rows: Sequence[CatalogRow]
    vocabulary: Vocabulary


class CatalogCache:
    """The last snapshot read and the storage version it was read at (one per agent)."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.snapshot: Snapshot | None = None
        self.reads = 0  # catalog reads made (what a test of the cache counts)

    def get(self, version: int | None) -> Snapshot | None:
        """The snapshot read at `version`, if that is the one kept; None always for None."""
        if version is None or version != self.version:
            return None
        return self.snapshot

    def put(self, version: int | None, snapshot: Snapshot) -> None:
        """Keep `snapshot` as read at `version` (nothing is kept for None)."""
        if version is not None:
            self.version, self.snapshot = version, snapshot


class TurnCatalog:
    """What one turn has read of the catalog so far (a fresh one per run)."""

    def __init__(self, cache: CatalogCache | None = None) -> None:
        self.snapshot: Snapshot | None = None
        self.lock = asyncio.Lock()
        self.cache = cache
        # What the turn has read of its question before the agent ran (the desks' check),
        # for the understanding to reuse.
        self.reading: TurnReading | None = None


def _build(source: CatalogSource) -> Snapshot:
    rows = source.catalog()
    return Snapshot(rows, Vocabulary.from_catalog(rows))


def _version(source: CatalogSource) -> int | None:
    """The source's data version (`Storage.version`), None for a source without one."""
    version = getattr(source, "version", None)
    return version if isinstance(version, int) else None


async def _read(source: CatalogSource, cache: CatalogCache | None) -> Snapshot:
    # The version is read before the catalog: a commit during the read moves it on, and the
    # next turn reads again rather than keep a snapshot older than its version says.
    version = _version(source)
    if cache is not None:
        kept = cache.get(version)
        if kept is not None:
            return kept
        cache.reads += 1
    built = await asyncio.to_thread(_build, source)
    if cache is not None:
        cache.put(version, built)
    return built


async def snapshot(source: CatalogSource, turn: TurnCatalog | None) -> Snapshot:
    """The catalog for this turn (read, when the kept one is out of date, in a worker thread
    the first time); `turn` None reads afresh."""
    if turn is None:
        return await asyncio.to_thread(_build, source)
    async with turn.lock:
        if turn.snapshot is None:
            turn.snapshot = await _read(source, turn.cache)
        return turn.snapshot
