"""`Contexts`: what the graph knows around a sensor, a node or a location, in few round trips."""

from __future__ import annotations

from typing import Any

from agent_bruno.knowledge.backend import Row
from agent_bruno.knowledge.graph_core import FOREVER
from agent_bruno.knowledge.incidents import Incidents, attach
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
            related = attach(incidents[:episodes], causes, linked)
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
