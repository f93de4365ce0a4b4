"""What ingest admits beyond the wire format's shape: pure checks of validated items.

The wire models say what an item looks like; these rules say whether it can be stored as data
about the world (plausible values, see `plausible.py`). Each refused item is named with its
position and the reason, and the rest are stored: one bad item never fails a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from agent_bruno.plausible import problem
from agent_bruno.wire import (
    AggregateEvent,
    BulkReading,
    EpisodeEvent,
    ExplanationEvent,
    HeartbeatEvent,
    ReadingEvent,
    Rejected,
)

WireEvent = ReadingEvent | AggregateEvent | HeartbeatEvent | ExplanationEvent | EpisodeEvent
IMPLAUSIBLE = "physically implausible value"
_T = TypeVar("_T")


@dataclass(slots=True)
class Admitted(Generic[_T]):
    """Items to store with their positions in the request, and the refused ones."""

    items: list[_T] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    flagged: int = 0  # kept, with the reason amended (flagged readings)


def admit_event(event: WireEvent) -> tuple[WireEvent | None, str | None]:
    """(event to store, None) — possibly amended — or (None, why it is refused)."""
    if isinstance(event, AggregateEvent):
        why = problem(event.metric, event.unit, (event.min, event.max, event.mean, event.last))
        return (None, why) if why else (event, None)
    if isinstance(event, ReadingEvent | EpisodeEvent):
        value = event.value if isinstance(event, ReadingEvent) else event.peak_value
        why = problem(event.metric, event.unit, (value,))
        if why is None:
            return event, None
        # A flagged reading (an episode) is what the edge alerts on: keep it, and say what is
        # wrong with it.
        reason = f"{IMPLAUSIBLE}: {why}" + (f"; {event.reason}" if event.reason else "")
        return event.model_copy(update={"reason": reason[:2048]}), None
    return event, None


def admit_events(events: Sequence[WireEvent], positions: Sequence[int]) -> Admitted[WireEvent]:
    """Screen a reporter's validated events; `positions` are their indices in the batch."""
    out: Admitted[WireEvent] = Admitted()
    for event, pos in zip(events, positions, strict=True):
        kept, why = admit_event(event)
        if kept is None:
            out.rejected.append(Rejected(index=pos, id=event.id, error=f"events.{pos}: {why}"))
            continue
        if kept is not event:
            out.flagged += 1
        out.items.append(kept)
        out.positions.append(pos)
    return out


def admit_rows(
    rows: Sequence[BulkReading], positions: Sequence[int], *, by_line: bool
) -> Admitted[BulkReading]:
    """Screen validated bulk rows; `positions` are indices (JSON) or line numbers."""
    out: Admitted[BulkReading] = Admitted()
    for row, pos in zip(rows, positions, strict=True):
        why = problem(row["metric"], row["unit"], (row["value"],))
        if why is None:
            out.items.append(row)
            out.positions.append(pos)
            continue
        out.rejected.append(
            Rejected(index=None if by_line else pos, line=pos if by_line else None, error=why)
        )
    return out
