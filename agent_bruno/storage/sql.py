"""SQL scripts split into statements, to run inside a caller's transaction.

`sqlite3.Connection.executescript` commits an open transaction before it runs, and in
autocommit mode commits (and, with `synchronous = FULL`, syncs) after every statement: a new
database's tables took some thirty commits that way. `run` executes each statement on its own,
so the caller decides where the transaction begins and ends.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable


def split(script: str) -> tuple[str, ...]:
    """The statements of `script`, each whole (a `;` inside a string or trigger stays put)."""
    found: list[str] = []
    current = ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip().strip(";").strip():
                found.append(current.strip())
            current = ""
    if current.strip().strip(";").strip():
        raise ValueError(f"incomplete SQL statement at the end of the script: {current.strip()!r}")
    return tuple(found)


def run(conn: sqlite3.Connection, statements: Iterable[str]) -> None:
    """Execute each statement in turn, in whatever transaction `conn` is in."""
    for statement in statements:
        conn.execute(statement)
