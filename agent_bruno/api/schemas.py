"""Response schemas of the read, ops and agent routes, for `/openapi.json`.

Routes build their JSON with orjson from storage rows (validating every answer through pydantic
would double the cost of a large series); these models document that JSON, and
`tests/unit/api/test_openapi_contract.py` plus schemathesis check that the two agree.

Times: each Unix-seconds field `X` has `X_iso` beside it, the same instant as RFC 3339 in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent_bruno.api.errors import PROBLEM_MEDIA_TYPE


def rfc3339(ts: float | None) -> str | None:
    """Unix seconds as RFC 3339 in UTC with milliseconds (`2025-11-26T12:00:00.000Z`); None for
    a time outside years 1-9999 (RFC 3339 has no form for it; the Unix seconds stay beside)."""
    if ts is None:
        return None
    try:
        moment = datetime.fromtimestamp(ts, UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def with_iso(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    """`row` with `KEY_iso` (RFC 3339) inserted after each time field `KEY` it has."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        out[name] = value
        if name in keys:
            out[f"{name}_iso"] = rfc3339(value)
    return out


Iso = str | None
_ISO = Field(description="the Unix time beside it, as RFC 3339 (UTC)")


class _Doc(BaseModel):
    model_config = ConfigDict(extra="allow")


class Problem(_Doc):
    """An error (RFC 9457 problem details); extension members vary with `code`."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://github.com/agent-bruno/agent-bruno/blob/main/docs/"
                    "problems.md#bad-parameter",
                    "title": "Bad query parameter",
                    "status": 422,
                    "detail": "query parameter limit='x': expected a whole number",
                    "instance": "/v1/anomalies",
                    "code": "bad_parameter",
                    "parameter": "limit",
                }
            ]
        },
    )

    type: str = Field(description="a URI naming the problem (its section in docs/problems.md)")
    title: str = Field(description="short summary of the problem type")
    status: int = Field(ge=100, le=599, description="the HTTP status code")
    detail: str = Field(description="what was wrong in this case, and what to do")
    instance: str | None = Field(default=None, description="the request path")
    code: str = Field(description="the problem's name, e.g. bad_parameter")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="one entry per item or field at fault (batch problems)"
    )


class Health(_Doc):
    """The process is up."""

    status: Literal["ok"]


class Readiness(_Doc):
    """Whether the writer is alive and storage works; the knowledge graph's state."""

    status: Literal["ready", "unavailable"]
    writer_backlog: int | None = None
    problems: list[str] | None = None
    graph: dict[str, Any]


class Excluded(_Doc):
    """Sensor-fault readings left out of a series or summary."""

    count: int
    min: float
    max: float
    min_ts: float
    max_ts: float


class Point(_Doc):
    """One bucket of a series."""

    ts: float = Field(description="bucket start, Unix seconds")
    ts_iso: Iso = _ISO
    mean: float
    min: float
    max: float
    count: int
    last: float = Field(description="the last value in the bucket")


class Series(_Doc):
    """One (cluster, node, location, sensor, metric, unit) series."""

    cluster: str
    node: str
    location: str
    sensor: str
    metric: str
    unit: str
    points: list[Point]
    step: int = Field(description="bucket width actually used (s)")
    source: Literal["samples", "rollup_5m", "rollup_1h"]
    faults: Excluded | None = None
    faults_included: bool = False


class SeriesPage(_Doc):
    """`GET /v1/series`."""

    start: float
    start_iso: Iso = _ISO
    end: float
    end_iso: Iso = _ISO
    step: int
    series: list[Series]


class Episode(_Doc):
    """An anomaly episode (ARCHITECTURE.md, "Anomaly episodes")."""

    id: str
    cluster: str
    node: str
    location: str
    sensor: str
    metric: str
    unit: str
    start: float
    start_iso: Iso = _ISO
    end: float | None
    end_iso: Iso = _ISO
    last: float = Field(description="time of the newest reading in the condition")
    last_iso: Iso = _ISO
    kind: str
    rule: str
    severity: Literal["warning", "critical"]
    count: int
    readings: int
    peak_value: float | None
    peak_ts: float | None
    peak_ts_iso: Iso = _ISO
    peak_deviation: float | None
    reason: str
    revision: int
    opened_at: float
    opened_at_iso: Iso = _ISO
    updated_at: float
    updated_at_iso: Iso = _ISO
    closed_by: str | None
    open: bool
    reminders: int


