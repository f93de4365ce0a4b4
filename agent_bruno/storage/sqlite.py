"""`SqliteStorage`: the `Storage` protocol over one SQLite file in WAL mode."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from agent_bruno.storage import episodes, sqlite_reads
from agent_bruno.storage.base import (
    AnomalyQuery,
    AnomalyRow,
    CatalogRow,
    EpisodeQuery,
    EpisodeRow,
    NodeRow,
    PruneWrite,
    SeriesExtremes,
    SeriesQuery,
    SeriesResult,
    SeriesSummary,
    StorageError,
    WriteOutcome,
    WriteRequest,
)
from agent_bruno.storage.block_cache import DecodedBlocks
from agent_bruno.storage.items import is_item_error, merge_outcome, single_items
from agent_bruno.storage.schema import connect, create_schema
from agent_bruno.storage.sqlite_writes import SqliteWriter

_T = TypeVar("_T")
log = logging.getLogger(__name__)
# A checkpointer thread copies the WAL into the database this often, off the commit path. It
# cannot finish while the writer keeps appending, and a WAL starts over only once it has been
# copied in full, so under a continuous import the file grew without bound (219 MB for a
# million readings). The writer therefore finishes the copy itself between two transactions at
# most this often (the thread has done most of it by then), and the next transaction starts the
# WAL from its beginning again. A time alone let a fast writer put megabytes into the WAL between
# two of them, so the writer also checkpoints after this many row changes (a few MB of WAL:
# measured, about one 4 KiB page for every four block, rollup or series rows changed).
CHECKPOINT_EVERY_S = 0.25
WRITER_CHECKPOINT_EVERY_S = 1.0
WRITER_CHECKPOINT_EVERY_CHANGES = 4_000
# When the writer has been idle this long, the WAL file is truncated to zero bytes.
IDLE_TRUNCATE_S = 2.0


# SQLITE_CORRUPT, SQLITE_NOTADB: the file is not (or no longer) a sound database.
_DAMAGED_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def _damaged(exc: BaseException) -> bool:
    """Whether `exc` says the database file itself is damaged."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in _DAMAGED_CODES


