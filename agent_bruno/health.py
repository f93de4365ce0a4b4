"""Pure node health: healthy, warning or offline, with the reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["healthy", "warning", "offline"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a node counts as offline or in trouble."""

    offline_after_intervals: float = 3.0
    cpu_percent: float = 90.0
    memory_percent: float = 90.0
    disk_percent: float = 90.0
    soc_temp_c: float = 75.0
    outbox_depth: int = 50
    clock_offset_s: float = 30.0


@dataclass(frozen=True, slots=True)
class Beat:
    """What health assessment needs from a node's latest heartbeat.

    `last_seen` is when the agent last received anything from the node, by the agent's clock:
    liveness never depends on the reporter's clock. `clock_offset_s` is how far the reporter's
    clock is ahead (None: not known).
    """

    last_seen: float
    interval_s: float
    health: dict[str, Any]
    outbox_depth: int
    outbox_dropped: int
    previous_outbox_depth: int | None
    clock_offset_s: float | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    """A node's status and why."""

    status: Status
    reasons: tuple[str, ...]


# The metrics a heartbeat's `health` carries about the node itself, with their units.
HEALTH_METRICS: dict[str, str] = {
    "cpu_percent": "%",
    "memory_percent": "%",
    "disk_percent": "%",
    "load_1m": "",
    "soc_temp_c": "°C",
}

_LIMITS = (
    ("cpu_percent", "CPU", "%"),
    ("memory_percent", "memory", "%"),
    ("disk_percent", "disk", "%"),
    ("soc_temp_c", "SoC temperature", " °C"),
)


def assess(beat: Beat, now: float, t: Thresholds) -> Assessment:
    """Judge a node from its latest heartbeat at time `now`."""
    age = now - beat.last_seen
    if age > t.offline_after_intervals * beat.interval_s:
        return Assessment(
            "offline",
            (
                f"last heartbeat {age:.0f} s ago, more than {t.offline_after_intervals:g}× "
                f"its {beat.interval_s:g} s interval",
            ),
        )
    reasons: list[str] = []
    for key, label, unit in _LIMITS:  # each key is also the name of its Thresholds field
        value = beat.health.get(key)
        limit = getattr(t, key)
        if isinstance(value, int | float) and value > limit:
            reasons.append(f"{label} {value:g}{unit} above {limit:g}{unit}")
    offset = beat.clock_offset_s
    if offset is not None and abs(offset) > t.clock_offset_s:
        side = "ahead of" if offset > 0 else "behind"
        reasons.append(
            f"clock {abs(offset):.0f} s {side} the agent's (timestamps corrected at ingest)"
        )
    if beat.outbox_dropped > 0:
        dropped = beat.outbox_dropped
        reasons.append(f"outbox dropped {dropped} event{'' if dropped == 1 else 's'}")
    previous = beat.previous_outbox_depth
    if (
        previous is not None
        and beat.outbox_depth > previous
        and beat.outbox_depth >= t.outbox_depth
    ):
        reasons.append(f"outbox growing: {previous} → {beat.outbox_depth} events pending")
    return Assessment("warning" if reasons else "healthy", tuple(reasons))
