"""`edge-reporter`: build every client once, run the loops, stop cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from edge_reporter.auth_policy import is_loopback
from edge_reporter.config import ConfigError, ReporterConfig
from edge_reporter.distribution import VERSION
from edge_reporter.engine import Engine, Event
from edge_reporter.forwarder import Forwarder, Reporter
from edge_reporter.metrics import ReporterMetrics
from edge_reporter.outbox import Outbox, OutboxError
from edge_reporter.sampling import Sampler
from edge_reporter.sensors.base import PushSource
from edge_reporter.sensors.node_health import NodeHealthSource
from edge_reporter.sensors.registry import build_sources, triage_factory
from edge_reporter.status import Status
from edge_reporter.store import LocalStore, StoreError
from edge_reporter.workloads import FixedWorkloads, WorkloadSource, build_source

if TYPE_CHECKING:
    from edge_reporter.explain import Explainer
    from edge_reporter.read_api import ReadApi

log = logging.getLogger("edge_reporter")

FINAL_DRAIN_S = 5.0
PUSH_COALESCE_S = 0.1  # messages arriving within this are triaged together


@dataclass
class Runtime:
    """Everything built at start-up, passed to the loops."""

    config: ReporterConfig
    status: Status
    store: LocalStore
    outbox: Outbox
    client: httpx.AsyncClient
    forwarder: Forwarder
    engine: Engine
    sampler: Sampler
    explainer: Explainer | None
    read_api: ReadApi | None
    metrics: ReporterMetrics


def _with_simulated_load(
    health: Callable[[], dict[str, Any]] | None, workloads: WorkloadSource
) -> Callable[[], dict[str, Any]] | None:
    """The node's health, its CPU raised to what simulated workloads claim (the demo's camera
    pipeline on pi-node-3); real workloads leave it as measured."""
    if health is None or not isinstance(workloads, FixedWorkloads):
        return health
    claimed = workloads.simulated_cpu()
    if claimed <= 0:
        return health
    measured = health

    def loaded() -> dict[str, Any]:
        values = dict(measured())
        cpu = values.get("cpu_percent")
        values["cpu_percent"] = max(float(cpu or 0.0), min(100.0, claimed + 8.0))
        load = values.get("load_1m")
        cores = os.cpu_count() or 1
        values["load_1m"] = max(float(load or 0.0), round(cores * values["cpu_percent"] / 100, 2))
        return values

    return loaded


def _read_url(config: ReporterConfig) -> str | None:
    if config.read_api_url or not config.read_api_port:
        return config.read_api_url
    if config.read_api_bind in ("0.0.0.0", "::") or is_loopback(config.read_api_bind):  # noqa: S104
        return None  # the pod IP is unknown here; set READ_API_URL from the downward API
    return f"http://{config.read_api_bind}:{config.read_api_port}"


def http_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The reporter's one HTTP client (agent and Ollama): short timeouts, keep-alive."""
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(10.0, connect=5.0),
        limits=httpx.Limits(max_connections=2, max_keepalive_connections=2),
        headers={"User-Agent": f"edge-reporter/{VERSION}"},
    )


