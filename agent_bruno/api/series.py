"""`GET /v1/series`: a plain Starlette route with answers cached until the next commit.

Like ingest (see `ingest.py`), it skips FastAPI's per-request dependency solving and
parameter model, which cost more than the read itself. Dashboards ask the same question over
and over between two writes, so the encoded answer is kept, keyed by the resolved query and
the storage's `version` (it changes with every commit, retention included): a repeated
question is answered without touching the database, a new write is never hidden.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent_bruno.api.deps import Services, require_api_token
from agent_bruno.api.errors import ApiError
from agent_bruno.api.params import parse_flag, parse_step, time_range
from agent_bruno.storage.base import SeriesQuery, SeriesResult, StorageError

DAY = 86_400.0
_JSON = "application/json"


def series_query(request: Request, now: float) -> SeriesQuery:
    """The query a request asks (422 naming a bad parameter); the last of a repeated one wins."""
    args = request.query_params
    t_start, t_end = time_range(args.get("start"), args.get("end"), now, DAY)
    width = parse_step(args.get("step"), t_start, t_end)
    return SeriesQuery(
        t_start,
        t_end,
        width,
        args.get("metric"),
        args.get("location"),
        args.get("node"),
        args.get("sensor"),
        args.get("cluster"),
        parse_flag("include_faults", args.get("include_faults")),
    )


def encode(query: SeriesQuery, results: list[SeriesResult]) -> bytes:
    """The JSON answer. Plain dicts: orjson encodes them several times as fast as slotted
    dataclasses, and `asdict` cost more than the read."""
    return orjson.dumps(
        {
            "start": query.start,
            "end": query.end,
            "step": query.step,
            "series": [
                {
                    "cluster": r.cluster,
                    "node": r.node,
                    "location": r.location,
                    "sensor": r.sensor,
                    "metric": r.metric,
                    "unit": r.unit,
                    "points": [
                        {
                            "ts": p.ts,
                            "mean": p.mean,
                            "min": p.min,
                            "max": p.max,
                            "count": p.count,
                            "last": p.last,
                        }
                        for p in r.points
                    ],
                    "step": r.step,
                    "source": r.source,
                    "faults": None if r.faults is None else asdict(r.faults),
                    "faults_included": r.faults_included,
                }
                for r in results
            ],
        }
    )


async def get_series(request: Request) -> Response:
    """Points per (node, sensor, metric) at `step` seconds: mean, min, max, count, last.

    Readings the reporter judged sensor faults are left out (each series says how many and their
    extremes under `faults`) unless `include_faults=true`."""
    services: Services = request.app.state.services
    await require_api_token(request, services)
    query = series_query(request, time.time())
    storage = services.storage
    cache = services.answers
    version = storage.version  # read before the query: a commit meanwhile gives a new key
    body = cache.get(query, version)
    if body is None:
        try:
            results = await asyncio.to_thread(storage.query_series, query)
        except StorageError as exc:
            raise ApiError(
                503, f"storage unavailable: {exc}", reason="storage_unavailable"
            ) from None
        body = encode(query, results)
        cache.put(query, version, body)
    return Response(body, media_type=_JSON)


routes = [Route("/v1/series", get_series, methods=["GET"])]
