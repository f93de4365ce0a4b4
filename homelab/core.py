"""Pure parts of the SDK shared by the sync and async clients: where the agent is, time
ranges, the requests each method makes and the typed objects its answers become."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from homelab.errors import AgentError, AuthError, BadRequest

DEFAULT_NAMESPACE = "agent-bruno"
PORT = 30120
URL_ENV = "HOMELAB_AGENT_URL"
NAMESPACE_ENV = "HOMELAB_NAMESPACE"
TOKEN_ENV = "AGENT_BRUNO_API_TOKEN"  # noqa: S105 (a variable name; `agent-bruno ask` reads it too)
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
MAX_POINTS = 10_000  # the agent's bound per series and request


def agent_url(agent: str, env: Mapping[str, str] | None = None) -> str:
    """The agent's base URL: a URL as given; a short name (`agent-bruno`) is the in-cluster
    service `http://NAME.NAMESPACE.svc.cluster.local:30120`, unless `HOMELAB_AGENT_URL` is set
    (`HOMELAB_NAMESPACE` names the namespace, default agent-bruno)."""
    environ = os.environ if env is None else env
    if agent.startswith(("http://", "https://")):
        return agent.rstrip("/")
    if not _NAME.match(agent):
        raise BadRequest(
            f"agent {agent!r} is neither a URL (http://host:port) nor a service name "
            "(lower-case letters, digits and '-')"
        )
    override = environ.get(URL_ENV)
    if override:
        return override.rstrip("/")
    namespace = environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE
    return f"http://{agent}.{namespace}.svc.cluster.local:{PORT}"


def api_token(token: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The token given, else `AGENT_BRUNO_API_TOKEN`, else none (a loopback demo agent)."""
    environ = os.environ if env is None else env
    return token or environ.get(TOKEN_ENV) or None


TimeRange = str | timedelta | tuple[datetime, datetime]


def span(time_range: TimeRange, now: datetime) -> tuple[datetime, datetime]:
    """`"1h"`, `"30d"`, a timedelta, or `(start, end)` aware datetimes → (start, end)."""
    if isinstance(time_range, tuple):
        start, end = time_range
        for name, value in (("start", start), ("end", end)):
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise BadRequest(f"time_range {name} must be an aware datetime, got {value!r}")
        if start >= end:
            raise BadRequest(f"time_range starts at {start} but ends at {end}; swap them")
        return start, end
    if isinstance(time_range, timedelta):
        width = time_range.total_seconds()
    else:
        match = _SPAN.match(str(time_range))
        if match is None:
            raise BadRequest(
                f"time_range {time_range!r}: write a span like '15m', '1h', '7d', '2w', "
                "a timedelta, or (start, end)"
            )
        width = float(match.group(1)) * _UNITS[match.group(2)]
    if width <= 0:
        raise BadRequest(f"time_range {time_range!r} must be longer than zero")
    return now - timedelta(seconds=width), now


