"""Prometheus metrics of the service, on a registry of its own (one per app).

Counters and histograms are updated where things happen (ingest, requests, answers); node
health and open anomaly episodes are read from storage when Prometheus scrapes (`render` runs
on a worker thread).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from agent_bruno.request_metrics import RequestStats
from agent_bruno.storage.base import EpisodeQuery, NodeRow, StorageError

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
SENSOR_LABELS = ("cluster", "node", "location", "sensor", "metric", "unit")
# Authenticated reporters only, but still bounded: a label set per series, at most this many.
MAX_SENSOR_SERIES = 10_000
EPISODE_KINDS = ("sensor_fault", "process_anomaly")
EPISODE_SEVERITIES = ("warning", "critical")


class ScrapeSource(Protocol):
    """What the scrape reads from storage."""

    def list_nodes(self) -> list[NodeRow]:
        """Every node with its latest heartbeat."""
        ...

    def count_episodes(self, query: EpisodeQuery) -> dict[tuple[str, str], int]:
        """Episodes matching `query` by (kind, highest severity)."""
        ...


class SensorValue(Protocol):
    """An ingested event that carries a series' value (an aggregate's `last`, a reading)."""

    sensor: str
    metric: str
    unit: str
    ts: float


_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Metrics:
    """Every metric the service exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.ingest_events = Counter(
            "agent_bruno_ingest_events",
            "Ingested events and readings by type and outcome (accepted, duplicate, rejected).",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.rejections = Counter(
            "agent_bruno_ingest_rejections",
            "Rejected requests and items by reason.",
            ["reason"],
            registry=self.registry,
        )
        # Request latency per route and requests per route and status class.
        self.requests = RequestStats(_LATENCY_BUCKETS)
        self.registry.register(self.requests)
        self.commit_batch = Histogram(
            "agent_bruno_group_commit_requests",
            "Requests per group-commit transaction.",
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.agent_answers = Counter(
            "agent_bruno_agent_answers",
            "Questions answered by mode (builtin, model) and outcome (answered, fallback, error).",
            ["mode", "outcome"],
            registry=self.registry,
        )
        self.file_bytes = Gauge(
            "agent_bruno_file_bytes",
            "Bytes of each data file (database, thread memory, their WALs), read at scrape.",
            ["file"],
            registry=self.registry,
        )
        self.thread_memory = Gauge(
            "agent_bruno_thread_memory",
            "Thread memory: threads kept, one-shot entries kept, and since start threads pruned, "
            "files quarantined, failed reads or writes (answered without memory).",
            ["what"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "agent_bruno_reporter_outbox_depth",
            "Events pending in a reporter's outbox (latest heartbeat).",
            ["node"],
            registry=self.registry,
        )
        self.outbox_dropped = Gauge(
            "agent_bruno_reporter_outbox_dropped",
            "Events a reporter's outbox has dropped (latest heartbeat).",
            ["node"],
            registry=self.registry,
        )
        self.alert_deliveries = Counter(
            "agent_bruno_alert_deliveries",
            "Alert notification attempts by channel and outcome (delivered, retryable, permanent).",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.clock_offset = Gauge(
            "agent_bruno_reporter_clock_offset_seconds",
            "How far a reporter's clock is ahead of the agent's (negative: behind), from its "
            "latest batch; timestamps are shifted by it at ingest beyond 1 s.",
            ["node"],
            registry=self.registry,
        )
        self.sensor_value = Gauge(
            "agent_bruno_sensor_value",
            "Each series' newest ingested value (an aggregate's last value or a flagged reading).",
            list(SENSOR_LABELS),
            registry=self.registry,
        )
        self._sensor_ts: dict[tuple[str, ...], float] = {}
        self._sensor_lock = threading.Lock()
        self._source: ScrapeSource | None = None
        ProcessCollector(registry=self.registry)
        self.registry.register(_StorageCollector(self))

    def watch(self, source: ScrapeSource) -> None:
        """Read node health and open episodes from `source` at each scrape."""
        self._source = source

    def observe_values(
        self, cluster: str, node: str, location: str, values: Iterable[tuple[SensorValue, float]]
    ) -> None:
        """Set each series' gauge to `(event, value)` unless a newer value is already set."""
        with self._sensor_lock:
            for event, value in values:
                labels = (cluster, node, location, event.sensor, event.metric, event.unit)
                seen = self._sensor_ts.get(labels)
                if seen is not None and seen > event.ts:
                    continue  # a late retry of an older window
                if seen is None and len(self._sensor_ts) >= MAX_SENSOR_SERIES:
                    continue
                self._sensor_ts[labels] = event.ts
                self.sensor_value.labels(*labels).set(value)

    def collect_storage(self) -> Iterable[Metric]:
        """Node heartbeats and open episodes, read now (nothing if storage fails)."""
        if self._source is None:
            return []
        try:
            nodes = self._source.list_nodes()
            now = time.time()
            episodes = self._source.count_episodes(
                EpisodeQuery(start=0.0, end=now + 86_400.0, state="open")
            )
        except StorageError as exc:
            log.warning("metrics: storage unavailable, node and episode gauges left out: %s", exc)
            return []
        return [*_node_families(nodes), _episode_family(episodes)]

    def count_outcome(self, kind: str, accepted: int, duplicates: int, rejected: int) -> None:
        """Add one request's item counts for one type."""
        if accepted:
            self.ingest_events.labels(kind, "accepted").inc(accepted)
        if duplicates:
            self.ingest_events.labels(kind, "duplicate").inc(duplicates)
        if rejected:
            self.ingest_events.labels(kind, "rejected").inc(rejected)

    def render(self) -> bytes:
        """The text exposition format (reads storage: call it off the event loop)."""
        return generate_latest(self.registry)

    def finish_request(self, route: str, status: int, seconds: float) -> None:
        """Count one finished request under its route and status class, and observe its
        duration."""
        self.requests.observe(route, status, seconds)

    def count_answer(self, mode: str | None, fallback: str | None, failed: bool = False) -> None:
        """Count one question's outcome; a fallback counts under the mode that answered."""
        outcome = "error" if failed else "fallback" if fallback else "answered"
        self.agent_answers.labels(mode or "unknown", outcome).inc()


def _node_families(nodes: Sequence[NodeRow]) -> list[Metric]:
    seen = GaugeMetricFamily(
        "agent_bruno_node_last_seen_timestamp_seconds",
        "When each node's newest heartbeat arrived (Unix seconds).",
        labels=["cluster", "node", "location"],
    )
    interval = GaugeMetricFamily(
        "agent_bruno_node_heartbeat_interval_seconds",
        "Each node's heartbeat interval: offline after a few missed.",
        labels=["cluster", "node", "location"],
    )
    health = GaugeMetricFamily(
        "agent_bruno_node_health",
        "Each node's health figures from its newest heartbeat (cpu_percent, memory_percent ...).",
        labels=["cluster", "node", "location", "metric"],
    )
    for row in nodes:
        where = [row.cluster, row.node, row.location]
        seen.add_metric(where, row.last_seen)
        interval.add_metric(where, row.interval_s)
        for name, value in sorted(row.health.items()):
            if isinstance(value, int | float) and not isinstance(value, bool):
                health.add_metric([*where, name], float(value))
    return [seen, interval, health]


def _episode_family(counts: dict[tuple[str, str], int]) -> Metric:
    family = GaugeMetricFamily(
        "agent_bruno_open_episodes",
        "Anomaly episodes open now, by kind and highest severity.",
        labels=["kind", "severity"],
    )
    keys = {(k, s) for k in EPISODE_KINDS for s in EPISODE_SEVERITIES} | set(counts)
    for kind, severity in sorted(keys):
        family.add_metric([kind, severity], counts.get((kind, severity), 0))
    return family


class _StorageCollector:
    """Adapts `Metrics.collect_storage` to the registry's collector interface."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        """The scrape-time families."""
        return self._metrics.collect_storage()

    def describe(self) -> Iterable[Metric]:
        """Nothing up front: the families are built at each scrape."""
        return []
