"""What ingest admits beyond the wire format's shape: pure checks of validated items.

The wire models say what an item looks like; these rules say whether it can be stored as data
about the world: plausible values (`plausible.py`), and times that are neither beyond the
retention (accepted, then deleted by the next retention pass) nor too far in the future. A
reporter whose clock is off has its timestamps shifted first (`clocks.py`). Each refused item is
named with its position and the reason, and the rest are stored: one bad item never fails a
batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from agent_bruno.plausible import bounds, problem, storable_problem
from agent_bruno.reading_columns import ReadingColumns
from agent_bruno.wire import (
    AggregateEvent,
    EpisodeEvent,
    ExplanationEvent,
    HeartbeatEvent,
    ReadingEvent,
    Rejected,
)

WireEvent = ReadingEvent | AggregateEvent | HeartbeatEvent | ExplanationEvent | EpisodeEvent
IMPLAUSIBLE = "physically implausible value"
_T = TypeVar("_T")

# The time fields of each event type: shifted together when a reporter's clock is off.
TIME_FIELDS: dict[str, tuple[str, ...]] = {
    "reading": ("ts", "episode_start"),
    "aggregate": ("ts", "start", "end"),
    "heartbeat": ("ts",),
    "explanation": ("ts",),
    "episode": ("ts", "start", "end", "last", "peak_ts"),
}


@dataclass(frozen=True, slots=True)
class TimePolicy:
    """The times ingest stores: not after `newest`, not before what retention keeps."""

    newest: float  # received_at + the future tolerance
    oldest_hot: float  # received_at - hot retention (samples, anomalies, episodes, notes)
    oldest_rollup: float  # received_at - rollup retention (aggregates)
    future_s: float
    hot_days: float
    rollup_days: float

    @classmethod
    def at(cls, now: float, *, future_s: float, hot_days: float, rollup_days: float) -> TimePolicy:
        """The policy for a request received at `now`."""
        return cls(now + future_s, now - hot_days * 86_400, now - rollup_days * 86_400,
                   future_s, hot_days, rollup_days)  # fmt: skip

    def problem(self, newest: float, oldest: float, *, rollup: bool) -> str | None:
        """Why an item spanning [oldest, newest] is not stored, or None."""
        if newest > self.newest:
            ahead = newest - (self.newest - self.future_s)
            return (
                f"stamped {ahead:.0f} s in the future, beyond the {self.future_s:g} s tolerance "
                "(AGENT_BRUNO_MAX_FUTURE_S); check the sender's clock (NTP)"
            )
        limit, days = (
            (self.oldest_rollup, self.rollup_days) if rollup else (self.oldest_hot, self.hot_days)
        )
        if oldest < limit:
            return (
                f"older than the {days:g}-day retention (stamped {(limit - oldest) / 86_400:.1f} "
                "days before it): it would be deleted by the next retention pass"
            )
        return None


def shifted(event: WireEvent, by: float) -> WireEvent:
    """`event` with every time field moved by `-by` seconds (a reporter clock `by` ahead)."""
    if not by:
        return event
    update = {
        name: value - by
        for name in TIME_FIELDS.get(event.type, ("ts",))
        if isinstance(value := getattr(event, name, None), float | int)
    }
    return event.model_copy(update=update)


def time_problem(event: WireEvent, policy: TimePolicy) -> str | None:
    """Why `event`'s times keep it from being stored, or None."""
    times = [
        float(v)
        for name in TIME_FIELDS.get(event.type, ("ts",))
        if isinstance(v := getattr(event, name, None), float | int)
    ]
    newest = max(times)
    if isinstance(event, HeartbeatEvent):  # only the newest is kept; an old one is harmless
        return policy.problem(newest, policy.oldest_rollup, rollup=True)
    return policy.problem(newest, min(times), rollup=isinstance(event, AggregateEvent))


@dataclass(slots=True)
class Admitted(Generic[_T]):
    """Items to store with their positions in the request, and the refused ones."""

    items: list[_T] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    flagged: int = 0  # kept, with the reason amended (flagged readings)
    # Stored in part: an aggregate whose sensor-fault readings could not be stored at all.
    partial: list[Rejected] = field(default_factory=list)


