"""`Incidents`: what people record (incidents, root causes, linked episodes), its reads, the
similar-incident search and the export of what was taught."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from agent_bruno.knowledge.backend import GraphBackend, Row, Statement
from agent_bruno.knowledge.catalogue import Catalogue
from agent_bruno.knowledge.graph_core import FOREVER, GraphCore, NamedReads
from agent_bruno.knowledge.model import (
    EpisodeFact,
    IncidentInput,
    RootCauseInput,
    episode_from_row,
)
from agent_bruno.knowledge.similarity import MIN_SIMILARITY, Shape, resemblance, score, shape

log = logging.getLogger(__name__)

LINK_SLACK_S = 900.0  # an incident "at 14:23" links episodes active within 15 minutes of it
LINKED_TTL_S = 60.0

# The incident episodes' shapes in one time zone, and their indexes by place and by metric.
_Shaped = tuple[list[Shape], dict[str, list[int]], dict[str, list[int]]]


class IncidentNotFound(LookupError):
    """No incident has that id."""


def attach(incidents: list[Row], cause_rows: list[Row], episode_rows: list[Row]) -> list[Row]:
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


def causes_of(incidents: list[Row]) -> NamedReads:
    """The reads of these incidents' root causes and linked episodes (none without incidents)."""
    ids = [i["id"] for i in incidents]
    return [("incident_causes", {"ids": ids}), ("incident_episodes", {"ids": ids})] if ids else []


def attached(incidents: list[Row], found: list[list[Row]]) -> list[Row]:
    """`incidents` with what the reads of `causes_of` found for them."""
    causes, episodes = found[:2] if found else ([], [])
    return attach(incidents, causes, episodes)


class Incidents(GraphCore):
    """Incidents and root causes: recorded, corrected, read, matched to new episodes."""

    def __init__(
        self,
        backend: GraphBackend,
        catalogue: Catalogue,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(backend, catalogue, clock)
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

    async def _with_causes(self, incidents: list[Row]) -> list[Row]:
        """Incidents with their root causes and linked episodes attached."""
        if not incidents:
            return []
        ids = [i["id"] for i in incidents]
        cause_rows, episode_rows = await self.read_many(
            ("incident_causes", {"ids": ids}), ("incident_episodes", {"ids": ids})
        )
        return attach(incidents, cause_rows, episode_rows)

    async def incidents(
        self,
        *,
        location: str | None = None,
        since: float = 0.0,
        until: float = FOREVER,
        limit: int = 20,
    ) -> list[Row]:
        """Incidents that started in [since, until), at `location` if given, newest first."""
        params = {"location": location or "", "since": since, "until": until, "limit": limit}
        found = await self.read_staged(
            lambda _: [("incidents", params)], lambda rows: causes_of(rows[0])
        )
        return attached(found[0], found[1:])

    async def sensor_incidents(self, key: str, limit: int = 20) -> list[Row]:
        """Incidents the sensor's episodes were part of, newest first."""
        found = await self.read_staged(
            lambda _: [("sensor_incidents", {"key": key, "limit": limit})],
            lambda rows: causes_of(rows[0]),
        )
        return attached(found[0], found[1:])

    async def incident(self, incident_id: str) -> Row | None:
        """One incident with its causes and episodes, or None."""
        found = await self.read_staged(
            lambda _: [("incident", {"ids": [incident_id]})], lambda rows: causes_of(rows[0])
        )
        return attached(found[0], found[1:])[0] if found[0] else None

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
        full = {i["id"]: i for i in attach(rows, cause_rows, episode_rows)}
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
