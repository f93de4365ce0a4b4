"""The reporter's SQLite files when something is wrong with them: which errors mean what, and
moving a damaged file aside so the reporter can start afresh beside it."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from pathlib import Path

log = logging.getLogger("edge_reporter")

# SQLite result codes (primary codes; extended codes keep these in their low byte).
_CORRUPT = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_FULL = 13  # SQLITE_FULL
_CORRUPT_WORDS = ("malformed", "not a database", "database disk image", "file is encrypted")


def _code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_corrupt(exc: BaseException) -> bool:
    """Whether `exc` says the file is damaged (not merely full, locked or unreadable)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = _code(exc)
    if code is not None:
        return code in _CORRUPT
    return any(word in str(exc).lower() for word in _CORRUPT_WORDS)


def is_full(exc: BaseException) -> bool:
    """Whether `exc` says the disk (or the database's size limit) is full."""
    if not isinstance(exc, sqlite3.Error):
        return False
    code = _code(exc)
    return code == _FULL if code is not None else "full" in str(exc).lower()


def quarantine(path: Path, why: BaseException | str) -> Path:
    """Rename `path` (and its -wal and -shm files) aside as `NAME.corrupt-<unix time>`.

    Returns the new path of the main file. A file that cannot be renamed is deleted, so a fresh
    one can be created in its place; either way the message names the file and what happened.
    """
    stamp = int(time.time())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    for suffix in ("", "-wal", "-shm"):
        src = path.with_name(path.name + suffix)
        if not src.exists():
            continue
        try:
            src.rename(target.with_name(target.name + suffix))
        except OSError:
            with contextlib.suppress(OSError):
                src.unlink()
    log.error(
        "QUARANTINED: %s is damaged (%s); moved aside to %s, starting afresh",
        path,
        why,
        target,
    )
    return target
