"""The knowledge-graph toolset: context of a sensor, node or location, workloads, incidents and
root causes, similar past incidents, and recording what people say happened.

Reads never raise: an unreachable graph is an `error` result saying so. The only writes are
`record_incident` and `correct_incident`; each is logged with who asked.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Literal

from pydantic import Field

from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.nlu.incidents import at_clock
from agent_bruno.agent.nlu.timeexpr import parse_time_arg
from agent_bruno.agent.tools.base import Tool, ToolResult, describe
from agent_bruno.agent.tools.common import Args, time_range
from agent_bruno.knowledge.backend import GraphError, GraphUnavailable
from agent_bruno.knowledge.model import (
    EpisodeFact,
    IncidentInput,
    RootCauseInput,
    episode_from_row,
)
from agent_bruno.knowledge.readonly import read_only_problem
from agent_bruno.knowledge.service import FOREVER, IncidentNotFound, KnowledgeGraph

log = logging.getLogger(__name__)

DAY = 86_400.0
NO_GRAPH = "the knowledge graph is off or could not be opened (see /readyz)"
LATEST = "latest"  # `correct_incident`'s incident: the one the asker recorded last


class ContextArgs(Args):
    """Arguments of `graph_context`: exactly one of node, sensor or location."""

    node: str | None = Field(default=None, description="a node, e.g. pi-node-3")
    sensor: str | None = Field(default=None, description="a sensor, e.g. dht22-1")
    location: str | None = Field(default=None, description="a location, e.g. warehouse-b")
    episodes: int = Field(default=10, ge=1, le=100, description="recent episodes to include")


class WorkloadArgs(Args):
    """Arguments of `workloads`."""

    node: str = Field(description="the node, e.g. pi-node-3")


class IncidentArgs(Args):
    """Arguments of `incidents`."""

    location: str | None = Field(default=None, description="only incidents at this location")
    node: str | None = Field(default=None, description="only incidents at this node's location")
    sensor: str | None = Field(default=None, description="only incidents of this sensor")
    start: str | None = Field(default=None, description='since when, e.g. "last month"')
    end: str | None = Field(default=None, description="until when (default now)")
    limit: int = Field(default=20, ge=1, le=200)


class SimilarArgs(Args):
    """Arguments of `similar_incidents`: an episode id, or the newest episode of a place."""

    episode: str | None = Field(default=None, description="an episode id (ep-…)")
    node: str | None = None
    location: str | None = None
    sensor: str | None = None
    metric: str | None = None
    limit: int = Field(default=3, ge=1, le=20)


class RecordArgs(Args):
    """Arguments of `record_incident`."""

    location: str | None = Field(default=None, description="where it happened, e.g. warehouse-b")
    node: str | None = Field(
        default=None, description="the node it happened on (its location is used), e.g. pi-node-3"
    )
    at: str = Field(
        description='when it happened, e.g. "14:23", "yesterday 14:23", "2 hours ago" or ISO 8601'
    )
    cause: str | None = Field(
        default=None, max_length=500, description="the root cause, e.g. HVAC malfunction"
    )
    status: Literal["open", "resolved"] = "open"
    resolution: str | None = Field(default=None, max_length=500)
    recommendation: str | None = Field(default=None, max_length=500)
    metric: str | None = Field(default=None, description="narrow the episodes linked to a metric")
    summary: str = Field(default="", max_length=2000)


class CorrectArgs(Args):
    """Arguments of `correct_incident`: the incident and what changes."""

    incident: str = Field(
        description='the incident id (inc-…), or "latest": the one the asker recorded last'
    )
    cause: str | None = Field(default=None, max_length=500)
    status: Literal["open", "resolved"] | None = None
    resolution: str | None = Field(default=None, max_length=500)
    location: str | None = None
    at: str | None = None


def _graph(ctx: AgentContext) -> KnowledgeGraph | ToolResult:
    return ctx.graph_client if ctx.graph_client is not None else ToolResult.fail(NO_GRAPH)


def _failed(exc: GraphError) -> ToolResult:
    """An unreachable graph is said as such; a refused query is logged, not shown."""
    if isinstance(exc, GraphUnavailable):
        return ToolResult.fail(f"the knowledge graph is unavailable: {exc}")
    log.error("knowledge graph query failed: %s", exc)
    return ToolResult.fail("the knowledge graph could not answer (the agent's log has why)")


async def _sensor_keys(graph: KnowledgeGraph, sensor: str, node: str | None) -> list[str]:
    keys = await graph.sensor_keys(sensor, node)
    if not keys and node is None and "/" in sensor:
        node_part, _, name = sensor.partition("/")
        keys = await graph.sensor_keys(name, node_part)
    return keys


async def graph_context(ctx: AgentContext, args: ContextArgs) -> ToolResult:
    """What and where a sensor, node or location is, what runs there (with CPU and memory), its
    recent anomaly episodes and past incidents with their causes, and when each fact was last
    confirmed."""
    graph = _graph(ctx)
    if isinstance(graph, ToolResult):
        return graph
    try:
        if args.sensor:
            keys = await _sensor_keys(graph, args.sensor, args.node)
            if not keys:
                return ToolResult.no_data(f"the graph knows no sensor called {args.sensor!r}")
            found = [await graph.sensor_context(k, args.episodes) for k in keys]
            items = [c for c in found if c is not None]
            return ToolResult.ok({"kind": "sensor", "sensors": items}, len(items))
        if args.node:
            node = await graph.node_context(args.node, args.episodes, incidents=args.episodes)
            if node is None:
                return ToolResult.no_data(f"the graph knows no node called {args.node!r}")
            return ToolResult.ok({"kind": "node", **node})
        if args.location:
            place = await graph.location_context(args.location, limit=args.episodes)
            if place is None:
                return ToolResult.no_data(f"the graph knows no location called {args.location!r}")
            return ToolResult.ok({"kind": "location", **place})
    except GraphError as exc:
        return _failed(exc)
    return ToolResult.fail("name a node, a sensor or a location")


async def workloads(ctx: AgentContext, args: WorkloadArgs) -> ToolResult:
    """What runs on a node now (pods or processes), busiest first, with each one's CPU (percent
    of the node), memory, requests and when it was last reported, and the node's own CPU."""
    graph = _graph(ctx)
    if isinstance(graph, ToolResult):
        return graph
    try:
        node = await graph.node_context(args.node, episodes=1)
        if node is None:
            return ToolResult.no_data(f"the graph knows no node called {args.node!r}")
        items = node["workloads"]
    except GraphError as exc:
        return _failed(exc)
    data = {
        "node": node["node"],
        "location": node["location"],
        "node_cpu_percent": node["cpu_percent"],
        "node_last_seen": node["last_seen"],
        "workloads": items,
    }
    if not items:
        return ToolResult.no_data(f"{node['node']} reports no workloads", data)
    return ToolResult.ok(data, len(items))


