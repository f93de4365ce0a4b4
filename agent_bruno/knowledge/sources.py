"""Facts for the graph from what the agent receives and stores. Pure adapters, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from agent_bruno.knowledge.model import (
    CatalogFact,
    EpisodeFact,
    NodeFact,
    SeriesFact,
    WorkloadFact,
)
from agent_bruno.storage.base import CatalogRow, EpisodeRow, NodeRow
from agent_bruno.wire import HeartbeatEvent

HEALTH = ("cpu_percent", "memory_percent", "disk_percent", "load_1m", "soc_temp_c")


def workload_fact(item: Any) -> WorkloadFact | None:
    """A workload from the wire (a name, or an object with name, namespace, use) or storage."""
    if isinstance(item, str):
        return WorkloadFact(name=item) if item else None
    if hasattr(item, "model_dump"):
        item = item.model_dump()
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
        return None

    def num(key: str) -> float | None:
        v = item.get(key)
        return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None

    return WorkloadFact(
        name=item["name"],
        namespace=str(item.get("namespace") or ""),
        kind=str(item.get("kind") or ("pod" if item.get("namespace") else "process")),
        image=str(item.get("image") or ""),
        cpu_percent=num("cpu_percent"),
        memory_mib=num("memory_mib"),
        cpu_request_m=num("cpu_request_m"),
        memory_request_mib=num("memory_request_mib"),
    )


def _workloads(items: Iterable[Any]) -> tuple[WorkloadFact, ...]:
    facts = {}
    for item in items:
        fact = workload_fact(item)
        if fact is not None:
            facts[(fact.namespace, fact.name)] = fact  # the last report of a name wins
    return tuple(facts.values())


def from_heartbeat(cluster: str, node: str, location: str, hb: HeartbeatEvent) -> NodeFact:
    """What a heartbeat says about its node."""
    health = hb.health.model_dump()
    return NodeFact(
        node=node,
        cluster=cluster,
        location=location,
        ts=hb.ts,
        interval_s=hb.interval_s,
        health={k: health.get(k) for k in HEALTH},
        sensors=tuple(SeriesFact(s.sensor, s.metric, s.unit) for s in hb.sensors),
        workloads=_workloads(hb.workloads),
    )


def from_node_row(row: NodeRow) -> NodeFact:
    """What storage's latest heartbeat of a node says (reconcile and rebuild)."""
    return NodeFact(
        node=row.node,
        cluster=row.cluster,
        location=row.location,
        ts=row.ts,
        interval_s=row.interval_s,
        health={k: row.health.get(k) for k in HEALTH},
        sensors=tuple(
            SeriesFact(str(s["sensor"]), str(s["metric"]), str(s["unit"]))
            for s in row.sensors
            if isinstance(s, dict) and {"sensor", "metric", "unit"} <= s.keys()
        ),
        workloads=_workloads(row.workloads),
    )


def from_catalog(rows: Sequence[CatalogRow]) -> list[CatalogFact]:
    """Every stored series as a fact."""
    return [
        CatalogFact(r.cluster, r.node, r.location, r.sensor, r.metric, r.unit, r.last_ts)
        for r in rows
    ]


def from_episode_row(row: EpisodeRow) -> EpisodeFact:
    """A stored episode (its newest revision) as a graph fact."""
    return EpisodeFact(
        id=row.id,
        cluster=row.cluster,
        node=row.node,
        location=row.location,
        sensor=row.sensor,
        metric=row.metric,
        unit=row.unit,
        kind=row.kind,
        rule=row.rule,
        severity=row.severity,
        started=row.start,
        ended=row.end,
        last=row.last,
        flags=row.count,
        peak_value=row.peak_value,
        peak_sigma=row.peak_deviation,
        reason=row.reason,
        updated=row.updated_at,
    )
