"""`create_app(settings)`: the FastAPI app; its lifespan builds storage, writer, retention."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import request_response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_bruno.agent.wiring import open_agent
from agent_bruno.alerts.desk import AlertDesk
from agent_bruno.alerts.wiring import open_alerts
from agent_bruno.api import (
    chat,
    incidents,
    ingest,
    openapi,
    ops,
    query,
    read,
    series,
    slack,
    subscriptions,
    web,
)
from agent_bruno.api.deps import Services
from agent_bruno.api.direct import FrontDoor
from agent_bruno.api.errors import (
    ApiError,
    handle_api_error,
    handle_http_exception,
    handle_unexpected,
    handle_validation_error,
)
from agent_bruno.knowledge.runtime import open_knowledge
from agent_bruno.metrics import Metrics
from agent_bruno.settings import Settings
from agent_bruno.storage.retention import RetentionPolicy, run_periodically
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.storage.writer import GroupCommitWriter
from edge_reporter.distribution import VERSION

log = logging.getLogger(__name__)


class LatencyMiddleware:
    """Observe each HTTP request's duration and status class under its route (else `other`)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: frozenset[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request from arrival to the end of the response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        route = path if path in self.routes else "other"

        status = 500

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.metrics.finish_request(route, status, time.perf_counter() - started)

        await self.app(scope, receive, timed_send)


def open_storage(settings: Settings, metrics: Metrics) -> tuple[SqliteStorage, GroupCommitWriter]:
    """Open the database and start the writer thread."""
    storage = SqliteStorage(settings.database_path)
    writer = GroupCommitWriter(
        storage,
        max_batch=settings.writer_max_batch,
        queue_size=settings.writer_queue_size,
        on_batch=metrics.commit_batch.observe,
    )
    writer.start()
    return storage, writer


def _close_storage(storage: SqliteStorage, writer: GroupCommitWriter) -> None:
    """Stop the writer (it commits what it holds), then close the database."""
    writer.stop()
    storage.close()


@asynccontextmanager
async def retention_task(settings: Settings, services: Services) -> AsyncIterator[None]:
    """Prune expired data every `retention_interval_s` while the block runs."""
    policy = RetentionPolicy(
        settings.hot_retention_days,
        settings.rollup_retention_days,
        settings.retention_batch_rows,
    )
    retention = asyncio.create_task(
        run_periodically(services.writer, policy, settings.retention_interval_s),
        name="retention",
    )
    try:
        yield
    finally:
        retention.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await retention


def _log_start(settings: Settings, services: Services) -> None:
    """Say where data goes and who may send and read it."""
    log.info(
        "agent-bruno storing in %s; %d reporter token(s); reads %s",
        settings.database_path,
        len(services.reporter_tokens),
        "open (loopback, no API token)" if settings.reads_open else "need the API token",
    )
    if not services.reporter_tokens:
        log.warning(
            "no reporter tokens: every POST /v1/events will be refused with 401; "
            "set AGENT_BRUNO_REPORTER_TOKENS or AGENT_BRUNO_REPORTER_TOKENS_FILE"
        )


def create_app(settings: Settings) -> FastAPI:
    """Build the app; nothing is opened until the lifespan starts."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        storage, writer = await asyncio.to_thread(open_storage, settings, metrics)
        async with AsyncExitStack() as stack:
            # Closed last: the agent and retention stop using storage first.
            stack.push_async_callback(asyncio.to_thread, _close_storage, storage, writer)
            knowledge = await stack.enter_async_context(open_knowledge(settings, storage))
            agent = await stack.enter_async_context(open_agent(settings, storage, knowledge))
            alerts = await stack.enter_async_context(
                open_alerts(
                    settings,
                    storage,
                    on_outcome=lambda ch, out: metrics.alert_deliveries.labels(ch, out).inc(),
                )
            )
            agent.desks.append(AlertDesk(alerts, storage, settings.tzinfo))
            services = Services(
                settings, storage, writer, metrics, settings.token_to_node(), agent, alerts,
                settings.principals(), knowledge=knowledge,
            )  # fmt: skip
            app.state.services = services
            metrics.watch(storage)
            _log_start(settings, services)
            await stack.enter_async_context(retention_task(settings, services))
            yield

    # Swagger UI at /docs from files shipped in fastapi-offline (no CDN: a homelab may be offline).
    app = FastAPIOffline(
        title="agent-bruno",
        version=VERSION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        static_url="/docs/static",
        # Native OpenTelemetry looks up global providers on every request; /metrics covers us.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.add_exception_handler(ApiError, handle_api_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(HTTPException, handle_http_exception)
    app.add_exception_handler(Exception, handle_unexpected)
    app.router.routes.extend(ingest.routes)
    app.router.routes.extend(series.routes)
    routers = (
        read.router, ops.router, query.router, chat.router, subscriptions.router,
        slack.router, incidents.router, web.router,
    )  # fmt: skip
    openapi.install(app, routers)
    for router in routers:
        app.include_router(router)
    # Label latencies by the app's own paths (any other path would give unbounded labels).
    routes = frozenset(
        str(getattr(r, "path", ""))
        for r in (
            *ingest.routes,
            *series.routes,
            *(route for router in routers for route in router.routes),
        )
    ) | {app.openapi_url or ""}
    app.add_middleware(LatencyMiddleware, metrics=metrics, routes=routes)
    if settings.cors_origins:  # outermost: preflights are answered before anything else
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Content-Encoding", "Accept"],
            expose_headers=["X-Thread-Id", "Retry-After"],
            max_age=600,
        )
    return app


def front_door(app: FastAPI, settings: Settings) -> FrontDoor:
    """`app` behind the door that answers `GET /v1/series`, `POST /v1/events`,
    `POST /v1/readings` and `POST /query` ahead of the FastAPI stack."""
    posts = {path: request_response(route.endpoint) for path, route in ingest.BY_PATH.items()}
    posts["/query"] = request_response(query.post_query_direct)
    return FrontDoor(
        app, {series.PATH: series.get_series}, cors=bool(settings.cors_origins), posts=posts
    )


def create_served_app(settings: Settings) -> FrontDoor:
    """The app as `agent-bruno serve` serves it (`front_door`)."""
    return front_door(create_app(settings), settings)