async def incidents(ctx: AgentContext, args: IncidentArgs) -> ToolResult:
    """Past incidents with their root causes, resolutions and linked episodes, by place, node,
    sensor or time (newest first), and the place's recent anomaly episodes."""
    graph = _graph(ctx)
    if isinstance(graph, ToolResult):
        return graph
    since, until = 0.0, FOREVER
    if args.start is not None or args.end is not None:
        window = time_range(ctx, args.start, args.end, 30 * DAY)
        if isinstance(window, ToolResult):
            return window
        since, until = window
    try:
        location = args.location
        if args.node and not location:
            node = await graph.node_context(args.node, episodes=1)
            if node is None:
                return ToolResult.no_data(f"the graph knows no node called {args.node!r}")
            location = node["location"]
        if args.sensor:
            keys = await _sensor_keys(graph, args.sensor, args.node)
            if not keys:
                return ToolResult.no_data(f"the graph knows no sensor called {args.sensor!r}")
            found = [i for k in keys for i in await graph.sensor_incidents(k, args.limit)]
            return ToolResult.ok({"incidents": found, "episodes": []}, len(found))
        if location is not None:
            place = await graph.location_context(
                location, since=since, until=until, limit=args.limit
            )
            if place is None:
                return ToolResult.no_data(f"the graph knows no location called {location!r}")
            data = {
                "location": location,
                "incidents": place["incidents"],
                "episodes": place["episodes"],
            }
        else:
            found = await graph.incidents(since=since, until=until, limit=args.limit)
            data = {"location": None, "incidents": found, "episodes": []}
    except GraphError as exc:
        return _failed(exc)
    data.update(since=since if since > 0 else None, until=until if until < FOREVER else None)
    return ToolResult.ok(data, len(data["incidents"]) + len(data["episodes"]))


