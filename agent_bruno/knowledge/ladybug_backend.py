"""LadybugDB, embedded: the default graph backend, stored in the agent's data directory."""

from __future__ import annotations

import asyncio
import queue
import re
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import ladybug

from agent_bruno.knowledge.backend import (
    GraphQueryError,
    GraphTimeout,
    GraphUnavailable,
    Row,
    Stage,
    Statement,
)
from agent_bruno.knowledge.catalogue import BackendName

READERS = 2  # concurrent read queries (a 2-core Pi gains nothing from more)
# One thread per query, and a bounded page cache: the graph shares a small machine with ingest
# (Ladybug's defaults are every core and 80 % of the memory).
THREADS_PER_QUERY = 1
BUFFER_POOL_BYTES = 256 * 2**20


_PAGING = re.compile(r"\b(LIMIT|SKIP)\s+\$([A-Za-z_][A-Za-z0-9_]*)\b", re.IGNORECASE)


@lru_cache(maxsize=512)
def _with_literal(cypher: str, name: str, value: int) -> str:
    return re.sub(
        rf"\b(LIMIT|SKIP)\s+\${name}\b", lambda m: f"{m.group(1)} {value}", cypher, flags=re.I
    )


def bound_paging(cypher: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """`cypher` with each `LIMIT $x` / `SKIP $x` of an integer parameter written as the number.

    Ladybug prepares a statement whose LIMIT or SKIP is a parameter again at every run (the
    number is part of its plan): a node's newest episodes took 2.5 ms more that way in the
    100,000-episode bench graph, a one-row lookup 0.4 ms more. With the number in the text the
    cached statement is reused (one per distinct number; the catalogue uses a few). The number
    is an int the catalogue's callers passed, never text, so nothing can be injected; a
    parameter used only there is dropped (Ladybug refuses parameters a statement lacks)."""
    bound = dict(params)
    if "$" not in cypher:
        return cypher, bound
    for name in {m.group(2) for m in _PAGING.finditer(cypher)}:
        value = bound.get(name)
        if type(value) is int and value >= 0:
            cypher = _with_literal(cypher, name, value)
            if not re.search(rf"\${name}\b", cypher):
                del bound[name]
    return cypher, bound


def _rows(result: ladybug.QueryResult | list[ladybug.QueryResult]) -> list[Row]:
    """Rows of a (single-statement) result as dicts keyed by column name."""
    if isinstance(result, list):
        result = result[-1]
    columns = result.get_column_names()
    rows = [dict(zip(columns, values, strict=True)) for values in result.get_all()]
    result.close()
    return rows


_SHOW_MACROS = "CALL show_macros() RETURN name"
_MACRO = re.compile(r"\s*CREATE\s+MACRO\s+`?([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


def _macro_name(statement: str) -> str | None:
    """The name a `CREATE MACRO` statement defines (upper case, as Ladybug lists it), else None."""
    found = _MACRO.match(statement)
    return found.group(1).upper() if found else None


def _rollback(conn: ladybug.Connection) -> None:
    """Roll back, unless the failed statement already ended the transaction (Ladybug does)."""
    try:
        conn.execute("ROLLBACK")
    except RuntimeError as exc:
        if "No active transaction" not in str(exc):
            raise


class LadybugBackend:
    """One `Database` file; reads on a small connection pool, writes on one connection."""

    def __init__(self, db: ladybug.Database, where: str) -> None:
        self._db = db
        self._where = where
        # Reads run on a small pool of connections, each query batch on one worker thread:
        # a thread hop per batch, not per query (on a loaded machine each hop can cost more
        # than the indexed query itself).
        self._readers: queue.SimpleQueue[ladybug.Connection] = queue.SimpleQueue()
        self._all_readers = [
            ladybug.Connection(db, num_threads=THREADS_PER_QUERY) for _ in range(READERS)
        ]
        for conn in self._all_readers:
            self._readers.put(conn)
        self._writer = ladybug.Connection(db, num_threads=THREADS_PER_QUERY)
        self._write_lock = threading.Lock()
        self._untrusted = ladybug.Connection(db, num_threads=THREADS_PER_QUERY)
        self._untrusted_lock = threading.Lock()

    @classmethod
    async def open(cls, path: Path | None) -> LadybugBackend:
        """Open (creating) the database at `path`; None keeps it in memory (tests, benches)."""

        def _open() -> LadybugBackend:
            target = ":memory:" if path is None else str(path)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            try:
                db = ladybug.Database(
                    target, buffer_pool_size=BUFFER_POOL_BYTES, max_num_threads=THREADS_PER_QUERY
                )
            except RuntimeError as exc:
                raise GraphUnavailable(
                    f"cannot open the Ladybug graph at {target}: {exc}"
                ) from None
            return cls(db, target)

        return await asyncio.to_thread(_open)

    @property
    def name(self) -> BackendName:
        """Runs the catalogue's Ladybug variants."""
        return "ladybug"

    @property
    def where(self) -> str:
        """The database path (or `:memory:`)."""
        return self._where

    def _apply_schema(self, statements: Sequence[str]) -> None:
        """Every statement in one transaction on the writer; a macro that exists is left as is.

        One commit, not one per statement: a new database's schema cost 13-19 ms of CPU (and
        as many syncs) that way, 8-11 ms in one transaction, and 3 ms less again sent as one
        query (the statements are `;`-free, as split by the catalogue). Macros have no IF NOT
        EXISTS, and a refused statement would undo the others: the ones that exist are skipped
        up front."""
        with self._write_lock:
            conn = self._writer
            try:
                known = {str(row["name"]).upper() for row in _rows(conn.execute(_SHOW_MACROS))}
                todo = [s for s in statements if _macro_name(s) not in known]
                conn.execute("BEGIN TRANSACTION")
                try:
                    if todo:
                        conn.execute(";".join(todo))
                except BaseException:
                    _rollback(conn)
                    raise
                conn.execute("COMMIT")
            except RuntimeError as exc:
                raise GraphQueryError(f"Ladybug refused the schema: {exc}") from None

    async def apply_schema(self, statements: Sequence[str]) -> None:
        """Create the tables (`IF NOT EXISTS`) and macros that do not exist yet."""
        await asyncio.to_thread(self._apply_schema, statements)

    def _read_many(self, statements: Sequence[Statement]) -> list[list[Row]]:
        """Each read on one pooled connection (waiting for a free one), in order."""
        conn = self._readers.get()
        try:
            return [
                _rows(conn.execute(*bound_paging(cypher, params))) for cypher, params in statements
            ]
        except RuntimeError as exc:
            raise GraphQueryError(f"Ladybug refused a read: {exc}") from None
        finally:
            self._readers.put(conn)

    def _read_staged(self, stages: Sequence[Stage]) -> list[list[Row]]:
        """Each stage's reads on one pooled connection, stage after stage."""
        conn = self._readers.get()
        try:
            found: list[list[Row]] = []
            for stage in stages:
                for cypher, params in stage(found):
                    found.append(_rows(conn.execute(*bound_paging(cypher, params))))
            return found
        except RuntimeError as exc:
            raise GraphQueryError(f"Ladybug refused a read: {exc}") from None
        finally:
            self._readers.put(conn)

    async def read_staged(self, stages: Sequence[Stage]) -> list[list[Row]]:
        """Run dependent reads on one pooled connection, in one thread hop."""
        return await asyncio.to_thread(self._read_staged, stages)

    async def read(self, cypher: str, params: Mapping[str, Any]) -> list[Row]:
        """Run a read query on the pool, off the loop."""
        return (await asyncio.to_thread(self._read_many, [(cypher, params)]))[0]

    async def read_many(self, statements: Sequence[Statement]) -> list[list[Row]]:
        """Run the reads one after the other on one pooled connection, in one thread hop."""
        if not statements:
            return []
        return await asyncio.to_thread(self._read_many, statements)

    def _transaction(self, statements: Sequence[Statement]) -> None:
        """BEGIN, every statement, COMMIT; ROLLBACK and raise on the first failure."""
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN TRANSACTION")
            try:
                for cypher, params in statements:
                    conn.execute(cypher, dict(params))
            except RuntimeError as exc:
                _rollback(conn)
                raise GraphQueryError(f"Ladybug refused a write: {exc}") from None
            except BaseException:
                _rollback(conn)
                raise
            conn.execute("COMMIT")

    async def write(self, statements: Sequence[Statement]) -> None:
        """Run the statements in one transaction on the writer connection, off the loop."""
        if statements:
            await asyncio.to_thread(self._transaction, statements)

    def _untrusted_read(
        self, cypher: str, params: Mapping[str, Any], timeout_ms: int, limit: int
    ) -> tuple[list[Row], bool]:
        """A read-only transaction (Ladybug refuses any write in it), a timeout, a row cap."""
        with self._untrusted_lock:
            conn = self._untrusted
            conn.set_query_timeout(timeout_ms)
            conn.execute("BEGIN TRANSACTION READ ONLY")
            try:
                result = conn.execute(cypher, dict(params))
                if isinstance(result, list):
                    raise GraphQueryError("send one statement, not several")
                columns = result.get_column_names()
                values = result.get_n(limit + 1)
                result.close()
            except RuntimeError as exc:
                message = str(exc)
                if "Interrupted" in message:
                    raise GraphTimeout(f"the query ran past {timeout_ms} ms") from None
                raise GraphQueryError(message) from None
            finally:
                _rollback(conn)
                conn.set_query_timeout(0)
        rows = [dict(zip(columns, v, strict=True)) for v in values[:limit]]
        return rows, len(values) > limit

    async def read_untrusted(
        self, cypher: str, params: Mapping[str, Any], *, timeout_s: float, limit: int
    ) -> tuple[list[Row], bool]:
        """Run a generated query read-only, bounded in time and rows."""
        return await asyncio.to_thread(
            self._untrusted_read, cypher, params, max(1, int(timeout_s * 1000)), limit
        )

    async def close(self) -> None:
        """Close the connections, then the database (its WAL is checkpointed)."""

        def _close() -> None:
            # A cancelled caller's statement may still run on its thread: wait for it.
            with self._write_lock, self._untrusted_lock:
                for _ in self._all_readers:  # each back in the pool: no read is running
                    self._readers.get().close()
                self._writer.close()
                self._untrusted.close()
                self._db.close()

        await asyncio.to_thread(_close)
