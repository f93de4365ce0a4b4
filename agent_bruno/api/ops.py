"""Operations routes: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from fastapi import APIRouter
from starlette.responses import Response

from agent_bruno.api.deps import ApiAuth, ServicesDep
from agent_bruno.api.errors import json_response, problem_response
from agent_bruno.api.openapi import documented
from agent_bruno.api.schemas import Health, Readiness
from agent_bruno.metrics import CONTENT_TYPE

router = APIRouter(tags=["ops"])


@router.get("/healthz", responses=documented(ok=Health))
async def healthz() -> Response:
    """The process is up."""
    return json_response({"status": "ok"})


@router.get(
    "/readyz",
    responses={
        **documented(ok=Readiness, description="Ready"),
        503: {"description": "Not ready: a problem whose `problems` member says why"},
    },
)
async def readyz(services: ServicesDep) -> Response:
    """The writer thread is alive and its last commit worked (503 otherwise, with the reason).

    No lock probe of its own: under load it would queue behind the writer and report a busy
    service as unready.
    """
    problems = []
    if not services.writer.alive:
        problems.append("the storage writer thread is not running")
    if services.writer.last_error is not None:
        problems.append(services.writer.last_error)
    # The graph is reported, not required: ingest, reads and answers go on without it.
    graph = (
        services.knowledge.upkeep.state.as_dict(services.knowledge.upkeep.pending)
        if services.knowledge is not None
        else {"state": "off"}
    )
    if problems:
        return problem_response(
            503,
            "not ready: " + "; ".join(problems),
            "unavailable",
            "/readyz",
            problems=problems,
            graph=graph,
        )
    return json_response(
        {"status": "ready", "writer_backlog": services.writer.backlog, "graph": graph}
    )


def _file_bytes(path: Path) -> int:
    """A file's size, 0 when it does not exist."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


@router.get(
    "/metrics",
    responses=documented(
        media={CONTENT_TYPE: {"schema": {"type": "string"}}},
        description="Prometheus text exposition format 0.0.4",
    ),
)
async def metrics(services: ServicesDep, _auth: ApiAuth) -> Response:
    """Prometheus text format from the service's own registry (it holds sensor values, so it
    needs the API token like the reads do)."""
    files = {"database": services.settings.database_path, "threads": services.settings.threads_path}
    for name, path in files.items():
        services.metrics.file_bytes.labels(name).set(_file_bytes(path))
        wal = path.with_name(path.name + "-wal")
        services.metrics.file_bytes.labels(f"{name}_wal").set(_file_bytes(wal))
    memory = services.agent.memory
    if memory is not None:
        for what, n in dataclasses.asdict(await memory.count()).items():
            services.metrics.thread_memory.labels(what).set(n)
    body = await asyncio.to_thread(services.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)
