"""Engine routing in simulated time: criticals sent at once, warnings stored at once and sent with
the interval's batch, aggregates, heartbeats, and recovery after a kill."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge_reporter.engine import Engine
from edge_reporter.model import Reading, SensorSpec, Severity
from edge_reporter.outbox import Outbox
from edge_reporter.sensors.faults import parse_faults
from edge_reporter.sensors.registry import default_triage
from edge_reporter.sensors.simulated import SimulatedSource
from edge_reporter.store import LocalStore, StoreReader
from edge_reporter.triage import Verdict

T0 = 1_764_115_200.0


class ScriptedSource:
    """A source reading values from a script: {ts offset: value}."""

    def __init__(self, values: dict[float, float | None], default: float = 20.0) -> None:
        self.values = values
        self.default = default

    def specs(self) -> list[SensorSpec]:
        return [SensorSpec("dht22-1", "temperature", "°C")]

    def read(self, now: float) -> list[Reading]:
        return [
            Reading(now, "dht22-1", "temperature", "°C", self.values.get(now - T0, self.default))
        ]


class BrokenSource:
    def specs(self) -> list[SensorSpec]:
        return [SensorSpec("i2c-1", "pressure", "hPa")]

    def read(self, now: float) -> list[Reading]:
        raise OSError("I2C bus error")


class ThresholdTriage:
    """Fake detector: ≥ 30 critical, ≥ 25 warning, None warning."""

    def update(self, ts: float, value: float | None) -> Verdict:
        if value is None:
            return Verdict(Severity.WARNING, 1.0, "no reading", 20.0, 1.0)
        if value >= 30:
            return Verdict(Severity.CRITICAL, 0.99, f"{value} is far too hot", 20.0, 1.0)
        if value >= 25:
            return Verdict(Severity.WARNING, 0.95, f"{value} is warm", 20.0, 1.0)
        return Verdict(Severity.NORMAL, 0.0, "", 20.0, 1.0)


class Harness:
    def __init__(self, tmp_path: Path, *sources: object) -> None:
        self.store = LocalStore(tmp_path / "raw.db", retention_days=7, max_bytes=10**8)
        self.outbox = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=1000)
        self.woken: list[str] = []
        self.flagged: list[str] = []
        self.engine = Engine(
            sources=list(sources),  # type: ignore[arg-type]
            store=self.store,
            outbox=self.outbox,
            triage_factory=lambda spec: ThresholdTriage(),
            aggregate_interval=300,
            health=lambda: {"cpu_percent": 12.5, "uptime_s": 100.0, "soc_temp_c": None},
            workloads=["edge-reporter"],
            read_url="http://10.0.0.11:9108",
            on_critical=lambda: self.woken.append("critical"),
            on_events=lambda: self.woken.append("events"),
            on_flagged=lambda event_id, event: self.flagged.append(event_id),
        )

    def events(self) -> list[dict[str, object]]:
        return [json.loads(e.body) for e in self.outbox.peek(1000)]


def test_routing_over_ten_minutes(tmp_path: Path) -> None:
    h = Harness(tmp_path, ScriptedSource({120: 31.0, 180: 26.0, 240: None, 360: 27.0}))
    h.engine.flush_due(T0)  # start-up heartbeat
    assert [e["type"] for e in h.events()] == ["heartbeat"]
    h.outbox.ack(e.seq for e in h.outbox.peek(10))

    for minute in range(5):
        h.engine.sample(T0 + minute * 60)
        h.engine.flush_due(T0 + minute * 60)
        if minute == 2:  # the critical is in the outbox the moment it is read
            assert [(e["type"], e["severity"]) for e in h.events()] == [("reading", "critical")]
            assert h.woken == ["events", "critical"]
    # The warnings are on disk at once, but wake nobody: they go with the interval's batch.
    assert [e["severity"] for e in h.events()] == ["critical", "warning", "warning"]
    assert h.woken == ["events", "critical"]

    h.engine.sample(T0 + 300)
    h.engine.flush_due(T0 + 300)
    events = h.events()
    assert [(e["type"], e.get("severity")) for e in events] == [
        ("reading", "critical"),
        ("reading", "warning"),
        ("reading", "warning"),
        ("aggregate", None),
        ("heartbeat", None),
    ]
    critical, warm, dropout, agg, beat = events
    assert critical["value"] == 31.0
    assert critical["reason"] == "31.0 is far too hot"
    assert critical["baseline"] == {"mean": 20.0, "std": 1.0}
    assert dropout["value"] is None
    # Flagged readings are in the aggregate too; the dropout is not.
    assert (agg["start"], agg["end"], agg["count"]) == (T0, T0 + 300, 4)
    assert (agg["min"], agg["max"], agg["last"]) == (20.0, 31.0, 26.0)
    assert agg["mean"] == pytest.approx((20 + 20 + 31 + 26) / 4)
    assert beat["health"] == {"cpu_percent": 12.5, "uptime_s": 100.0}
    assert beat["sensors"] == [{"sensor": "dht22-1", "metric": "temperature", "unit": "°C"}]
    assert beat["workloads"] == ["edge-reporter"]
    assert beat["outbox"] == {
        "depth": 4,
        "dropped": 0,
        "dropped_by_kind": {},
        "oldest_age_s": 180.0,
    }
    assert beat["read_url"] == "http://10.0.0.11:9108"
    assert beat["interval_s"] == 300
    assert h.flagged == [critical["id"], warm["id"], dropout["id"]]

    # Nothing more is due until the next window ends; the warning at 360 is stored already.
    h.engine.sample(T0 + 360)
    assert h.engine.flush_due(T0 + 360) == 0
    assert h.engine.flush_due(T0 + 600) == 2  # aggregate, heartbeat


def test_every_reading_is_stored_raw(tmp_path: Path) -> None:
    h = Harness(tmp_path, ScriptedSource({60: None}))
    for minute in range(3):
        h.engine.sample(T0 + minute * 60)
    with StoreReader(tmp_path / "raw.db") as reader:
        assert [r.value for r in reader.readings(start=T0, end=T0 + 600, limit=10)] == [
            20.0,
            None,
            20.0,
        ]


def test_final_flush_writes_open_windows(tmp_path: Path) -> None:
    h = Harness(tmp_path, ScriptedSource({0: 26.0}))
    h.engine.flush_due(T0)
    h.engine.sample(T0)
    h.engine.sample(T0 + 60)
    assert h.engine.flush_due(T0 + 90, final=True) == 2
    kinds = [e["type"] for e in h.events()]
    assert kinds == ["heartbeat", "reading", "aggregate", "heartbeat"]
    assert h.events()[2]["end"] == T0 + 90


def test_a_broken_source_reads_none_and_the_others_go_on(tmp_path: Path) -> None:
    h = Harness(tmp_path, BrokenSource(), ScriptedSource({}))
    flagged = h.engine.sample(T0)
    assert [(r.sensor, r.value) for r, _ in flagged] == [("i2c-1", None)]
    assert h.engine.counts["errors"] == 1
    with StoreReader(tmp_path / "raw.db") as reader:
        assert {r.sensor: r.value for r in reader.readings(start=T0, end=T0 + 1, limit=10)} == {
            "i2c-1": None,
            "dht22-1": 20.0,
        }


def test_hard_limits_flag_criticals_with_the_real_triage(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "raw.db", retention_days=7, max_bytes=10**8)
    outbox = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=1000)
    fault = parse_faults("dht22-1/humidity:step@600:+80:for60")
    source = SimulatedSource("sim-dht22", "dht22-1", seed=1, origin=T0, faults=fault)
    engine = Engine(
        sources=[source],
        store=store,
        outbox=outbox,
        triage_factory=default_triage,
        aggregate_interval=300,
    )
    flagged = []
    for minute in range(15):
        flagged += engine.sample(T0 + minute * 60)
    humid = [(r.ts - T0, v.severity) for r, v in flagged if r.metric == "humidity"]
    assert (600.0, Severity.CRITICAL) in humid


def _fill_disk(db: object) -> None:
    """Make SQLite answer 'database or disk is full' once the file has to grow."""
    (pages,) = db.execute("PRAGMA page_count").fetchone()  # type: ignore[attr-defined]
    db.execute(f"PRAGMA max_page_count = {pages}")  # type: ignore[attr-defined]


def test_full_raw_store_still_lets_criticals_out(tmp_path: Path) -> None:
    """Regression: a full disk raised sqlite3.OperationalError from the raw store, which the
    sampling loop did not catch, and the reporter died."""
    spikes = {float(i): 35.0 for i in range(0, 60_000, 6000)}
    h = Harness(tmp_path, ScriptedSource(spikes))
    _fill_disk(h.store._db)
    for i in range(0, 60_000, 6):  # 10,000 readings: the file must grow
        h.engine.sample(T0 + i)
    criticals = [e for e in h.events() if e.get("severity") == "critical"]
    assert len(criticals) == len(spikes)
    assert h.engine.counts["errors"] > 0


def test_full_outbox_disk_holds_events_in_memory(tmp_path: Path) -> None:
    """Regression: the outbox raised raw sqlite3 errors, which stopped the sampling loop; then
    it raised OutboxError, and the critical was lost (issue 7, defect 1)."""
    outbox = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=100_000)
    _fill_disk(outbox._db)
    event = {"type": "reading", "pad": "x" * 200}
    ids = [outbox.put("critical", {**event, "i": i}, now=T0) for i in range(5000)]
    assert len(set(ids)) == 5000
    assert outbox.held_in_memory() > 0  # the disk refused these
    assert outbox.depth() == 5000  # nothing lost, what was committed before stays
    assert outbox.status.snapshot()["status"] == "degraded"


def _aggregates(outbox: Outbox) -> list[dict[str, object]]:
    return [e for e in (json.loads(p.body) for p in outbox.peek(1000)) if e["type"] == "aggregate"]


def test_kill_9_loses_held_warnings_and_the_open_aggregate_window(tmp_path: Path) -> None:
    """Regression (issue 7, defect 14): warnings waited in memory until the 5-minute boundary,
    and the open aggregate window lived only in memory; a kill -9 lost both. Warnings are on
    disk when made, and the next start rebuilds the open window from the raw store."""
    h = Harness(tmp_path, ScriptedSource({120: 27.0}))
    h.engine.flush_due(T0)
    for minute in range(4):  # 20, 20, 27 (a warning), 20 — then the process is killed
        h.engine.sample(T0 + minute * 60)
        h.engine.flush_due(T0 + minute * 60)
    h.store.close()  # kill -9: no final flush; what SQLite committed stays
    h.outbox.close()

    again = Harness(tmp_path, ScriptedSource({}))  # the restarted reporter
    assert [e["severity"] for e in again.events() if e["type"] == "reading"] == ["warning"]
    assert again.engine.recover(T0 + 250) == 4
    again.engine.sample(T0 + 270)
    again.engine.flush_due(T0 + 300)
    (window,) = _aggregates(again.outbox)
    assert (window["start"], window["count"], window["max"]) == (T0, 5, 27.0)


def test_recovery_never_counts_a_reading_twice(tmp_path: Path) -> None:
    h = Harness(tmp_path, ScriptedSource({}))
    for minute in range(7):  # one window written at T0 + 300, the next one open
        h.engine.sample(T0 + minute * 60)
        h.engine.flush_due(T0 + minute * 60)
    h.store.close()
    h.outbox.close()
    again = Harness(tmp_path, ScriptedSource({}))
    assert again.engine.recover(T0 + 380) == 2  # only the open window's readings
    again.engine.flush_due(T0 + 600)
    counts = [(a["start"], a["count"]) for a in _aggregates(again.outbox)]
    assert counts == [(T0, 5), (T0 + 300, 2)]
    # A clean stop writes the open window; the next start has nothing to recover.
    again.engine.sample(T0 + 610)
    again.engine.flush_due(T0 + 620, final=True)
    again.store.close()
    again.outbox.close()
    assert Harness(tmp_path, ScriptedSource({})).engine.recover(T0 + 700) == 0
