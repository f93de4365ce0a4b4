"""The delivery worker: sends the outbox, lane by lane in order, with retries.

Each lane (one group to one destination) delivers in sequence, so a resolve never overtakes
its firing. A retryable failure waits an exponential backoff with jitter (or the receiver's
Retry-After when it gives one, within `max_backoff_s`); a permanent one is recorded and the
lane moves on. Every send re-checks the destination (`destinations.check`). Rows are marked
only after the receiver answered, so a crash mid-send sends that notification again on
restart, with the same id (webhook header, PagerDuty dedup_key): at least once, never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from agent_bruno.alerts.clock import Clock, as_clock
from agent_bruno.alerts.destinations import (
    DestinationError,
    DestinationPolicy,
    Resolver,
    check,
    system_resolve,
)
from agent_bruno.alerts.notifiers.base import Notifier, Outcome, post
from agent_bruno.alerts.store import OutboxRow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff between attempts and when to give up."""

    base_s: float = 1.0
    max_backoff_s: float = 300.0
    max_attempts: int = 25  # ~2 h at the cap
    timeout_s: float = 10.0

    def delay(self, attempts: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds before the next attempt after `attempts` failures."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_backoff_s)
        cap = min(self.max_backoff_s, self.base_s * 2 ** (attempts - 1))
        return float(cap / 2 + rng.uniform(0, cap / 2))


class Outbox:
    """What the worker needs from the store, run off the event loop by the caller."""

    def __init__(
        self,
        heads: Callable[[float], tuple[list[OutboxRow], float | None]],
        mark: Callable[[int, str, int, float, str | None, float], None],
    ) -> None:
        self.heads = heads
        self.mark = mark


class Deliverer:
    """Runs until cancelled; `wake()` after enqueuing so a new notification goes at once."""

    def __init__(
        self,
        outbox: Outbox,
        run_sync: Callable[..., Awaitable[Any]],
        client: httpx.AsyncClient,
        notifiers: Mapping[str, Notifier],
        policy: DestinationPolicy,
        retry: RetryPolicy = RetryPolicy(),
        resolve: Resolver = system_resolve,
        clock: Clock | Callable[[], float] = time.time,
        on_outcome: Callable[[str, Outcome], None] | None = None,
    ) -> None:
        self._outbox = outbox
        self._run_sync = run_sync
        self._client = client
        self._notifiers = notifiers
        self._policy = policy
        self._retry = retry
        self._resolve = resolve
        self._time = as_clock(clock)
        self._clock = self._time.now
        self._on_outcome = on_outcome
        self._wake = asyncio.Event()
        self._rng = random.Random()

    def wake(self) -> None:
        """Look at the outbox now."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver due rows, each lane on its own (a slow destination holds up only its own
        lane); sleep until the next is due, a send finishes, or `wake()`."""
        inflight: dict[str, asyncio.Task[None]] = {}
        try:
            while True:
                self._wake.clear()
                now = self._clock()
                try:
                    heads: list[OutboxRow]
                    later: float | None
                    heads, later = await self._run_sync(self._outbox.heads, now)
                except Exception:
                    log.exception("reading the alert outbox failed; retrying in 5 s")
                    heads, later = [], now + 5.0
                for row in heads:
                    if row.lane in inflight:
                        continue
                    task = asyncio.create_task(self._deliver(row), name=f"deliver {row.id}")
                    inflight[row.lane] = task
                    task.add_done_callback(functools.partial(self._done, inflight, row.lane))
                await self._time.until(self._wake, later)
        finally:
            for task in inflight.values():
                task.cancel()
            for task in list(inflight.values()):
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _done(
        self, inflight: dict[str, asyncio.Task[None]], lane: str, task: asyncio.Task[None]
    ) -> None:
        if inflight.get(lane) is task:
            del inflight[lane]
        self._wake.set()  # the lane's next row may be due now

    async def _attempt(self, row: OutboxRow) -> Outcome:
        notifier = self._notifiers.get(row.destination.kind)
        if notifier is None:
            return Outcome("permanent", f"no notifier for channel {row.destination.kind!r}")
        try:
            target = await check(row.destination.url, self._policy, self._resolve)
        except DestinationError as exc:
            return Outcome("permanent", str(exc))
        rendered = notifier.render(row.note, row.destination, self._clock())
        return await post(self._client, target, rendered, self._retry.timeout_s)

    async def _deliver(self, row: OutboxRow) -> None:
        try:
            outcome = await self._attempt(row)
        except Exception as exc:  # a bug in a renderer must not stop the worker
            log.exception("delivering notification %s failed", row.id)
            outcome = Outcome("retryable", f"{type(exc).__name__}: {exc}")
        attempts = row.attempts + 1
        now = self._clock()
        if outcome.status == "retryable" and attempts >= self._retry.max_attempts:
            outcome = Outcome("permanent", f"gave up after {attempts} attempts: {outcome.detail}")
        if outcome.status == "delivered":
            status, when, error = "delivered", now, None
        elif outcome.status == "retryable":
            wait = self._retry.delay(attempts, outcome.retry_after, self._rng)
            status, when, error = "pending", now + wait, outcome.detail
            log.info("notification %s: %s; retry in %.1f s", row.id, outcome.detail, wait)
        else:
            status, when, error = "failed", now, outcome.detail
            log.warning("notification %s not deliverable: %s", row.id, outcome.detail)
        if self._on_outcome is not None:
            self._on_outcome(row.destination.kind, outcome)
        await self._run_sync(self._outbox.mark, row.seq, status, attempts, when, error, now)
