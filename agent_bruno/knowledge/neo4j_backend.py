"""Neo4j 5 through the official async driver: the production graph backend.

Writes run in managed transactions (`execute_write`), so the driver retries transient errors;
reads too (`execute_read`). Generated queries run in a read-access transaction after the server's
own planner (`EXPLAIN`) has classified them as read-only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import neo4j
from neo4j import exceptions as nx
from neo4j.graph import Node, Path, Relationship

from agent_bruno.knowledge.backend import (
    GraphError,
    GraphQueryError,
    GraphTimeout,
    GraphUnavailable,
    Row,
    Stage,
    Statement,
)
from agent_bruno.knowledge.catalogue import BackendName

USER_AGENT = "agent-bruno"
# The driver's own first back-off between retries of a managed transaction (it doubles after).
DRIVER_FIRST_RETRY_DELAY_S = 1.0


@dataclass(frozen=True, slots=True)
class Neo4jConfig:
    """Where Neo4j is and how to log in (the password is never logged)."""

    uri: str
    username: str
    password: str
    database: str = "neo4j"
    connection_timeout_s: float = 5.0
    # Managed transactions retry transient errors this long; short, so that an answer falls back
    # quickly when Neo4j is down (the upkeep retries writes on its own schedule).
    max_retry_time_s: float = 5.0
    pool_size: int = 20

    @property
    def first_retry_delay_s(self) -> float:
        """The first back-off, a quarter of the retry time at most: with the driver's fixed
        second, a retry time under a second would be overrun several times over (the default
        5 s keeps the driver's 1 s)."""
        return min(DRIVER_FIRST_RETRY_DELAY_S, self.max_retry_time_s / 4)


def plain(value: Any) -> Any:
    """A driver value as JSON-ready data (graph entities as their properties)."""
    if isinstance(value, Node):
        return {"labels": sorted(value.labels), **{k: plain(v) for k, v in value.items()}}
    if isinstance(value, Relationship):
        return {"type": value.type, **{k: plain(v) for k, v in value.items()}}
    if isinstance(value, Path):
        return [plain(n) for n in value.nodes]
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # temporal and spatial types


def translate(exc: Exception, where: str) -> GraphError:
    """One of our error types for a driver error, saying what went wrong and where."""
    if isinstance(exc, nx.AuthError):
        return GraphUnavailable(
            f"Neo4j at {where} refused the credentials ({exc.code}); "
            "check AGENT_BRUNO_NEO4J_USERNAME and AGENT_BRUNO_NEO4J_PASSWORD"
        )
    if isinstance(exc, nx.ServiceUnavailable | nx.SessionExpired):
        return GraphUnavailable(f"Neo4j at {where} is unreachable: {exc}")
    if isinstance(exc, nx.Neo4jError):
        code = exc.code or ""
        if "TransactionTimedOut" in code:
            return GraphTimeout(f"the query ran past its time limit ({code})")
        if code.startswith("Neo.TransientError") or isinstance(exc, nx.TransientError):
            return GraphUnavailable(f"Neo4j at {where} is busy ({code}): {exc.message}")
        if "Database" in code and "NotFound" in code:
            return GraphUnavailable(
                f"Neo4j at {where} has no such database ({code}); check AGENT_BRUNO_NEO4J_DATABASE"
            )
        return GraphQueryError(f"Neo4j refused the query ({code}): {exc.message}")
    if isinstance(exc, nx.ConfigurationError):
        return GraphUnavailable(f"Neo4j at {where} is misconfigured: {exc}")
    if isinstance(exc, nx.DriverError | OSError):
        return GraphUnavailable(f"Neo4j at {where}: {type(exc).__name__}: {exc}")
    return GraphError(f"Neo4j at {where}: {type(exc).__name__}: {exc}")


async def _write_tx(tx: neo4j.AsyncManagedTransaction, statements: Sequence[Statement]) -> None:
    """Every statement in one transaction, each result consumed."""
    for cypher, params in statements:
        result = await tx.run(cypher, dict(params))
        await result.consume()


async def _read_tx(
    tx: neo4j.AsyncManagedTransaction, cypher: str, params: Mapping[str, Any]
) -> list[Row]:
    """The rows of one read."""
    result = await tx.run(cypher, dict(params))
    return [r.data() for r in await result.fetch(1_000_000)]


async def _read_many_tx(
    tx: neo4j.AsyncManagedTransaction, statements: Sequence[Statement]
) -> list[list[Row]]:
    """The rows of each read, in order."""
    return [await _read_tx(tx, cypher, params) for cypher, params in statements]


async def _read_staged_tx(
    tx: neo4j.AsyncManagedTransaction, stages: Sequence[Stage]
) -> list[list[Row]]:
    """The rows of each read of each stage, in order (a retried transaction starts afresh)."""
    found: list[list[Row]] = []
    for stage in stages:
        for cypher, params in stage(found):
            found.append(await _read_tx(tx, cypher, params))
    return found


class Neo4jBackend:
    """A driver built once at start-up; sessions per call, as the driver intends."""

    def __init__(self, driver: neo4j.AsyncDriver, config: Neo4jConfig) -> None:
        self._driver = driver
        self._config = config

    @classmethod
    def create(cls, config: Neo4jConfig) -> Neo4jBackend:
        """Build the driver; nothing connects until the first call."""
        try:
            driver = neo4j.AsyncGraphDatabase.driver(
                config.uri,
                auth=(config.username, config.password),
                connection_timeout=config.connection_timeout_s,
                max_transaction_retry_time=config.max_retry_time_s,
                initial_retry_delay=config.first_retry_delay_s,
                max_connection_pool_size=config.pool_size,
                user_agent=USER_AGENT,
            )
        except (nx.ConfigurationError, ValueError) as exc:
            raise GraphUnavailable(f"Neo4j URI {config.uri!r} is not usable: {exc}") from None
        return cls(driver, config)

    @property
    def name(self) -> BackendName:
        """Runs the catalogue's Neo4j variants."""
        return "neo4j"

    @property
    def where(self) -> str:
        """The URI and database (no credentials)."""
        return f"{self._config.uri} (database {self._config.database})"

    def _session(self, read: bool = False) -> neo4j.AsyncSession:
        return self._driver.session(
            database=self._config.database,
            default_access_mode=neo4j.READ_ACCESS if read else neo4j.WRITE_ACCESS,
        )

    async def verify(self) -> None:
        """Connect and log in once (GraphUnavailable naming the problem otherwise)."""
        try:
            await self._driver.verify_connectivity()
        except Exception as exc:
            raise translate(exc, self.where) from None

    async def apply_schema(self, statements: Sequence[str]) -> None:
        """Constraints and indexes (`IF NOT EXISTS`), each in its own transaction as Neo4j
        requires for schema commands."""
        try:
            async with self._session() as session:
                for statement in statements:
                    await session.execute_write(_write_tx, [(statement, {})])
        except Exception as exc:
            raise translate(exc, self.where) from None

    async def read(self, cypher: str, params: Mapping[str, Any]) -> list[Row]:
        """A managed read transaction."""
        try:
            async with self._session(read=True) as session:
                return await session.execute_read(_read_tx, cypher, params)
        except Exception as exc:
            raise translate(exc, self.where) from None

    async def read_many(self, statements: Sequence[Statement]) -> list[list[Row]]:
        """The reads in one managed read transaction, one after the other."""
        if not statements:
            return []
        try:
            async with self._session(read=True) as session:
                return await session.execute_read(_read_many_tx, statements)
        except Exception as exc:
            raise translate(exc, self.where) from None

    async def read_staged(self, stages: Sequence[Stage]) -> list[list[Row]]:
        """Every stage's reads in one managed read transaction, stage after stage."""
        try:
            async with self._session(read=True) as session:
                return await session.execute_read(_read_staged_tx, stages)
        except Exception as exc:
            raise translate(exc, self.where) from None

    async def write(self, statements: Sequence[Statement]) -> None:
        """A managed write transaction (retried by the driver on transient errors)."""
        if not statements:
            return
        try:
            async with self._session() as session:
                await session.execute_write(_write_tx, statements)
        except Exception as exc:
            raise translate(exc, self.where) from None

    async def read_untrusted(
        self, cypher: str, params: Mapping[str, Any], *, timeout_s: float, limit: int
    ) -> tuple[list[Row], bool]:
        """EXPLAIN first (the server must plan it as read-only, type "r"), then run it in a
        read-access transaction with a server-side timeout and fetch at most `limit` + 1 rows."""
        try:
            async with self._session(read=True) as session:
                plan = await session.run(f"EXPLAIN {cypher}", dict(params))
                summary = await plan.consume()
                if summary.query_type != "r":
                    raise GraphQueryError(
                        f"Neo4j plans this query as {summary.query_type!r}, not read-only"
                    )
                tx = await session.begin_transaction(timeout=timeout_s)
                try:
                    result = await tx.run(cypher, dict(params))
                    records = await result.fetch(limit + 1)
                finally:
                    await tx.rollback()
        except GraphError:
            raise
        except Exception as exc:
            raise translate(exc, self.where) from None
        rows = [
            {k: plain(v) for k, v in zip(r.keys(), r.values(), strict=True)}
            for r in records[:limit]
        ]
        return rows, len(records) > limit

    async def close(self) -> None:
        """Close the driver and its connections."""
        await self._driver.close()
