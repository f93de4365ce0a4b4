"""`Contexts`: what the graph knows around a sensor, a node or a location, in few round trips."""

from __future__ import annotations

from typing import Any

from agent_bruno.knowledge.backend import Row
from agent_bruno.knowledge.graph_core import FOREVER, NamedReads
from agent_bruno.knowledge.incidents import Incidents, attached, causes_of
from agent_bruno.knowledge.model import sensor_key


class Contexts(Incidents):
    """The context reads the tools and the API need."""

    async def sensor_keys(self, name: str, node: str | None = None) -> list[str]:
        """The keys of sensors called `name` (on `node` when given)."""
        if node is not None:
            key = sensor_key(node, name)
            return [key] if await self.read("sensor", key=key) else []
        return [str(r["key"]) for r in await self.read("sensors_named", name=name)]

    async def workloads(self, node: str) -> list[Row]:
        """What runs on `node` now, busiest first."""
        return await self.read("node_workloads", node=node)

    async def node_context(
        self, node: str, episodes: int = 10, incidents: int = 0
    ) -> dict[str, Any] | None:
        """A node: where it is, its health, sensors, workloads, recent episodes and, when
        `incidents` > 0, that many of its location's newest incidents; None if unknown. One
        round trip."""

        def details(rows: list[list[Row]]) -> NamedReads:
            if not rows[0]:
                return []
            reads: list[tuple[str, dict[str, Any]]] = [
                ("episodes", {"ids": [r["id"] for r in rows[1]]})
            ]
            place = rows[0][0]["location"]
            if incidents > 0 and place:
                window = {"since": 0.0, "until": FOREVER, "limit": incidents}
                reads.append(("incidents", {"location": place, **window}))
            return reads

        found = await self.read_staged(
            lambda _: [
                ("node", {"node": node}),
                ("node_episode_ids", {"node": node, "since": 0.0, "limit": episodes}),
                ("node_sensors", {"node": node}),
                ("node_workloads", {"node": node}),
            ],
            details,
            lambda rows: causes_of(rows[5]) if len(rows) > 5 else [],
        )
        if not found[0]:
            return None
        context = {
            **found[0][0],
            "sensors": found[2],
            "workloads": found[3],
            "episodes": _newest_first(found[4]),
        }
        if incidents > 0:
            context["incidents"] = attached(found[5], found[6:]) if len(found) > 5 else []
        return context

    async def sensor_context(self, key: str, episodes: int = 10) -> dict[str, Any] | None:
        """A sensor: its node, location, metrics, the node's workloads, its last episodes and
        the incidents they were part of; None if unknown. One round trip."""

        def details(rows: list[list[Row]]) -> NamedReads:
            if not rows[0]:
                return []
            ids = [r["id"] for r in rows[1]]
            related = [("incident", {"ids": ids}), *causes_of(rows[1])] if ids else []
            return [("episodes", {"ids": [r["id"] for r in rows[4]]}), *related]

        found = await self.read_staged(
            lambda _: [
                ("sensor", {"key": key}),
                ("sensor_incident_ids", {"key": key}),
                ("sensor_metrics", {"key": key}),
                ("sensor_workloads", {"key": key}),
                ("sensor_episode_ids", {"key": key, "limit": episodes}),
            ],
            details,
        )
        if not found[0]:
            return None
        related: list[Row] = []
        if len(found) > 6:
            incidents = sorted(found[6], key=lambda i: -float(i["started"]))
            related = attached(incidents[:episodes], found[7:])
        return {
            **found[0][0],
            "metrics": found[2],
            "workloads": found[3],
            "episodes": _newest_first(found[5]),
            "incidents": related,
        }

    async def location_context(
        self, location: str, *, since: float = 0.0, until: float = FOREVER, limit: int = 20
    ) -> dict[str, Any] | None:
        """A location: its nodes, its incidents and episodes in the range, newest first. One
        round trip."""
        window = {"since": since, "until": until, "limit": limit}

        def details(rows: list[list[Row]]) -> NamedReads:
            if not rows[0]:
                return []
            return [("episodes", {"ids": [r["id"] for r in rows[2]]}), *causes_of(rows[1])]

        found = await self.read_staged(
            lambda _: [
                ("location", {"location": location}),
                ("incidents", {"location": location, **window}),
                ("location_episode_ids", {"location": location, **window}),
            ],
            details,
        )
        rows = found[0]
        if not rows:
            return None
        return {
            "location": location,
            "last_seen": rows[0]["last_seen"],
            "nodes": [
                {"node": r["node"], "last_seen": r["node_last_seen"]} for r in rows if r["node"]
            ],
            "incidents": attached(found[1], found[4:]),
            "episodes": _newest_first(found[3]),
        }


def _newest_first(episodes: list[Row]) -> list[Row]:
    """Episode rows (read by id, in no order), the newest first."""
    return sorted(episodes, key=lambda e: -float(e["started"]))
