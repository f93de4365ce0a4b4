"""`DirectRoutes`: hot GET endpoints answered ahead of FastAPI's exception and routing layers.

A kept `/v1/series` answer costs a dictionary lookup; FastAPI's exception middleware, exit
stack and router (matching every route in turn) cost several times that. The endpoints stay in
the router too, which answers their other methods (405) and documents them; errors they do not
turn into answers themselves still reach the server-error middleware outside this one.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Receive, Scope, Send


class DirectRoutes:
    """Hand GET requests for `endpoints` (path → ASGI endpoint) straight to their endpoint."""

    def __init__(self, app: ASGIApp, endpoints: Mapping[str, ASGIApp]) -> None:
        self.app = app
        self.endpoints = dict(endpoints)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route a GET of a direct path to its endpoint, anything else to the app."""
        if scope["type"] == "http" and scope["method"] == "GET":
            endpoint = self.endpoints.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.app(scope, receive, send)
