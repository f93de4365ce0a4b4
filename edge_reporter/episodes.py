"""Anomaly episodes: the flags of one series grouped into one event that opens, grows and closes.

Pure state, no I/O. A stuck humidity sensor is one episode with reminders, not one anomaly per
reminder; a burst of statistical flags is one episode, not one per flag.

- An episode opens on a flagged (warning or critical) verdict of a series with no open episode.
- Every later reading in the same condition (same kind; for sensor faults also the same rule)
  joins it: flagged ones raise `count` (the first alert plus its reminders), all raise
  `readings` and may set a new peak (the value farthest from the baseline).
- A reading in another condition closes the episode and, when flagged, opens a new one.
- `quiet_readings` readings in a row in no condition close it; `end` is then its last reading.

`observe` returns the episode's state whenever it must be told: on open, on every new flag
(a reminder, an escalation) and on close. Each change carries the full state and a `revision`
that grows by one per change, so a receiver keeps the highest revision and may miss none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from edge_reporter.model import Kind, Reading, Severity
from edge_reporter.triage import Verdict

OPEN = "open"
UPDATE = "update"
CLOSE = "close"
# Readings in a row outside the condition before an episode closes. More than the detector's
# rest period (30 readings), so the re-alert of a lasting level shift stays in its episode.
QUIET_READINGS = 60
_RANK = {Severity.NORMAL: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


@dataclass(slots=True)
class Episode:
    """One episode of one series, while it is being tracked."""

    sensor: str
    metric: str
    unit: str
    start: float
    kind: Kind
    rule: str
    severity: Severity
    reason: str
    last: float  # time of the newest reading in the condition
    count: int = 1
    readings: int = 1
    peak_value: float | None = None
    peak_ts: float | None = None
    peak_deviation: float | None = None  # (value - baseline mean) / baseline σ at the peak
    peak_distance: float = -1.0
    end: float | None = None
    revision: int = 0
    quiet: int = 0

    @property
    def key(self) -> tuple[str, str, float]:
        """What identifies the episode: its series and its start."""
        return (self.sensor, self.metric, self.start)

    def note(self, ts: float, value: float | None, verdict: Verdict) -> None:
        """Take one reading of the condition into account (peak and counts, not severity)."""
        self.last = ts
        if value is None or not math.isfinite(value):
            return
        mean, std = verdict.baseline_mean, verdict.baseline_std
        distance = abs(value - mean) if math.isfinite(mean) else 0.0
        if distance > self.peak_distance:
            self.peak_distance = distance
            self.peak_value = value
            self.peak_ts = ts
            ok = math.isfinite(mean) and math.isfinite(std) and std > 0.0
            self.peak_deviation = round((value - mean) / std, 2) if ok else None

    def event(self, phase: str) -> dict[str, Any]:
        """The wire form of the episode's current state (`phase`: open, update or close)."""
        self.revision += 1
        return {
            "type": "episode",
            "ts": self.end if phase == CLOSE and self.end is not None else self.last,
            "sensor": self.sensor,
            "metric": self.metric,
            "unit": self.unit,
            "phase": phase,
            "start": self.start,
            "end": self.end,
            "last": self.last,
            "kind": self.kind.value,
            "rule": self.rule,
            "severity": self.severity.value,
            "count": self.count,
            "readings": self.readings,
            "peak_value": self.peak_value,
            "peak_ts": self.peak_ts,
            "peak_deviation": self.peak_deviation,
            "reason": self.reason,
            "revision": self.revision,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """An episode state to send; `urgent` when it reached critical with this reading."""

    key: tuple[str, str, float]
    event: dict[str, Any]
    urgent: bool


class EpisodeTracker:
    """Open episodes per series; `observe` every triaged reading in order."""

    def __init__(self, quiet_readings: int = QUIET_READINGS) -> None:
        if quiet_readings < 1:
            raise ValueError(f"quiet_readings={quiet_readings}: expected at least 1")
        self._quiet = quiet_readings
        self._open: dict[tuple[str, str], Episode] = {}

    def open_episodes(self) -> list[Episode]:
        """The episodes still open, oldest first."""
        return sorted(self._open.values(), key=lambda e: e.start)

    def has_open(self, sensor: str, metric: str) -> bool:
        """Whether the series has an open episode."""
        return (sensor, metric) in self._open

    def start_of(self, sensor: str, metric: str) -> float | None:
        """Start of the series' open episode, if any."""
        ep = self._open.get((sensor, metric))
        return None if ep is None else ep.start

    def adopt(self, episodes: list[Episode]) -> None:
        """Continue episodes left open by an earlier run (see `snapshot` and `restore`)."""
        for ep in episodes:
            self._open[(ep.sensor, ep.metric)] = ep

    def observe(self, r: Reading, v: Verdict) -> list[Change]:
        """Fold one reading and its verdict into the series' episode; return what to send."""
        kind = v.kind
        key = (r.sensor, r.metric)
        ep = self._open.get(key)
        if ep is None:
            if kind is None or v.severity is Severity.NORMAL or v.rule is None:
                return []
            return [self._start(key, r, v, kind, v.rule)]
        if kind is None:
            ep.quiet += 1
            if ep.quiet < self._quiet:
                return []
            return [self._close(key, ep)]
        same = kind is ep.kind and (kind is Kind.PROCESS_ANOMALY or v.rule == ep.rule)
        if not same:
            changes = [self._close(key, ep)]
            if v.severity is not Severity.NORMAL and v.rule is not None:
                changes.append(self._start(key, r, v, kind, v.rule))
            return changes
        ep.quiet = 0
        ep.readings += 1
        ep.note(r.ts, r.value, v)
        if v.severity is Severity.NORMAL:
            return []
        ep.count += 1
        escalated = _RANK[v.severity] > _RANK[ep.severity]
        if _RANK[v.severity] >= _RANK[ep.severity]:
            ep.severity = v.severity
            ep.reason = v.reason
        return [Change(ep.key, ep.event(UPDATE), escalated and v.severity is Severity.CRITICAL)]

    def _start(self, key: tuple[str, str], r: Reading, v: Verdict, kind: Kind, rule: str) -> Change:
        ep = Episode(r.sensor, r.metric, r.unit, r.ts, kind, rule, v.severity, v.reason, r.ts)
        ep.note(r.ts, r.value, v)
        self._open[key] = ep
        return Change(ep.key, ep.event(OPEN), v.severity is Severity.CRITICAL)

    def _close(self, key: tuple[str, str], ep: Episode) -> Change:
        del self._open[key]
        ep.end = ep.last
        return Change(ep.key, ep.event(CLOSE), False)


def snapshot(episodes: list[Episode]) -> list[dict[str, Any]]:
    """Open episodes as plain data, to survive a restart."""
    out = []
    for ep in episodes:
        state = {name: getattr(ep, name) for name in Episode.__dataclass_fields__}
        state["kind"] = ep.kind.value
        state["severity"] = ep.severity.value
        out.append(state)
    return out


def restore(states: list[dict[str, Any]]) -> list[Episode]:
    """Episodes from `snapshot` output; entries that do not fit are skipped."""
    episodes = []
    for state in states:
        try:
            values = {k: v for k, v in state.items() if k in Episode.__dataclass_fields__}
            values["kind"] = Kind(values["kind"])
            values["severity"] = Severity(values["severity"])
            episodes.append(Episode(**values))
        except (KeyError, TypeError, ValueError):
            continue
    return episodes
