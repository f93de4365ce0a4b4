"""Edge reporter figures: steady-state memory, bytes on the wire over a day, anomaly delivery.

(a) RSS: the real `python -m edge_reporter` process against a stand-in agent on loopback
    (bench/reporter_rss.py; the stand-in agent and the byte counter: bench/reporter_agent.py).
(b) Bytes: a simulated 24 h (engine.sample/flush_due with simulated time, the real forwarder)
    against the real agent app (ASGI, in-process) when it can be built, counting every HTTP
    byte, versus one small JSON request per reading.
(c) Anomalies delivered vs injected, and each critical one's delay (simulated detection time
    minus the faulty reading's time, plus the real time until the agent's 200).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import Figure
from bench.reporter_agent import NODE, SENSORS, TOKEN, ASGIApp, CountingTransport, standin_asgi
from bench.reporter_rss import measure_rss, measure_rss_mqtt
from edge_reporter.engine import Engine, Event
from edge_reporter.forwarder import Forwarder, Reporter
from edge_reporter.main import http_client
from edge_reporter.outbox import Outbox
from edge_reporter.sensors.faults import FaultSpec, parse_faults
from edge_reporter.sensors.registry import default_triage
from edge_reporter.sensors.simulated import SimulatedSource
from edge_reporter.store import LocalStore, StoreReader

# A warm-up day, so detectors know the daily cycle, then the measured day, ending before today:
# recent enough that the agent keeps it (it refuses items older than their retention).
DAY0 = (time.time() // 86_400 - 3) * 86_400
DAY1 = DAY0 + 86_400  # the measured day; fault offsets count from here
SETTLE_S = 60.0  # longest wait for the forwarder to deliver one step's events
# Critical faults push past the sensor's physical range; the others need the detector's rules.
CRITICAL_FAULTS = (
    "dht22-1/temperature:spike@2h:+70",
    "dht22-2/humidity:step@5h:+70:for10m",
    "mhz19-1/co2:spike@9h:+6000",
    "bmp280-1/pressure:spike@14h:-800",
)
OTHER_FAULTS = (
    "dht22-3/temperature:drift@11h:+4:for3h",
    "bmp280-2/pressure:stuck@16h:for1h",
    "dht22-1/humidity:dropout@19h:for15m",
    "dht22-2/temperature:step@21h:+6:for30m",
)


# --- (b) and (c): a simulated day ------------------------------------------------------------


@dataclass
class DayResult:
    """What the simulated day produced."""

    receiver: str
    bytes: int = 0
    requests: int = 0
    readings: int = 0
    baseline_bytes: int = 0
    delivered: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    critical_delays: list[float] = field(default_factory=list)
    faults_delivered: int = 0
    faults_injected: int = 0
    missed: list[str] = field(default_factory=list)
    warmup_bytes: int = 0


def _real_agent(tmp: Path) -> tuple[ASGIApp, AbstractAsyncContextManager[Any]] | None:
    """The real agent app when it can be built here, with its lifespan; None otherwise."""
    try:
        from pydantic import SecretStr

        from agent_bruno.app import create_app
        from agent_bruno.settings import Settings

        settings = Settings(data_dir=tmp / "agent", reporter_tokens={NODE: SecretStr(TOKEN)})
        app = create_app(settings)
        return app, app.router.lifespan_context(app)
    except Exception as exc:
        print(
            f"bench_reporter: real agent unavailable ({exc!r}); using the stand-in", file=sys.stderr
        )
        return None


@asynccontextmanager
async def _nothing() -> Any:
    yield


async def _settle(outbox: Outbox) -> None:
    """Give the forwarder task the time it needs to deliver what is pending (agent is up).

    A deadline in real time, not a number of polls: on a loaded machine one commit of the
    agent's writer can take seconds.
    """
    deadline = time.monotonic() + SETTLE_S
    while outbox.has_pending():
        if time.monotonic() > deadline:
            raise RuntimeError(f"forwarder did not drain in {SETTLE_S} s: {outbox.depth()} pending")
        await asyncio.sleep(0.0002)


async def simulate_day() -> DayResult:
    """Replay 24 h at REPORT_INTERVAL=60, AGGREGATE_INTERVAL=300 with injected faults."""
    faults = parse_faults(",".join(CRITICAL_FAULTS + OTHER_FAULTS))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        real = _real_agent(tmp)
        app, lifespan = real if real is not None else (standin_asgi(), _nothing())
        result = DayResult(
            "the real agent app (agent_bruno.app.create_app via httpx.ASGITransport)"
            if real is not None
            else "a stand-in ASGI receiver (gzip JSON, v1 acks)"
        )
        counting = CountingTransport(httpx.ASGITransport(app=app))
        store = LocalStore(tmp / "raw.db", retention_days=7, max_bytes=256 * 2**20)
        outbox = Outbox(tmp / "outbox.db", node=NODE, max_events=50_000)
        put_at: dict[str, float] = {}
        async with lifespan, http_client(counting) as client:
            forwarder = Forwarder(
                outbox,
                client,
                url="http://agent/v1/events",
                token=TOKEN,
                reporter=Reporter(NODE, "bench", "homelab"),
            )

            # Steps whose events woke the sender (a critical, the interval's batch): the bench
            # waits until they are delivered. A warning alone waits for the next batch, as in
            # a reporter, where the sender's idle poll is the aggregate interval.
            woken: list[bool] = []

            def wake(*, urgent: bool = False) -> None:
                woken.append(urgent)
                forwarder.notify(urgent=urgent)

            def flagged(event_id: str, event: Event) -> None:
                if event.get("severity") == "critical":
                    put_at[event_id] = time.perf_counter()

            engine = Engine(
                sources=[
                    SimulatedSource(kind, name, seed=7, origin=DAY1, faults=faults)
                    for name, kind in SENSORS.items()
                ],
                store=store,
                outbox=outbox,
                triage_factory=default_triage,
                aggregate_interval=300,
                on_critical=lambda: wake(urgent=True),
                on_events=wake,
                on_flagged=flagged,
            )
            task = asyncio.create_task(forwarder.run())
            warm: tuple[int, int, set[str]] = (0, 0, set())
            for step in range(2 * 24 * 60 + 1):
                now = DAY0 + step * 60
                engine.sample(now)
                engine.flush_due(now)
                if woken:  # as the reporter's sender would; a warning waits for the batch
                    woken.clear()
                    await _settle(outbox)
                if now == DAY1:  # everything up to here was the warm-up day
                    warm = (counting.bytes, counting.requests, set(counting.delivered))
                elif now > DAY1:
                    result.readings += len(engine.specs())
            forwarder.stop()
            await task
        result.warmup_bytes = warm[0]
        counting.bytes -= warm[0]
        counting.requests -= warm[1]
        counting.delivered = {k: v for k, v in counting.delivered.items() if k not in warm[2]}
        result.bytes, result.requests = counting.bytes, counting.requests
        result.delivered, result.rejected = counting.delivered, counting.rejected
        _score(result, faults, put_at, counting.acked_at)
        result.baseline_bytes = await _baseline(tmp / "raw.db")
        store.close()
        outbox.close()
    return result


def _score(
    result: DayResult,
    faults: tuple[FaultSpec, ...],
    put_at: dict[str, float],
    acked_at: dict[str, float],
) -> None:
    flagged = [e for e in result.delivered.values() if e["type"] == "reading"]
    critical_series = {f.split(":", 1)[0] for f in CRITICAL_FAULTS}
    for fault in faults:
        start = DAY1 + fault.start
        end = start + (fault.duration or 60) + 600
        hits = sorted(
            (
                e
                for e in flagged
                if f"{e['sensor']}/{e['metric']}" == fault.series and start <= e["ts"] <= end
            ),
            key=lambda e: e["ts"],
        )
        result.faults_injected += 1
        if not hits:
            result.missed.append(f"{fault.series}:{fault.kind}")
            continue
        result.faults_delivered += 1
        if fault.series in critical_series and hits[0].get("severity") == "critical":
            first_faulty = DAY1 + 60 * -(-fault.start // 60)  # first reading at or after the start
            event_id = hits[0]["id"]
            real = acked_at[event_id] - put_at.get(event_id, acked_at[event_id])
            result.critical_delays.append(hits[0]["ts"] - first_faulty + real)


async def _baseline(raw_db: Path) -> int:
    """Bytes for sending each reading of the day as its own small JSON request."""
    counting = CountingTransport(httpx.ASGITransport(app=standin_asgi()))
    with StoreReader(raw_db) as reader:
        readings = reader.readings(start=DAY1 + 1, end=DAY1 + 86400 + 1, limit=10**7)
    async with http_client(counting) as client:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        for r in readings:
            if r.value is None:
                continue
            body = json.dumps(
                {
                    "ts": r.ts,
                    "node": NODE,
                    "location": "bench",
                    "sensor": r.sensor,
                    "metric": r.metric,
                    "value": r.value,
                    "unit": r.unit,
                },
                separators=(",", ":"),
                ensure_ascii=False,
            ).encode()
            await client.post("http://agent/v1/readings", content=body, headers=headers)
    return counting.bytes


def run() -> list[Figure]:
    """Measure the reporter's figures."""
    logging.getLogger("edge_reporter").addHandler(logging.NullHandler())  # keep the table clean
    figures = [measure_rss()]
    mqtt = measure_rss_mqtt()
    if mqtt is not None:
        figures.append(mqtt)
    day = asyncio.run(simulate_day())
    kinds: dict[str, int] = {}
    for event in day.delivered.values():
        kinds[event["type"]] = kinds.get(event["type"], 0) + 1
    ratio = day.baseline_bytes / day.bytes
    figures.append(
        Figure(
            "bytes on the wire, per-reading requests / reporter (24 h)",
            round(ratio, 1),
            "x",
            (">=", 20),
            f"{day.bytes:,} B in {day.requests} requests vs {day.baseline_bytes:,} B for "
            f"{day.readings:,} readings one JSON request each, over the second simulated day "
            f"(the first, cold-start day: {day.warmup_bytes:,} B); events {kinds}; every HTTP/1.1 "
            f"byte both ways counted; receiver: {day.receiver}",
        )
    )
    figures.append(
        Figure(
            "anomalies delivered / injected",
            day.faults_delivered / day.faults_injected,
            "ratio",
            (">=", 1.0),
            f"{day.faults_delivered} of {day.faults_injected} injected faults reached the agent as "
            f"flagged readings; missed: {day.missed or 'none'}",
        )
    )
    figures.append(
        Figure(
            "events the agent refused",
            len(day.rejected),
            "events",
            ("<=", 0),
            f"over both simulated days: {dict(Counter(day.rejected)) or 'none'} (an aggregate "
            "holding a sensor fault past the physical range must be stored, its fault apart)",
        )
    )
    figures.append(
        Figure(
            "critical anomaly delay, max",
            round(max(day.critical_delays, default=float("nan")), 4),
            "s",
            ("<=", 2.0),
            f"{len(day.critical_delays)} critical faults; delays "
            f"{[round(d, 4) for d in day.critical_delays]} s (simulated detection - faulty "
            "reading + real time from outbox put to the agent's 200)",
        )
    )
    return figures


if __name__ == "__main__":
    for figure in run():
        print(json.dumps(figure.as_json(), ensure_ascii=False))
