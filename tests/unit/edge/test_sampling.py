"""Sources are read in worker threads: a slow or hung sensor delays neither the loop nor others."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_reporter.engine import Engine
from edge_reporter.model import Reading, SensorSpec
from edge_reporter.outbox import Outbox
from edge_reporter.sampling import Sampler
from edge_reporter.sensors.faults import parse_faults
from edge_reporter.sensors.registry import default_triage
from edge_reporter.sensors.simulated import SimulatedSource
from edge_reporter.store import LocalStore, StoreReader

NOW = 1_764_160_000.0


class SlowSensor:
    """A sensor whose read blocks until released (a DHT22 retrying, a stuck I2C bus)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def specs(self) -> list[SensorSpec]:
        return [SensorSpec("slow-1", "temperature", "°C")]

    def read(self, now: float) -> list[Reading]:
        self.calls += 1
        self.release.wait(10)
        return [Reading(now, "slow-1", "temperature", "°C", 20.0)]


class BrokenSensor:
    def specs(self) -> list[SensorSpec]:
        return [SensorSpec("broken-1", "humidity", "%")]

    def read(self, now: float) -> list[Reading]:
        raise RuntimeError("driver bug")


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[LocalStore, Outbox]]:
    store = LocalStore(tmp_path / "raw.db", retention_days=7, max_bytes=2**26)
    outbox = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=10_000)
    yield store, outbox
    store.close()
    outbox.close()


def engine_of(parts: tuple[LocalStore, Outbox], *sources: object, **kw: object) -> Engine:
    store, outbox = parts
    spiking = SimulatedSource(
        "sim-dht22",
        "dht22-1",
        seed=1,
        origin=NOW,
        faults=parse_faults("dht22-1/temperature:spike@0:+90"),
    )
    return Engine(
        sources=[spiking, *sources],  # type: ignore[list-item]
        store=store,
        outbox=outbox,
        triage_factory=default_triage,
        aggregate_interval=300,
        **kw,  # type: ignore[arg-type]
    )


async def test_a_slow_sensor_delays_neither_the_loop_nor_anothers_critical(
    parts: tuple[LocalStore, Outbox],
) -> None:
    slow = SlowSensor()  # its read blocks until the heartbeat below, on the loop, releases it
    critical_at: list[float] = []
    engine = engine_of(parts, slow, on_critical=lambda: critical_at.append(time.monotonic()))
    sampler = Sampler(engine, budget=5.0)
    gaps: list[float] = []
    released_at: list[float] = []

    async def heartbeat() -> None:
        last = time.monotonic()
        beats_after_critical = 0
        while True:
            await asyncio.sleep(0.01)
            gaps.append(time.monotonic() - last)
            last = time.monotonic()
            beats_after_critical += bool(critical_at)
            if beats_after_critical == 5 and not slow.release.is_set():
                released_at.append(time.monotonic())
                slow.release.set()

    beat = asyncio.create_task(heartbeat())
    started = time.monotonic()
    try:
        await sampler.sample(NOW)
    finally:
        finished = time.monotonic()
        beat.cancel()
        slow.release.set()
        sampler.close()
    assert critical_at, "the simulated spike past 80 °C is a critical"
    assert released_at, "the slow read was released by the loop, so the loop ran meanwhile"
    assert critical_at[0] < released_at[0]  # the critical did not wait for the slow sensor
    assert critical_at[0] - started < 0.3
    assert finished >= released_at[0]  # the slow sensor's reading was waited for, off the loop
    assert finished - started < 5.0  # ... and it came in before the budget ran out
    assert max(gaps) < 0.2  # the event loop kept running meanwhile
    with StoreReader(parts[0].path) as reader:
        stored = {
            (r.sensor, r.value) for r in reader.readings(start=NOW - 1, end=NOW + 1, limit=10)
        }
    assert ("slow-1", 20.0) in stored  # its reading was stored when it came


async def test_a_hung_read_is_a_dropout_and_is_not_started_twice(
    parts: tuple[LocalStore, Outbox],
) -> None:
    hung = SlowSensor()
    engine = engine_of(parts, hung)
    sampler = Sampler(engine, budget=0.1)  # past the first batch's 0.05 s
    flagged: list[Reading] = []
    original = engine.process

    def spy(readings: list[Reading]) -> list[object]:
        flagged.extend(readings)
        return original(readings)  # type: ignore[return-value]

    engine.process = spy  # type: ignore[method-assign]
    await sampler.sample(NOW)
    await sampler.sample(NOW + 1)
    assert hung.calls == 1  # still running: not read again
    slow = [r.value for r in flagged if r.sensor == "slow-1"]
    assert slow == [None, None]
    hung.release.set()
    for _ in range(50):
        await asyncio.sleep(0.01)
        if not sampler._busy:
            break
    await sampler.sample(NOW + 2)
    assert hung.calls == 2
    assert [r.value for r in flagged if r.sensor == "slow-1"][-1] == 20.0
    sampler.close()


async def test_a_raising_driver_is_counted_and_reads_as_none(
    parts: tuple[LocalStore, Outbox],
) -> None:
    engine = engine_of(parts, BrokenSensor())
    sampler = Sampler(engine, budget=1.0)
    await sampler.sample(NOW)
    sampler.close()
    assert engine.counts["errors"] == 1
    assert engine.counts["critical"] == 1  # the other sensor's reading went through
