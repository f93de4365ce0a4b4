"""`UpkeepWrites`: the statements that bring the graph up to heartbeats, the catalog and episodes
(what the upkeep writes in batches; built here, run by `GraphUpkeep`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from agent_bruno.knowledge.backend import Statement
from agent_bruno.knowledge.graph_core import GraphCore
from agent_bruno.knowledge.model import (
    CatalogFact,
    EpisodeFact,
    NodeFact,
    WorkloadFact,
    sensor_key,
    workload_key,
)

HEALTH_KEYS = ("cpu_percent", "memory_percent", "disk_percent", "load_1m", "soc_temp_c")


def _num(value: Any) -> float | None:
    """A finite float, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _health_row(f: NodeFact) -> dict[str, Any]:
    """The parameters of `update_node_health` for one heartbeat."""
    return {
        "node": f.node,
        "ts": f.ts,
        "interval_s": f.interval_s,
        **{k: _num(f.health.get(k)) for k in HEALTH_KEYS},
    }


def _has_use(w: WorkloadFact) -> bool:
    return any(
        v is not None for v in (w.cpu_percent, w.memory_mib, w.cpu_request_m, w.memory_request_mib)
    )


def _use_row(f: NodeFact, w: WorkloadFact) -> dict[str, Any]:
    """The parameters of `update_workload_use` for one workload of a heartbeat."""
    return {
        "key": workload_key(f.node, w.namespace, w.name),
        "node": f.node,
        "cpu_percent": _num(w.cpu_percent),
        "memory_mib": _num(w.memory_mib),
        "cpu_request_m": _num(w.cpu_request_m),
        "memory_request_mib": _num(w.memory_request_mib),
        "ts": f.ts,
    }


def vitals(f: NodeFact) -> tuple[int, dict[str, int]]:
    """Digests of what a heartbeat says that changes often: the node's health, and each
    workload's use (by workload key); equal digests, nothing to write."""
    health = hash((f.interval_s, *(_num(f.health.get(k)) for k in HEALTH_KEYS)))
    use = {
        workload_key(f.node, w.namespace, w.name): hash(
            (w.cpu_percent, w.memory_mib, w.cpu_request_m, w.memory_request_mib)
        )
        for w in f.workloads
    }
    return health, use


def _grown_row(e: EpisodeFact) -> dict[str, Any]:
    """The parameters of `update_episodes`: what changes while an episode is open."""
    return {
        "id": e.id,
        "severity": e.severity,
        "ended": e.ended,
        "last": e.last,
        "flags": e.flags,
        "peak_value": e.peak_value,
        "peak_sigma": e.peak_sigma,
        "reason": e.reason,
        "updated": e.updated,
    }


