"""The catalog as one turn sees it: read once per question, built off the event loop.

Every step of a turn wants the stored names (understanding, the system message, each tool's
name checks). With 20,000 series one catalog read and its vocabulary took a good part of a
second, on the event loop, several times per question; now a turn reads it once, in a worker
thread, and every step of that turn shares the result. A turn is the run `AgentService` starts
(`AgentContext.catalog`, replaced with a fresh `TurnCatalog` for each run).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

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


class TurnCatalog:
    """What one turn has read of the catalog so far (a fresh one per run)."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None
        self.lock = asyncio.Lock()


def _build(source: CatalogSource) -> Snapshot:
    rows = source.catalog()
    return Snapshot(rows, Vocabulary.from_catalog(rows))


async def snapshot(source: CatalogSource, turn: TurnCatalog | None) -> Snapshot:
    """The catalog for this turn (read in a worker thread the first time); `turn` None reads
    afresh."""
    if turn is None:
        return await asyncio.to_thread(_build, source)
    async with turn.lock:
        if turn.snapshot is None:
            turn.snapshot = await asyncio.to_thread(_build, source)
        return turn.snapshot
