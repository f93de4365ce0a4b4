"""The one error type routes raise, and how it becomes a JSON answer."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response


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
