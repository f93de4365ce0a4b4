"""Sampling without blocking the event loop: each source is read in a worker thread.

A DHT22 read can take a second and its retries several; an I2C bus can hang. Reads run
concurrently, one thread per source, and each source's readings are triaged as soon as they
are in, so a slow sensor never delays another's critical. A read still running when the
budget (REPORT_INTERVAL) is spent makes that source's series dropouts for this sample, and the
source is not read again until that read returns.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from edge_reporter.engine import Engine
from edge_reporter.model import Reading
from edge_reporter.sensors.base import SensorSource

log = logging.getLogger(__name__)

# The fast sources' readings are triaged together when they all finish within this.
BATCH_S = 0.05


class Sampler:
    """Reads every source of an engine in its own worker thread and hands the readings over."""

    def __init__(self, engine: Engine, *, budget: float) -> None:
        self._engine = engine
        self._sources = engine.sources
        self._budget = budget
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, len(self._sources)), thread_name_prefix="sensor-read"
        )
        self._busy: set[int] = set()

    async def sample(self, now: float) -> None:
        """Read all sources for the sample at `now` and process what they return."""
        loop = asyncio.get_running_loop()
        waiting: dict[asyncio.Future[list[Reading]], SensorSource] = {}
        late: list[Reading] = []
        for source in self._sources:
            if id(source) in self._busy:
                late.extend(self._engine.missing(source, now))
                continue
            waiting[loop.run_in_executor(self._pool, source.read, now)] = source
        if late:
            self._engine.process(late)
        deadline = loop.time() + self._budget
        pending: set[asyncio.Future[list[Reading]]] = set(waiting)
        first = True
        while pending:
            timeout = max(0.0, deadline - loop.time())
            if first:
                timeout = min(timeout, BATCH_S)
            done, pending = await asyncio.wait(
                pending,
                timeout=timeout,
                return_when=asyncio.ALL_COMPLETED if first else asyncio.FIRST_COMPLETED,
            )
            first = False
            readings: list[Reading] = []
            for future in done:
                source = waiting[future]
                error = future.exception()
                if error is None:
                    readings.extend(future.result())
                else:
                    readings.extend(self._engine.failed(source, now, error))
            self._engine.process(readings)
            if not done and loop.time() >= deadline:
                break
        for future in pending:
            self._overrun(waiting[future], future, now)

    def _overrun(
        self, source: SensorSource, future: asyncio.Future[list[Reading]], now: float
    ) -> None:
        log.warning(
            "sensor source %s still reading after %.1f s; its series read as None until it returns",
            source,
            self._budget,
        )
        self._busy.add(id(source))

        def returned(done: asyncio.Future[list[Reading]]) -> None:
            self._busy.discard(id(source))
            if not done.cancelled() and done.exception() is not None:
                log.error("sensor source %s failed late: %s", source, done.exception())

        future.add_done_callback(returned)
        self._engine.process(self._engine.missing(source, now))

    def close(self) -> None:
        """Stop the worker threads (a read still running finishes on its own)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
