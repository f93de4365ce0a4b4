"""Wire format v1: pydantic models of reporter events, bulk readings and ingest responses
(their field types and error messages are in `wire_fields.py`, re-exported here).

`python -m agent_bruno.wire` regenerates the JSON Schemas in `docs/wire/`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

from agent_bruno.wire_bulk import (
    READING_ADAPTER,
    READINGS_ADAPTER,
    READINGS_BODY_ADAPTER,
    BulkReading,
    ReadingsObject,
)
from agent_bruno.wire_fields import (
    DEFAULT_CLUSTER,
    MAX_COUNT,
    MAX_EVENTS,
    NAME_PATTERN,
    NAME_RULE,
    SCHEMA_VERSION,
    TS_MAX,
    TS_MIN,
    Count,
    EventId,
    Finite,
    FlexNumber,
    FlexTimestamp,
    Kind,
    Name,
    NonNegative,
    Reason,
    RuleName,
    SentAt,
    Severity,
    Timestamp,
    Unit,
    describe_error,
    parse_iso_ts,
    parse_number,
    parse_ts_text,
)

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "docs" / "wire"


class _Strict(BaseModel):
    """Shared model configuration: unknown fields are ignored, instances are frozen."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Reporter(_Strict):
    """Who sent the batch; `node` must be the node the bearer token belongs to."""

    node: Name
    location: Name
    cluster: Name = DEFAULT_CLUSTER


class Baseline(_Strict):
    """The statistics a flagged reading was compared with."""

    mean: Finite
    std: Annotated[float, Field(ge=0, allow_inf_nan=False)]


class ReadingEvent(_Strict):
    """One flagged reading (warning or critical), sent on its own.

    `rule`, `kind` and `episode_start` are sent by reporters that form episodes; older
    reporters omit them (stored as unknown).
    """

    id: EventId
    type: Literal["reading"]
    ts: Timestamp
    sensor: Name
    metric: Name
    unit: Unit
    value: Finite | None  # None: the sensor gave no reading (dropout)
    severity: Severity
    score: Finite
    reason: Reason = ""
    baseline: Baseline | None = None
    rule: RuleName | None = None
    kind: Kind | None = None
    episode_start: Timestamp | None = Field(
        default=None, description="start of the episode this reading belongs to"
    )


class EpisodeEvent(_Strict):
    """The state of one anomaly episode: consecutive flags of one series, or one rule's reminders.

    Sent when the episode opens, on every new flag in it (a reminder, an escalation) and when it
    closes; each carries the full state, and `revision` grows with each, so the receiver keeps
    the highest. An episode is identified by (node, sensor, metric, start).
    """

    id: EventId
    type: Literal["episode"]
    ts: Timestamp
    sensor: Name
    metric: Name
    unit: Unit
    phase: Literal["open", "update", "close"]
    start: Timestamp = Field(description="time of its first flagged reading")
    end: Timestamp | None = Field(default=None, description="its last reading; set on close")
    last: Timestamp = Field(description="time of its newest reading so far")
    kind: Kind
    rule: RuleName
    severity: Severity = Field(description="the highest severity reached")
    count: Count = Field(description="flagged readings: the first alert and its reminders")
    readings: Count = Field(description="readings in the condition, flagged or not")
    peak_value: Finite | None = Field(default=None, description="farthest from the baseline")
    peak_ts: Timestamp | None = None
    peak_deviation: Finite | None = Field(default=None, description="peak, in baseline σ")
    reason: Reason = ""
    revision: Count

    @model_validator(mode="after")
    def _consistent(self) -> EpisodeEvent:
        """Require start ≤ last ≤ end, an end exactly when closed, and count ≤ readings."""
        if self.last < self.start:
            raise ValueError(f"last {self.last} is before start {self.start}")
        if (self.end is not None) != (self.phase == "close"):
            raise ValueError(f"end must be set exactly when phase is close (phase {self.phase})")
        if self.end is not None and self.end < self.last:
            raise ValueError(f"end {self.end} is before last {self.last}")
        if self.count > self.readings:
            raise ValueError(f"count {self.count} exceeds readings {self.readings}")
        return self


class WindowStats(_Strict):
    """Statistics of part of an aggregate window: its clean readings, or its sensor faults."""

    count: Count
    min: Finite
    max: Finite
    mean: Finite
    last: Finite
    min_ts: Timestamp | None = None
    max_ts: Timestamp | None = None

    @model_validator(mode="after")
    def _consistent(self) -> WindowStats:
        """Require min ≤ mean, last ≤ max (with rounding slack)."""
        _check_spread(self.min, self.max, self.mean, self.last)
        return self


