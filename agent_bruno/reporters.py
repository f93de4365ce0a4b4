"""What the agent holds each reporter to: the place it first registered, and a series budget.

A reporter token authenticates a node; these rules keep it to its own corner of the data:

- the first batch of a node registers its (cluster, location); a later batch claiming another
  place is refused (403, logged), unless moves are allowed (AGENT_BRUNO_REPORTER_MOVES=allow),
  in which case the move is accepted, logged and listed in `/v1/nodes`;
- a node may create at most `max_series` series (sensor, metric, unit); items that would create
  more are refused by item and counted, so one token cannot flood the catalog every question
  reads.

Loaded once from the stored catalog (off the event loop), then kept up to date at ingest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from agent_bruno.storage.base import CatalogRow

log = logging.getLogger(__name__)

Place = tuple[str, str]  # (cluster, location)
SeriesName = tuple[str, str, str]  # (sensor, metric, unit)
Moves = Literal["refuse", "allow"]


class CatalogSource(Protocol):
    """Where the registry loads from."""

    def catalog(self) -> list[CatalogRow]:
        """Every stored series."""
        ...


@dataclass(frozen=True, slots=True)
class Move:
    """A node that reported from another place than it had registered."""

    node: str
    before: Place
    after: Place
    at: float


@dataclass(slots=True)
class Reporters:
    """Registered places and series per node."""

    places: dict[str, Place] = field(default_factory=dict)
    series: dict[str, set[SeriesName]] = field(default_factory=dict)
    moves: list[Move] = field(default_factory=list)
    refused_series: int = 0
    _loaded: bool = False
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def load(self, source: CatalogSource) -> None:
        """Read every node's place and series from storage, once."""
        if self._loaded:
            return
        async with self._lock:
            if not self._loaded:
                self.absorb(await asyncio.to_thread(source.catalog))
                self._loaded = True

    def absorb(self, rows: Iterable[CatalogRow]) -> None:
        """Take places (the oldest series' place wins) and series from catalog rows."""
        first: dict[str, tuple[float, Place]] = {}
        for r in rows:
            self.series.setdefault(r.node, set()).add((r.sensor, r.metric, r.unit))
            seen = first.get(r.node)
            if seen is None or r.first_ts < seen[0]:
                first[r.node] = (r.first_ts, (r.cluster, r.location))
        for node, (_, place) in first.items():
            self.places.setdefault(node, place)

    def check_place(self, node: str, place: Place, moves: Moves) -> str | None:
        """Register `node` at `place` if new; why a batch from `place` is refused, or None."""
        known = self.places.get(node)
        if known is None:
            self.places[node] = place
            log.info("reporter %s registered at %s/%s", node, *place)
            return None
        if known == place:
            return None
        if moves == "allow":
            self.places[node] = place
            self.moves.append(Move(node, known, place, time.time()))
            del self.moves[:-100]
            log.warning("reporter %s moved from %s/%s to %s/%s", node, *known, *place)
            return None
        log.warning(
            "reporter %s sent a batch for %s/%s but is registered at %s/%s; refused",
            node, *place, *known,
        )  # fmt: skip
        return (
            f"node {node!r} is registered in cluster {known[0]!r}, location {known[1]!r}, but "
            f"this batch says cluster {place[0]!r}, location {place[1]!r}; a reporter token "
            "files data only where its node first registered. If the node really moved, set "
            "AGENT_BRUNO_REPORTER_MOVES=allow on the agent"
        )

    def admit_series(self, node: str, name: SeriesName, max_series: int) -> bool:
        """Whether an item of series `name` may be stored for `node` (counted when new)."""
        known = self.series.setdefault(node, set())
        if name in known:
            return True
        if len(known) >= max_series:
            self.refused_series += 1
            return False
        known.add(name)
        return True
