"""Anomaly episodes derived from flagged readings, until reporters send episodes themselves.

Consecutive flags of one series form one episode: the first opens it, later ones update it
(raising its severity when they are worse), and `quiet_s` without a flag closes it. This is
the model of the signal issue behind the same `EpisodeEvent`; when the agent stores episodes
sent by reporters, those events replace this tracker.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Literal

from agent_bruno.alerts.engine import EpisodeEvent

QUIET_S = 600.0
_FAULT = re.compile(r"stuck|sensor limit|non-finite|no reading|dropout", re.I)


def episode_kind(reason: str, value: float | None) -> Literal["sensor_fault", "process_anomaly"]:
    """A sensor fault (stuck, past its physical range, no reading) or a process anomaly."""
    return "sensor_fault" if value is None or _FAULT.search(reason) else "process_anomaly"


@dataclass(slots=True)
class _Open:
    id: str
    last: float
    severity: Literal["warning", "critical"]
    kind: Literal["sensor_fault", "process_anomaly", "unknown"]
    value: float | None


class EpisodeTracker:
    """Open episodes by series."""

    def __init__(self, quiet_s: float = QUIET_S) -> None:
        self.quiet_s = quiet_s
        self._open: dict[Hashable, _Open] = {}

    def flag(
        self,
        series: Hashable,
        name: str,
        ts: float,
        severity: Literal["warning", "critical"],
        value: float | None,
        reason: str,
    ) -> EpisodeEvent:
        """A flagged reading of `series`: open an episode or update the open one."""
        ep = self._open.get(series)
        kind = episode_kind(reason, value)
        if ep is None or ts - ep.last > self.quiet_s:
            ep = self._open[series] = _Open(f"{name}@{ts:.0f}", ts, severity, kind, value)
            return EpisodeEvent(ep.id, "open", ts, severity, kind, value, reason)
        ep.last = max(ep.last, ts)
        ep.value = value
        if severity == "critical":
            ep.severity = "critical"
        return EpisodeEvent(ep.id, "update", ts, ep.severity, ep.kind, value, reason)

    def tick(self, now: float) -> list[tuple[Hashable, EpisodeEvent]]:
        """Close episodes that have been quiet for `quiet_s`."""
        out = []
        for series, ep in list(self._open.items()):
            if now - ep.last > self.quiet_s:
                del self._open[series]
                reason = f"no flagged reading for {self.quiet_s / 60:.0f} min"
                out.append(
                    (
                        series,
                        EpisodeEvent(ep.id, "close", now, ep.severity, ep.kind, ep.value, reason),
                    )
                )
        return out
