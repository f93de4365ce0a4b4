"""What exists, by kind (locations, nodes, sensors, metrics), and close matches for a name."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from agent_bruno.storage.base import CatalogRow

Kind = Literal["location", "node", "sensor", "metric"]
KINDS: tuple[Kind, ...] = ("location", "node", "sensor", "metric")
_SEP = re.compile(r"[\s_\-]+")


def squash(name: str) -> str:
    """A name without case, spaces, hyphens or underscores ("Server Room" → "serverroom")."""
    return _SEP.sub("", name.lower())


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The names stored in the catalog, and which node is where and which metric has what unit."""

    locations: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    sensors: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    node_location: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    # Per kind, each squashed name → the first stored name with it; built on first use. A
    # vocabulary is built from one catalog read and kept until a write changes the data
    # (`catalog.CatalogCache`), so the index lives as long as the names it indexes.
    _squashed: dict[Kind, dict[str, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_catalog(cls, rows: Sequence[CatalogRow]) -> Vocabulary:
        """Collect the names of every stored series (the newest location of a node wins)."""
        node_location: dict[str, tuple[float, str]] = {}
        units: dict[str, str] = {}
        for r in rows:
            seen = node_location.get(r.node)
            if seen is None or r.last_ts >= seen[0]:
                node_location[r.node] = (r.last_ts, r.location)
            units.setdefault(r.metric, r.unit)
        return cls(
            locations=tuple(sorted({r.location for r in rows})),
            nodes=tuple(sorted({r.node for r in rows})),
            sensors=tuple(sorted({r.sensor for r in rows})),
            metrics=tuple(sorted({r.metric for r in rows})),
            node_location={n: loc for n, (_, loc) in sorted(node_location.items())},
            units=units,
        )

    def known(self, kind: Kind) -> tuple[str, ...]:
        """The stored names of one kind."""
        return {
            "location": self.locations,
            "node": self.nodes,
            "sensor": self.sensors,
            "metric": self.metrics,
        }[kind]

    def canonical(self, kind: Kind, name: str) -> str | None:
        """The stored name `name` means, ignoring case, spaces, hyphens and underscores."""
        index = self._squashed.get(kind)
        if index is None:
            index = {}
            for known in self.known(kind):
                index.setdefault(squash(known), known)
            self._squashed[kind] = index
        return index.get(squash(name))

    def suggest(self, kind: Kind, name: str) -> str | None:
        """The closest stored name of a kind, when one is close enough to be a likely typo."""
        names = self.known(kind)
        by_key = {squash(n): n for n in names}
        key = squash(name)
        if not key:
            return None
        close = difflib.get_close_matches(key, list(by_key), n=1, cutoff=0.75)
        if close:
            return by_key[close[0]]
        contained = [n for k, n in by_key.items() if key in k or (len(k) >= 4 and k in key)]
        if len(contained) == 1:
            return contained[0]
        number = re.search(r"(\d+)$", key)
        if number:  # "raspberrypi-3" → the one stored name ending in 3
            same = [n for k, n in by_key.items() if re.search(rf"\D{number.group(1)}$", k)]
            return same[0] if len(same) == 1 else None
        return None
