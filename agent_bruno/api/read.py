"""Read routes: anomalies, nodes with health, and the catalog (`/v1/series` is in `series.py`)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from agent_bruno.api.deps import ApiAuth, ServicesDep
from agent_bruno.api.errors import ApiError, json_response
from agent_bruno.api.openapi import documented
from agent_bruno.api.paging import make_cursor, read_cursor
from agent_bruno.api.params import (
    Cursor,
    Limit,
    Name,
    Time,
    bad_param,
    parse_limit,
    time_range,
)
from agent_bruno.api.schemas import AnomalyPage, Catalog, NodeList, rfc3339, with_iso
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
        raise ApiError(
            503,
            f"storage unavailable: {exc}",
            reason="storage_unavailable",
            headers={"Retry-After": "5"},
        ) from None


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    """`value` if it is one of `allowed` (or None); a 422 naming the parameter otherwise."""
    if value is not None and value not in allowed:
        raise bad_param(name, value, f"expected one of {', '.join(allowed)}")
    return value


def episode_json(row: EpisodeRow) -> dict[str, Any]:
    """An episode as the API shows it: its stored fields plus `open` and `reminders`."""
    fields = with_iso(asdict(row), *_EPISODE_TIMES)
    return {**fields, "open": row.is_open, "reminders": row.reminders}


_EPISODE_TIMES = ("start", "end", "last", "peak_ts", "opened_at", "updated_at")


def _page(rows: list[Any], offset: int, n: int) -> tuple[list[Any], bool]:
    """The page of `rows` (read up to offset + n + 1) at `offset`, and whether more follow."""
    return rows[offset : offset + n], len(rows) > offset + n


Severity = Annotated[
    str | None, Query(min_length=1, description="warning or critical", examples=["critical"])
]


@router.get("/v1/anomalies", responses=documented(422, 503, ok=AnomalyPage))
async def get_anomalies(
    services: ServicesDep,
    _auth: ApiAuth,
    cluster: Name = None,
    node: Name = None,
    location: Name = None,
    sensor: Name = None,
    metric: Name = None,
    severity: Severity = None,
    kind: Annotated[str | None, Query(description="sensor_fault or process_anomaly")] = None,
    rule: Name = None,
    state: Annotated[str | None, Query(description="open or closed (episodes)")] = None,
    view: Annotated[str | None, Query(description="episodes (default) or readings")] = None,
    episode: Annotated[str | None, Query(min_length=1, description="an episode id")] = None,
    start: Time = None,
    end: Time = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Response:
    """Anomaly episodes active in the range (open first, then newest); `view=readings` lists
    the flagged readings instead, newest first (`episode=ID`: the readings of one episode).
    Paged: `limit` rows (default 100), then `cursor=next_cursor` for the next page."""
    _choice("severity", severity, SEVERITIES)
    _choice("kind", kind, KINDS)
    shown = _choice("view", view, VIEWS) or ("readings" if episode else "episodes")
    n = parse_limit(limit)
    filters: dict[str, object] = {
        "cluster": cluster, "node": node, "location": location, "sensor": sensor,
        "metric": metric, "severity": severity, "kind": kind, "rule": rule, "state": state,
        "view": shown, "episode": episode,
    }  # fmt: skip
    page = read_cursor(cursor, filters)
    if page is not None and page.start is not None and page.end is not None:
        t_start, t_end, offset = page.start, page.end, page.offset
    else:
        t_start, t_end = time_range(start, end, time.time(), 7 * DAY)
        offset = 0
    upto = offset + n + 1

    def next_cursor(more: bool) -> str | None:
        return make_cursor(offset + n, t_start, t_end, filters) if more else None

    if shown == "readings":
        if state is not None or rule is not None:
            name, value = ("state", state) if state is not None else ("rule", rule)
            raise bad_param(name, value or "", "filters episodes; drop it or leave out view")
        query = AnomalyQuery(
            t_start, t_end, upto, cluster, node, location, severity, sensor, metric, kind, episode
        )
        rows, more = _page(await _read(services.storage.query_anomalies, query), offset, n)
        return json_response(
            {
                "view": "readings",
                "anomalies": [with_iso(asdict(r), "ts") for r in rows],
                "next_cursor": next_cursor(more),
            }
        )
    _choice("state", state, STATES)
    episodes = EpisodeQuery(
        t_start, t_end, upto, cluster, node, location, sensor, metric, kind, rule, severity, state
    )
    found, more = _page(await _read(services.storage.query_episodes, episodes), offset, n)
    return json_response(
        {
            "view": "episodes",
            "episodes": [episode_json(r) for r in found],
            "next_cursor": next_cursor(more),
        }
    )


def _moves(moves: list[Move], node: str) -> list[dict[str, Any]]:
    """The moves of `node` since the agent started (AGENT_BRUNO_REPORTER_MOVES=allow)."""
    return [
        {
            "from": {"cluster": m.before[0], "location": m.before[1]},
            "to": {"cluster": m.after[0], "location": m.after[1]},
            "at": m.at,
            "at_iso": rfc3339(m.at),
        }
        for m in moves
        if m.node == node
    ]


@router.get("/v1/nodes", responses=documented(503, ok=NodeList))
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
                "last_heartbeat_iso": rfc3339(row.ts),
                "last_seen": row.last_seen,
                "last_seen_iso": rfc3339(row.last_seen),
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


@router.get("/v1/catalog", responses=documented(422, 503, ok=Catalog))
async def get_catalog(
    services: ServicesDep, _auth: ApiAuth, limit: Limit = None, cursor: Cursor = None
) -> Response:
    """What exists: clusters, locations, nodes, sensors and metrics with units and time ranges.

    The `series` list is paged (`limit`, default 1000, then `cursor=next_cursor`); the name
    lists and metrics are complete on every page."""
    n = parse_limit(limit, default=1000)
    page = read_cursor(cursor, {"list": "catalog"})
    offset = page.offset if page is not None else 0
    rows = await _read(services.storage.catalog)
    times = ("first_seen", "last_seen")
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
            "metrics": [
                with_iso(m, *times)
                for m in sorted(metrics.values(), key=lambda m: (m["metric"], m["unit"]))
            ],
            "series": [
                with_iso(
                    {
                        "cluster": r.cluster,
                        "location": r.location,
                        "node": r.node,
                        "sensor": r.sensor,
                        "metric": r.metric,
                        "unit": r.unit,
                        "first_seen": r.first_ts,
                        "last_seen": r.last_ts,
                    },
                    *times,
                )
                for r in rows[offset : offset + n]
            ],
            "next_cursor": make_cursor(offset + n, None, None, {"list": "catalog"})
            if len(rows) > offset + n
            else None,
        }
    )