def _check_spread(low: float, high: float, mean: float, last: float) -> None:
    """Raise ValueError unless low ≤ mean ≤ high and low ≤ last ≤ high (with rounding slack)."""
    slack = 1e-9 * max(1.0, abs(low), abs(high))
    if not (low - slack <= mean <= high + slack):
        raise ValueError(f"mean {mean} is outside [min {low}, max {high}]")
    if not (low - slack <= last <= high + slack):
        raise ValueError(f"last {last} is outside [min {low}, max {high}]")


class AggregateEvent(_Strict):
    """Statistics of every reading of one series in one window (5 minutes).

    When triage judged some readings sensor faults, `faults` holds their statistics and `clean`
    those of the others (null when every reading was a fault); the agent keeps faults out of
    statistics by default. Both are absent when no reading was a fault.
    """

    id: EventId
    type: Literal["aggregate"]
    ts: Timestamp
    sensor: Name
    metric: Name
    unit: Unit
    start: Timestamp
    end: Timestamp
    count: Annotated[int, Field(ge=1, le=MAX_COUNT)]
    min: Finite
    max: Finite
    mean: Finite
    last: Finite
    clean: WindowStats | None = None
    faults: WindowStats | None = None

    @model_validator(mode="after")
    def _consistent(self) -> AggregateEvent:
        """Require start ≤ end, min ≤ mean, last ≤ max, and clean + faults = the whole."""
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        _check_spread(self.min, self.max, self.mean, self.last)
        if self.faults is None:
            if self.clean is not None:
                raise ValueError("clean is given without faults; send neither when none was")
            return self
        clean = 0 if self.clean is None else self.clean.count
        if clean + self.faults.count != self.count:
            raise ValueError(
                f"clean count {clean} + faults count {self.faults.count} != count {self.count}"
            )
        return self

    @property
    def clean_part(self) -> WindowStats | None:
        """The statistics of the readings that were not sensor faults (None: there were none)."""
        if self.faults is None:
            return WindowStats(
                count=self.count, min=self.min, max=self.max, mean=self.mean, last=self.last
            )
        return self.clean


class NodeHealth(_Strict):
    """Host health sampled by the reporter; None means the host could not tell."""

    cpu_percent: Annotated[float, Field(ge=0, le=100 * 64, allow_inf_nan=False)] | None = None
    memory_percent: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    disk_percent: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    soc_temp_c: Annotated[float, Field(ge=-60, le=200, allow_inf_nan=False)] | None = None
    load_1m: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    uptime_s: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None


class SensorInfo(_Strict):
    """One series a reporter produces."""

    sensor: Name
    metric: Name
    unit: Unit


class OutboxState(_Strict):
    """The reporter's outbox: pending events, events dropped so far, age of the oldest."""

    depth: Annotated[int, Field(ge=0, le=MAX_COUNT)]
    dropped: Annotated[int, Field(ge=0, le=MAX_COUNT)]
    oldest_age_s: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0


class WorkloadInfo(_Strict):
    """A pod or process on the node and its use (None: not known)."""

    name: Name
    namespace: Name | None = None
    kind: Literal["pod", "process"] = "pod"
    image: Annotated[str, StringConstraints(max_length=256)] = ""
    cpu_percent: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = Field(
        default=None, description="percent of the node's CPU"
    )
    memory_mib: NonNegative | None = None
    cpu_request_m: NonNegative | None = Field(default=None, description="requested millicores")
    memory_request_mib: NonNegative | None = None


class HeartbeatEvent(_Strict):
    """Periodic liveness and health of a reporter."""

    id: EventId
    type: Literal["heartbeat"]
    ts: Timestamp
    interval_s: Annotated[float, Field(gt=0, le=86_400, allow_inf_nan=False)]
    health: NodeHealth = NodeHealth()
    sensors: Annotated[list[SensorInfo], Field(max_length=1024)] = []
    # A name, or a workload with its use (reporters listing pods or processes send those).
    workloads: Annotated[list[Name | WorkloadInfo], Field(max_length=1024)] = []
    outbox: OutboxState = OutboxState(depth=0, dropped=0)
    read_url: Annotated[str, StringConstraints(max_length=512)] | None = None


