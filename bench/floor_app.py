"""The HTTP floor: the smallest ASGI app on the agent's server stack (uvicorn, uvloop,
httptools), answering every path with a fixed 200 JSON body. What no endpoint can beat here."""

from __future__ import annotations

from typing import Any

_BODY = b'{"status":"ok"}'
_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"15")],
}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer any HTTP request with `{"status":"ok"}`."""
    if scope["type"] == "http":
        await send(_START)
        await send({"type": "http.response.body", "body": _BODY})
