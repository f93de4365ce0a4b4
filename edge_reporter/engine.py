"""The reporter's step functions; time is always passed in, so a day replays in seconds.

`sample(now)` reads every source, stores raw readings, triages each and routes it:
critical → outbox at once (and the forwarder is woken); warning → outbox at once too, without
waking it (it goes with the interval's batch); every reading with a value → the aggregator.
Verdicts also feed the episode tracker: an episode that opens or escalates at critical goes out
at once, other episode changes are held (the newest state of each episode replaces an older
held one). `flush_due(now)` writes ended aggregate windows, the held episodes and a heartbeat,
and saves up to when readings are aggregated; after a kill, `recover(now)` rebuilds the windows
left open from the raw store.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from edge_reporter.aggregate import Aggregate, Aggregator, Stats
from edge_reporter.episodes import OPEN, UPDATE, Change, EpisodeTracker, restore, snapshot
from edge_reporter.model import Kind, Reading, SensorSpec, Severity
from edge_reporter.outbox import Outbox
from edge_reporter.sensors.base import SensorSource
from edge_reporter.status import Status
from edge_reporter.store import LocalStore, StoreError
from edge_reporter.triage import Verdict
from edge_reporter.workloads import WorkloadSource

if TYPE_CHECKING:
    from edge_reporter.metrics import ReporterMetrics

log = logging.getLogger(__name__)

Event = dict[str, Any]


class Triage(Protocol):
    """What the engine needs of a per-series detector."""

    def update(self, ts: float, value: float | None) -> Verdict:
        """Classify one reading."""
        ...


TriageFactory = Callable[[SensorSpec], Triage]
HealthFn = Callable[[], Mapping[str, float | None]]
EPISODES_STATE = "episodes"  # outbox state key of the open episodes
# Outbox state key: readings stamped before this (Unix seconds) are in a written aggregate.
AGGREGATED_STATE = "aggregated_before"
RECOVER_MAX_S = 7 * 86_400.0  # as far back as the raw store keeps readings
HEALTH_KEYS = ("cpu_percent", "memory_percent", "disk_percent", "soc_temp_c", "load_1m", "uptime_s")


def _noop() -> None:
    return None


def _finite(x: float, digits: int) -> float | None:
    return round(x, digits) if math.isfinite(x) else None


def reading_event(r: Reading, v: Verdict, episode_start: float | None = None) -> Event:
    """The wire form of a flagged reading (`episode_start`: the episode it belongs to)."""
    event: Event = {
        "type": "reading",
        "ts": r.ts,
        "sensor": r.sensor,
        "metric": r.metric,
        "unit": r.unit,
        "value": r.value,
        "severity": v.severity.value,
        "score": _finite(v.score, 3) or 0.0,
        "reason": v.reason,
    }
    if v.rule is not None and v.kind is not None:
        event["rule"] = v.rule
        event["kind"] = v.kind.value
    if episode_start is not None:
        event["episode_start"] = episode_start
    mean, std = _finite(v.baseline_mean, 4), _finite(v.baseline_std, 4)
    if mean is not None and std is not None and std >= 0:
        event["baseline"] = {"mean": mean, "std": std}
    return event


def _stats(s: Stats | None) -> Event | None:
    """The wire form of part of a window: the clean readings, or the sensor faults."""
    if s is None:
        return None
    return {
        "count": s.count,
        "min": s.min,
        "max": s.max,
        "mean": min(s.max, max(s.min, round(s.mean, 4))),
        "last": s.last,
        "min_ts": s.min_ts,
        "max_ts": s.max_ts,
    }


def aggregate_event(a: Aggregate, ts: float) -> Event:
    """The wire form of an aggregate window; `clean` and `faults` when some were faults."""
    event: Event = {
        "type": "aggregate",
        "ts": ts,
        "sensor": a.sensor,
        "metric": a.metric,
        "unit": a.unit,
        "start": a.start,
        "end": a.end,
        "count": a.count,
        "min": a.min,
        "max": a.max,
        "mean": min(a.max, max(a.min, round(a.mean, 4))),
        "last": a.last,
    }
    if a.faults is not None:
        event["faults"] = _stats(a.faults)
        event["clean"] = _stats(a.clean)
    return event


class Engine:
    """Reads, stores, triages and routes readings; emits aggregates, warnings and heartbeats."""

    def __init__(
        self,
        *,
        sources: Sequence[SensorSource],
        store: LocalStore,
        outbox: Outbox,
        triage_factory: TriageFactory,
        aggregate_interval: float,
        health: HealthFn | None = None,
        workloads: Sequence[str] | WorkloadSource = (),
        read_url: str | None = None,
        on_critical: Callable[[], None] = _noop,
        on_events: Callable[[], None] = _noop,
        on_flagged: Callable[[str, Event], None] | None = None,
        status: Status | None = None,
        metrics: ReporterMetrics | None = None,
    ) -> None:
        self._sources = list(sources)
        self._status = status or outbox.status
        self._store = store
        self._outbox = outbox
        self._triage_factory = triage_factory
        self._interval = aggregate_interval
        self._aggregator = Aggregator(aggregate_interval)
        self._health = health
        self._workloads = workloads
        self._read_url = read_url
        self._on_critical = on_critical
        self._on_events = on_events
        self._on_flagged = on_flagged
        self._metrics = metrics
        self._triage: dict[tuple[str, str], Triage] = {}
        self._episodes = EpisodeTracker()
        self._held_episodes: dict[tuple[str, str, float], Event] = {}
        saved = outbox.state(EPISODES_STATE)
        if saved:
            try:
                self._episodes.adopt(restore(json.loads(saved)))
            except (ValueError, TypeError):
                log.warning("open episodes of the last run could not be read; starting afresh")
        self._next_heartbeat: float | None = None
        self.counts: dict[str, int] = {"readings": 0, "warning": 0, "critical": 0, "errors": 0}

    def specs(self) -> list[SensorSpec]:
        """Every series of every source."""
        return [spec for source in self._sources for spec in source.specs()]

    @property
    def sources(self) -> list[SensorSource]:
        """The sources this engine samples."""
        return list(self._sources)

    def missing(self, source: SensorSource, now: float) -> list[Reading]:
        """A dropout (None) for every series of `source`: its read failed or did not finish."""
        return [Reading(now, s.sensor, s.metric, s.unit, None) for s in source.specs()]

    def failed(self, source: SensorSource, now: float, exc: BaseException) -> list[Reading]:
        """Count and log a source's failed read; its series read as None."""
        self.counts["errors"] += 1
        log.error("sensor source %s failed: %s; its series read as None", source, exc)
        return self.missing(source, now)

    def _read_all(self, now: float) -> list[Reading]:
        readings: list[Reading] = []
        for source in self._sources:
            try:
                readings.extend(source.read(now))
            except Exception as exc:  # a broken driver must not stop the others
                readings.extend(self.failed(source, now, exc))
        return readings

    def sample(self, now: float) -> list[tuple[Reading, Verdict]]:
        """Read, store, triage and route every series at `now`; return the flagged readings."""
        return self.process(self._read_all(now))

    def process(self, readings: Sequence[Reading]) -> list[tuple[Reading, Verdict]]:
        """Store, triage and route readings already taken; return the flagged ones."""
        if not readings:
            return []
        now = max(r.ts for r in readings)
        try:
            self._store.append(readings)
        except StoreError as exc:
            # The raw store is best effort (the outbox is what must not lose data): triage and
            # forwarding go on, so a full disk still lets criticals out. Said once, not per read.
            self.counts["errors"] += 1
            self._status.problem(
                "raw store",
                str(exc),
                "raw readings are not kept locally (triage, aggregates and delivery go on)",
            )
        else:
            self._status.resolved("raw store")
        flagged: list[tuple[Reading, Verdict]] = []
        timer = None if self._metrics is None else self._metrics.triage_seconds
        for r in readings:
            self.counts["readings"] += 1
            triage = self._triage_of(r)
            started = time.perf_counter()
            verdict = triage.update(r.ts, r.value)
            if timer is not None:
                timer.observe(time.perf_counter() - started)
            self._aggregator.add(r, fault=verdict.kind is Kind.SENSOR_FAULT)
            if verdict.kind is not None or self._episodes.has_open(r.sensor, r.metric):
                for change in self._episodes.observe(r, verdict):
                    self._route_episode(change, now)
            if verdict.severity is Severity.NORMAL:
                continue
            flagged.append((r, verdict))
            self.counts[verdict.severity.value] += 1
            log.warning(
                "%s %s=%s %s: %s", verdict.severity.value, r.series, r.value, r.unit, verdict.reason
            )
            event = reading_event(r, verdict, self._episodes.start_of(r.sensor, r.metric))
            # Both are on disk the moment they are made (a kill loses neither); a critical wakes
            # the sender, a warning waits for the next send (the batch of the interval).
            kind = "critical" if verdict.severity is Severity.CRITICAL else "warning"
            event_id = self._outbox.put(kind, event, now=now)
            if kind == "critical":
                self._on_critical()
            if self._on_flagged is not None:
                self._on_flagged(event_id, event)
        if self._metrics is not None:
            self._metrics.observe(readings)
        return flagged

    def _route_episode(self, change: Change, now: float) -> None:
        """Send an urgent episode change now; hold the others, newest state per episode."""
        held = self._held_episodes.pop(change.key, None)
        event = change.event
        if held is not None and held["phase"] == OPEN and event["phase"] == UPDATE:
            event["phase"] = OPEN  # the receiver has not heard of it yet
        if not change.urgent:
            self._held_episodes[change.key] = event
            return
        self._outbox.put_many([("episode", event)], now=now, state=self._episode_state())
        self._on_critical()

    def _episode_state(self) -> dict[str, str]:
        """The open episodes, saved with the outbox so a restart continues them."""
        return {EPISODES_STATE: json.dumps(snapshot(self._episodes.open_episodes()))}

    def _triage_of(self, r: Reading) -> Triage:
        key = (r.sensor, r.metric)
        triage = self._triage.get(key)
        if triage is None:
            triage = self._triage[key] = self._triage_factory(
                SensorSpec(r.sensor, r.metric, r.unit)
            )
        return triage

    def flush_due(self, now: float, *, final: bool = False) -> int:
        """Write ended aggregate windows, and once per interval held episode updates and a
        heartbeat.

        `final` (at shutdown) also writes the open windows, cut at `now`. Returns events written.
        Saved with them, in the same transaction: up to when readings are aggregated, from
        which `recover` rebuilds the windows a kill left open.
        """
        aggregates = self._aggregator.drain(now) if final else self._aggregator.due(now)
        items: list[tuple[str, Event]] = []
        beat = final or self._next_heartbeat is None or now >= self._next_heartbeat
        before = now + 1e-3 if final else math.floor(now / self._interval) * self._interval
        state: dict[str, str] = {AGGREGATED_STATE: repr(before)}
        if beat:
            episodes, self._held_episodes = list(self._held_episodes.values()), {}
            items.extend(("episode", e) for e in episodes)
            state.update(self._episode_state())
        items.extend(("aggregate", aggregate_event(a, now)) for a in aggregates)
        if beat:
            self._next_heartbeat = (
                math.floor(now / self._interval) * self._interval + self._interval
            )
            items.append(("heartbeat", self.heartbeat(now, also_pending=len(items))))
        if not items:
            return 0
        self._outbox.put_many(items, now=now, state=state)
        self._on_events()
        return len(items)

    def recover(self, now: float) -> int:
        """Rebuild, from the raw store, the aggregate windows a kill left open or unwritten.

        Readings stamped from what the last run saved as aggregated (else the current window's
        start) up to `now` go back into the aggregator; they are written when their window
        ends. Returns how many; 0 when the raw store cannot be read (that loss is logged).
        """
        saved = self._outbox.state(AGGREGATED_STATE)
        start = math.floor(now / self._interval) * self._interval
        if saved:
            try:
                start = max(float(saved), now - RECOVER_MAX_S)
            except ValueError:
                log.warning("outbox state %s=%r unreadable; recovering the current window only",
                            AGGREGATED_STATE, saved)  # fmt: skip
        try:
            readings = self._store.readings_between(start, now)
        except StoreError as exc:
            log.error("open aggregate windows since %.0f not recovered: %s", start, exc)
            return 0
        for r in readings:
            self._aggregator.add(r)
        if readings:
            log.info("recovered %d readings since %.0f into open aggregate windows",
                     len(readings), start)  # fmt: skip
        return len(readings)

    def _workload_list(self) -> list[Any]:
        """What runs here now (a failing source gives none; the heartbeat still goes)."""
        source = self._workloads
        if isinstance(source, Sequence):
            return list(source)
        try:
            return source.snapshot()
        except Exception as exc:  # a broken /proc or API never stops the heartbeat
            log.warning("workloads: %s: %s", type(exc).__name__, exc)
            return []

    def heartbeat(self, now: float, *, also_pending: int = 0) -> Event:
        """A heartbeat: health, series, workloads, outbox (+ `also_pending` written with it)."""
        health = dict(self._health()) if self._health is not None else {}
        dropped = self._outbox.dropped()
        return {
            "type": "heartbeat",
            "ts": now,
            "interval_s": self._interval,
            "health": {k: health.get(k) for k in HEALTH_KEYS if health.get(k) is not None},
            "sensors": [
                {"sensor": s.sensor, "metric": s.metric, "unit": s.unit} for s in self.specs()
            ],
            "workloads": self._workload_list(),
            "outbox": {
                "depth": self._outbox.depth() + also_pending,
                "dropped": sum(dropped.values()),
                "dropped_by_kind": dropped,
                "oldest_age_s": round(self._outbox.oldest_age(now), 1),
            },
            "read_url": self._read_url,
        }