class ExplanationEvent(_Strict):
    """A model-written explanation of an earlier flagged reading (`ref` is its id)."""

    id: EventId
    type: Literal["explanation"]
    ts: Timestamp
    ref: EventId
    text: Annotated[str, StringConstraints(min_length=1, max_length=8192)]
    model: Annotated[str, StringConstraints(max_length=128)] = ""


Event = Annotated[
    ReadingEvent | AggregateEvent | HeartbeatEvent | ExplanationEvent | EpisodeEvent,
    Field(discriminator="type"),
]


class EventBatch(_Strict):
    """Body of `POST /v1/events`."""

    model_config = ConfigDict(extra="ignore", frozen=True, title="EventBatch v1")

    schema_version: Literal[1]
    reporter: Reporter
    sent_at: SentAt = None
    events: Annotated[list[Event], Field(max_length=MAX_EVENTS)]


class EnvelopeHeader(_Strict):
    """The envelope without its events, validated on its own when some events are bad."""

    schema_version: Literal[1]
    reporter: Reporter
    sent_at: SentAt = None
    events: Annotated[list[Any], Field(max_length=MAX_EVENTS)]


class Rejected(BaseModel):
    """One item that was not stored, with the reason."""

    index: int | None = None
    line: int | None = None
    id: str | None = None
    error: str


MAX_REJECTED_LISTED = 100


class IngestResponse(BaseModel):
    """Body of a 200 answer to `POST /v1/events` and `POST /v1/readings`.

    `rejected` names the first MAX_REJECTED_LISTED refused items; when more were refused,
    `rejected_total` says how many.
    """

    accepted: int
    duplicates: int
    rejected: Annotated[list[Rejected], Field(max_length=MAX_REJECTED_LISTED)] = []
    rejected_total: int | None = None


EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Event)
BATCH_ADAPTER = TypeAdapter(EventBatch)
HEADER_ADAPTER = TypeAdapter(EnvelopeHeader)


def schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schemas published in `docs/wire/`, by file name."""
    events = EventBatch.model_json_schema()
    events["$id"] = "https://agent-bruno.local/wire/events-v1.schema.json"
    readings = READINGS_BODY_ADAPTER.json_schema()
    readings["title"] = "Bulk readings v1"
    readings["$id"] = "https://agent-bruno.local/wire/readings-v1.schema.json"
    return {"events-v1.schema.json": events, "readings-v1.schema.json": readings}


def render(schema: dict[str, Any]) -> str:
    """Serialize a schema the way it is stored (stable, readable)."""
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the schemas to `docs/wire/` (or the given directory)."""
    target = Path(argv[0]) if argv else SCHEMA_DIR
    target.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas().items():
        (target / name).write_text(render(schema), encoding="utf-8")
        print(f"wrote {target / name}")
    return 0


__all__ = [  # the wire format's public names, those of wire_fields.py included
    "BATCH_ADAPTER",
    "DEFAULT_CLUSTER",
    "EVENT_ADAPTER",
    "HEADER_ADAPTER",
    "MAX_COUNT",
    "MAX_EVENTS",
    "MAX_REJECTED_LISTED",
    "NAME_PATTERN",
    "NAME_RULE",
    "READINGS_ADAPTER",
    "READINGS_BODY_ADAPTER",
    "READING_ADAPTER",
    "SCHEMA_DIR",
    "SCHEMA_VERSION",
    "TS_MAX",
    "TS_MIN",
    "AggregateEvent",
    "Baseline",
    "BulkReading",
    "Count",
    "EnvelopeHeader",
    "EpisodeEvent",
    "Event",
    "EventBatch",
    "EventId",
    "ExplanationEvent",
    "Finite",
    "FlexNumber",
    "FlexTimestamp",
    "HeartbeatEvent",
    "IngestResponse",
    "Kind",
    "Name",
    "NodeHealth",
    "NonNegative",
    "OutboxState",
    "ReadingEvent",
    "ReadingsObject",
    "Reason",
    "Rejected",
    "Reporter",
    "RuleName",
    "SensorInfo",
    "SentAt",
    "Severity",
    "Timestamp",
    "Unit",
    "WindowStats",
    "WorkloadInfo",
    "describe_error",
    "main",
    "parse_iso_ts",
    "parse_number",
    "parse_ts_text",
    "render",
    "schemas",
]


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