class FlaggedReading(_Doc):
    """A reading the edge flagged (`view=readings`)."""

    id: str
    ts: float
    ts_iso: Iso = _ISO
    cluster: str
    node: str
    location: str
    sensor: str
    metric: str
    unit: str
    value: float | None = Field(description="null for a dropout")
    severity: Literal["warning", "critical"]
    score: float
    reason: str
    baseline: dict[str, float] | None
    explanation: str | None = Field(description="the edge's or Forge's explanation, if any")
    explanation_model: str | None
    rule: str | None
    kind: str | None
    episode_id: str | None


class _Paged(_Doc):
    next_cursor: str | None = Field(
        default=None, description="pass as `cursor` for the next page; null on the last page"
    )


class AnomalyPage(_Paged):
    """`GET /v1/anomalies`: episodes, or flagged readings with `view=readings`."""

    view: Literal["episodes", "readings"]
    episodes: list[Episode] | None = None
    anomalies: list[FlaggedReading] | None = None


class Outbox(_Doc):
    """A reporter's outbox at its last heartbeat."""

    depth: int
    dropped: int
    oldest_age_s: float


class NodeView(_Doc):
    """A node with its latest heartbeat and status."""

    node: str
    cluster: str
    location: str
    status: Literal["healthy", "warning", "offline"]
    reasons: list[str]
    last_heartbeat: float
    last_heartbeat_iso: Iso = _ISO
    last_seen: float
    last_seen_iso: Iso = _ISO
    clock_offset_s: float | None
    moves: list[dict[str, Any]] = Field(
        default_factory=list,
        description="cluster/location changes since the agent started: from, to, at, at_iso",
    )
    interval_s: float
    health: dict[str, Any]
    sensors: list[dict[str, Any]]
    workloads: list[str | dict[str, Any]]
    outbox: Outbox
    read_url: str | None


class NodeList(_Doc):
    """`GET /v1/nodes`."""

    nodes: list[NodeView]


class CatalogMetric(_Doc):
    """A metric and unit, and when it was seen."""

    metric: str
    unit: str
    first_seen: float
    first_seen_iso: Iso = _ISO
    last_seen: float
    last_seen_iso: Iso = _ISO


class CatalogSeries(CatalogMetric):
    """A stored series."""

    cluster: str
    location: str
    node: str
    sensor: str


class Catalog(_Paged):
    """`GET /v1/catalog`: what exists (the `series` list is paged)."""

    clusters: list[str]
    locations: list[str]
    nodes: list[str]
    sensors: list[str]
    metrics: list[CatalogMetric]
    series: list[CatalogSeries]


class ToolCall(_Doc):
    """A tool the agent called while answering, with its structured result."""

    name: str | None
    args: dict[str, Any]
    status: str | None = Field(description="ok, no_data or error")
    error: str | None
    data: Any


class Answer(_Doc):
    """`POST /query` with `Accept: application/json`."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "answer": "warehouse is 21.4 °C (pi-node-1, dht22-1, 40 s ago).",
                    "thread_id": "3f2a9c…",
                    "mode": "builtin",
                    "fallback": None,
                    "duration_s": 0.041,
                    "memory": None,
                    "calls": [],
                }
            ]
        },
    )

    answer: str
    thread_id: str
    mode: str = Field(description="model, builtin or fallback")
    fallback: str | None = Field(description="why the model was not used, when it fell back")
    duration_s: float
    memory: str | None
    calls: list[ToolCall]


class Question(BaseModel):
    """A question, as JSON (`/query`, `POST /chat`)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"question": "What's the temperature in the warehouse?"}]}
    )

    question: str = Field(min_length=1, description="the question, in plain words")
    thread_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._:-]{1,128}$",
        description="X-Thread-Id of an earlier answer, to ask a follow-up",
    )


class SlackReply(_Doc):
    """What Slack shows the user who typed a command."""

    response_type: Literal["ephemeral", "in_channel"]
    text: str


def problem_content() -> dict[str, Any]:
    """The `content` of an error response."""
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
