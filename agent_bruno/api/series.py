"""`GET /v1/series`: a plain ASGI endpoint with answers kept until the next commit.

Dashboards ask the same question over and over between two writes, so the encoded answer of a
question with a fixed window (start and end given as moments, not relative to now) is kept,
keyed by the raw query string and the storage's `version` (it changes with every commit,
retention included): a repeated question is answered without parsing it or touching the
database, and a new write is never hidden. A question relative to now is answered afresh.

The endpoint is plain ASGI, and `FrontDoor` (direct.py) hands it GET requests ahead of
FastAPI's routing and exception layers: on a kept answer those layers, Starlette's request,
query-string and response objects cost several times the lookup itself.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from agent_bruno.api.deps import Services, principal_of
from agent_bruno.api.errors import ApiError, send_api_error, send_json
from agent_bruno.api.params import is_fixed_time, parse_flag, parse_step, time_range
from agent_bruno.api.schemas import rfc3339
from agent_bruno.storage.base import SeriesQuery, SeriesResult, StorageError

DAY = 86_400.0
PATH = "/v1/series"


def series_query(args: dict[str, str], now: float) -> SeriesQuery:
    """The query a request asks (422 naming a bad parameter)."""
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


def query_args(raw: bytes) -> dict[str, str]:
    """The parameters of a query string; the last of a repeated one wins."""
    return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))


def encode(query: SeriesQuery, results: list[SeriesResult]) -> bytes:
    """The JSON answer, each time with its RFC 3339 twin. Plain dicts: orjson encodes them
    several times as fast as slotted dataclasses, and `asdict` cost more than the read. The
    series share one bucket grid, so each bucket's time is formatted once per answer."""
    iso: dict[float, str | None] = {}

    def ts_iso(ts: float) -> str | None:
        text = iso.get(ts)
        if text is None:
            text = iso[ts] = rfc3339(ts)
        return text

    return orjson.dumps(
        {
            "start": query.start,
            "start_iso": rfc3339(query.start),
            "end": query.end,
            "end_iso": rfc3339(query.end),
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
                            "ts_iso": ts_iso(p.ts),
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


def _authorization(scope: Scope) -> str | None:
    """The request's `Authorization` header value, if any."""
    for key, value in scope["headers"]:
        if key == b"authorization":
            return str(value.decode("latin-1"))
    return None


async def answer(services: Services, raw: bytes) -> bytes:
    """The encoded answer to the query string `raw`: kept, or read and encoded."""
    storage, cache = services.storage, services.answers
    version = storage.version  # read before the query: a commit meanwhile gives a new key
    body = cache.get(raw, version)
    if body is not None:
        return body
    args = query_args(raw)
    query = series_query(args, time.time())
    try:
        results = await asyncio.to_thread(storage.query_series, query)
    except StorageError as exc:
        raise ApiError(
            503,
            f"storage unavailable: {exc}",
            reason="storage_unavailable",
            headers={"Retry-After": "5"},
        ) from None
    body = encode(query, results)
    if is_fixed_time(args.get("start")) and is_fixed_time(args.get("end")):
        cache.put(raw, version, body)
    return body


class SeriesEndpoint:
    """The ASGI endpoint (a class, so Starlette's router mounts it as ASGI, not as a
    request-response function)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Points per (node, sensor, metric) at `step` seconds: mean, min, max, count, last.

        Readings the reporter judged sensor faults are left out (each series says how many and
        their extremes under `faults`) unless `include_faults=true`."""
        app: Any = scope["app"]
        services: Services = app.state.services
        head = scope["method"] == "HEAD"
        try:
            principal_of(_authorization(scope), services)
            body = await answer(services, scope["query_string"])
        except ApiError as exc:
            await send_api_error(send, exc, scope["path"], head=head)
            return
        await send_json(send, body, head=head)


get_series = SeriesEndpoint()
routes = [Route(PATH, get_series, methods=["GET"])]
