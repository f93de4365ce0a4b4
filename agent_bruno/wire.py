"""Wire format v1: pydantic models of reporter events, bulk readings and ingest responses.

`python -m agent_bruno.wire` regenerates the JSON Schemas in `docs/wire/`.
"""

from __future__ import annotations

import json
import math
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    FailFast,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from typing_extensions import TypedDict

from agent_bruno.textsafe import one_line

SCHEMA_VERSION = 1
TS_MIN = 946_684_800.0  # 2000-01-01T00:00:00Z
TS_MAX = 4_102_444_800.0  # 2100-01-01T00:00:00Z
DEFAULT_CLUSTER = "default"
MAX_EVENTS = 10_000
# Counters must fit SQLite's 64-bit INTEGER; a bigger one would fail the write, not the item.
MAX_COUNT = 2**53
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "docs" / "wire"


def parse_iso_ts(value: str) -> float:
    """Unix seconds from ISO 8601 text (naive means UTC), within 2000–2100."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is neither Unix seconds nor an ISO 8601 time "
            "(e.g. 1764160000 or 2025-11-26T12:00:00Z)"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    ts = parsed.timestamp()
    if not TS_MIN <= ts <= TS_MAX:
        raise ValueError(f"{value!r} is outside 2000-01-01 .. 2100-01-01")
    return ts


# A number written as text (CSV, quoted JSON): plain decimal or exponent notation. Python's
# float() also takes '1_000', ' 12 ' and 'infinity'; a sensor export does not mean those.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_number(value: str) -> float:
    """A finite number from text such as '21.5', '-3', '1e3' (not '1_000', 'inf', '0x10')."""
    text = value.strip()
    if not _NUMBER.fullmatch(text):
        if text.lower().lstrip("+-") in ("inf", "infinity", "nan"):
            raise ValueError(f"{value[:40]!r} is not a finite number")
        raise ValueError(f"{value[:40]!r} is not a valid number; write it like 1000, 21.5 or 1.5e3")
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{value[:40]!r} is not a finite number (too large)")
    return number


def parse_ts_text(value: str) -> float:
    """Unix seconds from text: a number (as `parse_number`) or ISO 8601, within 2000–2100."""
    if not _NUMBER.fullmatch(value.strip()):
        return parse_iso_ts(value)
    ts = parse_number(value)
    if not TS_MIN <= ts <= TS_MAX:
        raise ValueError(f"{value!r} is outside 2000-01-01 .. 2100-01-01 (946684800 .. 4102444800)")
    return ts


# Names (cluster, location, node, sensor, metric, workload) reach answers, terminals and model
# prompts, so they are plain: letters, digits (any script), spaces and _ . - : / # + @ ( ),
# starting and ending with neither a space nor a control character. A pattern (checked in
# Rust) and not a Python validator: it runs on every bulk row.
NAME_PATTERN = r"^\w(?:[\w .:/#+@()\-]*[\w.:/#+@()\-])?$"
NAME_RULE = (
    "1-128 letters, digits, spaces and _ . - : / # + @ ( ), starting with a letter or digit "
    "(no newlines or control characters)"
)
_NO_CONTROLS = r"^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NAME_PATTERN)]
Unit = Annotated[str, StringConstraints(max_length=32, pattern=_NO_CONTROLS)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Timestamp = Annotated[
    float,
    Field(ge=TS_MIN, le=TS_MAX, allow_inf_nan=False, description="Unix seconds, UTC"),
]
if TYPE_CHECKING:
    FlexTimestamp = float  # what validation always produces
    FlexNumber = float
else:
    # Numbers take the strict fast branch with no Python call; only text runs a parser. A
    # BeforeValidator on every row cost 40 % of bulk validation time.
    FlexTimestamp = Annotated[
        Annotated[Timestamp, Strict()]
        | Annotated[
            str,
            AfterValidator(parse_ts_text),
            Field(description="Unix seconds as text, or ISO 8601"),
        ],
        Field(union_mode="left_to_right"),
    ]
    FlexNumber = Annotated[
        Annotated[Finite, Strict()]
        | Annotated[str, AfterValidator(parse_number), Field(description="a number as text")],
        Field(union_mode="left_to_right"),
    ]
EventId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=_NO_CONTROLS)]
Severity = Literal["warning", "critical"]
# What a flag says: the sensor is broken (kept out of statistics), or the world did something odd.
Kind = Literal["sensor_fault", "process_anomaly"]
# The rule that fired (open vocabulary, listed in ARCHITECTURE.md): e.g. hard_limit, stuck_value.
RuleName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# A reason is shown inside one line of an answer: its newlines and controls become escapes.
Reason = Annotated[str, StringConstraints(max_length=2048), AfterValidator(one_line)]
Count = Annotated[int, Field(ge=1, le=MAX_COUNT)]


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


NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


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


# Any finite time, even a wrong one: a clock far off is what it is there to measure.
SentAt = (
    Annotated[
        float,
        Field(
            ge=0,
            allow_inf_nan=False,
            description="the sender's clock when it sent the batch (Unix seconds); the agent "
            "estimates the sender's clock offset from it",
        ),
    ]
    | None
)


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


class BulkReading(TypedDict):
    """One row of `POST /v1/readings` (a TypedDict: validating thousands is twice as fast)."""

    ts: FlexTimestamp
    node: Name
    location: Name
    sensor: Name
    metric: Name
    value: FlexNumber
    unit: Unit
    cluster: NotRequired[Name]


class ReadingsObject(TypedDict):
    """The object form of a bulk body: `{"readings": [...]}`."""

    readings: list[BulkReading]


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
READING_ADAPTER: TypeAdapter[BulkReading] = TypeAdapter(BulkReading)
# The fast path of a bulk body: valid as a whole, or (at the first bad row, FailFast) not.
READINGS_ADAPTER: TypeAdapter[list[BulkReading]] = TypeAdapter(
    Annotated[list[BulkReading], FailFast()]
)
READINGS_BODY_ADAPTER: TypeAdapter[list[BulkReading] | ReadingsObject] = TypeAdapter(
    list[BulkReading] | ReadingsObject
)


_BRANCH = re.compile(r"^(constrained-|function-|str$|float$|int$)")


def describe_error(exc: ValidationError, prefix: str = "", limit: int = 5) -> str:
    """One line naming each failing field, the problem and the offending value.

    Where a union's branches all failed on one field, only the most telling error is named: a
    parser's own message if one ran, else the first branch's.
    """
    found: dict[str, tuple[str, str]] = {}  # path -> (type, text), in order of appearance
    for err in exc.errors(include_url=False):
        loc = (p for p in err["loc"] if not (isinstance(p, str) and _BRANCH.match(p)))
        path = ".".join(str(p) for p in (prefix, *loc) if p != "")
        shown = repr(err.get("input"))
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        where = f"{path}: " if path else ""
        got = "" if err["type"] == "missing" else f" (got {shown})"
        message = str(err["msg"])
        if err["type"] == "string_pattern_mismatch":
            pattern = (err.get("ctx") or {}).get("pattern")
            named = pattern == NAME_PATTERN
            message = f"expected {NAME_RULE}" if named else "no control characters allowed"
        text = f"{where}{message}{got}"
        kind = str(err["type"])
        if path not in found or (kind == "value_error" and found[path][0] != "value_error"):
            found[path] = (kind, text)
    parts = [text for _, text in found.values()][:limit]
    more = len(found) - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


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


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
