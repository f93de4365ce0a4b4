"""The one error type routes raise, and how it becomes a JSON answer."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Send

_JSON = b"application/json"


class ApiError(Exception):
    """An answer other than 2xx: status, a message a person can act on, optional details."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        reason: str = "",
        headers: dict[str, str] | None = None,
        **detail: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason or str(status)
        self.headers = headers or {}
        self.detail = detail


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialized with orjson."""
    return Response(
        orjson.dumps(payload), status_code=status, media_type="application/json", headers=headers
    )


async def handle_api_error(request: Request, exc: Exception) -> Response:
    """Render an `ApiError` as `{"error": ..., **detail}`."""
    assert isinstance(exc, ApiError)
    return json_response({"error": exc.message, **exc.detail}, exc.status, exc.headers)


async def send_json(
    send: Send,
    body: bytes,
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    head: bool = False,
) -> None:
    """Send encoded JSON on a plain ASGI endpoint (no Response object); no body for HEAD."""
    raw = [(b"content-type", _JSON), (b"content-length", str(len(body)).encode())]
    if headers:
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def send_api_error(send: Send, exc: ApiError, *, head: bool = False) -> None:
    """Send an `ApiError` as `handle_api_error` renders it, on a plain ASGI endpoint."""
    body = orjson.dumps({"error": exc.message, **exc.detail})
    await send_json(send, body, exc.status, exc.headers, head=head)