async def similar_incidents(ctx: AgentContext, args: SimilarArgs) -> ToolResult:
    """Past incidents that resemble an anomaly episode (by id, or the newest one of a node,
    sensor, metric or location), with how similar they are, why, and their root causes with how
    often each was confirmed. These are likely explanations, not facts."""
    graph = _graph(ctx)
    if isinstance(graph, ToolResult):
        return graph
    try:
        episode = await graph.episode(args.episode) if args.episode else None
        if episode is None and args.episode:
            return ToolResult.no_data(f"the graph knows no episode {args.episode!r}")
        if episode is None:
            episode = await _newest_episode(graph, args)
        if episode is None:
            return ToolResult.no_data("no anomaly episode there to compare with past incidents")
        found = await graph.similar_incidents(episode, ctx.tz, args.limit)
    except GraphError as exc:
        return _failed(exc)
    data = {"episode": episode.as_row(), "similar": found}
    if not found:
        return ToolResult.no_data("no past incident resembles this episode", data)
    return ToolResult.ok(data, len(found))


async def _newest_episode(graph: KnowledgeGraph, args: SimilarArgs) -> EpisodeFact | None:
    """The newest episode of the sensor, node or location asked about."""
    rows: list[dict[str, Any]] = []
    if args.sensor:
        for key in await _sensor_keys(graph, args.sensor, args.node):
            rows += await graph.read("sensor_episodes", key=key, limit=5)
    elif args.node:
        rows = await graph.read("node_episodes", node=args.node, since=0.0, limit=20)
    elif args.location:
        rows = await graph.read(
            "location_episodes", location=args.location, since=0.0, until=FOREVER, limit=20
        )
    if args.metric:
        rows = [r for r in rows if r["metric"] == args.metric]
    if not rows:
        return None
    return episode_from_row(max(rows, key=lambda r: r["started"]))


def _when(ctx: AgentContext, text: str) -> float | ToolResult:
    now = ctx.clock()
    clock = at_clock(text, now, ctx.tz)  # "14:23": the latest 14:23 not in the future
    if clock is not None:
        return clock
    try:
        return parse_time_arg(text, now, ctx.tz, role="start")
    except ValueError as exc:
        return ToolResult.fail(f"when it happened: {exc}")


async def record_incident(ctx: AgentContext, args: RecordArgs) -> ToolResult:
    """Record an incident people report (where, when, root cause, resolved or not); the anomaly
    episodes active at that place and time are linked to it. Returns what was recorded and
    linked, to echo back."""
    graph = _graph(ctx)
    if isinstance(graph, ToolResult):
        return graph
    at = _when(ctx, args.at)
    if isinstance(at, ToolResult):
        return at
    cause = (
        RootCauseInput(args.cause.strip(), args.resolution, args.recommendation)
        if args.cause and args.cause.strip()
        else None
    )
    who = ctx.asked_by
    incident = IncidentInput(
        location=args.location or "",
        started=at,
        status=args.status,
        summary=args.summary,
        root_cause=cause,
        metric=args.metric,
    )
    try:
        location = args.location
        if location is None and args.node is not None:
            node = await graph.node_context(args.node, episodes=1)
            if node is None or not node["location"]:
                return ToolResult.no_data(f"the graph knows no node called {args.node!r}")
            location = node["location"]
        if location is None:
            return ToolResult.fail("say where it happened: a location or a node")
        if await graph.location_context(location, limit=1) is None:
            return ToolResult.no_data(f"the graph knows no location called {location!r}")
        incident = replace(incident, location=location)
        stored = await graph.record_incident(incident, who, ctx.clock())
    except GraphError as exc:
        return _failed(exc)
    log.info("chat: incident %s recorded, asked by %s", stored["id"], who)
    return ToolResult.ok({"recorded": stored, "asked_by": who})


