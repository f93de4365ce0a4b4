"""Edge reporter figures: steady-state memory, bytes on the wire over a day, anomaly delivery.

(a) RSS: the real `python -m edge_reporter` process against a stand-in agent on loopback.
(b) Bytes: a simulated 24 h (engine.sample/flush_due with simulated time, the real forwarder)
    against the real agent app (ASGI, in-process) when it can be built, counting every HTTP
    byte, versus one small JSON request per reading.
(c) Anomalies delivered vs injected, and each critical one's delay (simulated detection time
    minus the faulty reading's time, plus the real time until the agent's 200).
"""

from __future__ import annotations

import asyncio
import gzip
import http.server
import json
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, ClassVar

import httpx

from bench.common import Figure
from edge_reporter.engine import Engine, Event
from edge_reporter.forwarder import Forwarder, Reporter
from edge_reporter.main import http_client
from edge_reporter.outbox import Outbox
from edge_reporter.sensors.faults import FaultSpec, parse_faults
from edge_reporter.sensors.registry import default_triage
from edge_reporter.sensors.simulated import SimulatedSource
from edge_reporter.store import LocalStore, StoreReader

REPO = Path(__file__).resolve().parents[1]
NODE = "pi-bench"
TOKEN = "bench-edge-7c1e9a4f2b6d8e3a"
READ_TOKEN = "bench-read-5d2a8c7e1f4b9a6c"
# A warm-up day, so detectors know the daily cycle, then the measured day, ending before today:
# recent enough that the agent keeps it (it refuses items older than their retention).
DAY0 = (time.time() // 86_400 - 3) * 86_400
DAY1 = DAY0 + 86_400  # the measured day; fault offsets count from here
RSS_SECONDS = 25
RSS_WARMUP = 10
SETTLE_S = 60.0  # longest wait for the forwarder to deliver one step's events
SENSORS = {  # ten series
    "dht22-1": "sim-dht22",
    "dht22-2": "sim-dht22",
    "dht22-3": "sim-dht22",
    "bmp280-1": "sim-pressure",
    "bmp280-2": "sim-pressure",
    "pir-1": "sim-motion",
    "mhz19-1": "sim-co2",
}
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

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


# --- stand-in agent -------------------------------------------------------------------------


def _ack(body: bytes, encoding: str | None, seen: set[str]) -> dict[str, Any]:
    """Decode a v1 envelope (or a single reading) and answer in the v1 response shape."""
    if encoding == "gzip":
        body = gzip.decompress(body)
    data = json.loads(body)
    events = data["events"] if isinstance(data, dict) and "events" in data else [data]
    ids = [str(e.get("id", "")) for e in events]
    fresh = [i for i in ids if not i or i not in seen]
    seen.update(ids)
    return {"accepted": len(fresh), "duplicates": len(ids) - len(fresh), "rejected": []}


def standin_asgi() -> ASGIApp:
    """A minimal ASGI receiver: gzip JSON in, v1 ingest response out."""
    seen: set[str] = set()

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        out = json.dumps(_ack(body, headers.get("content-encoding"), seen)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(out)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": out})

    return app


class _StandinHandler(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[set[str]] = set()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        out = json.dumps(_ack(body, self.headers.get("Content-Encoding"), self.seen)).encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format: str, *args: Any) -> None:
        return None


# --- byte counting --------------------------------------------------------------------------


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts every HTTP/1.1 byte both ways and records what the agent acknowledged."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.bytes = 0
        self.requests = 0
        self.delivered: dict[str, dict[str, Any]] = {}
        self.acked_at: dict[str, float] = {}
        self.rejected: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Forward one request, counting its bytes and its answer's."""
        body = request.read()
        head = f"{request.method} {request.url.raw_path.decode()} HTTP/1.1\r\n"
        self.bytes += (
            len(head) + sum(len(k) + len(v) + 4 for k, v in request.headers.raw) + 2 + len(body)
        )
        response = await self.inner.handle_async_request(request)
        content = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
        await response.aclose()
        reason = HTTPStatus(response.status_code).phrase
        self.bytes += len(f"HTTP/1.1 {response.status_code} {reason}\r\n")
        self.bytes += sum(len(k) + len(v) + 4 for k, v in response.headers.raw) + 2 + len(content)
        self.requests += 1
        if response.status_code == 200 and request.url.path == "/v1/events":
            self._record(body, request.headers.get("content-encoding"), content)
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    def _record(self, body: bytes, encoding: str | None, answer: bytes) -> None:
        now = time.perf_counter()
        events = json.loads(gzip.decompress(body) if encoding == "gzip" else body)["events"]
        rejected = {
            int(r["index"]): str(r.get("error", ""))
            for r in json.loads(answer).get("rejected", [])
            if r.get("index") is not None
        }
        for index, event in enumerate(events):
            if index in rejected:
                # "events.3: value 110 % is outside …" -> what was refused, and why
                why = rejected[index].split(": ", 1)[-1]
                self.rejected.append(f"{event['type']} {event.get('metric', '')}: {why}")
                continue
            self.delivered.setdefault(event["id"], event)
            self.acked_at.setdefault(event["id"], now)


# --- (a) resident memory of the real process --------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _vm_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _wait_listening(proc: subprocess.Popen[bytes], port: int, limit_s: float = 60.0) -> None:
    """Wait until the reporter's read API accepts connections (start-up is slow under load)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"edge_reporter exited early with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"edge_reporter's read API did not listen on port {port} in {limit_s} s")


def _reporter_rss(
    extra_env: dict[str, str] | None = None, sensors_extra: str = ""
) -> tuple[list[float], int, int]:
    """Run `python -m edge_reporter` for RSS_SECONDS: (VmRSS samples, series, exit code)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StandinHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    read_port = _free_port()
    sensors = ",".join(f"{kind}:{name}" for name, kind in SENSORS.items()) + ",node" + sensors_extra
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(REPO),
            "STUDIO_AGENT_URL": f"http://127.0.0.1:{server.server_address[1]}",
            "AGENT_TOKEN": TOKEN,
            "NODE_NAME": NODE,
            "LOCATION": "bench",
            "DATA_DIR": tmp,
            "REPORT_INTERVAL": "0.25",
            "AGGREGATE_INTERVAL": "2",
            "SENSORS": sensors,
            "FAULTS": "dht22-1/temperature:spike@5:+70,mhz19-1/co2:stuck@8:for5",
            "READ_API_PORT": str(read_port),
            "READ_API_TOKEN": READ_TOKEN,
            "READ_API_BIND": "127.0.0.1",
            "LOG_LEVEL": "ERROR",
            **(extra_env or {}),
        }
        proc = subprocess.Popen([sys.executable, "-m", "edge_reporter"], env=env, cwd=REPO)
        samples: list[float] = []
        try:
            _wait_listening(proc, read_port)
            for second in range(RSS_SECONDS):
                time.sleep(1)
                if proc.poll() is not None:
                    raise RuntimeError(f"edge_reporter exited early with {proc.returncode}")
                if second >= 2:  # exercise the read API as a user would
                    request = urllib.request.Request(
                        f"http://127.0.0.1:{read_port}/v1/readings?limit=500",
                        headers={"Authorization": f"Bearer {READ_TOKEN}"},
                    )
                    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
                        answer.read()
                if second >= RSS_WARMUP:
                    samples.append(_vm_rss_mib(proc.pid))
            series = 0
            with StoreReader(Path(tmp) / "raw.db") as reader:
                series = len(reader.series())
        finally:
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=15)
            server.shutdown()
            server.server_close()
    return samples, series, rc