def step_seconds(step: str | int | timedelta | None) -> int | None:
    """A bucket width in seconds from 60, '5m', '1h' or a timedelta (None: the agent picks)."""
    if step is None:
        return None
    if isinstance(step, timedelta):
        return int(step.total_seconds())
    if isinstance(step, int):
        return step
    match = _SPAN.match(step)
    if match is None:
        raise BadRequest(f"step {step!r}: write seconds or a span like '5m', '1h'")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def windows(start: float, end: float, step: int) -> list[tuple[float, float]]:
    """[start, end) cut into pieces of at most MAX_POINTS buckets (long ranges, paged), cut
    where buckets begin (the agent aligns buckets to multiples of `step`), so no bucket is
    split between two pieces."""
    width = step * MAX_POINTS
    out = []
    at = start
    while at < end:
        cut = min(end, (at // step) * step + width)
        out.append((at, cut))
        at = cut
    return out


def when(ts: float) -> datetime:
    """Unix seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(ts, UTC)


def clean(params: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters without the ones not given."""
    return {k: v for k, v in params.items() if v is not None}


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A reading the edge flagged, with the explanation when the edge or the Forge gave one."""

    sensor_id: str
    value: float | None  # None: the sensor gave no reading (dropout)
    severity: str  # warning or critical
    reason: str
    ai_analysis: str | None
    time: datetime
    metric: str
    unit: str
    node: str
    location: str
    cluster: str
    score: float
    kind: str | None  # sensor_fault or process_anomaly
    rule: str | None
    episode_id: str | None
    id: str

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> Anomaly:
        """From one entry of `GET /v1/anomalies?view=readings`."""
        return cls(
            sensor_id=row["sensor"], value=row["value"], severity=row["severity"],
            reason=row["reason"], ai_analysis=row.get("explanation"), time=when(row["ts"]),
            metric=row["metric"], unit=row["unit"], node=row["node"],
            location=row["location"], cluster=row["cluster"], score=row["score"],
            kind=row.get("kind"), rule=row.get("rule"), episode_id=row.get("episode_id"),
            id=row["id"],
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Reading:
    """One bucket of a series: the mean and range of the readings in it."""

    sensor_id: str
    time: datetime
    value: float  # the mean over the bucket
    min: float
    max: float
    count: int
    metric: str
    unit: str
    node: str
    location: str
    cluster: str


def readings(page: Mapping[str, Any]) -> list[Reading]:
    """The points of a `GET /v1/series` answer, oldest first."""
    out = []
    for s in page["series"]:
        for p in s["points"]:
            out.append(
                Reading(
                    s["sensor"],
                    when(p["ts"]),
                    p["mean"],
                    p["min"],
                    p["max"],
                    p["count"],
                    s["metric"],
                    s["unit"],
                    s["node"],
                    s["location"],
                    s["cluster"],
                )
            )
    out.sort(key=lambda r: (r.time, r.sensor_id))
    return out


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool the agent used for an answer, and what it returned."""

    name: str
    args: dict[str, Any]
    status: str
    error: str | None
    data: Any


@dataclass(frozen=True, slots=True)
class Answer:
    """The agent's answer to a question, with the data it came from."""

    text: str
    thread_id: str
    mode: str  # model, builtin or fallback
    fallback: str | None
    calls: list[ToolCall] = field(default_factory=list)

    @property
    def data(self) -> list[Any]:
        """The data of every tool call that found some."""
        return [c.data for c in self.calls if c.status == "ok"]

    def __str__(self) -> str:
        return self.text

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> Answer:
        """From `POST /query`'s JSON."""
        calls = [
            ToolCall(c.get("name") or "", c.get("args") or {}, c.get("status") or "",
                     c.get("error"), c.get("data"))
            for c in body.get("calls", [])
        ]  # fmt: skip
        return cls(body["answer"], body["thread_id"], body["mode"], body.get("fallback"), calls)


@dataclass(frozen=True, slots=True)
class ChatEvent:
    """One event of a streamed answer: status, tool_call, tool_result, token, answer, error,
    done."""

    kind: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Subscription:
    """An alert subscription as the agent understood it."""

    id: str
    description: str
    rule: dict[str, Any]
    destination: dict[str, Any] | None
    backtest: dict[str, Any]
    notes: list[str]

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> Subscription:
        """From `POST /v1/subscriptions`'s 201 body."""
        sub = body["subscription"]
        return cls(
            sub["id"], body.get("understood") or sub.get("description", ""), sub["rule"],
            sub.get("destination"), body.get("backtest") or {}, list(body.get("notes") or []),
        )  # fmt: skip


def subscriptions(body: Mapping[str, Any]) -> list[Subscription]:
    """From `GET /v1/subscriptions`."""
    return [
        Subscription(s["id"], s.get("description", ""), s["rule"], s.get("destination"), {}, [])
        for s in body["subscriptions"]
    ]


_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def check_id(subscription_id: str) -> None:
    """A subscription id as the agent makes them (`sub_…`), or a `BadRequest` naming it."""
    if not isinstance(subscription_id, str) or not _ID.fullmatch(subscription_id):
        raise BadRequest(
            f"subscription_id {subscription_id!r} is not a subscription id "
            "(e.g. 'sub_3f9a1c2b7e4d')"
        )


def raise_for_problem(status: int, body: Any, url: str) -> None:
    """Turn a non-2xx answer into the SDK's error, with the agent's own words."""
    if status < 400:
        return
    problem = body if isinstance(body, dict) else {}
    detail = str(problem.get("detail") or problem.get("title") or body or f"HTTP {status}")
    if status == 401:
        raise AuthError(
            f"{url} refused the token ({detail}); pass token= or set {TOKEN_ENV}", problem
        )
    if status >= 500:
        raise AgentError(f"{url} failed ({status}): {detail}", problem)
    raise BadRequest(f"{url} refused the request ({status}): {detail}", problem)


def namespace_nodes(nodes_page: Mapping[str, Any], namespace: str) -> set[str]:
    """Nodes running a workload of the Kubernetes `namespace` (from `GET /v1/nodes`)."""
    found = set()
    for node in nodes_page["nodes"]:
        for w in node.get("workloads") or []:
            if isinstance(w, Mapping) and w.get("namespace") == namespace:
                found.add(node["node"])
    return found
