"""Read routes: anomalies, nodes with health, and the catalog (`/v1/series` is in `series.py`)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from agent_bruno.api.deps import ApiAuth, ServicesDep
from agent_bruno.api.errors import ApiError, json_response
from agent_bruno.api.params import bad_param, parse_limit, time_range
from agent_bruno.health import Beat, Thresholds, assess
from agent_bruno.reporters import Move
from agent_bruno.settings import Settings
from agent_bruno.storage.base import (
    AnomalyQuery,
    EpisodeQuery,
    EpisodeRow,
    StorageError,
)
from agent_bruno.storage.episodes import STATES

router = APIRouter(tags=["read"])
DAY = 86_400.0
SEVERITIES = ("warning", "critical")
KINDS = ("sensor_fault", "process_anomaly")
VIEWS = ("episodes", "readings")


def thresholds(settings: Settings) -> Thresholds:
    """Health thresholds from the settings."""
    return Thresholds(
        offline_after_intervals=settings.offline_after_intervals,
        cpu_percent=settings.cpu_warn_percent,
        memory_percent=settings.memory_warn_percent,
        disk_percent=settings.disk_warn_percent,
        soc_temp_c=settings.soc_temp_warn_c,
        outbox_depth=settings.outbox_depth_warn,
        clock_offset_s=settings.clock_warn_s,
    )


async def _read(fn: Any, *args: Any) -> Any:
    """Run a storage read on a worker thread; a database failure becomes 503."""
    try:
        return await asyncio.to_thread(fn, *args)
    except StorageError as exc:
        raise ApiError(503, f"storage unavailable: {exc}", reason="storage_unavailable") from None


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    """`value` if it is one of `allowed` (or None); a 422 naming the parameter otherwise."""
    if value is not None and value not in allowed:
        raise bad_param(name, value, f"expected one of {', '.join(allowed)}")
    return value


def episode_json(row: EpisodeRow) -> dict[str, Any]:
    """An episode as the API shows it: its stored fields plus `open` and `reminders`."""
    return {**asdict(row), "open": row.is_open, "reminders": row.reminders}


@router.get("/v1/anomalies")
async def get_anomalies(
    services: ServicesDep,
    _auth: ApiAuth,
    cluster: str | None = None,
    node: str | None = None,
    location: str | None = None,
    sensor: str | None = None,
    metric: str | None = None,
    severity: str | None = None,
    kind: str | None = None,
    rule: str | None = None,
    state: str | None = None,
    view: str | None = None,
    episode: str | None = None,
    start: str | None = None,
    end: str | None = None,
    limit: str | None = None,
) -> Response:
    """Anomaly episodes active in the range (open first, then newest); `view=readings` lists
    the flagged readings instead, newest first (`episode=ID`: the readings of one episode)."""
    _choice("severity", severity, SEVERITIES)
    _choice("kind", kind, KINDS)
    shown = _choice("view", view, VIEWS) or ("readings" if episode else "episodes")
    now = time.time()
    t_start, t_end = time_range(start, end, now, 7 * DAY)
    n = parse_limit(limit)
    if shown == "readings":
        if state is not None or rule is not None:
            name, value = ("state", state) if state is not None else ("rule", rule)
            raise bad_param(name, value or "", "filters episodes; drop it or leave out view")
        query = AnomalyQuery(
            t_start, t_end, n, cluster, node, location, severity, sensor, metric, kind, episode
        )
        rows = await _read(services.storage.query_anomalies, query)
        return json_response({"view": "readings", "anomalies": [asdict(r) for r in rows]})
    _choice("state", state, STATES)
    episodes = EpisodeQuery(
        t_start, t_end, n, cluster, node, location, sensor, metric, kind, rule, severity, state
    )
    found = await _read(services.storage.query_episodes, episodes)
    return json_response({"view": "episodes", "episodes": [episode_json(r) for r in found]})


def _moves(moves: list[Move], node: str) -> list[dict[str, Any]]:
    """The moves of `node` since the agent started (AGENT_BRUNO_REPORTER_MOVES=allow)."""
    return [
        {
            "from": {"cluster": m.before[0], "location": m.before[1]},
            "to": {"cluster": m.after[0], "location": m.after[1]},
            "at": m.at,
        }
        for m in moves
        if m.node == node
    ]


@router.get("/v1/nodes")
async def get_nodes(services: ServicesDep, _auth: ApiAuth) -> Response:
    """Every node with its latest heartbeat and status: healthy, warning or offline."""
    now = time.time()
    rows = await _read(services.storage.list_nodes)
    limits = thresholds(services.settings)
    nodes = []
    for row in rows:
        clock = services.clocks.get(row.node)
        offset = None if clock is None else round(clock.seconds, 3)
        verdict = assess(
            Beat(row.last_seen, row.interval_s, row.health, row.outbox_depth,
                 row.outbox_dropped, row.previous_outbox_depth, offset),
            now,
            limits,
        )  # fmt: skip
        nodes.append(
            {
                "node": row.node,
                "cluster": row.cluster,
                "location": row.location,
                "status": verdict.status,
                "reasons": list(verdict.reasons),
                "last_heartbeat": row.ts,
                "last_seen": row.last_seen,
                "clock_offset_s": offset,
                "moves": _moves(services.reporters.moves, row.node),
                "interval_s": row.interval_s,
                "health": row.health,
                "sensors": row.sensors,
                "workloads": row.workloads,
                "outbox": {
                    "depth": row.outbox_depth,
                    "dropped": row.outbox_dropped,
                    "oldest_age_s": row.outbox_oldest_age_s,
                },
                "read_url": row.read_url,
            }
        )
    return json_response({"nodes": nodes})


@router.get("/v1/catalog")
async def get_catalog(services: ServicesDep, _auth: ApiAuth) -> Response:
    """What exists: clusters, locations, nodes, sensors and metrics with units and time ranges."""
    rows = await _read(services.storage.catalog)
    metrics: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        m = metrics.setdefault(
            (r.metric, r.unit),
            {"metric": r.metric, "unit": r.unit, "first_seen": r.first_ts, "last_seen": r.last_ts},
        )
        m["first_seen"] = min(m["first_seen"], r.first_ts)
        m["last_seen"] = max(m["last_seen"], r.last_ts)
    return json_response(
        {
            "clusters": sorted({r.cluster for r in rows}),
            "locations": sorted({r.location for r in rows}),
            "nodes": sorted({r.node for r in rows}),
            "sensors": sorted({r.sensor for r in rows}),
            "metrics": sorted(metrics.values(), key=lambda m: (m["metric"], m["unit"])),
            "series": [
                {
                    "cluster": r.cluster,
                    "location": r.location,
                    "node": r.node,
                    "sensor": r.sensor,
                    "metric": r.metric,
                    "unit": r.unit,
                    "first_seen": r.first_ts,
                    "last_seen": r.last_ts,
                }
                for r in rows
            ],
        }
    )
