"""The cluster's nodes and what exists: each node's health, a drill-down into one reporter's
raw local readings, and the inventory of places, nodes, sensors and metrics."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from pydantic import Field

from agent_bruno.agent.catalog import snapshot
from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.tools.base import ToolResult
from agent_bruno.agent.tools.common import Args, Range, time_range, unknown_name, vocabulary
from agent_bruno.health import Beat, assess


class NodeArgs(Args):
    """Arguments of `node_health`."""

    node: str | None = Field(default=None, description="one node's name; omit for every node")
    location: str | None = Field(default=None, description="only the nodes at this location")


class RawArgs(Args, Range):
    """Arguments of `raw_readings`."""

    node: str = Field(description="the node whose reporter to ask, e.g. pi-node-1")
    sensor: str | None = None
    metric: str | None = None
    limit: int = Field(default=200, ge=1, le=10_000)


class InventoryArgs(Args):
    """`inventory` takes no arguments."""


async def node_health(ctx: AgentContext, args: NodeArgs) -> ToolResult:
    """Each node's status (healthy, warning, offline) with the reasons, its latest CPU, memory,
    disk, load and SoC temperature, its workloads and when it last reported."""
    if args.node:
        vocab = await vocabulary(ctx)
        wanted = vocab.canonical("node", args.node)
        if wanted is not None:  # a stored name: read that node's row alone
            rows = await asyncio.to_thread(ctx.storage.list_nodes, wanted)
        else:  # perhaps a node with a heartbeat but no readings yet, named in another case
            rows = await asyncio.to_thread(ctx.storage.list_nodes)
            wanted = next((r.node for r in rows if r.node.lower() == args.node.lower()), None)
        if wanted is None:
            return unknown_name(vocab, "node", args.node)
        rows = [r for r in rows if r.node == wanted]
        if not rows:
            return ToolResult.no_data(f"node {wanted!r} has stored readings but no heartbeat yet")
    else:
        rows = await asyncio.to_thread(ctx.storage.list_nodes)
    if args.location:
        vocab = await vocabulary(ctx)
        place = vocab.canonical("location", args.location)
        if place is None:
            return unknown_name(vocab, "location", args.location)
        rows = [r for r in rows if r.location == place]
    if not rows:
        return ToolResult.no_data("no node has reported yet")
    now = ctx.clock()
    nodes = []
    counts = {"healthy": 0, "warning": 0, "offline": 0}
    for r in rows:
        beat = Beat(r.last_seen, r.interval_s, r.health, r.outbox_depth, r.outbox_dropped,
                    r.previous_outbox_depth)  # fmt: skip
        verdict = assess(beat, now, ctx.thresholds)
        counts[verdict.status] += 1
        nodes.append(
            {
                "node": r.node,
                "location": r.location,
                "cluster": r.cluster,
                "status": verdict.status,
                "reasons": list(verdict.reasons),
                "last_heartbeat": r.ts,
                "last_seen": r.last_seen,
                "age_s": max(0.0, now - r.last_seen),
                "health": r.health,
                "workloads": r.workloads,
                "sensors": r.sensors,
                "outbox": {"depth": r.outbox_depth, "dropped": r.outbox_dropped},
                "read_url": r.read_url,
            }
        )
    return ToolResult.ok({"now": now, "counts": counts, "nodes": nodes}, len(nodes))


async def raw_readings(ctx: AgentContext, args: RawArgs) -> ToolResult:
    """One node's raw local readings, straight from its reporter's read endpoint (default the
    last 15 minutes): drill-down below the 5-minute aggregates the agent stores."""
    rows = await asyncio.to_thread(ctx.storage.list_nodes)
    row = next((r for r in rows if r.node.lower() == args.node.lower()), None)
    if row is None:
        return unknown_name(await vocabulary(ctx), "node", args.node)
    if not row.read_url:
        return ToolResult.fail(f"{row.node}'s reporter does not advertise a read endpoint")
    if ctx.http is None:
        return ToolResult.fail("raw drill-down is not available: the agent has no HTTP client")
    span = time_range(ctx, args.start, args.end, 900)
    if isinstance(span, ToolResult):
        return span
    params: dict[str, Any] = {"start": span[0], "end": span[1], "limit": args.limit}
    for key in ("sensor", "metric"):
        if getattr(args, key):
            params[key] = getattr(args, key)
    headers = {}
    token = ctx.reporter_read_tokens.get(row.node)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = row.read_url.rstrip("/") + "/v1/readings"
    try:
        response = await ctx.http.get(url, params=params, headers=headers, timeout=5.0)
    except httpx.HTTPError as exc:
        return ToolResult.fail(
            f"could not reach {row.node}'s reporter at {url}: {type(exc).__name__} {exc}".strip()
        )
    if response.status_code != 200:
        return ToolResult.fail(
            f"{row.node}'s reporter answered HTTP {response.status_code}: {response.text[:200]}"
        )
    try:
        body = response.json()
        readings = list(body["readings"])
    except (ValueError, KeyError, TypeError):
        return ToolResult.fail(f"{row.node}'s reporter sent a malformed response")
    if not readings:
        return ToolResult.no_data(f"{row.node} has no raw readings in that range")
    data = {"node": row.node, "location": row.location, "start": span[0], "end": span[1],
            "truncated": bool(body.get("truncated")), "readings": readings}  # fmt: skip
    return ToolResult.ok(data, len(readings))


async def inventory(ctx: AgentContext, args: InventoryArgs) -> ToolResult:
    """What exists: locations with their nodes, each node's sensors, and metrics with units."""
    rows = (await snapshot(ctx.storage, ctx.catalog)).rows
    if not rows:
        return ToolResult.no_data("nothing has been stored yet")
    locations: dict[str, set[str]] = {}
    sensors: dict[str, dict[str, list[str]]] = {}
    for r in rows:
        locations.setdefault(r.location, set()).add(r.node)
        sensors.setdefault(r.node, {}).setdefault(r.sensor, []).append(r.metric)
    vocab = await vocabulary(ctx)
    data = {
        "locations": {loc: sorted(nodes) for loc, nodes in sorted(locations.items())},
        "nodes": dict(vocab.node_location),
        "sensors": {n: {s: sorted(m) for s, m in sorted(ss.items())} for n, ss in sensors.items()},
        "metrics": dict(sorted(vocab.units.items())),
    }
    return ToolResult.ok(data, len(rows))