def measure_rss() -> Figure:
    """Run `python -m edge_reporter` for RSS_SECONDS and take the steady-state VmRSS."""
    samples, series, rc = _reporter_rss()
    return Figure(
        "reporter steady-state RSS",
        round(max(samples), 1),
        "MiB",
        ("<=", 48),
        f"max VmRSS over s {RSS_WARMUP}-{RSS_SECONDS} of the real process (median "
        f"{statistics.median(samples):.1f}); {series} series (10 simulated + node health), "
        f"REPORT_INTERVAL=0.25 s, read API queried 1/s, stand-in agent; exit code {rc} on SIGTERM",
    )


MQTT_DEVICES = 20  # Zigbee2MQTT climate sensors, plus as many Tasmota BME280 boards
MQTT_PERIOD_S = 0.5  # each device publishes this often (a real one: every 1-5 minutes)


def _mqtt_load(port: int, stop: threading.Event) -> int:
    """Publish as a busy home network would, until `stop`; returns messages sent."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-devices")
    client.connect("127.0.0.1", port)
    client.loop_start()
    sent = 0
    try:
        while not stop.wait(MQTT_PERIOD_S):
            for i in range(MQTT_DEVICES):
                z2m = {"temperature": 20 + i / 10, "humidity": 40 + i, "pressure": 1013.2,
                       "battery": 90, "voltage": 3000 + i, "linkquality": 120}  # fmt: skip
                client.publish(f"zigbee2mqtt/room-{i}/climate", json.dumps(z2m))
                tasmota = {"Time": "2026-11-26T12:00:00", "BME280": {"Temperature": 21.0 + i / 10,
                           "Humidity": 45.0, "DewPoint": 8.6, "Pressure": 1012.9},
                           "PressureUnit": "hPa", "TempUnit": "C"}  # fmt: skip
                client.publish(f"tele/board-{i}/SENSOR", json.dumps(tasmota))
                sent += 2
    finally:
        client.disconnect()
        client.loop_stop()
    return sent


def measure_rss_mqtt() -> Figure | None:
    """The same run with the MQTT source subscribed to a real Mosquitto under load."""
    from tests.servers.mosquitto import Mosquitto, mosquitto_binary

    binary = mosquitto_binary()
    if binary is None:
        print("bench_reporter: mosquitto not installed; MQTT RSS not measured", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp), binary=binary)
        broker.start()
        stop = threading.Event()
        sent: list[int] = []
        load = threading.Thread(target=lambda: sent.append(_mqtt_load(broker.port, stop)))
        load.start()
        try:
            samples, series, rc = _reporter_rss(
                {"MQTT_URL": broker.url, "MQTT_MAX_SERIES": "512"}, ",mqtt"
            )
        finally:
            stop.set()
            load.join(timeout=10)
            broker.stop()
    rate = 2 * MQTT_DEVICES / MQTT_PERIOD_S
    return Figure(
        "reporter steady-state RSS, with the MQTT source",
        round(max(samples), 1),
        "MiB",
        ("<=", 48),
        f"as above plus SENSORS=mqtt on a real Mosquitto: {MQTT_DEVICES} Zigbee2MQTT and "
        f"{MQTT_DEVICES} Tasmota devices publishing {rate:.0f} messages/s ({sum(sent):,} sent); "
        f"{series} series stored; median {statistics.median(samples):.1f}; exit code {rc}",
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
