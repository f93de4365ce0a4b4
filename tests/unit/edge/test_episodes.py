"""Episodes at the reporter: a stuck sensor is one episode with reminders, a burst of flags is
one episode, a critical opens at once, and an open episode survives a restart."""

from __future__ import annotations

import json
from pathlib import Path

from edge_reporter.engine import Engine
from edge_reporter.episodes import CLOSE, OPEN, UPDATE, EpisodeTracker, restore, snapshot
from edge_reporter.model import Kind, Reading, Severity
from edge_reporter.outbox import Outbox
from edge_reporter.sensors.registry import default_triage
from edge_reporter.store import LocalStore
from edge_reporter.triage import HARD_LIMIT, JUMP, SPIKE, STUCK_VALUE, Verdict

T0 = 1_764_115_200.0
NORMAL = Verdict(Severity.NORMAL, 0.1, "within the usual range", 20.0, 1.0)


def stuck(severity: Severity, n: int) -> Verdict:
    reason = f"value stuck at 48.0 % for {n} readings"
    if severity is Severity.NORMAL:
        reason += " (already reported)"
    return Verdict(severity, 0.0, reason, 47.0, 0.5, STUCK_VALUE, Kind.SENSOR_FAULT)


def r(i: int, value: float | None = 48.0) -> Reading:
    return Reading(T0 + i, "dht22-1", "humidity", "%", value)


def test_a_stuck_sensor_with_reminders_is_one_episode() -> None:
    tracker = EpisodeTracker(quiet_readings=3)
    changes = []
    for n in range(12, 50):
        severity = Severity.WARNING if n in (12, 24, 48) else Severity.NORMAL
        changes += tracker.observe(r(n), stuck(severity, n))
    assert [c.event["phase"] for c in changes] == [OPEN, UPDATE, UPDATE]
    last = changes[-1].event
    assert (last["start"], last["count"], last["readings"], last["end"]) == (T0 + 12, 3, 37, None)
    assert (last["rule"], last["kind"], last["severity"]) == (
        "stuck_value",
        "sensor_fault",
        "warning",
    )
    assert last["reason"] == "value stuck at 48.0 % for 48 readings"
    assert (last["peak_value"], last["peak_deviation"]) == (48.0, 2.0)
    assert [c.event["revision"] for c in changes] == [1, 2, 3]
    # Back to normal: the episode closes after `quiet_readings`, ending at its last reading.
    closing = [c for i in range(50, 53) for c in tracker.observe(r(i, 47.0), NORMAL)]
    assert [c.event["phase"] for c in closing] == [CLOSE]
    assert (closing[0].event["end"], closing[0].event["ts"]) == (T0 + 49, T0 + 49)
    assert tracker.open_episodes() == []


def test_flags_close_together_are_one_episode_and_a_critical_is_urgent() -> None:
    tracker = EpisodeTracker(quiet_readings=5)
    warn = Verdict(Severity.WARNING, 0.92, "breaks the pattern", 20.0, 1.0, JUMP,
                   Kind.PROCESS_ANOMALY)  # fmt: skip
    crit = Verdict(Severity.CRITICAL, 0.99, "6σ above", 20.0, 1.0, SPIKE, Kind.PROCESS_ANOMALY)
    opened = tracker.observe(r(0, 23.0), warn)
    assert not opened[0].urgent
    for i in range(1, 4):
        assert tracker.observe(r(i, 21.0), NORMAL) == []
    (escalated,) = tracker.observe(r(4, 26.0), crit)
    assert escalated.urgent
    assert (escalated.event["severity"], escalated.event["count"]) == ("critical", 2)
    assert escalated.event["rule"] == JUMP  # the rule that opened it
    assert (escalated.event["peak_value"], escalated.event["peak_deviation"]) == (26.0, 6.0)
    # A warning after a critical keeps the highest severity and its reason.
    (later,) = tracker.observe(r(5, 23.0), warn)
    assert (later.event["severity"], later.event["reason"], later.urgent) == (
        "critical",
        "6σ above",
        False,
    )


