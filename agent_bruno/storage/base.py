"""What the service needs from a database: write requests, query results, the `Storage` protocol."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent_bruno.reading_columns import ReadingColumns
from agent_bruno.storage.faults import Excluded
from agent_bruno.wire import (
    AggregateEvent,
    BulkReading,
    EpisodeEvent,
    ExplanationEvent,
    HeartbeatEvent,
    ReadingEvent,
)

EdgeEvent = ReadingEvent | AggregateEvent | HeartbeatEvent | ExplanationEvent | EpisodeEvent


class StorageError(Exception):
    """The database could not do what was asked; nothing of that request was stored."""


@dataclass(frozen=True, slots=True)
class EventsWrite:
    """Validated events of one `POST /v1/events` request, received at `received_at`."""

    cluster: str
    node: str
    location: str
    events: Sequence[EdgeEvent]
    received_at: float


class ReadingsWrite:
    """Validated readings of one bulk import, as columns (or rows, turned into columns when
    the writer first needs them)."""

    __slots__ = ("_columns", "_rows")

    def __init__(self, readings: ReadingColumns | Sequence[BulkReading]) -> None:
        self._columns = readings if isinstance(readings, ReadingColumns) else None
        self._rows = None if isinstance(readings, ReadingColumns) else readings

    @property
    def columns(self) -> ReadingColumns:
        """The readings as columns."""
        if self._columns is None:
            self._columns = ReadingColumns.from_rows(self._rows or ())
        return self._columns

    @property
    def rows(self) -> Sequence[BulkReading]:
        """The readings as rows."""
        if self._rows is None:
            self._rows = self.columns.rows()
        return self._rows

    def __len__(self) -> int:
        return len(self._rows) if self._rows is not None else len(self.columns)


@dataclass(frozen=True, slots=True)
class PruneWrite:
    """Delete at most `batch` rows of `table` older than `before` (Unix seconds)."""

    table: str
    before: float
    batch: int


WriteRequest = EventsWrite | ReadingsWrite | PruneWrite


@dataclass(slots=True)
class WriteOutcome:
    """What one write request did once committed."""

    accepted: int = 0
    duplicates: int = 0
    by_type: dict[str, tuple[int, int]] = field(default_factory=dict)  # type → (acc, dup)
    # The heartbeat that became the node's latest; None when none did (an older one, retried).
    heartbeat: HeartbeatEvent | None = None
    # Items that cannot be stored (by position in the request's events or rows) and why; the
    # rest of the request is stored. Never a reason to fail, or retry, the whole request.
    rejected: list[tuple[int, str]] = field(default_factory=list)
    # Ids of the episodes the request's new episode events touched (the graph re-reads them).
    episodes: list[str] = field(default_factory=list)


@dataclass(slots=True)  # not frozen: reads build them by the thousand, and a frozen
class Point:  # dataclass's __init__ (object.__setattr__ per field) cost eight times as much
    """One bucket of a series."""

    ts: float
    mean: float
    min: float
    max: float
    count: int
    last: float


@dataclass(frozen=True, slots=True)
class SeriesResult:
    """Points of one (node, sensor, metric), at the resolution its data allows."""

    cluster: str
    node: str
    location: str
    sensor: str
    metric: str
    unit: str
    points: list[Point]
    step: int  # bucket width actually used (seconds)
    source: str  # table that answered: samples, rollup_5m or rollup_1h
    # Sensor-fault readings of the range (None: there were none), left out of `points` unless
    # `faults_included`.
    faults: Excluded | None = None
    faults_included: bool = False


@dataclass(frozen=True, slots=True)
class SeriesExtremes:
    """One series' buckets as (start, min, max, last, time of the last reading) tuples, oldest
    first: what rule evaluation and backtests need, read without building a `Point` per bucket."""

    cluster: str
    node: str
    location: str
    sensor: str
    metric: str
    unit: str
    step: int  # bucket width (seconds)
    rows: list[tuple[float, float, float, float, float]]


@dataclass(frozen=True, slots=True)
class SeriesSummary:
    """One series over a time range: its statistics there and its latest value anywhere.

    Statistics merge the 5-minute buckets that start inside the range (`count` 0: none did);
    `latest` is the newest stored value, which may be older than the range. Readings triage
    judged sensor faults are left out unless the query includes them; `faults` says how many
    there were in the range and their extremes, whether left out or not.
    """

    cluster: str
    node: str
    location: str
    sensor: str
    metric: str
    unit: str
    count: int
    mean: float | None
    min: float | None
    max: float | None
    latest: float | None
    latest_ts: float | None
    faults: Excluded | None = None
    faults_included: bool = False


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    """Filters and resolution of `GET /v1/series`."""

    start: float
    end: float
    step: int
    metric: str | None = None
    location: str | None = None
    node: str | None = None
    sensor: str | None = None
    cluster: str | None = None
    include_faults: bool = False  # merge sensor-fault readings into the statistics


@dataclass(frozen=True, slots=True)
class AnomalyQuery:
    """Filters of `GET /v1/anomalies`."""

    start: float
    end: float
    limit: int
    cluster: str | None = None
    node: str | None = None
    location: str | None = None
    severity: str | None = None
    sensor: str | None = None
    metric: str | None = None
    kind: str | None = None  # sensor_fault or process_anomaly
    episode: str | None = None  # only the readings of this episode id


@dataclass(frozen=True, slots=True)
class AnomalyRow:
    """One flagged reading as stored."""

    id: str
    ts: float
    cluster: str
    node: str
    location: str
    sensor: str
    metric: str
    unit: str
    value: float | None  # None: a dropout (the sensor gave no reading)
    severity: str
    score: float
    reason: str
    baseline: dict[str, float] | None
    explanation: str | None
    explanation_model: str | None
    rule: str | None = None  # None: sent by a reporter that did not name it
    kind: str | None = None
    episode_id: str | None = None


@dataclass(frozen=True, slots=True)
class EpisodeQuery:
    """Which episodes: those active in [start, end), narrowed by scope, kind and state.

    An episode is active in the range when it started before `end` and is open or ended at or
    after `start`. `changed_since` (agent receive time) keeps only episodes updated since then,
    for a poller that wants what is new. `state`: "open", "closed" or None for both.
    """

    start: float
    end: float
    limit: int = 100
    cluster: str | None = None
    node: str | None = None
    location: str | None = None
    sensor: str | None = None
    metric: str | None = None
    kind: str | None = None
    rule: str | None = None
    severity: str | None = None  # the highest severity reached
    state: str | None = None
    changed_since: float | None = None


@dataclass(frozen=True, slots=True)
class EpisodeRow:
    """One anomaly episode as stored (see ARCHITECTURE.md, "Anomaly episodes")."""

    id: str  # stable: derived from (cluster, node, sensor, metric, start)
    cluster: str
    node: str
    location: str
    sensor: str
    metric: str
    unit: str
    start: float
    end: float | None  # None while open
    last: float  # the newest reading in the condition so far
    kind: str  # sensor_fault or process_anomaly
    rule: str
    severity: str  # the highest reached: warning or critical
    count: int  # flagged readings: the first alert and its reminders
    readings: int  # readings in the condition
    peak_value: float | None
    peak_ts: float | None
    peak_deviation: float | None  # in baseline σ
    reason: str
    revision: int
    opened_at: float  # when the agent first heard of it
    updated_at: float  # when the agent last heard of it
    closed_by: str | None  # "reporter", or "superseded" when a newer episode of the series opened

    @property
    def is_open(self) -> bool:
        """Whether the episode lasts."""
        return self.end is None

    @property
    def reminders(self) -> int:
        """Flags after the first one."""
        return self.count - 1


@dataclass(frozen=True, slots=True)
class NodeRow:
    """The latest heartbeat of one node."""

    node: str
    cluster: str
    location: str
    ts: float
    last_seen: float
    interval_s: float
    health: dict[str, Any]
    sensors: list[dict[str, Any]]
    workloads: list[str | dict[str, Any]]  # a name, or a workload with its use
    outbox_depth: int
    outbox_dropped: int
    outbox_oldest_age_s: float
    previous_outbox_depth: int | None
    read_url: str | None


@dataclass(frozen=True, slots=True)
class CatalogRow:
    """One stored series with the time range it covers."""

    cluster: str
    node: str
    location: str
    sensor: str
    metric: str
    unit: str
    first_ts: float
    last_ts: float


class Storage(Protocol):
    """A database for the agent: the writer thread calls `apply_batch`; readers the rest."""

    @property
    def version(self) -> int:
        """A number that changes with every commit that changed data: a read made at one
        version stays true until it changes (answers may be kept that long)."""

    def open_writer(self) -> None:
        """Open the writer's own connection (called on the writer thread)."""

    def close_writer(self) -> None:
        """Close the writer's connection (called on the writer thread)."""

    def apply_batch(self, requests: Sequence[WriteRequest]) -> list[WriteOutcome | Exception]:
        """Apply requests in one durable transaction; a failed request leaves no trace."""

    def query_series(self, query: SeriesQuery) -> list[SeriesResult]:
        """Bucketed points per (node, sensor, metric)."""

    def summarize(self, query: SeriesQuery) -> list[SeriesSummary]:
        """Statistics over the range and the latest value per (node, sensor, metric)."""

    def extremes(self, query: SeriesQuery) -> list[SeriesExtremes]:
        """Min, max and last per 5-minute bucket of each matching series."""

    def query_anomalies(self, query: AnomalyQuery) -> list[AnomalyRow]:
        """Flagged readings, newest first."""

    def count_anomalies(self, query: AnomalyQuery) -> dict[str, int]:
        """How many flagged readings match, by severity (the limit is ignored)."""

    def query_episodes(self, query: EpisodeQuery) -> list[EpisodeRow]:
        """Episodes active in the range, open ones first, then newest first."""

    def count_episodes(self, query: EpisodeQuery) -> dict[tuple[str, str], int]:
        """How many episodes match, by (kind, highest severity) (the limit is ignored)."""

    def get_episode(self, episode_id: str) -> EpisodeRow | None:
        """One episode by id."""

    def get_episodes(self, episode_ids: Sequence[str]) -> list[EpisodeRow]:
        """The episodes with these ids, in one read (those not stored are skipped; any order)."""

    def list_nodes(self, node: str | None = None) -> list[NodeRow]:
        """Every node with its latest heartbeat (only `node`, by its exact name, when given)."""

    def catalog(self) -> list[CatalogRow]:
        """Every stored series."""

    def close(self) -> None:
        """Close reader connections."""
