"""What a graph database must do for the knowledge graph, and the errors it may raise."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from agent_bruno.knowledge.catalogue import BackendName

Row = dict[str, Any]
Statement = tuple[str, Mapping[str, Any]]
# A stage of dependent reads: given the rows of every read before it, the statements it runs.
Stage = Callable[[list[list[Row]]], Sequence[Statement]]


class GraphError(Exception):
    """The graph could not do what was asked; nothing of a failed write was kept."""


class GraphUnavailable(GraphError):
    """The graph database cannot be reached or refused the credentials."""


class GraphQueryError(GraphError):
    """The database refused or failed a query (syntax, schema, a write where reads only)."""


class GraphTimeout(GraphQueryError):
    """A query ran past its time limit and was stopped."""


class GraphBackend(Protocol):
    """A graph database behind the catalogue: LadybugDB embedded or Neo4j over Bolt."""

    @property
    def name(self) -> BackendName:
        """Which catalogue variant this backend runs."""

    @property
    def where(self) -> str:
        """Where the data is, for logs and /readyz (a path or a URI, never a secret)."""

    async def apply_schema(self, statements: Sequence[str]) -> None:
        """Create the tables, constraints and indexes that do not exist yet."""

    async def read(self, cypher: str, params: Mapping[str, Any]) -> list[Row]:
        """Run one read query and return its rows as dicts keyed by column."""

    async def read_many(self, statements: Sequence[Statement]) -> list[list[Row]]:
        """Run several read queries in one go (one thread hop, one session) and return the
        rows of each, in order: what one answer needs, without a round trip per query."""

    async def read_staged(self, stages: Sequence[Stage]) -> list[list[Row]]:
        """Run stages of reads in one go (one thread hop, one transaction), each stage built
        from the rows read before it; the rows of every read of every stage, in order."""

    async def write(self, statements: Sequence[Statement]) -> None:
        """Run the statements in one transaction: all of them are kept, or none."""

    async def read_untrusted(
        self, cypher: str, params: Mapping[str, Any], *, timeout_s: float, limit: int
    ) -> tuple[list[Row], bool]:
        """Run a generated query read-only (the database refuses writes), bounded in time and
        rows; returns at most `limit` rows and whether more were left out."""

    async def close(self) -> None:
        """Release connections and files."""
