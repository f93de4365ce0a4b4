"""`FrontDoor`: hot endpoints (GET /v1/series, POST /v1/events and /v1/readings, POST /query)
answered ahead of the whole FastAPI stack.

A kept `/v1/series` answer costs a dictionary lookup; FastAPI's own call (root path, telemetry
check, body limit), Starlette's error middleware, the latency middleware's wrapped `send`, its
exception middleware and router (matching every route in turn) cost several times that.
`agent-bruno serve` serves the app through this door, which hands GET (and POST) requests for
its endpoints straight to them and does itself what those layers would have done for them: it
times each request into the same latency metrics, answers an `ApiError` with the problem the
app's handler would send, and an unexpected error with the same 500 problem. (For a heartbeat
request, POST /v1/events, the layers cost a seventh of the event loop's CPU: 436 µs through
them, 374 µs direct, in-process, interleaved.) A request from a browser origin while CORS is
configured goes through the app (its CORS middleware adds the headers). The endpoints stay in
the router too, which answers their other methods (405) and documents them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_bruno.api.errors import ApiError, send_api_error

log = logging.getLogger(__name__)


class FrontDoor:
    """Hand GET requests for `endpoints` (path → ASGI endpoint) straight to their endpoint,
    anything else to `app` (whose `state.services` the endpoints read)."""

    def __init__(
        self,
        app: Any,
        endpoints: Mapping[str, ASGIApp],
        *,
        cors: bool,
        posts: Mapping[str, ASGIApp] | None = None,
    ) -> None:
        self.app = app
        self.by_method = {"GET": dict(endpoints), "POST": dict(posts or {})}
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route a GET (POST) of a direct path to its endpoint, anything else to the app."""
        if scope["type"] == "http" and (table := self.by_method.get(scope["method"])):
            endpoint = table.get(scope["path"])
            if endpoint is not None and not (self.cors and _has_origin(scope)):
                await self._direct(endpoint, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _direct(self, endpoint: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500
        begun = False

        async def sent(message: Message) -> None:
            nonlocal status, begun
            if message["type"] == "http.response.start":
                status, begun = message["status"], True
            await send(message)

        scope["app"] = self.app
        try:
            await endpoint(scope, receive, sent)
        except ApiError as exc:  # as the app's handler renders it
            if not begun:
                await send_api_error(sent, exc, scope["path"], head=scope["method"] == "HEAD")
        except Exception as exc:
            log.error("unhandled error on %s %s", scope["method"], scope["path"], exc_info=exc)
            if not begun:
                error = ApiError(
                    500,
                    f"internal error ({type(exc).__name__}); the agent log has the details",
                    reason="internal_error",
                )
                await send_api_error(sent, error, scope["path"], head=scope["method"] == "HEAD")
        finally:
            metrics = getattr(getattr(self.app.state, "services", None), "metrics", None)
            if metrics is not None:
                metrics.finish_request(scope["path"], status, time.perf_counter() - started)


def _has_origin(scope: Scope) -> bool:
    """Whether the request names a browser origin (a CORS request)."""
    return any(key == b"origin" for key, _ in scope["headers"])