class SqliteStorage:
    """One database file; one writer connection (the writer thread) and one reader per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            create_schema(path)
        except (sqlite3.Error, OSError) as exc:
            if _damaged(exc):
                raise StorageError(
                    f"the database {path} is damaged ({exc}); it holds what was acknowledged, "
                    "so the agent does not replace it: stop the agent and restore the file from "
                    "a backup, or salvage it with `sqlite3 FILE .recover`, or move it aside to "
                    "start empty"
                ) from exc
            raise StorageError(
                f"cannot open the database {path}: {exc}; check that the data directory "
                "exists, is writable and is not on a full disk"
            ) from exc
        self._writer: SqliteWriter | None = None
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._stop_checkpoints = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._last_commit = 0.0  # monotonic time of the writer's last commit
        self._last_writer_checkpoint = 0.0
        self._changes_at_checkpoint = 0  # the writer's total_changes at its last checkpoint
        self._decoded = DecodedBlocks()  # sample blocks recent reads decoded
        self.version = 0  # one more after each commit that changed data (read without a lock)
        self.wal_path = path.with_name(path.name + "-wal")

    def open_writer(self) -> None:
        """Open the writer's connection, and a checkpointer so commits never wait for one."""
        self._writer = SqliteWriter(connect(self.path, autocheckpoint=False))
        self._stop_checkpoints.clear()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="wal-checkpointer", daemon=True
        )
        self._checkpointer.start()

    def close_writer(self) -> None:
        """Close the writer's connection after a last full checkpoint."""
        self._stop_checkpoints.set()
        if self._checkpointer is not None:
            self._checkpointer.join()
            self._checkpointer = None
        if self._writer is not None:
            with contextlib.suppress(sqlite3.Error):
                self._writer.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._writer.conn.close()
            self._writer = None

    def _checkpoint_loop(self) -> None:
        """Copy the WAL into the database file off the commit path, every CHECKPOINT_EVERY_S;
        truncate it once the writer has been idle for IDLE_TRUNCATE_S."""
        conn = connect(self.path)
        truncated = True
        try:
            while not self._stop_checkpoints.wait(CHECKPOINT_EVERY_S):
                idle = time.monotonic() - self._last_commit >= IDLE_TRUNCATE_S
                if idle and truncated:
                    continue
                mode = "TRUNCATE" if idle else "PASSIVE"
                try:
                    busy, _, _ = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
                except sqlite3.Error:
                    log.exception("WAL checkpoint failed; retrying in %s s", CHECKPOINT_EVERY_S)
                    continue
                truncated = idle and not busy
        finally:
            conn.close()

    def _writer_checkpoint(self, conn: sqlite3.Connection) -> None:
        """Finish copying the WAL between two transactions, once a second or after
        WRITER_CHECKPOINT_EVERY_CHANGES row changes; one that could not finish (the
        checkpointer thread held it) is tried again after the next transaction."""
        now = time.monotonic()
        self._last_commit = now
        changes = conn.total_changes
        if (
            now - self._last_writer_checkpoint < WRITER_CHECKPOINT_EVERY_S
            and changes - self._changes_at_checkpoint < WRITER_CHECKPOINT_EVERY_CHANGES
        ):
            return
        try:
            busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error:
            log.exception("WAL checkpoint by the writer failed; the next one retries")
            return
        if not busy and frames == copied:
            self._last_writer_checkpoint = now
            self._changes_at_checkpoint = changes

    def wal_bytes(self) -> int:
        """The WAL file's size now (0 when there is none)."""
        try:
            return self.wal_path.stat().st_size
        except FileNotFoundError:
            return 0

    def database_bytes(self) -> int:
        """The database file's size now."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def apply_batch(self, requests: Sequence[WriteRequest]) -> list[WriteOutcome | Exception]:
        """Apply requests in one transaction, each in a savepoint; commit (fsync) once."""
        writer = self._writer
        if writer is None:
            raise StorageError("the writer connection is not open; call open_writer() first")
        conn = writer.conn
        results: list[WriteOutcome | Exception] = []
        try:
            changes = conn.total_changes
            conn.execute("BEGIN IMMEDIATE")
            for request in requests:
                conn.execute("SAVEPOINT request")
                try:
                    results.append(writer.apply(request))
                except Exception as exc:  # one bad request must not sink the others
                    if not conn.in_transaction:
                        raise  # SQLite rolled it all back itself (a full disk): all fail
                    conn.execute("ROLLBACK TO request")
                    writer.forget_cache()
                    results.append(self._retry_by_item(writer, request, exc))
                conn.execute("RELEASE request")
            writer.flush_blocks()
            conn.execute("COMMIT")
            writer.committed()
            if conn.total_changes != changes:  # a retention pass with nothing to delete: same
                self.version += 1  # before the writer acknowledges: a read after sees new data
        except sqlite3.Error as exc:
            writer.forget_cache()
            writer.forget_blocks()
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StorageError(f"the database rejected the transaction: {exc}") from exc
        except BaseException:
            writer.forget_cache()
            writer.forget_blocks()  # none of them is stored: never write them with the next
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._writer_checkpoint(conn)
        return results

    def _retry_by_item(
        self, writer: SqliteWriter, request: WriteRequest, first: Exception
    ) -> WriteOutcome | Exception:
        """After a request failed: store its items one by one, rejecting those that fail.

        Only for item-level errors (a constraint, an overflow): a full disk or an I/O error
        fails the whole request, which the client retries.
        """
        if not is_item_error(first) or isinstance(request, PruneWrite):
            log.error("write request failed and was rolled back: %r", first)
            error = StorageError(f"the write failed and was rolled back: {first!r}")
            error.__cause__ = first
            return error
        conn = writer.conn
        total = WriteOutcome()
        try:
            for index, one in enumerate(single_items(request)):
                conn.execute("SAVEPOINT item")
                try:
                    merge_outcome(total, writer.apply(one))
                except Exception as exc:
                    if not conn.in_transaction:
                        raise
                    conn.execute("ROLLBACK TO item")
                    writer.forget_cache()
                    if not is_item_error(exc):
                        raise
                    total.rejected.append((index, f"cannot be stored: {exc}"))
                finally:
                    if conn.in_transaction:
                        conn.execute("RELEASE item")
        except Exception as exc:
            if not conn.in_transaction:
                raise  # SQLite rolled the whole transaction back: the batch fails as one
            conn.execute("ROLLBACK TO request")
            writer.forget_cache()
            log.error("write request failed and was rolled back: %r", exc)
            error = StorageError(f"the write failed and was rolled back: {exc!r}")
            error.__cause__ = exc
            return error
        log.warning("stored a request item by item: %d item(s) refused", len(total.rejected))
        return total

    def _reader(self) -> sqlite3.Connection:
        """This thread's read-only connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, readonly=True)
            self._local.conn = conn
            with self._lock:
                self._readers.append(conn)
        return conn

    def _read(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run a read on this thread's connection; database errors become `StorageError`."""
        try:
            return fn(self._reader(), *args)
        except sqlite3.Error as exc:
            raise StorageError(f"reading {self.path} failed: {exc}") from exc

    def query_series(self, query: SeriesQuery) -> list[SeriesResult]:
        """Bucketed points per (node, sensor, metric)."""
        return self._read(sqlite_reads.query_series, query, self._decoded)

    def summarize(self, query: SeriesQuery) -> list[SeriesSummary]:
        """Statistics over the range and the latest value per (node, sensor, metric)."""
        return self._read(sqlite_reads.summarize, query)

    def extremes(self, query: SeriesQuery) -> list[SeriesExtremes]:
        """Min, max and last per 5-minute bucket of each matching series."""
        return self._read(sqlite_reads.extremes, query)

    def query_anomalies(self, query: AnomalyQuery) -> list[AnomalyRow]:
        """Flagged readings, newest first."""
        return self._read(sqlite_reads.query_anomalies, query)

    def count_anomalies(self, query: AnomalyQuery) -> dict[str, int]:
        """How many flagged readings match, by severity (the limit is ignored)."""
        return self._read(sqlite_reads.count_anomalies, query)

    def query_episodes(self, query: EpisodeQuery) -> list[EpisodeRow]:
        """Episodes active in the range, open ones first, then newest first."""
        return self._read(episodes.query, query)

    def count_episodes(self, query: EpisodeQuery) -> dict[tuple[str, str], int]:
        """How many episodes match, by (kind, highest severity) (the limit is ignored)."""
        return self._read(episodes.count, query)

    def get_episode(self, episode_id: str) -> EpisodeRow | None:
        """One episode by id."""
        return self._read(episodes.get, episode_id)

    def get_episodes(self, episode_ids: Sequence[str]) -> list[EpisodeRow]:
        """The episodes with these ids, in one read (those not stored are skipped)."""
        return self._read(episodes.get_many, episode_ids) if episode_ids else []

    def list_nodes(self, node: str | None = None) -> list[NodeRow]:
        """Every node with its latest heartbeat (only `node`, by its exact name, when given)."""
        return self._read(sqlite_reads.list_nodes, node)

    def catalog(self) -> list[CatalogRow]:
        """Every stored series."""
        return self._read(sqlite_reads.catalog)

    def close(self) -> None:
        """Close every reader connection."""
        with self._lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        self._local = threading.local()