def build(
    config: ReporterConfig, *, now: float, transport: httpx.AsyncBaseTransport | None = None
) -> Runtime:
    """Open the stores, the HTTP client and every component, once."""
    status = Status()
    store = LocalStore(
        config.data_dir / "raw.db",
        retention_days=config.raw_retention_days,
        max_bytes=int(config.raw_max_mb * 2**20),
        status=status,
    )
    outbox_path = config.data_dir / "outbox.db"
    outbox = Outbox(
        outbox_path, node=config.node, max_events=config.outbox_max_events, status=status
    )
    client = http_client(transport)
    metrics = ReporterMetrics(
        cluster=config.cluster, node=config.node, location=config.location, outbox_path=outbox_path
    )
    export_status(metrics, status, outbox)
    forwarder = Forwarder(
        outbox,
        client,
        url=config.events_url,
        token=config.agent_token,
        reporter=Reporter(config.node, config.location, config.cluster),
        idle_poll=max(config.aggregate_interval, 5.0),
    )
    explainer: Explainer | None = None
    if config.explain_enabled and config.explain_per_hour > 0:
        from edge_reporter.explain import Explainer, load_prompt

        def deliver(event: dict[str, Any]) -> None:
            outbox.put("explanation", event, now=time.time())
            forwarder.notify()

        explainer = Explainer(
            client,
            url=str(config.ollama_url),
            model=str(config.ollama_model),
            prompt=load_prompt(config.explain_prompt),
            deliver=deliver,
            context={"node": config.node, "location": config.location},
            max_per_hour=config.explain_per_hour,
        )
    read_api: ReadApi | None = None
    if config.read_api_port:
        from edge_reporter.read_api import ReadApi

        read_api = ReadApi(
            store.path,
            node=config.node,
            token=config.read_api_token,
            bind=config.read_api_bind,
            port=config.read_api_port,
            status=status,
            metrics=metrics,
        )
    sources = build_sources(config, origin=now)
    workloads = build_source(",".join(config.workloads), config.node, config.kubernetes_api)
    health = next((s for s in sources if isinstance(s, NodeHealthSource)), None)

    def on_flagged(event_id: str, event: Event) -> None:
        if explainer is not None:
            explainer.submit(event_id, event)

    engine = Engine(
        sources=sources,
        store=store,
        outbox=outbox,
        triage_factory=triage_factory(config),
        aggregate_interval=config.aggregate_interval,
        health=_with_simulated_load(None if health is None else health.health, workloads),
        workloads=workloads,
        read_url=_read_url(config),
        on_critical=lambda: forwarder.notify(urgent=True),
        on_events=forwarder.notify,
        on_flagged=on_flagged if explainer is not None else None,
        status=status,
        metrics=metrics,
    )
    metrics.watch(engine=engine.counts, forwarder=forwarder.stats)
    engine.recover(now)  # the windows a kill -9 left open, from the raw store
    sampler = Sampler(engine, budget=config.report_interval)
    return Runtime(
        config,
        status,
        store,
        outbox,
        client,
        forwarder,
        engine,
        sampler,
        explainer,
        read_api,
        metrics,
    )


def export_status(metrics: ReporterMetrics, status: Status, outbox: Outbox) -> None:
    """Degraded components and events held in memory, as gauges on /metrics."""
    metrics.add_gauge(
        "edge_reporter_degraded",
        "1 while a component is degraded (see /healthz for what and why), else 0.",
        lambda: float(status.degraded()),
    )

    def degraded(component: str) -> Callable[[], float | None]:
        return lambda: float(status.has_problem(component))

    for component in ("outbox", "raw store"):
        metrics.add_gauge(
            f"edge_reporter_{component.replace(' ', '_')}_degraded",
            f"1 while the {component} cannot be written, else 0.",
            degraded(component),
        )
    metrics.add_gauge(
        "edge_reporter_outbox_held_in_memory",
        "Events held in memory because the outbox file refuses writes (lost on a kill).",
        lambda: float(outbox.held_in_memory()),
    )
    metrics.add_gauge(
        "edge_reporter_files_quarantined",
        "Damaged SQLite files moved aside since start.",
        lambda: float(sum(v for k, v in status.counters.items() if k.endswith("quarantined"))),
    )


def next_sample_time(due: float, interval: float, now: float) -> float:
    """When to sample next after the sample due at `due` ran at `now`.

    Keeps the cadence; after a stall, skips the missed slots instead of catching up with
    back-to-back readings (which would store duplicates and feed triage a burst).
    """
    following = due + interval
    return following if following > now else now + interval


