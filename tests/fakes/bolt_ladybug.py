"""A `Responder` for the Bolt test server that runs what it receives on an in-memory LadybugDB.

The Neo4j backend sends the catalogue's Neo4j texts; shared queries run on Ladybug as they are,
and a Neo4j variant is swapped for its Ladybug twin (found by its text in the catalogue). The
Neo4j schema (constraints, indexes) is acknowledged and the Ladybug schema applied instead.
This checks the Neo4j backend's driver plumbing with real answers; it does not check Neo4j's
semantics (that is the `-m integration` tier's job).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import ladybug

from agent_bruno.knowledge.catalogue import Catalogue, statements
from tests.fakes.bolt import Failure, Result

USER, PASSWORD = "neo4j", "test-password-1234"


class LadybugResponder:
    """Queries run on one Ladybug connection, one transaction at a time."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.db = ladybug.Database(":memory:")
        self.conn = ladybug.Connection(self.db)
        for statement in catalogue.schema["ladybug"]:
            self.conn.execute(statement)
        self.twins = {
            q.text("neo4j"): q.text("ladybug") for q in catalogue.queries.values() if not q.shared
        }
        self.neo4j_schema = set(catalogue.schema["neo4j"])
        self.lock = asyncio.Lock()
        self.in_tx = False

    def login(self, auth: dict[str, Any]) -> Failure | None:
        """The test credentials only."""
        if auth.get("principal") == USER and auth.get("credentials") == PASSWORD:
            return None
        return Failure("Neo.ClientError.Security.Unauthorized", "authentication failure")

    async def begin(self, meta: dict[str, Any]) -> Failure | None:
        """Wait for any other transaction, then begin (read-only when the driver says "r")."""
        await self.lock.acquire()
        mode = "READ ONLY" if meta.get("mode") == "r" else ""
        self.conn.execute(f"BEGIN TRANSACTION {mode}".strip())
        self.in_tx = True
        return None

    async def run(
        self, query: str, params: dict[str, Any], meta: dict[str, Any]
    ) -> Result | Failure:
        """Run the Ladybug form of `query`."""
        if query in self.neo4j_schema or any(query in statements(s) for s in self.neo4j_schema):
            return Result(query_type="s")
        text = self.twins.get(query, query)
        explain = text.upper().startswith("EXPLAIN ")
        try:
            if explain:
                return Result(query_type="w" if _writes(text) else "r")
            result = self.conn.execute(text, params)
        except RuntimeError as exc:
            message = str(exc)
            code = (
                "Neo.ClientError.Statement.AccessMode"
                if "read-only transaction" in message
                else "Neo.ClientError.Statement.SyntaxError"
            )
            return Failure(code, message)
        if isinstance(result, list):
            result = result[-1]
        fields = result.get_column_names()
        rows = [list(r) for r in result.get_all()]  # type: ignore[arg-type]
        return Result(fields, rows)

    async def commit(self) -> Failure | None:
        """Commit and let the next transaction in."""
        self._end("COMMIT")
        return None

    async def rollback(self) -> None:
        """Roll back and let the next transaction in."""
        self._end("ROLLBACK")

    def _end(self, word: str) -> None:
        if self.in_tx:
            with contextlib.suppress(RuntimeError):  # a failed statement already ended it
                self.conn.execute(word)
            self.in_tx = False
            self.lock.release()


def _writes(text: str) -> bool:
    """Whether a query plainly writes (the EXPLAIN stand-in: Ladybug has no query type)."""
    from agent_bruno.knowledge.readonly import is_read_only

    return not is_read_only(text.removeprefix("EXPLAIN ").removeprefix("explain "))