async def correct_incident(ctx: AgentContext, args: CorrectArgs) -> ToolResult:
    """Correct a recorded incident: its root cause, status, resolution, place or time. Returns
    the incident as it now stands."""
    graph = _graph(ctx)
    if isinstance(graph, ToolResult):
        return graph
    who = ctx.asked_by
    try:
        incident_id = args.incident
        if incident_id == LATEST:
            mine = await graph.read("latest_recorded", by=who)
            if not mine:
                return ToolResult.no_data(f"{who} has recorded no incident to correct")
            incident_id = str(mine[0]["id"])
        current = await graph.incident(incident_id)
        if current is None:
            return ToolResult.no_data(f"no incident {incident_id!r} is recorded")
        started = float(current["started"])
        if args.at is not None:
            at = _when(ctx, args.at)
            if isinstance(at, ToolResult):
                return at
            started = at
        old = current["root_causes"][0] if current["root_causes"] else None
        description = args.cause.strip() if args.cause else (old["description"] if old else None)
        cause = (
            RootCauseInput(
                description,
                args.resolution if args.resolution is not None else (old or {}).get("resolution"),
                (old or {}).get("recommendation") if args.cause is None else None,
            )
            if description
            else None
        )
        changed = IncidentInput(
            location=args.location or current["location"],
            started=started,
            title=current["title"] if args.cause is None else "",
            ended=current["ended"],
            status=args.status or current["status"],
            summary=current["summary"] or "",
            root_cause=cause,
            episodes=tuple(e["id"] for e in current["episodes"])
            if args.location is None and args.at is None
            else (),
        )
        stored = await graph.correct_incident(incident_id, changed, who, ctx.clock())
    except IncidentNotFound:
        return ToolResult.no_data(f"no incident {args.incident!r} is recorded")
    except GraphError as exc:
        return _failed(exc)
    log.info("chat: incident %s corrected, asked by %s", incident_id, who)
    return ToolResult.ok({"corrected": stored, "was": current, "asked_by": who})


class CypherArgs(Args):
    """Arguments of `graph_query`."""

    cypher: str = Field(min_length=1, max_length=4000, description="one read-only Cypher query")


SCHEMA_FOR_MODEL = (
    "Nodes: Cluster{name}, Location{name}, Node{name, cpu_percent, memory_percent, load_1m, "
    "last_seen}, Sensor{key, name, node, location}, Metric{name}, Workload{name, namespace, "
    "kind, image}, Episode{id, node, location, sensor, metric, kind, rule, severity, started, "
    "ended, peak_value, peak_sigma}, Incident{id, title, location, started, status}, "
    "RootCause{description, resolution, recommendation}. Relationships: (Node)-[:IN_CLUSTER]->"
    "(Cluster), (Node|Incident|Episode)-[:AT]->(Location), (Sensor)-[:ON_NODE]->(Node), "
    "(Sensor)-[:MEASURES {unit}]->(Metric), (Workload)-[:RUNS_ON {cpu_percent, memory_mib}]->"
    "(Node), (Episode)-[:OBSERVED_BY]->(Sensor), (Episode)-[:PART_OF]->(Incident), "
    "(Incident)-[:CAUSED_BY]->(RootCause). Times are Unix seconds."
)


def fence_untrusted(tool: str, content: str) -> str:
    """Graph text (names, notes, causes people typed) for a model: fenced as data."""
    safe = content.replace("</untrusted-data>", "<\\/untrusted-data>")
    return f'<untrusted-data tool="{tool}">\n{safe}\n</untrusted-data>'


async def graph_query(ctx: AgentContext, args: CypherArgs) -> ToolResult:
    """Run one read-only Cypher query on the knowledge graph, for what the other graph tools do
    not cover (bounded in time and rows; writes are refused). Schema:"""
    graph = _graph(ctx)
    if isinstance(graph, ToolResult):
        return graph
    problem = read_only_problem(args.cypher)
    if problem is not None:
        return ToolResult.fail(f"refused: {problem}")
    try:
        rows, more = await graph.backend.read_untrusted(
            args.cypher, {}, timeout_s=ctx.graph_query_timeout_s, limit=ctx.graph_query_max_rows
        )
    except GraphError as exc:
        return ToolResult.fail(f"the query failed: {exc}")
    data: dict[str, Any] = {"rows": rows, "more": more}
    if more:
        data["note"] = f"only the first {len(rows)} rows; narrow the query for the rest"
    if not rows:
        return ToolResult.no_data("the query matched nothing", data)
    return ToolResult.ok(data, len(rows))


graph_query.__doc__ = (graph_query.__doc__ or "") + SCHEMA_FOR_MODEL


GRAPH_TOOLS: tuple[Tool[AgentContext, Any], ...] = (
    Tool("graph_context", describe(graph_context), ContextArgs, graph_context, "graph"),
    Tool("workloads", describe(workloads), WorkloadArgs, workloads, "graph"),
    Tool("incidents", describe(incidents), IncidentArgs, incidents, "graph"),
    Tool("similar_incidents", describe(similar_incidents), SimilarArgs, similar_incidents, "graph"),
    Tool("record_incident", describe(record_incident), RecordArgs, record_incident, "graph"),
    Tool("correct_incident", describe(correct_incident), CorrectArgs, correct_incident, "graph"),
    Tool("graph_query", describe(graph_query), CypherArgs, graph_query, "graph"),
)