async def _ticker(rt: Runtime, stop: asyncio.Event) -> None:
    """Sample every REPORT_INTERVAL and flush at every aggregate boundary until `stop`."""
    interval, window = rt.config.report_interval, rt.config.aggregate_interval
    next_sample = time.time()
    while not stop.is_set():
        now = time.time()
        try:
            rt.outbox.retry()  # events held in memory while the disk refused them
            if now >= next_sample:
                await rt.sampler.sample(now)
                next_sample = next_sample_time(next_sample, interval, time.time())
            rt.engine.flush_due(now)
        except (StoreError, OutboxError, OSError) as exc:  # e.g. a full disk: keep trying
            log.error("step at %.0f failed: %s", now, exc)
        boundary = math.floor(now / window) * window + window
        wait = max(0.0, min(next_sample, boundary) - time.time())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)


async def _pusher(rt: Runtime, sources: list[PushSource], arrived: asyncio.Event) -> None:
    """Triage what push sources (MQTT) received as soon as it arrives, not at the next sample."""
    while True:
        await arrived.wait()
        await asyncio.sleep(PUSH_COALESCE_S)  # a burst (one device, many series) is one batch
        arrived.clear()
        now = time.time()
        try:
            rt.engine.process([r for source in sources for r in source.drain(now)])
        except (StoreError, OutboxError, OSError) as exc:
            log.error("pushed readings at %.0f failed: %s", now, exc)


def _start_push_sources(rt: Runtime) -> tuple[list[PushSource], asyncio.Event]:
    loop = asyncio.get_running_loop()
    arrived = asyncio.Event()

    def wake() -> None:  # called from the sources' own threads
        with contextlib.suppress(RuntimeError):  # the loop has closed: shutting down
            loop.call_soon_threadsafe(arrived.set)

    sources = [s for s in rt.engine.sources if isinstance(s, PushSource)]
    for source in sources:
        source.start(wake)
    return sources, arrived


async def serve(rt: Runtime, stop: asyncio.Event) -> None:
    """Run the sampling loop, the forwarder and the explainer until `stop`, then shut down."""
    tasks = [asyncio.create_task(rt.forwarder.run(), name="forwarder")]
    if rt.explainer is not None:
        tasks.append(asyncio.create_task(rt.explainer.run(), name="explainer"))
    if rt.read_api is not None:
        rt.read_api.start()
    push, arrived = _start_push_sources(rt)
    if push:
        tasks.append(asyncio.create_task(_pusher(rt, push, arrived), name="push-sources"))
    try:
        await _ticker(rt, stop)
    finally:
        log.info("stopping: flushing open windows and held episode updates")
        for source in push:
            await asyncio.to_thread(source.close)
        rt.sampler.close()
        with contextlib.suppress(StoreError, OutboxError):
            rt.engine.flush_due(time.time(), final=True)
        rt.forwarder.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            async with asyncio.timeout(FINAL_DRAIN_S):
                outcome = await rt.forwarder.drain()
            log.info(
                "final delivery: %s, %d events left in the outbox", outcome.value, rt.outbox.depth()
            )
        except TimeoutError:
            log.warning("final delivery timed out; %d events stay in the outbox", rt.outbox.depth())
        if rt.read_api is not None:
            rt.read_api.stop()
        await rt.client.aclose()
        rt.outbox.close()
        rt.store.close()


async def _amain(config: ReporterConfig) -> int:
    rt = build(config, now=time.time())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    specs = rt.engine.specs()
    log.info(
        "edge-reporter %s on %s (%s): %d series, every %gs, aggregates every %gs, to %s, data %s",
        VERSION,
        config.node,
        config.location,
        len(specs),
        config.report_interval,
        config.aggregate_interval,
        config.events_url,
        config.data_dir,
    )
    await serve(rt, stop)
    log.info("stopped")
    return 0


def main() -> int:
    """Console entry point: exit 2 on a configuration error, 1 when a store cannot be opened."""
    try:
        config = ReporterConfig.from_env()
    except ConfigError as exc:
        print(f"edge-reporter: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return asyncio.run(_amain(config))
    except (StoreError, OutboxError) as exc:
        log.error("%s", exc)
        return 1
    except OSError as exc:  # e.g. the read API port is taken
        log.error("cannot start: %s", exc)
        return 1