def admit_aggregate(event: AggregateEvent) -> tuple[AggregateEvent | None, str | None, str | None]:
    """(aggregate to store, None, note on what of it is not stored) or (None, why refused, None).

    The physical bounds apply to what goes into the statistics: the whole window, or only its
    clean part when triage split off sensor faults. A fault is what the sensor got wrong, past
    its physical range included (a DHT22 reading 1,000 °C), so the faults part is stored as
    faults, out of the statistics, whatever it says; only a value no sum can hold (beyond
    ±1e12) keeps it from being stored, and then the clean part is stored alone.
    """
    faults = event.faults
    if faults is None:
        why = problem(event.metric, event.unit, (event.min, event.max, event.mean, event.last))
        return (None, why, None) if why else (event, None, None)
    clean = event.clean
    if clean is not None:
        why = problem(event.metric, event.unit, (clean.min, clean.max, clean.mean, clean.last))
        if why:
            return None, why, None
    why = storable_problem(event.unit, (faults.min, faults.max, faults.mean, faults.last))
    if why is None:
        return event, None, None
    if clean is None:
        return None, f"every reading is a sensor fault and {why}", None
    note = (
        f"its {faults.count} sensor-fault readings were not stored ({why}); "
        f"its {clean.count} other readings were"
    )
    stats = {"count": clean.count, "min": clean.min, "max": clean.max, "mean": clean.mean,
             "last": clean.last, "clean": None, "faults": None}  # fmt: skip
    return event.model_copy(update=stats), None, note


def admit_event(event: WireEvent) -> tuple[WireEvent | None, str | None]:
    """(event to store, None) — possibly amended — or (None, why it is refused).

    An aggregate may be stored in part: `admit_aggregate` says what of it is not.
    """
    if isinstance(event, AggregateEvent):
        kept, why, _ = admit_aggregate(event)
        return kept, why
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


def admit_events(
    events: Sequence[WireEvent],
    positions: Sequence[int],
    policy: TimePolicy | None = None,
    *,
    shift: float = 0.0,
) -> Admitted[WireEvent]:
    """Screen a reporter's validated events; `positions` are their indices in the batch.

    `shift` (the reporter's clock offset) is taken off every time first; `policy` bounds the
    times stored.
    """
    out: Admitted[WireEvent] = Admitted()
    for original, pos in zip(events, positions, strict=True):
        event = shifted(original, shift)
        why_time = None if policy is None else time_problem(event, policy)
        if why_time is not None:
            out.rejected.append(Rejected(index=pos, id=event.id, error=f"events.{pos}: {why_time}"))
            continue
        kept: WireEvent | None
        note = None
        if isinstance(event, AggregateEvent):
            kept, why, note = admit_aggregate(event)
        else:
            kept, why = admit_event(event)
        if kept is None:
            out.rejected.append(Rejected(index=pos, id=event.id, error=f"events.{pos}: {why}"))
            continue
        if note is not None:
            out.partial.append(Rejected(index=pos, id=event.id, error=f"events.{pos}: {note}"))
        elif kept is not event:
            out.flagged += 1
        out.items.append(kept)
        out.positions.append(pos)
    return out


@dataclass(slots=True)
class AdmittedReadings:
    """Bulk readings to store with their positions in the body, and the refused ones."""

    columns: ReadingColumns
    positions: list[int]
    rejected: list[Rejected] = field(default_factory=list)


def admit_readings(
    columns: ReadingColumns,
    positions: Sequence[int],
    policy: TimePolicy | None = None,
    *,
    by_line: bool,
) -> AdmittedReadings:
    """Screen validated bulk readings; `positions` are indices (JSON) or line numbers.

    Every reading at once: times within the policy, values within their series' bounds (looked
    up once per series). The reasons are worked out, by the same checks, only for a reading
    that fails.
    """
    oldest, newest = (policy.oldest_hot, policy.newest) if policy else (-math.inf, math.inf)
    limits = [bounds(key[4], key[5]) for key in columns.keys]
    low = np.array([b.low for b in limits], dtype=np.float64)[columns.series]
    high = np.array([b.high for b in limits], dtype=np.float64)[columns.series]
    ts, values = columns.ts, columns.values
    good = (oldest <= ts) & (ts <= newest) & (low <= values) & (values <= high)
    if good.all():
        return AdmittedReadings(columns, list(positions))
    rejected: list[Rejected] = []
    for i in np.flatnonzero(~good).tolist():
        t, key = float(ts[i]), columns.keys[columns.series[i]]
        why = None if policy is None else policy.problem(t, t, rollup=False)
        why = why or problem(key[4], key[5], (float(values[i]),))
        if why is None:
            good[i] = True
            continue
        pos = positions[i]
        rejected.append(
            Rejected(index=None if by_line else pos, line=pos if by_line else None, error=why)
        )
    kept = np.flatnonzero(good)
    return AdmittedReadings(columns.take(kept), [positions[i] for i in kept.tolist()], rejected)
