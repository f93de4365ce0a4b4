"""Group commit: one writer thread runs many requests per durable transaction.

A request is answered only after the transaction holding it is committed (fsync'd), so nothing
acknowledged is lost; batching many requests per fsync is what makes the throughput possible.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from agent_bruno.storage.base import Storage, StorageError, WriteOutcome, WriteRequest

log = logging.getLogger(__name__)


class WriterUnavailable(StorageError):
    """The writer is stopped, dead or saturated; the request was not stored."""


@dataclass(slots=True)
class _Job:
    request: WriteRequest
    future: asyncio.Future[WriteOutcome]
    loop: asyncio.AbstractEventLoop


_STOP = object()


def _resolve(jobs: list[_Job], results: list[WriteOutcome | Exception]) -> None:
    """Hand each job its outcome (runs on the event loop)."""
    for job, result in zip(jobs, results, strict=True):
        if job.future.done():
            continue  # the caller went away; its data is stored and deduplicated on retry
        if isinstance(result, Exception):
            job.future.set_exception(result)
        else:
            job.future.set_result(result)


class GroupCommitWriter:
    """Owns the storage's writer connection on a dedicated thread."""

    def __init__(
        self,
        storage: Storage,
        *,
        max_batch: int = 256,
        queue_size: int = 10_000,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._storage = storage
        self._max_batch = max_batch
        self._queue: queue.Queue[_Job | object] = queue.Queue(maxsize=queue_size)
        self._on_batch = on_batch
        self._thread = threading.Thread(target=self._run, name="group-commit-writer", daemon=True)
        self._started = threading.Event()
        self._stopping = False
        self._start_error: BaseException | None = None
        self.last_error: str | None = None  # why the last batch failed; None once one commits

    def start(self) -> None:
        """Start the thread and wait until its connection is open."""
        self._thread.start()
        self._started.wait()
        if self._start_error is not None:
            raise StorageError(f"the writer could not start: {self._start_error}")

    @property
    def alive(self) -> bool:
        """Whether the writer thread is running and accepting requests."""
        return self._thread.is_alive() and not self._stopping

    @property
    def backlog(self) -> int:
        """Requests waiting for the writer."""
        return self._queue.qsize()

    async def submit(self, request: WriteRequest) -> WriteOutcome:
        """Queue a request and wait until it is committed; raise `StorageError` otherwise."""
        if not self.alive:
            raise WriterUnavailable("the storage writer is not running; retry later")
        loop = asyncio.get_running_loop()
        job = _Job(request, loop.create_future(), loop)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise WriterUnavailable(
                f"the storage writer has {self._queue.qsize()} requests queued; retry later"
            ) from None
        return await job.future

    def stop(self, timeout: float = 30.0) -> None:
        """Finish queued requests, close the connection and end the thread."""
        if self._stopping:
            return
        self._stopping = True
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
        self._fail_pending()  # anything queued after the thread's last look

    def _run(self) -> None:
        """Drain the queue in batches until told to stop."""
        try:
            self._storage.open_writer()
        except BaseException as exc:  # reported by start()
            self._start_error = exc
            self._started.set()
            return
        self._started.set()
        try:
            self._loop()
        finally:
            self._stopping = True
            self._fail_pending()
            self._storage.close_writer()

    def _loop(self) -> None:
        """Take one job, then whatever else is queued, and commit them together."""
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            jobs = [first]
            stop = False
            while len(jobs) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                jobs.append(nxt)
            self._commit([j for j in jobs if isinstance(j, _Job)])
            if stop:
                return

    def _commit(self, jobs: list[_Job]) -> None:
        """Apply one batch and resolve its futures on their loops."""
        try:
            results = self._storage.apply_batch([j.request for j in jobs])
        except Exception as exc:
            log.exception("group commit of %d requests failed", len(jobs))
            self.last_error = f"the last commit failed: {exc}"
            error = StorageError(f"storage failed; nothing of this request was stored: {exc}")
            results = [error] * len(jobs)
        else:
            self.last_error = None
        if self._on_batch is not None:
            self._on_batch(len(jobs))
        by_loop: dict[asyncio.AbstractEventLoop, tuple[list[_Job], list[WriteOutcome | Exception]]]
        by_loop = {}
        for job, result in zip(jobs, results, strict=True):
            pair = by_loop.setdefault(job.loop, ([], []))
            pair[0].append(job)
            pair[1].append(result)
        for loop, (loop_jobs, loop_results) in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                loop.call_soon_threadsafe(_resolve, loop_jobs, loop_results)

    def _fail_pending(self) -> None:
        """Answer every still-queued job with an error (the writer is gone)."""
        leftover: list[_Job] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Job):
                leftover.append(item)
        error = WriterUnavailable("the storage writer stopped; nothing of this request was stored")
        for job in leftover:
            results: list[WriteOutcome | Exception] = [error]
            with contextlib.suppress(RuntimeError):
                job.loop.call_soon_threadsafe(_resolve, [job], results)
