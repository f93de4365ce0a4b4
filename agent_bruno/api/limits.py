"""Limits on questions: per client a token bucket, and a cap on open `/chat` streams.

A client is who asks (the API principal) from where (its IP address). Each may ask
`per_min` questions a minute, in bursts of a quarter of that; beyond, `/query` and `/chat`
answer 429 with Retry-After. At most `max_streams` `/chat` streams are open at once (429 beyond).
Pure bookkeeping on the event loop, with a bounded number of tracked clients.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from starlette.requests import Request

from agent_bruno.api.errors import ApiError
from agent_bruno.settings import Settings

MAX_CLIENTS = 10_000  # tracked buckets; the least recently seen are forgotten beyond


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


@dataclass(slots=True)
class QuestionLimits:
    """Per-client question rate and the open-stream cap."""

    per_min: float = 120.0
    max_streams: int = 256
    clock: Callable[[], float] = time.monotonic
    configured: bool = False
    streams: int = 0
    refused: dict[str, int] = field(default_factory=lambda: {"rate": 0, "streams": 0})
    _buckets: OrderedDict[str, _Bucket] = field(default_factory=OrderedDict)

    @property
    def burst(self) -> float:
        """How many questions a client may ask at once after a quiet spell."""
        return max(1.0, self.per_min / 4)

    def take(self, client: str) -> None:
        """Count one question of `client`; ApiError 429 with Retry-After when over its rate."""
        now = self.clock()
        bucket = self._buckets.pop(client, None)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.per_min / 60)
            bucket.at = now
        self._buckets[client] = bucket
        while len(self._buckets) > MAX_CLIENTS:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return
        self.refused["rate"] += 1
        wait = math.ceil((1 - bucket.tokens) * 60 / self.per_min)
        raise ApiError(
            429,
            f"too many questions: at most {self.per_min:g} a minute per client "
            f"(AGENT_BRUNO_QUESTIONS_PER_CLIENT_PER_MIN); ask again in {wait} s",
            reason="rate_limited",
            headers={"Retry-After": str(wait)},
        )

    def open_stream(self) -> None:
        """Count one more open `/chat` stream; ApiError 429 when the cap is reached."""
        if self.streams >= self.max_streams:
            self.refused["streams"] += 1
            raise ApiError(
                429,
                f"{self.streams} answers are streaming, the most this agent serves at once "
                "(AGENT_BRUNO_MAX_CHAT_STREAMS); ask again in a few seconds",
                reason="too_many_streams",
                headers={"Retry-After": "5"},
            )
        self.streams += 1

    def close_stream(self) -> None:
        """One `/chat` stream ended."""
        self.streams = max(0, self.streams - 1)


@dataclass(slots=True)
class StreamTicket:
    """One open stream's place under the cap, given back exactly once."""

    limits: QuestionLimits
    closed: bool = False

    def close(self) -> None:
        """Give the place back (idempotent: the stream's end and the response's both call it)."""
        if not self.closed:
            self.closed = True
            self.limits.close_stream()


class _HasLimits(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def limits(self) -> QuestionLimits: ...


def limits_of(services: _HasLimits) -> QuestionLimits:
    """The app's question limits, set from its settings at first use."""
    limits = services.limits
    if not limits.configured:
        limits.per_min = services.settings.questions_per_client_per_min
        limits.max_streams = services.settings.max_chat_streams
        limits.configured = True
    return limits


def client_key(owner: str | None, request: Request) -> str:
    """Who asks from where: the principal and the client's IP address."""
    host = request.client.host if request.client is not None else "unknown"
    return f"{owner or 'anonymous'}@{host}"
