"""Sensor-fault readings counted apart in aggregates, for the agent to keep out of statistics."""

from __future__ import annotations

import json
from pathlib import Path

from edge_reporter.aggregate import Aggregator
from edge_reporter.engine import Engine, aggregate_event
from edge_reporter.model import Reading
from edge_reporter.outbox import Outbox
from edge_reporter.sensors.faults import parse_faults
from edge_reporter.sensors.registry import default_triage
from edge_reporter.sensors.simulated import SimulatedSource
from edge_reporter.store import LocalStore

T0 = 1_764_115_200.0


def _r(offset: float, value: float) -> Reading:
    return Reading(T0 + offset, "dht22-1", "temperature", "°C", value)


def test_a_window_without_faults_carries_no_parts() -> None:
    agg = Aggregator(300)
    for i, v in enumerate((21.0, 21.4, 21.2)):
        agg.add(_r(i, v))
    (a,) = agg.drain(T0 + 300)
    assert (a.count, a.min, a.max, a.clean, a.faults) == (3, 21.0, 21.4, None, None)
    assert "faults" not in aggregate_event(a, T0 + 300)


def test_faults_are_counted_apart_and_in_the_whole() -> None:
    agg = Aggregator(300)
    agg.add(_r(0, 21.0))
    agg.add(_r(10, 89.0), fault=True)
    agg.add(_r(20, 21.4))
    (a,) = agg.drain(T0 + 300)
    assert (a.count, a.min, a.max, a.last) == (3, 21.0, 89.0, 21.4)
    assert a.clean is not None
    assert a.faults is not None
    assert (a.clean.count, a.clean.min, a.clean.max, a.clean.mean) == (2, 21.0, 21.4, 21.2)
    assert (a.faults.count, a.faults.max, a.faults.max_ts) == (1, 89.0, T0 + 10)
    event = aggregate_event(a, T0 + 300)
    assert event["faults"]["max"] == 89.0
    assert event["faults"]["max_ts"] == T0 + 10
    assert event["clean"]["max"] == 21.4


def test_a_window_of_faults_only_has_no_clean_part() -> None:
    agg = Aggregator(300)
    agg.add(_r(0, 48.0), fault=True)
    agg.add(_r(5, 48.0), fault=True)
    (a,) = agg.drain(T0 + 300)
    assert (a.count, a.clean, a.faults is not None) == (2, None, True)
    assert aggregate_event(a, T0 + 300)["clean"] is None


def test_the_engine_marks_a_glitch_past_the_sensor_range_as_a_fault(tmp_path: Path) -> None:
    faults = parse_faults("dht22-1/temperature:spike@120:+70")
    source = SimulatedSource("sim-dht22", "dht22-1", seed=1, origin=T0, faults=faults)
    outbox = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=10_000)
    engine = Engine(
        sources=[source],
        store=LocalStore(tmp_path / "raw.db", retention_days=7, max_bytes=10**8),
        outbox=outbox,
        triage_factory=default_triage,
        aggregate_interval=300,
    )
    for i in range(0, 600, 10):
        engine.sample(T0 + i)
    engine.flush_due(T0 + 600)
    bodies = [json.loads(e.body) for e in outbox.peek(1000)]
    temperature = [b for b in bodies if b["type"] == "aggregate" and b["metric"] == "temperature"]
    glitch = next(b for b in temperature if "faults" in b)
    assert glitch["faults"]["count"] == 1
    assert glitch["faults"]["max"] > 80
    assert glitch["max"] == glitch["faults"]["max"]  # the whole still covers every reading
    assert glitch["clean"]["max"] < 30
    assert all("faults" not in b for b in temperature if b is not glitch)
