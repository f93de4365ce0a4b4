"""The one error shape: RFC 9457 problem details (`application/problem+json`).

Routes raise `ApiError(status, detail, reason=CODE, **extensions)`; every handler here renders
it, FastAPI's validation errors and Starlette's own (404, 405) as a problem object:

    {"type": ".../docs/problems.md#bad-parameter", "title": "Bad query parameter",
     "status": 422, "detail": "query parameter limit='x': expected a whole number",
     "instance": "/v1/anomalies", "code": "bad_parameter", "parameter": "limit"}

`code` names the problem (a key of `PROBLEMS`); the other extension members carry what a
program needs (the parameter, the limit, `errors` for one entry per item or field at fault).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import orjson
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Send

_JSON = b"application/json"

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://github.com/agent-bruno/agent-bruno/blob/main/docs/problems.md#"


@dataclass(frozen=True, slots=True)
class ProblemKind:
    """A documented problem: its title and when it happens (docs/problems.md lists them)."""

    title: str
    when: str


PROBLEMS: dict[str, ProblemKind] = {
    "bad_request": ProblemKind("Bad request", "The request could not be read as sent."),
    "bad_parameter": ProblemKind(
        "Bad query parameter", "A query parameter is malformed or out of range; it is named."
    ),
    "bad_question": ProblemKind(
        "Bad question", "The question is empty, too long, not UTF-8, or its thread id malformed."
    ),
    "malformed_json": ProblemKind("Malformed JSON", "The body is not JSON; the position is given."),
    "malformed_body": ProblemKind(
        "Malformed body", "NDJSON or CSV that cannot be read; the line is given."
    ),
    "bad_gzip": ProblemKind("Bad gzip body", "Broken, truncated or trailing bytes after gzip."),
    "invalid_envelope": ProblemKind(
        "Invalid batch envelope", "The event batch's envelope does not match wire format v1."
    ),
    "invalid_body": ProblemKind(
        "Invalid body", "The body does not match the operation's schema; `errors` per field."
    ),
    "invalid_request": ProblemKind(
        "Invalid request", "Parameters or body fail validation; `errors` names each one."
    ),
    "not_understood": ProblemKind(
        "Not understood", "A sentence could not be turned into a rule; `question` says what."
    ),
    "ambiguous": ProblemKind(
        "Ambiguous rule",
        "The sentence's rule could watch several places; nothing was created. `question` asks "
        "which, `choices` and `scopes` list them: send one as `scope` ({} for all).",
    ),
    "unauthorized": ProblemKind(
        "Unauthorized", "Missing or unknown bearer token (reporter token or API token)."
    ),
    "slack": ProblemKind("Slack request refused", "Slack signature or timestamp invalid."),
    "wrong_node": ProblemKind("Wrong node", "`reporter.node` is not the reporter token's node."),
    "forbidden": ProblemKind("Forbidden", "The caller may not do this."),
    "not_found": ProblemKind("Not found", "No such resource, or it belongs to someone else."),
    "method_not_allowed": ProblemKind("Method not allowed", "The path exists; the method not."),
    "not_acceptable": ProblemKind("Not acceptable", "No representation matches `Accept`."),
    "conflict": ProblemKind("Conflict", "The change conflicts with the current state."),
    "too_large": ProblemKind("Body too large", "The body, or its decompressed size, is too big."),
    "unsupported_media_type": ProblemKind(
        "Unsupported media type", "Content-Type not accepted by the operation."
    ),
    "unsupported_encoding": ProblemKind(
        "Unsupported encoding", "Content-Encoding other than gzip or identity."
    ),
    "too_many_requests": ProblemKind("Too many requests", "Retry after `Retry-After` seconds."),
    "subscription": ProblemKind("Subscription refused", "The subscription cannot be saved."),
    "agent_failed": ProblemKind("The agent failed", "The agent failed while answering; see logs."),
    "internal_error": ProblemKind("Internal error", "A bug; the agent log has the traceback."),
    "storage_unavailable": ProblemKind(
        "Storage unavailable", "The database refused the work; nothing was stored; retry."
    ),
    "graph_unavailable": ProblemKind(
        "Knowledge graph unavailable", "The graph is off or unreachable; see /readyz."
    ),
    "unavailable": ProblemKind("Service unavailable", "Retry after `Retry-After` seconds."),
}

_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def code_for(status: int, reason: str = "") -> str:
    """The problem code of an error: its reason when documented, else the status's own."""
    if reason in PROBLEMS:
        return reason
    return _BY_STATUS.get(status, "bad_request" if status < 500 else "internal_error")


class ApiError(Exception):
    """An answer other than 2xx: status, a message a person can act on, extension members."""

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


def problem(
    status: int,
    detail: str,
    code: str,
    instance: str | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A problem object (RFC 9457) with our `code` and the given extension members."""
    kind = PROBLEMS.get(code)
    title = kind.title if kind else HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": TYPE_BASE + code.replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body["code"] = code
    # Extension members never replace the standard ones.
    body.update({k: v for k, v in (extensions or {}).items() if k not in body})
    return body


def problem_response(
    status: int,
    detail: str,
    code: str,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A problem object as an `application/problem+json` response."""
    payload = problem(status, detail, code, instance, extensions)
    return Response(
        orjson.dumps(payload, default=str),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


async def handle_api_error(request: Request, exc: Exception) -> Response:
    """Render an `ApiError` as a problem."""
    assert isinstance(exc, ApiError)
    payload = problem(
        exc.status, exc.message, code_for(exc.status, exc.reason), request.url.path, exc.detail
    )
    return Response(
        orjson.dumps(payload, default=str),
        status_code=exc.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=exc.headers,
    )


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    """FastAPI's request validation as a 422 problem with one `errors` entry per field."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": _location(e.get("loc", ())), "message": str(e.get("msg", ""))}
        for e in exc.errors()
    ][:100]
    summary = "; ".join(f"{e['location']}: {e['message']}" for e in errors[:5])
    return problem_response(
        422, f"invalid request: {summary}", "invalid_request", request.url.path, errors=errors
    )


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown path, wrong method) as problems."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status == 404:
        detail = f"no route {request.url.path!r}; /docs lists the API"
    elif status == 405:
        detail = f"{request.method} is not allowed on {request.url.path}; /docs lists the methods"
    else:
        detail = str(exc.detail)
    headers = dict(exc.headers or {})
    return problem_response(status, detail, code_for(status), request.url.path, headers)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Any uncaught exception: a 500 problem that names the error type, never a traceback."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        500,
        f"internal error ({type(exc).__name__}); the agent log has the details",
        "internal_error",
        request.url.path,
    )


async def send_json(
    send: Send,
    body: bytes,
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    head: bool = False,
    media_type: bytes = _JSON,
) -> None:
    """Send encoded JSON on a plain ASGI endpoint (no Response object); no body for HEAD."""
    raw = [(b"content-type", media_type), (b"content-length", str(len(body)).encode())]
    if headers:
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def send_api_error(send: Send, exc: ApiError, path: str, *, head: bool = False) -> None:
    """Send an `ApiError` as `handle_api_error` renders it (a problem), on a plain ASGI
    endpoint."""
    payload = problem(exc.status, exc.message, code_for(exc.status, exc.reason), path, exc.detail)
    body = orjson.dumps(payload, default=str)
    await send_json(
        send, body, exc.status, exc.headers, head=head, media_type=PROBLEM_MEDIA_TYPE.encode()
    )
