"""Prometheus metrics of the service, on a registry of its own (one per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
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
        self.latency = Histogram(
            "agent_bruno_request_duration_seconds",
            "Request latency per route.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
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

    def count_outcome(self, kind: str, accepted: int, duplicates: int, rejected: int) -> None:
        """Add one request's item counts for one type."""
        if accepted:
            self.ingest_events.labels(kind, "accepted").inc(accepted)
        if duplicates:
            self.ingest_events.labels(kind, "duplicate").inc(duplicates)
        if rejected:
            self.ingest_events.labels(kind, "rejected").inc(rejected)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)

    def count_answer(self, mode: str | None, fallback: str | None, failed: bool = False) -> None:
        """Count one question's outcome; a fallback counts under the mode that answered."""
        outcome = "error" if failed else "fallback" if fallback else "answered"
        self.agent_answers.labels(mode or "unknown", outcome).inc()
