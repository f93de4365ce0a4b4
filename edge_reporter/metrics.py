"""The reporter's Prometheus metrics, served on the read API's `/metrics`.

Counters the loops already keep (the engine's readings and verdicts, the forwarder's sends) and
the outbox are read when Prometheus scrapes, so the hot path gains only the triage timer. The
scrape runs on the read API's thread: it never touches the loop's SQLite connection and opens
its own read-only one to the outbox. prometheus_client costs ~0.5 MiB of RSS (measured), well
inside the reporter's 48 MiB budget.

To add a gauge (e.g. a "degraded" state): `metrics.add_gauge(name, help, fn)`, where `fn()`
returns the value, or `None` for "no sample".
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from prometheus_client import CollectorRegistry, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from edge_reporter.distribution import VERSION
from edge_reporter.model import Reading

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Triage takes a few microseconds per reading (bench/bench_triage.py).
TRIAGE_BUCKETS = (1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 1e-3, 1e-2)
SENSOR_LABELS = ("cluster", "node", "location", "sensor", "metric", "unit")


class Counts(Protocol):
    """What the collector reads from the engine and the forwarder: monotonic counts by name."""

    def __getitem__(self, key: str) -> int:
        """The count named `key`."""
        ...


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """The outbox as a scrape sees it."""

    depth: int
    oldest_age_s: float
    dropped: Mapping[str, int]


def read_outbox_stats(path: Path, now: float) -> OutboxStats | None:
    """Depth, oldest age and drops from a read-only connection; None if it cannot be read."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return None
    try:
        depth, oldest = db.execute("SELECT count(*), min(created) FROM events").fetchone()
        rows = db.execute("SELECT key, value FROM meta WHERE key LIKE 'dropped:%'").fetchall()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    age = 0.0 if oldest is None else max(0.0, now - float(oldest))
    return OutboxStats(int(depth), age, {str(k).split(":", 1)[1]: int(v) for k, v in rows})


class ReporterMetrics:
    """Every metric the reporter exports, on a registry of its own."""

    def __init__(
        self,
        *,
        cluster: str,
        node: str,
        location: str,
        outbox_path: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._where = (cluster, node, location)
        self._outbox_path = outbox_path
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: dict[tuple[str, str], Reading] = {}
        self._engine: Counts | None = None
        self._forwarder: Counts | None = None
        self._gauges: list[tuple[str, str, Callable[[], float | None]]] = []
        self.triage_seconds = Histogram(
            "edge_reporter_triage_duration_seconds",
            "Time to triage one reading.",
            buckets=TRIAGE_BUCKETS,
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        self.registry.register(_Collector(self))

    def watch(self, *, engine: Counts, forwarder: Counts) -> None:
        """Export the engine's reading and verdict counts and the forwarder's send counts."""
        self._engine, self._forwarder = engine, forwarder

    def add_gauge(self, name: str, help_text: str, fn: Callable[[], float | None]) -> None:
        """Export `fn()` as the gauge `name` at every scrape (`None` leaves the sample out)."""
        self._gauges.append((name, help_text, fn))

    def observe(self, readings: Iterable[Reading]) -> None:
        """Keep each series' newest reading for the sensor-value gauges."""
        with self._lock:
            for r in readings:
                self._latest[(r.sensor, r.metric)] = r

    def latest(self) -> list[Reading]:
        """The newest reading of each series, in series order."""
        with self._lock:
            return [self._latest[k] for k in sorted(self._latest)]

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)

    def collect(self) -> Iterable[Metric]:
        """The families read at scrape time (called by the registry)."""
        cluster, node, location = self._where
        info = GaugeMetricFamily(
            "edge_reporter_build_info", "The reporter's version (always 1).", labels=["version"]
        )
        info.add_metric([VERSION], 1)
        yield info
        values = GaugeMetricFamily(
            "edge_reporter_sensor_value",
            "Each series' newest value (absent while its newest reading has no value).",
            labels=list(SENSOR_LABELS),
        )
        stamps = GaugeMetricFamily(
            "edge_reporter_sensor_last_reading_timestamp_seconds",
            "When each series was last read (Unix seconds), with or without a value.",
            labels=list(SENSOR_LABELS),
        )
        for r in self.latest():
            labels = [cluster, node, location, r.sensor, r.metric, r.unit]
            stamps.add_metric(labels, r.ts)
            if r.value is not None:
                values.add_metric(labels, r.value)
        yield values
        yield stamps
        if self._engine is not None:
            yield from self._engine_families(self._engine)
        if self._forwarder is not None:
            yield from self._forwarder_families(self._forwarder)
        yield from self._outbox_families()
        for name, help_text, fn in self._gauges:
            value = fn()
            if value is not None:
                yield GaugeMetricFamily(name, help_text, value=value)

    @staticmethod
    def _engine_families(counts: Counts) -> Iterable[Metric]:
        readings = counts["readings"]
        yield CounterMetricFamily(
            "edge_reporter_readings", "Readings taken (one per series per sample).", readings
        )
        verdicts = CounterMetricFamily(
            "edge_reporter_verdicts", "Triage verdicts by severity.", labels=["severity"]
        )
        flagged = counts["warning"] + counts["critical"]
        verdicts.add_metric(["normal"], max(0, readings - flagged))
        verdicts.add_metric(["warning"], counts["warning"])
        verdicts.add_metric(["critical"], counts["critical"])
        yield verdicts
        yield CounterMetricFamily(
            "edge_reporter_errors",
            "Sensor source failures and raw-store write failures.",
            counts["errors"],
        )

    @staticmethod
    def _forwarder_families(counts: Counts) -> Iterable[Metric]:
        yield CounterMetricFamily(
            "edge_reporter_events_sent", "Events delivered to the agent.", counts["sent"]
        )
        yield CounterMetricFamily(
            "edge_reporter_send_batches", "Batches the agent accepted.", counts["batches"]
        )
        yield CounterMetricFamily(
            "edge_reporter_send_failures",
            "Delivery attempts that failed (network, HTTP error, refusal); events are kept.",
            counts["failures"],
        )
        yield CounterMetricFamily(
            "edge_reporter_events_rejected",
            "Events the agent rejected individually (dropped, logged).",
            counts["rejected"],
        )

    def _outbox_families(self) -> Iterable[Metric]:
        stats = read_outbox_stats(self._outbox_path, self._clock())
        if stats is None:
            return
        yield GaugeMetricFamily(
            "edge_reporter_outbox_depth", "Events waiting in the outbox.", value=stats.depth
        )
        yield GaugeMetricFamily(
            "edge_reporter_outbox_oldest_age_seconds",
            "Age of the oldest waiting event (0 when the outbox is empty).",
            value=stats.oldest_age_s,
        )
        dropped = CounterMetricFamily(
            "edge_reporter_outbox_dropped",
            "Events dropped because the outbox was full, by kind.",
            labels=["kind"],
        )
        for kind, n in sorted(stats.dropped.items()):
            dropped.add_metric([kind], n)
        yield dropped


class _Collector:
    """Adapts `ReporterMetrics.collect` to the registry's collector interface."""

    def __init__(self, metrics: ReporterMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        """Every scrape-time family."""
        return self._metrics.collect()

    def describe(self) -> Iterable[Metric]:
        """Nothing up front: the families are built at each scrape."""
        return []
