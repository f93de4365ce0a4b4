"""Operations routes: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from starlette.responses import Response

from agent_bruno.api.deps import ServicesDep
from agent_bruno.api.errors import json_response
from agent_bruno.metrics import CONTENT_TYPE
from agent_bruno.storage.base import StorageError

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> Response:
    """The process is up."""
    return json_response({"status": "ok"})


@router.get("/readyz")
async def readyz(services: ServicesDep) -> Response:
    """Storage accepts writes and the writer thread is alive (503 otherwise, with the reason)."""
    problems = []
    if not services.writer.alive:
        problems.append("the storage writer thread is not running")
    try:
        await asyncio.to_thread(services.storage.check_writable)
    except StorageError as exc:
        problems.append(str(exc))
    if problems:
        return json_response({"status": "unavailable", "problems": problems}, 503)
    return json_response({"status": "ready", "writer_backlog": services.writer.backlog})


@router.get("/metrics")
async def metrics(services: ServicesDep) -> Response:
    """Prometheus text format from the service's own registry."""
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)
