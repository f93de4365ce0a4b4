"""Reading request bodies within a size bound, before and after gzip decompression."""

from __future__ import annotations

import zlib

from starlette.requests import Request

from agent_bruno.api.errors import ApiError

_CHUNK = 64 * 1024


def _too_large(limit: int, what: str) -> ApiError:
    """A 413 naming the limit."""
    return ApiError(
        413,
        f"{what} exceeds the limit of {limit} bytes; split it into smaller batches",
        reason="too_large",
        limit=limit,
    )


def media_type(request: Request) -> str:
    """The request's media type without parameters, lower-cased."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def gunzip(data: bytes, limit: int) -> bytes:
    """Decompress gzip, refusing output above `limit` bytes (gzip bombs), broken or truncated
    streams and bytes after the last member (several members, as `cat a.gz b.gz`, are fine)."""
    out = bytearray()
    pending = data
    try:
        while True:
            inflater = zlib.decompressobj(wbits=31)
            while pending:
                out += inflater.decompress(pending, limit + 1 - len(out))
                if len(out) > limit:
                    raise _too_large(limit, "the decompressed body")
                pending = inflater.unconsumed_tail
                if inflater.eof:
                    break
            # At the end of a member everything is out (no flush needed); short of it the body
            # is truncated, whatever a flush would add.
            if not inflater.eof:
                raise ApiError(400, "the gzip body is truncated; send it again", reason="bad_gzip")
            pending = inflater.unused_data
            if not pending:
                return bytes(out)
            if pending[:2] != b"\x1f\x8b":
                raise ApiError(
                    400,
                    f"{len(pending)} bytes follow the end of the gzip stream (at byte "
                    f"{len(data) - len(pending)}); send the compressed body alone",
                    reason="bad_gzip",
                )
    except zlib.error as exc:
        raise ApiError(
            400, f"the body is not valid gzip ({exc}); send it compressed again", reason="bad_gzip"
        ) from None


async def read_body(request: Request, limit: int) -> bytes:
    """The decoded body, or 413 / 415 / 400 before reading more than `limit` bytes."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", ""):
        raise ApiError(
            415,
            f"Content-Encoding {encoding!r} is not supported; send gzip or identity",
            reason="unsupported_encoding",
        )
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ApiError(400, f"Content-Length {declared!r} is not a number") from None
        if size > limit:
            raise _too_large(limit, f"the body ({size} bytes)")
        body = await request.body()
    else:
        buf = bytearray()
        async for chunk in request.stream():
            buf += chunk
            if len(buf) > limit:
                raise _too_large(limit, "the body")
        body = bytes(buf)
    if len(body) > limit:
        raise _too_large(limit, "the body")
    if encoding == "gzip":
        return gunzip(body, limit)
    return body