def test_another_rule_closes_the_episode_and_opens_its_own() -> None:
    tracker = EpisodeTracker()
    tracker.observe(r(0), stuck(Severity.WARNING, 12))
    beyond = Verdict(Severity.CRITICAL, 1.0, "101 % is above the sensor limit of 100 %", 47.0,
                     0.5, HARD_LIMIT, Kind.SENSOR_FAULT)  # fmt: skip
    closed, opened = tracker.observe(r(1, 101.0), beyond)
    assert (closed.event["phase"], closed.event["rule"]) == (CLOSE, STUCK_VALUE)
    assert (opened.event["phase"], opened.event["rule"], opened.urgent) == (OPEN, HARD_LIMIT, True)


def test_open_episodes_round_trip_through_a_snapshot() -> None:
    tracker = EpisodeTracker()
    tracker.observe(r(0), stuck(Severity.WARNING, 12))
    state = json.loads(json.dumps(snapshot(tracker.open_episodes())))
    again = EpisodeTracker()
    again.adopt(restore([*state, {"kind": "nonsense"}]))
    (change,) = again.observe(r(12), stuck(Severity.WARNING, 24))
    assert (change.event["start"], change.event["count"], change.event["revision"]) == (T0, 2, 2)


class StuckHumidity:
    """A DHT22 whose humidity freezes at 48.0 % from `frozen_at` seconds on."""

    def __init__(self, frozen_at: float) -> None:
        self.frozen_at = frozen_at

    def specs(self) -> list[object]:
        return []

    def read(self, now: float) -> list[Reading]:
        t = now - T0
        value = 48.0 if t >= self.frozen_at else 45.0 + (t % 7) * 0.5
        return [Reading(now, "dht22-1", "humidity", "%", value)]


def _engine(tmp_path: Path, source: object) -> tuple[Engine, Outbox]:
    outbox = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=10_000)
    engine = Engine(
        sources=[source],  # type: ignore[list-item]
        store=LocalStore(tmp_path / "raw.db", retention_days=7, max_bytes=10**8),
        outbox=outbox,
        triage_factory=default_triage,
        aggregate_interval=60,
    )
    return engine, outbox


def _episodes(outbox: Outbox) -> list[dict[str, object]]:
    bodies = [json.loads(e.body) for e in outbox.peek(10_000)]
    return [b for b in bodies if b["type"] == "episode"]


def test_engine_sends_one_episode_for_a_stuck_sensor_and_links_its_readings(
    tmp_path: Path,
) -> None:
    engine, outbox = _engine(tmp_path, StuckHumidity(frozen_at=100))
    for i in range(2000):
        engine.sample(T0 + i)
        engine.flush_due(T0 + i)
    engine.flush_due(T0 + 2000, final=True)
    events = _episodes(outbox)
    starts = {e["start"] for e in events}
    assert len(starts) == 1, events
    latest = events[-1]
    assert (latest["rule"], latest["kind"], latest["end"]) == ("stuck_value", "sensor_fault", None)
    assert latest["count"] >= 3
    # Held changes of one episode are coalesced: at most one per flush interval.
    assert len(events) <= 2000 // 60 + 1
    bodies = [json.loads(e.body) for e in outbox.peek(10_000)]
    flagged = [b for b in bodies if b["type"] == "reading"]
    assert flagged
    assert all(b["episode_start"] in starts for b in flagged)
    assert all(b["rule"] == "stuck_value" and b["kind"] == "sensor_fault" for b in flagged)


def test_engine_continues_an_open_episode_after_a_restart(tmp_path: Path) -> None:
    engine, outbox = _engine(tmp_path, StuckHumidity(frozen_at=100))
    for i in range(300):
        engine.sample(T0 + i)
        engine.flush_due(T0 + i)
    first = _episodes(outbox)[-1]
    outbox.close()
    engine, outbox = _engine(tmp_path, StuckHumidity(frozen_at=0))  # still stuck after restart
    for i in range(300, 400):
        engine.sample(T0 + i)
        engine.flush_due(T0 + i)
    engine.flush_due(T0 + 400, final=True)
    later = _episodes(outbox)[-1]
    assert later["start"] == first["start"]
    assert int(later["revision"]) > int(first["revision"])  # type: ignore[call-overload]
