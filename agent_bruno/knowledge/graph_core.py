"""`GraphCore`: the catalogue queries run on the configured backend (the plumbing every part of
`KnowledgeGraph` shares). It never builds Cypher from values: all values are parameters."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from agent_bruno.knowledge.backend import GraphBackend, GraphQueryError, Row, Stage, Statement
from agent_bruno.knowledge.catalogue import Catalogue

FOREVER = 1e12  # an upper time bound far in the future (about the year 33658)

NamedReads = Sequence[tuple[str, dict[str, Any]]]  # catalogue reads: (name, parameters)
NamedStage = Callable[[list[list[Row]]], NamedReads]  # the reads a stage names, given earlier rows


class GraphCore:
    """The backend, the catalogue and a clock; named reads and writes."""

    def __init__(
        self,
        backend: GraphBackend,
        catalogue: Catalogue,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.catalogue = catalogue
        self.clock = clock

    def statement(self, name: str, /, **params: Any) -> Statement:
        """The catalogue query `name` for this backend, with its parameters."""
        return self.catalogue.query(name).text(self.backend.name), params

    async def read(self, name: str, /, **params: Any) -> list[Row]:
        """Run the catalogue read `name`."""
        query = self.catalogue.query(name)
        if query.mode != "read":
            raise GraphQueryError(f"graph query {name!r} is a write; use write()")
        return await self.backend.read(query.text(self.backend.name), params)

    def _reads(self, reads: NamedReads) -> list[Statement]:
        """Catalogue reads (name, parameters) as statements; a write named here is refused."""
        steps: list[Statement] = []
        for name, params in reads:
            query = self.catalogue.query(name)
            if query.mode != "read":
                raise GraphQueryError(f"graph query {name!r} is a write; use write()")
            steps.append((query.text(self.backend.name), params))
        return steps

    async def read_many(self, *reads: tuple[str, dict[str, Any]]) -> list[list[Row]]:
        """Run several catalogue reads (name, parameters) in one batch; their rows, in order."""
        return await self.backend.read_many(self._reads(reads))

    async def read_staged(self, *stages: NamedStage) -> list[list[Row]]:
        """Reads that depend on earlier ones (ids found, then their rows) in one round trip:
        each stage is given the rows of every read before it and names its own reads."""

        def compiled(stage: NamedStage) -> Stage:
            return lambda rows: self._reads(stage(rows))

        return await self.backend.read_staged([compiled(s) for s in stages])

    async def write(self, steps: Sequence[Statement]) -> None:
        """Run statements in one transaction."""
        await self.backend.write(steps)

    async def apply_schema(self) -> None:
        """Create what the schema declares and does not exist yet."""
        await self.backend.apply_schema(self.catalogue.schema[self.backend.name])

    async def counts(self) -> dict[str, int]:
        """How many nodes of each kind the graph holds."""
        return {str(r["kind"]): int(r["n"]) for r in await self.read("counts")}
