"""Delivers the outbox to the agent in order: gzip JSON batches, retries, backoff, idempotency.

Nothing leaves the outbox before the agent answered 200 for it. Events keep their ids across
retries, so when an acknowledgement is lost the agent sees a duplicate and drops it.

Answers: 200 → delete the batch (items the agent rejected are logged and counted, not retried);
network error, 5xx, 429 → keep, back off exponentially with jitter up to the cap; 401/403/400/422
(the agent refuses our token or our envelope; per-event problems come back in a 200) → keep
everything, log loudly, wait the full cap; 413 → halve the batch, and a single event still over
the limit is logged and dropped so it cannot block the queue; 415 → send uncompressed.
A critical wakes an idle sender at once and may cut a network/5xx
backoff short, at most once per URGENT_MIN_GAP_S since the last attempt, so criticals reach an
agent that came back within ~2 s without hammering one that is still down.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import httpx

from edge_reporter.outbox import Outbox, PendingEvent

log = logging.getLogger(__name__)

MAX_BATCH_EVENTS = 500
MAX_BATCH_BYTES = 512 * 1024  # uncompressed JSON
URGENT_MIN_GAP_S = 2.0  # a critical may cut a backoff short at most this often


class Outcome(StrEnum):
    """What happened to one batch."""

    EMPTY = "empty"
    DELIVERED = "delivered"
    RETRY = "retry"  # network error, 5xx, 429, unexpected status: back off
    # The agent refuses the request itself: 401/403 (token or node) or 400/422 (the envelope,
    # e.g. a schema version it does not know). No event is at fault, so none is dropped or
    # split off; everything is kept and retried at the backoff cap until someone fixes it.
    REFUSED = "refused"
    SPLIT = "split"  # 413: smaller batches next (a single event over the limit is dropped)


@dataclass(frozen=True, slots=True)
class Reporter:
    """Who we are, as sent in every envelope."""

    node: str
    location: str
    cluster: str

    def json(self) -> str:
        """The envelope's `reporter` object."""
        return json.dumps(
            {"node": self.node, "location": self.location, "cluster": self.cluster},
            separators=(",", ":"),
            ensure_ascii=False,
        )


