"""Plain facts the graph is built from, and what people teach it; no I/O here."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal

IncidentStatus = Literal["open", "resolved"]


def sensor_key(node: str, sensor: str) -> str:
    """A sensor's key: sensor names are unique per node, not across nodes."""
    return f"{node}/{sensor}"


def workload_key(node: str, namespace: str, name: str) -> str:
    """A workload's key: a pod is unique per node and namespace; a process has no namespace."""
    return f"{node}/{namespace}/{name}"


def slug(text: str) -> str:
    """Lower-case words joined by hyphens: the id of a root cause written in different cases."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join(re.findall(r"[a-z0-9]+", folded))[:120] or "unnamed"


@dataclass(frozen=True, slots=True)
class WorkloadFact:
    """A pod or process on a node with its latest use (None: not reported)."""

    name: str
    namespace: str = ""
    kind: str = "process"  # pod or process
    image: str = ""
    cpu_percent: float | None = None  # of the node's CPU
    memory_mib: float | None = None
    cpu_request_m: float | None = None
    memory_request_mib: float | None = None


@dataclass(frozen=True, slots=True)
class SeriesFact:
    """One series a node reports: its sensor, metric and unit."""

    sensor: str
    metric: str
    unit: str


@dataclass(frozen=True, slots=True)
class NodeFact:
    """What one heartbeat says about a node: where it is, its health, sensors and workloads."""

    node: str
    cluster: str
    location: str
    ts: float
    interval_s: float
    health: dict[str, float | None] = field(default_factory=dict)
    sensors: tuple[SeriesFact, ...] = ()
    workloads: tuple[WorkloadFact, ...] = ()


@dataclass(frozen=True, slots=True)
class CatalogFact:
    """A stored series (from the catalog: bulk imports have no heartbeat)."""

    cluster: str
    node: str
    location: str
    sensor: str
    metric: str
    unit: str
    last_ts: float


@dataclass(frozen=True, slots=True)
class EpisodeFact:
    """One anomaly episode: consecutive flags of one series (see the signal model)."""

    id: str
    cluster: str
    node: str
    location: str
    sensor: str
    metric: str
    unit: str
    kind: str  # sensor_fault or process_anomaly
    rule: str
    severity: str  # the highest reached
    started: float
    ended: float | None  # None while open
    last: float
    flags: int
    peak_value: float | None
    peak_sigma: float | None  # signed: above (+) or below (-) the baseline
    reason: str
    updated: float

    @property
    def duration_s(self) -> float:
        """From the first flagged reading to the end, or to the newest reading while open."""
        return max(0.0, (self.ended if self.ended is not None else self.last) - self.started)

    def as_row(self) -> dict[str, Any]:
        """The parameters of `upsert_episodes`."""
        return {
            "id": self.id,
            "cluster": self.cluster,
            "node": self.node,
            "location": self.location,
            "sensor": self.sensor,
            "sensor_key": sensor_key(self.node, self.sensor),
            "metric": self.metric,
            "unit": self.unit,
            "kind": self.kind,
            "rule": self.rule,
            "severity": self.severity,
            "started": self.started,
            "ended": self.ended,
            "last": self.last,
            "flags": self.flags,
            "peak_value": self.peak_value,
            "peak_sigma": self.peak_sigma,
            "reason": self.reason,
            "updated": self.updated,
        }


def episode_from_row(row: dict[str, Any]) -> EpisodeFact:
    """An episode from a catalogue row (the columns every episode query returns)."""
    return EpisodeFact(
        id=row["id"],
        cluster=row.get("cluster") or "",
        node=row["node"],
        location=row["location"],
        sensor=row["sensor"],
        metric=row["metric"],
        unit=row["unit"],
        kind=row["kind"],
        rule=row["rule"],
        severity=row["severity"],
        started=float(row["started"]),
        ended=None if row["ended"] is None else float(row["ended"]),
        last=float(row["last"]),
        flags=int(row["flags"]),
        peak_value=row["peak_value"],
        peak_sigma=row["peak_sigma"],
        reason=row["reason"] or "",
        updated=float(row.get("updated") or row["last"]),
    )


@dataclass(frozen=True, slots=True)
class RootCauseInput:
    """A root cause as a person states it."""

    description: str
    resolution: str | None = None
    recommendation: str | None = None

    @property
    def id(self) -> str:
        """Root causes are shared across incidents by their wording: `rc-<slug>`."""
        return f"rc-{slug(self.description)}"


@dataclass(frozen=True, slots=True)
class IncidentInput:
    """An incident as a person records it; `episodes` empty: link those at the place and time."""

    location: str
    started: float
    title: str = ""
    ended: float | None = None
    status: IncidentStatus = "open"
    summary: str = ""
    root_cause: RootCauseInput | None = None
    episodes: tuple[str, ...] = ()
    metric: str | None = None  # narrows the episodes linked by place and time
