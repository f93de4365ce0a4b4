"""Cursor paging of long lists: an opaque `cursor` in, `next_cursor` out.

A cursor holds the position reached and the time range the first page fixed (so rows that
arrive meanwhile do not shift the pages) and a digest of the filters (a cursor is refused with
other filters). Rows are read up to the position plus one page and one more, to know whether
another page follows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

import orjson

from agent_bruno.api.params import bad_param

MAX_OFFSET = 1_000_000


@dataclass(frozen=True, slots=True)
class Page:
    """Where a page starts and the range it lists."""

    offset: int
    start: float | None
    end: float | None


def _digest(filters: dict[str, object]) -> str:
    return hashlib.blake2s(
        orjson.dumps(filters, option=orjson.OPT_SORT_KEYS), digest_size=6
    ).hexdigest()


def read_cursor(value: str | None, filters: dict[str, object]) -> Page | None:
    """The page a `cursor` continues (None for the first page); 422 when it is not ours or was
    made with other filters."""
    if value is None:
        return None
    try:
        data = orjson.loads(
            base64.urlsafe_b64decode(value.encode("ascii") + b"=" * (-len(value) % 4))
        )
        offset, start, end, digest = data["o"], data["s"], data["e"], data["f"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeEncodeError):
        raise bad_param(
            "cursor", value[:80], "not a cursor of this list; use next_cursor"
        ) from None
    if not isinstance(offset, int) or not 0 < offset <= MAX_OFFSET or digest != _digest(filters):
        raise bad_param(
            "cursor", value[:80], "made for other filters; repeat the first request's parameters"
        )
    if not all(t is None or isinstance(t, int | float) for t in (start, end)):
        raise bad_param("cursor", value[:80], "not a cursor of this list; use next_cursor")
    return Page(offset, start, end)


def make_cursor(
    offset: int, start: float | None, end: float | None, filters: dict[str, object]
) -> str | None:
    """The cursor of the page at `offset` (None beyond the paging bound)."""
    if offset > MAX_OFFSET:
        return None
    raw = orjson.dumps({"o": offset, "s": start, "e": end, "f": _digest(filters)})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