class Forwarder:
    """Sends pending events oldest first; one instance per outbox, one task runs `run()`."""

    def __init__(
        self,
        outbox: Outbox,
        client: httpx.AsyncClient,
        *,
        url: str,
        token: str,
        reporter: Reporter,
        batch_events: int = MAX_BATCH_EVENTS,
        batch_bytes: int = MAX_BATCH_BYTES,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        idle_poll: float = 60.0,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        on_ack: Callable[[list[PendingEvent], float], None] | None = None,
    ) -> None:
        self._outbox = outbox
        self._client = client
        self._url = url
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._node = reporter.node
        self._prefix = f'{{"schema_version":1,"reporter":{reporter.json()},"sent_at":'.encode()
        self._wall = wall_clock
        self._batch_events = batch_events
        self._batch_bytes = batch_bytes
        self._limit = batch_events
        self._base = backoff_base
        self._cap = backoff_cap
        self._idle_poll = idle_poll
        self._rng = rng or random.Random()
        self._clock = clock
        self._on_ack = on_ack
        self._gzip = True
        self._wake = asyncio.Event()
        self._urgent = False
        self._failures = 0
        self._last_attempt = -1e18
        self._stopping = False
        self.stats: dict[str, int] = {"sent": 0, "batches": 0, "rejected": 0, "failures": 0}

    def notify(self, *, urgent: bool = False) -> None:
        """Wake the sender for new events; `urgent` (a critical) may cut a backoff short."""
        self._urgent = self._urgent or urgent
        self._wake.set()

    def stop(self) -> None:
        """Ask `run()` to return after the current request."""
        self._stopping = True
        self._wake.set()

    @property
    def in_backoff(self) -> bool:
        """Whether the last attempt failed and the sender is waiting to retry."""
        return self._failures > 0

    async def run(self) -> None:
        """Deliver until stopped: drain when woken, back off on failure, poll when idle."""
        while not self._stopping:
            try:
                outcome = await self.drain()
            except Exception:  # e.g. the outbox disk is full: keep the sender alive, retry
                log.exception("forwarder: unexpected error; retrying")
                self._failures += 1
                outcome = Outcome.RETRY
            if self._stopping:
                return
            if outcome in (Outcome.RETRY, Outcome.REFUSED):
                delay = self._backoff(outcome)
                log.info("forwarder: retrying in %.1f s (%s)", delay, outcome.value)
                await self._sleep(delay, allow_urgent=outcome is Outcome.RETRY)
            else:
                await self._sleep(self._idle_poll, allow_urgent=True, any_wake=True)

    async def _sleep(self, delay: float, *, allow_urgent: bool, any_wake: bool = False) -> None:
        deadline = self._clock() + delay
        while not self._stopping:
            now = self._clock()
            wait = deadline - now
            if wait <= 0:
                return
            if self._urgent and allow_urgent:
                gap = URGENT_MIN_GAP_S - (now - self._last_attempt)
                if gap <= 0:
                    return
                wait = min(wait, gap)
            self._wake.clear()
            if any_wake and self._outbox.has_pending():
                return
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except TimeoutError:
                continue
            if any_wake:
                return

    def _backoff(self, outcome: Outcome) -> float:
        if outcome is Outcome.REFUSED:
            return self._cap
        ceiling = min(self._cap, self._base * 2 ** min(self._failures - 1, 30))
        return float(ceiling * self._rng.uniform(0.5, 1.0))

    async def drain(self) -> Outcome:
        """Send batches until the outbox is empty or a batch fails; return the last outcome."""
        while True:
            outcome = await self.send_once()
            if outcome not in (Outcome.DELIVERED, Outcome.SPLIT):
                return outcome

    async def send_once(self) -> Outcome:
        """Send one batch of the oldest pending events and act on the answer."""
        self._urgent = False
        batch = self._outbox.peek(self._limit, max_bytes=self._batch_bytes)
        if not batch:
            return Outcome.EMPTY
        self._last_attempt = self._clock()
        # sent_at: this clock now, from which the agent estimates how far off it is.
        sent_at = f'{self._wall():.3f},"events":['.encode()
        body = self._prefix + sent_at + ",".join(e.body for e in batch).encode() + b"]}"
        headers = dict(self._headers)
        if self._gzip:
            body = gzip.compress(body, compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return self._failed(f"{type(exc).__name__}: {str(exc) or 'no detail'}", len(batch))
        status = response.status_code
        if status == 200:
            self._delivered(batch, response)
            return Outcome.DELIVERED
        detail = response.text[:300]
        if status in (400, 401, 403, 422):
            self._failures += 1
            self.stats["failures"] += 1
            check = (
                f"check AGENT_TOKEN and NODE_NAME for node {self._node}"
                if status in (401, 403)
                else "the agent does not accept this reporter's wire format; upgrade one of them"
            )
            log.error(
                "forwarder: agent refused the request (%d %s); %d events kept, %s",
                status,
                detail,
                self._outbox.depth(),
                check,
            )
            return Outcome.REFUSED
        if status == 415 and self._gzip:
            log.warning("forwarder: agent refuses gzip (415 %s); sending uncompressed", detail)
            self._gzip = False
            return Outcome.SPLIT
        if status == 413 and len(batch) > 1:
            self._limit = max(1, len(batch) // 2)
            log.warning("forwarder: 413 on %d events; retrying with %d", len(batch), self._limit)
            return Outcome.SPLIT
        if status == 413:
            # One event over the agent's size limit can never be taken: keeping it would block
            # everything behind it.
            event = batch[0]
            self.stats["rejected"] += 1
            log.error(
                "forwarder: agent rejects event %s (%d %s); dropped: %s",
                event.id,
                status,
                detail,
                event.body[:200],
            )
            self._outbox.ack([event.seq])
            self._limit = self._batch_events
            return Outcome.SPLIT
        return self._failed(f"HTTP {status} {detail}", len(batch))

    def _failed(self, why: str, n: int) -> Outcome:
        self._failures += 1
        self.stats["failures"] += 1
        log.warning(
            "forwarder: batch of %d not delivered (%s); kept, attempt %d", n, why, self._failures
        )
        return Outcome.RETRY

    def _delivered(self, batch: list[PendingEvent], response: httpx.Response) -> None:
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        rejected = answer.get("rejected") if isinstance(answer, Mapping) else None
        for item in rejected if isinstance(rejected, list) else []:
            if not isinstance(item, Mapping):
                continue
            index = item.get("index")
            event = batch[index] if isinstance(index, int) and 0 <= index < len(batch) else None
            event_id = item.get("id") or (event.id if event is not None else None)
            self.stats["rejected"] += 1
            log.error("forwarder: agent rejected event %s: %s", event_id, item.get("error"))
            if event is not None:
                log.debug("rejected body: %s", event.body[:300])
        self._outbox.ack(e.seq for e in batch)
        if self._on_ack is not None:
            self._on_ack(batch, self._clock())
        if self._failures:
            log.info("forwarder: agent reachable again after %d failed attempts", self._failures)
        self._failures = 0
        self._limit = min(self._batch_events, self._limit * 2)
        self.stats["sent"] += len(batch)
        self.stats["batches"] += 1
