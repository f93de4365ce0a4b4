"""The HTTP protocol the agent serves with: uvicorn's httptools protocol with the guards it
lacks, so idle or slow connections cannot pile up.

uvicorn closes a keep-alive connection that stays idle after a response, but a connection that
never sends a request, or sends its headers a byte at a time, was held forever (3,000 such
sockets stayed open). Here:

- a request's headers must arrive within `header_timeout_s` of its first byte (or of the
  connection, for the first request); otherwise the connection is closed;
- a body that stops arriving for `header_timeout_s` closes the connection too;
- one client IP address may hold at most `max_per_client` connections; more are closed at once.

The total number of connections and tasks is bounded by uvicorn's `limit_concurrency`
(503 beyond). Timers cost nothing on the request path but one `call_later` per request.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with a header/body read timeout and a per-client connection cap."""

    header_timeout_s: ClassVar[float] = 10.0
    max_per_client: ClassVar[int] = 256
    per_client: ClassVar[Counter[str]] = Counter()  # open connections by client IP
    closed_slow: ClassVar[int] = 0  # connections closed for not sending in time
    refused_crowded: ClassVar[int] = 0  # connections refused over the per-client cap

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None
        self._ip: str | None = None
        self._reading = False  # a request's headers or body are still to come
        self._headers_done = False

    @classmethod
    def configure(cls, *, header_timeout_s: float, max_per_client: int) -> type[Any]:
        """A subclass with these limits (and its own counters), for `uvicorn.run(http=...)`."""
        attrs = {
            "header_timeout_s": header_timeout_s,
            "max_per_client": max_per_client,
            "per_client": Counter(),
            "closed_slow": 0,
            "refused_crowded": 0,
        }
        return type("AgentHttpProtocol", (cls,), attrs)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Count the client's connections (refuse beyond the cap) and start the header clock."""
        super().connection_made(transport)
        self._ip = self.client[0] if self.client else None
        cls = type(self)
        if self._ip is not None:
            cls.per_client[self._ip] += 1
            if cls.per_client[self._ip] > cls.max_per_client:
                cls.refused_crowded += 1
                if cls.refused_crowded in (1, 10, 100) or cls.refused_crowded % 1000 == 0:
                    log.warning(
                        "%s holds %d connections, more than %d: closing new ones "
                        "(AGENT_BRUNO_MAX_CONNECTIONS_PER_CLIENT; %d refused so far)",
                        self._ip, cls.per_client[self._ip] - 1, cls.max_per_client,
                        cls.refused_crowded,
                    )  # fmt: skip
                transport.close()
                return
        self._reading = True
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Release the client's count and the timer."""
        self._disarm()
        if self._ip is not None:
            cls = type(self)
            cls.per_client[self._ip] -= 1
            if cls.per_client[self._ip] <= 0:
                del cls.per_client[self._ip]
            self._ip = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """A body still arriving restarts its idle clock (headers keep their deadline)."""
        super().data_received(data)
        if self._reading and self._headers_done and self._read_timer is not None:
            self._arm()  # the headers are in: from now only idleness counts

    def on_message_begin(self) -> None:
        """A new request: its headers must arrive in time."""
        super().on_message_begin()
        self._reading, self._headers_done = True, False
        self._arm()

    def on_headers_complete(self) -> None:
        """The headers are in: the body (if any) may take as long as it keeps arriving."""
        self._headers_done = True
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The whole request is in: nothing more to wait for from the client."""
        self._reading = False
        self._disarm()
        super().on_message_complete()

    def _arm(self) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(type(self).header_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _too_slow(self) -> None:
        self._read_timer = None
        if self._reading and not self.transport.is_closing():
            type(self).closed_slow += 1
            self.transport.close()
