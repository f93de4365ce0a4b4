"""`KnowledgeGraph`: the graph's operations in the project's terms, over the catalogue.

Every query is a named catalogue entry run on the configured backend; this module composes
them and shapes their rows. It never builds Cypher from values (all values are parameters).
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import tzinfo
from typing import Any

from agent_bruno.knowledge.backend import GraphBackend, GraphQueryError, Row, Statement
from agent_bruno.knowledge.catalogue import Catalogue
from agent_bruno.knowledge.model import (
    CatalogFact,
    EpisodeFact,
    IncidentInput,
    NodeFact,
    RootCauseInput,
    WorkloadFact,
    episode_from_row,
    sensor_key,
    workload_key,
)
from agent_bruno.knowledge.similarity import MIN_SIMILARITY, Shape, resemblance, score, shape

log = logging.getLogger(__name__)

FOREVER = 1e12  # an upper time bound far in the future (about the year 33658)
HEALTH_KEYS = ("cpu_percent", "memory_percent", "disk_percent", "load_1m", "soc_temp_c")
LINK_SLACK_S = 900.0  # an incident "at 14:23" links episodes active within 15 minutes of it
LINKED_TTL_S = 60.0


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


# The incident episodes' shapes in one time zone, and their indexes by place and by metric.
_Shaped = tuple[list[Shape], dict[str, list[int]], dict[str, list[int]]]


class IncidentNotFound(LookupError):
    """No incident has that id."""


class KnowledgeGraph:
    """Writes the upkeep and people make, and the reads tools and the API need."""

    def __init__(
        self,
        backend: GraphBackend,
        catalogue: Catalogue,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.catalogue = catalogue
        self.clock = clock
        # Episodes that were part of incidents, with their incident rows; cached.
        self._linked: list[tuple[EpisodeFact, Row]] | None = None
        self._linked_at = 0.0
        self._shaped: dict[tzinfo, _Shaped] = {}  # per time zone, rebuilt with `_linked`

    def forget_incidents(self) -> None:
        """Drop the cached incident episodes (after any incident write, a rebuild, an import)."""
        self._linked = None
        self._shaped = {}

    async def _linked_episodes(self) -> list[tuple[EpisodeFact, Row]]:
        """Episodes that were part of incidents, kept for `LINKED_TTL_S` (edits made elsewhere,
        e.g. through another agent on the same Neo4j, show within that)."""
        if self._linked is None or self.clock() - self._linked_at > LINKED_TTL_S:
            rows = await self.read("linked_episodes")
            self._linked = [(episode_from_row(r), r) for r in rows]
            self._linked_at = self.clock()
            self._shaped = {}
        return self._linked

    def _shapes(self, tz: tzinfo) -> _Shaped:
        """The cached incident episodes' shapes in `tz`, and their indexes by place and metric."""
        found = self._shaped.get(tz)
        if found is None:
            linked = self._linked or []
            by_place: dict[str, list[int]] = {}
            by_metric: dict[str, list[int]] = {}
            for i, (e, _) in enumerate(linked):
                by_place.setdefault(e.location, []).append(i)
                by_metric.setdefault(e.metric, []).append(i)
            found = ([shape(e, tz) for e, _ in linked], by_place, by_metric)
            self._shaped[tz] = found
        return found

    # --- plumbing -------------------------------------------------------------------------

    def statement(self, name: str, /, **params: Any) -> Statement:
        """The catalogue query `name` for this backend, with its parameters."""
        return self.catalogue.query(name).text(self.backend.name), params

    async def read(self, name: str, /, **params: Any) -> list[Row]:
        """Run the catalogue read `name`."""
        query = self.catalogue.query(name)
        if query.mode != "read":
            raise GraphQueryError(f"graph query {name!r} is a write; use write()")
        return await self.backend.read(query.text(self.backend.name), params)

    async def read_many(self, *reads: tuple[str, dict[str, Any]]) -> list[list[Row]]:
        """Run several catalogue reads (name, parameters) in one batch; their rows, in order."""
        steps = []
        for name, params in reads:
            query = self.catalogue.query(name)
            if query.mode != "read":
                raise GraphQueryError(f"graph query {name!r} is a write; use write()")
            steps.append((query.text(self.backend.name), params))
        return await self.backend.read_many(steps)

    async def write(self, steps: Sequence[Statement]) -> None:
        """Run statements in one transaction."""
        await self.backend.write(steps)

    async def apply_schema(self) -> None:
        """Create what the schema declares and does not exist yet."""
        await self.backend.apply_schema(self.catalogue.schema[self.backend.name])

    async def counts(self) -> dict[str, int]:
        """How many nodes of each kind the graph holds."""
        return {str(r["kind"]): int(r["n"]) for r in await self.read("counts")}

    # --- upkeep: what heartbeats, the catalog and episodes say ----------------------------

    def node_statements(
        self, facts: Sequence[NodeFact], *, health_only: frozenset[str] = frozenset()
    ) -> list[Statement]:
        """The writes that bring nodes, their sensors and workloads up to these heartbeats.
        The nodes in `health_only` are in the graph with the same place, sensors and workloads:
        only their health and their workloads' use are written (keyed updates, no MERGE)."""
        if not facts:
            return []
        full = [f for f in facts if f.node not in health_only]
        light = [f for f in facts if f.node in health_only]
        steps: list[Statement] = []
        if light:
            steps.append(self.statement("update_node_health", rows=[_health_row(f) for f in light]))
            use = [_use_row(f, w) for f in light for w in f.workloads if _has_use(w)]
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
        placed = [{"node": f.node, "location": f.location, "cluster": f.cluster} for f in full]
        steps += self._places([(f.cluster, f.location, f.ts) for f in full])
        steps += [
            self.statement("upsert_nodes", rows=nodes),
            self.statement("link_nodes", rows=placed),
            self.statement("unlink_moved_nodes", rows=placed),
            self.statement("unlink_moved_clusters", rows=placed),
        ]
        steps += self._sensors(list(sensors.values()), list(measures.values()))
        if workloads:
            steps.append(self.statement("upsert_workloads", rows=workloads))
            steps.append(self.statement("link_workloads", rows=workloads))
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
            self.statement(
                "link_sensor_nodes", rows=[{"key": s["key"], "node": s["node"]} for s in sensors]
            ),
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
        self, facts: Sequence[EpisodeFact], *, known: frozenset[str] = frozenset()
    ) -> list[Statement]:
        """The writes that store these episodes (the newest state of each); those in `known` are
        in the graph already and get only the fields an episode changes as it grows."""
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
        }
        return [
            *steps,
            self.statement("merge_places", names=sorted({r["location"] for r in new})),
            self.statement("merge_episode_sensors", rows=list(sensors.values())),
            self.statement("upsert_episodes", rows=new),
            self.statement(
                "link_episode_places",
                rows=[
                    {"id": r["id"], "sensor_key": r["sensor_key"], "location": r["location"]}
                    for r in new
                ],
            ),
        ]

    # --- context -----------------------------------------------------------------------------

    async def sensor_keys(self, name: str, node: str | None = None) -> list[str]:
        """The keys of sensors called `name` (on `node` when given)."""
        if node is not None:
            key = sensor_key(node, name)
            return [key] if await self.read("sensor", key=key) else []
        return [str(r["key"]) for r in await self.read("sensors_named", name=name)]

    async def workloads(self, node: str) -> list[Row]:
        """What runs on `node` now, busiest first."""
        return await self.read("node_workloads", node=node)

    async def node_context(self, node: str, episodes: int = 10) -> dict[str, Any] | None:
        """A node: where it is, its health, sensors, workloads, recent episodes; None if unknown."""
        found = await self.read("node", node=node)
        if not found:
            return None
        recent = await self.read("node_episodes", node=node, since=0.0, limit=episodes)
        return {
            **found[0],
            "sensors": await self.read("node_sensors", node=node),
            "workloads": await self.workloads(node),
            "episodes": recent,
        }

    async def sensor_context(self, key: str, episodes: int = 10) -> dict[str, Any] | None:
        """A sensor: its node, location, metrics, the node's workloads, its last episodes and
        the incidents they were part of; None if unknown."""
        found, incident_ids, metrics, workloads, newest = await self.read_many(
            ("sensor", {"key": key}),
            ("sensor_incident_ids", {"key": key}),
            ("sensor_metrics", {"key": key}),
            ("sensor_workloads", {"key": key}),
            ("sensor_episode_ids", {"key": key, "limit": episodes}),
        )
        if not found:
            return None
        episode_ids = [r["id"] for r in newest]
        ids = [r["id"] for r in incident_ids]
        if ids:
            rows, incidents, causes, linked = await self.read_many(
                ("episodes", {"ids": episode_ids}),
                ("incident", {"ids": ids}),
                ("incident_causes", {"ids": ids}),
                ("incident_episodes", {"ids": ids}),
            )
            incidents.sort(key=lambda i: -float(i["started"]))
            related = self._attach(incidents[:episodes], causes, linked)
        else:
            (rows,) = await self.read_many(("episodes", {"ids": episode_ids}))
            related = []
        rows.sort(key=lambda e: -float(e["started"]))
        return {
            **found[0],
            "metrics": metrics,
            "workloads": workloads,
            "episodes": rows,
            "incidents": related,
        }

    async def location_context(
        self, location: str, *, since: float = 0.0, until: float = FOREVER, limit: int = 20
    ) -> dict[str, Any] | None:
        """A location: its nodes, its incidents and episodes in the range, newest first."""
        rows = await self.read("location", location=location)
        if not rows:
            return None
        incidents = await self.incidents(location=location, since=since, until=until, limit=limit)
        episodes = await self.read(
            "location_episodes", location=location, since=since, until=until, limit=limit
        )
        return {
            "location": location,
            "last_seen": rows[0]["last_seen"],
            "nodes": [
                {"node": r["node"], "last_seen": r["node_last_seen"]} for r in rows if r["node"]
            ],
            "incidents": incidents,
            "episodes": episodes,
        }

    # --- incidents -----------------------------------------------------------------------------

    async def _with_causes(self, incidents: list[Row]) -> list[Row]:
        """Incidents with their root causes and linked episodes attached."""
        if not incidents:
            return []
        ids = [i["id"] for i in incidents]
        cause_rows, episode_rows = await self.read_many(
            ("incident_causes", {"ids": ids}), ("incident_episodes", {"ids": ids})
        )
        return self._attach(incidents, cause_rows, episode_rows)

    @staticmethod
    def _attach(incidents: list[Row], cause_rows: list[Row], episode_rows: list[Row]) -> list[Row]:
        """Incidents with their root causes and linked episodes (rows keyed by `incident`)."""
        causes: dict[str, list[Row]] = {}
        for c in sorted(cause_rows, key=lambda c: str(c["id"])):
            causes.setdefault(c.pop("incident"), []).append(c)
        linked: dict[str, list[Row]] = {}
        for e in sorted(episode_rows, key=lambda e: float(e["started"])):
            linked.setdefault(e.pop("incident"), []).append(e)
        return [
            {**i, "root_causes": causes.get(i["id"], []), "episodes": linked.get(i["id"], [])}
            for i in incidents
        ]

    async def incidents(
        self,
        *,
        location: str | None = None,
        since: float = 0.0,
        until: float = FOREVER,
        limit: int = 20,
    ) -> list[Row]:
        """Incidents that started in [since, until), at `location` if given, newest first."""
        rows = await self.read(
            "incidents", location=location or "", since=since, until=until, limit=limit
        )
        return await self._with_causes(rows)

    async def sensor_incidents(self, key: str, limit: int = 20) -> list[Row]:
        """Incidents the sensor's episodes were part of, newest first."""
        return await self._with_causes(await self.read("sensor_incidents", key=key, limit=limit))

    async def incident(self, incident_id: str) -> Row | None:
        """One incident with its causes and episodes, or None."""
        rows = await self.read("incident", ids=[incident_id])
        return (await self._with_causes(rows))[0] if rows else None

    async def episode(self, episode_id: str) -> EpisodeFact | None:
        """One episode by id, or None."""
        rows = await self.read("episode", id=episode_id)
        return episode_from_row(rows[0]) if rows else None

    async def episodes_near(
        self, location: str, at: float, metric: str | None, slack_s: float = LINK_SLACK_S
    ) -> list[EpisodeFact]:
        """Episodes at `location` active within `slack_s` of `at` (of `metric` if given)."""
        rows = await self.read(
            "location_episodes", location=location, since=0.0, until=at + slack_s, limit=200
        )
        found = []
        for row in rows:
            e = episode_from_row(row)
            end = e.ended if e.ended is not None else e.last
            if end >= at - slack_s and (metric is None or e.metric == metric):
                found.append(e)
        return found

    async def record_incident(self, incident: IncidentInput, by: str, at: float) -> Row:
        """Store a new incident, its root cause and its episodes (given, or found at its place
        and time); returns it as stored, with what was linked."""
        incident_id = f"inc-{uuid.uuid4().hex[:12]}"
        await self.store_incident(incident_id, incident, by, at)
        log.info(
            "incident %s recorded by %s at %s (root cause %r)",
            incident_id,
            by,
            incident.location,
            incident.root_cause.description if incident.root_cause else None,
        )
        stored = await self.incident(incident_id)
        assert stored is not None
        return stored

    async def correct_incident(
        self, incident_id: str, incident: IncidentInput, by: str, at: float
    ) -> Row:
        """Replace an incident's fields, root cause and episodes with corrected ones."""
        if not await self.read("incident", ids=[incident_id]):
            raise IncidentNotFound(incident_id)
        await self.store_incident(incident_id, incident, by, at)
        log.info("incident %s corrected by %s", incident_id, by)
        stored = await self.incident(incident_id)
        assert stored is not None
        return stored

    async def store_incident(
        self,
        incident_id: str,
        incident: IncidentInput,
        by: str,
        at: float,
        *,
        created_by: str | None = None,
        created_at: float | None = None,
        link_nearby: bool = True,
    ) -> None:
        """One transaction: the incident, its location, root cause and episodes (when none
        are given and `link_nearby`, those active at its place and time)."""
        episodes = list(incident.episodes)
        if not episodes and link_nearby:
            episodes = [
                e.id
                for e in await self.episodes_near(
                    incident.location, incident.started, incident.metric
                )
            ]
        title = incident.title or (
            incident.root_cause.description if incident.root_cause else "incident"
        )
        steps = [
            self.statement(
                "upsert_incident",
                id=incident_id,
                title=title,
                location=incident.location,
                started=incident.started,
                ended=incident.ended,
                status=incident.status,
                summary=incident.summary,
                created_by=created_by or by,
                created_at=created_at or at,
                by=by,
                at=at,
            ),
            self.statement("unlink_incident_location", id=incident_id, location=incident.location),
            self.statement("unlink_episodes", incident=incident_id, keep=episodes),
            self.statement("link_episodes", incident=incident_id, ids=episodes, by=by, at=at),
        ]
        if incident.root_cause is not None:
            steps += self._cause_steps(incident_id, incident.root_cause, by, at)
        try:
            await self.write(steps)
        finally:
            self.forget_incidents()

    def _cause_steps(
        self, incident_id: str, cause: RootCauseInput, by: str, at: float
    ) -> list[Statement]:
        """Set the root cause of an incident, dropping any other."""
        return [
            self.statement(
                "set_root_cause",
                incident=incident_id,
                cause=cause.id,
                description=cause.description,
                resolution=cause.resolution,
                recommendation=cause.recommendation,
                by=by,
                at=at,
            ),
            self.statement("unlink_root_causes", incident=incident_id, keep=cause.id),
        ]

    async def similar_incidents(
        self, episode: EpisodeFact, tz: tzinfo, limit: int = 3
    ) -> list[Row]:
        """Past incidents whose episodes look like `episode`, most similar first, each with
        its root causes and how often each was confirmed."""
        linked = await self._linked_episodes()
        shapes, by_place, by_metric = self._shapes(tz)
        new = shape(episode, tz)
        # Only episodes sharing the place or the metric can reach MIN_SIMILARITY.
        candidates = sorted(
            {*by_place.get(episode.location, ()), *by_metric.get(episode.metric, ())}
        )
        best: dict[str, tuple[float, int]] = {}
        for i in candidates:
            past, row = linked[i]
            if past.id == episode.id or past.started >= episode.started:
                continue  # only what happened before can explain it
            value = score(new, shapes[i])
            if value < MIN_SIMILARITY:
                continue
            prior = best.get(row["incident"])
            if prior is None or value > prior[0]:
                best[row["incident"]] = (value, i)
        top = sorted(
            best.items(), key=lambda kv: (-kv[1][0], -linked[kv[1][1]][1]["incident_started"])
        )
        ranked = [
            (incident_id, (value, resemblance(episode, linked[i][0], tz).reasons, linked[i][1]))
            for incident_id, (value, i) in top[:limit]
        ]
        if not ranked:
            return []
        ids = [incident_id for incident_id, _ in ranked]
        rows, cause_rows, episode_rows = await self.read_many(
            ("incident", {"ids": ids}),
            ("incident_causes", {"ids": ids}),
            ("incident_episodes", {"ids": ids}),
        )
        full = {i["id"]: i for i in self._attach(rows, cause_rows, episode_rows)}
        return [
            {
                **full[incident_id],
                "similarity": score,
                "resembles": list(reasons),
                "matched_episode": row["id"],
            }
            for incident_id, (score, reasons, row) in ranked
            if incident_id in full
        ]

    # --- what people taught: export and import ---------------------------------------------------

    async def export_knowledge(self) -> dict[str, Any]:
        """Every incident with its root cause and episode ids: what a rebuild cannot derive."""
        incidents = await self._with_causes(await self.read("export_incidents"))
        return {
            "format": "agent-bruno-knowledge",
            "version": 1,
            "incidents": [
                {
                    **{k: v for k, v in i.items() if k not in ("root_causes", "episodes")},
                    "root_causes": [
                        {
                            k: c[k]
                            for k in (
                                "id",
                                "description",
                                "resolution",
                                "recommendation",
                                "confirmed_by",
                                "confirmed_at",
                            )
                        }
                        for c in i["root_causes"]
                    ],
                    "episodes": [
                        {k: v for k, v in e.items() if k not in ("linked_by", "linked_at")}
                        for e in i["episodes"]
                    ],
                }
                for i in incidents
            ],
        }