class UpkeepWrites(GraphCore):
    """What heartbeats, the catalog and episodes say, as catalogue writes."""

    def node_statements(
        self,
        facts: Sequence[NodeFact],
        *,
        health_only: frozenset[str] = frozenset(),
        unchanged: frozenset[str] = frozenset(),
        settled: frozenset[str] = frozenset(),
    ) -> list[Statement]:
        """The writes that bring nodes, their sensors and workloads up to these heartbeats.
        The nodes in `health_only` are in the graph with the same place, sensors and workloads:
        only their health and their workloads' use are written (keyed updates, no MERGE), and
        of those only what is not `unchanged` (node names: the same health as written; workload
        keys: the same use). The nodes in `settled` are written in full only to refresh them
        (their place and workloads are as this agent last wrote them): nothing of theirs is
        unlinked or pruned, which reconcile does for every node every few minutes."""
        if not facts:
            return []
        full = [f for f in facts if f.node not in health_only]
        light = [f for f in facts if f.node in health_only]
        steps: list[Statement] = []
        health = [_health_row(f) for f in light if f.node not in unchanged]
        if health:
            steps.append(self.statement("update_node_health", rows=health))
        use = [
            _use_row(f, w)
            for f in light
            for w in f.workloads
            if _has_use(w) and workload_key(f.node, w.namespace, w.name) not in unchanged
        ]
        if use:
            steps.append(self.statement("update_workload_use", rows=use))
        if not full:
            return steps
        sensors = {
            sensor_key(f.node, x.sensor): {
                "key": sensor_key(f.node, x.sensor),
                "name": x.sensor,
                "node": f.node,
                "location": f.location,
                "ts": f.ts,
            }
            for f in full
            for x in f.sensors
        }
        measures = {
            (sensor_key(f.node, x.sensor), x.metric): {
                "key": sensor_key(f.node, x.sensor), "metric": x.metric, "unit": x.unit
            }
            for f in full
            for x in f.sensors
        }  # fmt: skip
        workloads = [
            {**_use_row(f, w), "name": w.name, "namespace": w.namespace, "kind": w.kind,
             "image": w.image}
            for f in full
            for w in f.workloads
        ]  # fmt: skip
        keep = [
            {
                "node": f.node,
                "keys": [workload_key(f.node, w.namespace, w.name) for w in f.workloads],
            }
            for f in full
        ]
        nodes = [{**_health_row(f), "cluster": f.cluster, "location": f.location} for f in full]
        placed = [
            {"node": f.node, "location": f.location, "cluster": f.cluster}
            for f in full
            if f.node not in settled
        ]
        steps += self._places([(f.cluster, f.location, f.ts) for f in full])
        steps.append(self.statement("upsert_nodes", rows=nodes))
        if placed:
            steps.append(self.statement("unlink_moved_nodes", rows=placed))
            steps.append(self.statement("unlink_moved_clusters", rows=placed))
        steps += self._sensors(list(sensors.values()), list(measures.values()))
        if workloads:
            steps.append(self.statement("upsert_workloads", rows=workloads))
        keep = [k for k in keep if k["node"] not in settled]
        if keep:
            steps.append(self.statement("prune_workloads", rows=keep))
        return steps

    def _places(self, seen: Sequence[tuple[str, str, float]]) -> list[Statement]:
        """Clusters and locations, one row each (see merge_clusters), and which is in which."""
        clusters: dict[str, float] = {}
        locations: dict[str, float] = {}
        pairs: dict[tuple[str, str], None] = {}
        for cluster, location, ts in seen:
            clusters[cluster] = max(ts, clusters.get(cluster, ts))
            locations[location] = max(ts, locations.get(location, ts))
            pairs[(location, cluster)] = None
        return [
            self.statement(
                "merge_clusters", rows=[{"name": k, "ts": v} for k, v in clusters.items()]
            ),
            self.statement(
                "merge_locations", rows=[{"name": k, "ts": v} for k, v in locations.items()]
            ),
            self.statement(
                "link_location_clusters", rows=[{"location": p, "cluster": c} for p, c in pairs]
            ),
        ]

    def _sensors(
        self, sensors: list[dict[str, Any]], measures: list[dict[str, Any]]
    ) -> list[Statement]:
        """Sensors (one row each), the metrics they measure and the nodes they are on."""
        if not sensors:
            return []
        return [
            self.statement("upsert_sensors", rows=sensors),
            self.statement("merge_metrics", names=sorted({m["metric"] for m in measures})),
            self.statement("link_sensors", rows=measures),
        ]

    def catalog_statements(self, facts: Sequence[CatalogFact]) -> list[Statement]:
        """The writes that give every stored series its sensor, node and location."""
        if not facts:
            return []
        nodes = {
            f.node: {"node": f.node, "cluster": f.cluster, "location": f.location, "ts": f.last_ts}
            for f in facts
        }
        placed = {
            (f.node, f.cluster, f.location): {
                "node": f.node, "cluster": f.cluster, "location": f.location
            }
            for f in facts
        }  # fmt: skip
        sensors: dict[str, dict[str, Any]] = {}
        for f in facts:
            key = sensor_key(f.node, f.sensor)
            prior = sensors.get(key)
            if prior is None or prior["ts"] < f.last_ts:
                sensors[key] = {
                    "key": key,
                    "name": f.sensor,
                    "node": f.node,
                    "location": f.location,
                    "ts": f.last_ts,
                }
        measures = {
            (sensor_key(f.node, f.sensor), f.metric): {
                "key": sensor_key(f.node, f.sensor), "metric": f.metric, "unit": f.unit
            }
            for f in facts
        }  # fmt: skip
        return [
            *self._places([(f.cluster, f.location, f.last_ts) for f in facts]),
            self.statement("upsert_sensor_nodes", rows=list(nodes.values())),
            self.statement("link_nodes", rows=list(placed.values())),
            *self._sensors(list(sensors.values()), list(measures.values())),
        ]

    def episode_statements(
        self,
        facts: Sequence[EpisodeFact],
        *,
        known: frozenset[str] = frozenset(),
        placed: frozenset[tuple[str, str]] = frozenset(),
    ) -> list[Statement]:
        """The writes that store these episodes (the newest state of each); those in `known` are
        in the graph already and get only the fields an episode changes as it grows. The
        (sensor key, location) pairs in `placed` are in the graph (written in full lately):
        a new episode of such a sensor there needs no MERGE of either."""
        newest: dict[str, EpisodeFact] = {}
        for f in facts:  # one row per episode (see merge_clusters)
            if f.id not in newest or newest[f.id].updated <= f.updated:
                newest[f.id] = f
        steps: list[Statement] = []
        grown = [_grown_row(f) for f in newest.values() if f.id in known]
        if grown:
            steps.append(self.statement("update_episodes", rows=grown))
        new = [f.as_row() for f in newest.values() if f.id not in known]
        if not new:
            return steps
        sensors = {
            r["sensor_key"]: {
                "key": r["sensor_key"],
                "name": r["sensor"],
                "node": r["node"],
                "location": r["location"],
                "ts": r["started"],
            }
            for r in new
            if (r["sensor_key"], r["location"]) not in placed
        }
        if sensors:
            steps += [
                self.statement(
                    "merge_places", names=sorted({s["location"] for s in sensors.values()})
                ),
                self.statement("merge_episode_sensors", rows=list(sensors.values())),
            ]
        steps.append(self.statement("upsert_episodes", rows=new))
        return steps
