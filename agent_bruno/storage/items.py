"""Storing a request item by item, after it failed as a whole (pure helpers).

A batch from a reporter is ordered and retried until acknowledged, so one item that can never
be stored (a value whose sum overflows, a broken constraint) must be refused on its own, never
fail, and so block, the whole batch.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator

from agent_bruno.storage.base import EventsWrite, ReadingsWrite, WriteOutcome


class UnstorableItem(ValueError):
    """This item cannot be stored as it is (e.g. its rollup sum would overflow)."""


def is_item_error(exc: BaseException) -> bool:
    """Whether `exc` is about the data written (retrying would fail again), not the database."""
    return isinstance(
        exc, sqlite3.IntegrityError | sqlite3.DataError | ValueError | ArithmeticError | TypeError
    )


def single_items(request: EventsWrite | ReadingsWrite) -> Iterator[EventsWrite | ReadingsWrite]:
    """The request split into one request per event or row, in order."""
    if isinstance(request, EventsWrite):
        for event in request.events:
            yield dataclasses.replace(request, events=[event])
    else:
        columns = request.columns
        for i in range(len(columns)):
            yield ReadingsWrite(columns.take([i]))


def merge_outcome(total: WriteOutcome, one: WriteOutcome) -> None:
    """Add one item's outcome to the request's."""
    total.accepted += one.accepted
    total.duplicates += one.duplicates
    for kind, (acc, dup) in one.by_type.items():
        a, d = total.by_type.get(kind, (0, 0))
        total.by_type[kind] = (a + acc, d + dup)
    if one.heartbeat is not None and (
        total.heartbeat is None or one.heartbeat.ts >= total.heartbeat.ts
    ):
        total.heartbeat = one.heartbeat
    total.episodes.extend(one.episodes)
