"""What every plan builder takes: the `Request` (a clause's intent and slots after any
follow-up merge), and the helpers they share to turn it into tool arguments."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent_bruno.agent.nlu.intents import IntentSpec
from agent_bruno.agent.nlu.plan import Plan, PlannedCall

DAY = 86_400.0
MAX_FAN_OUT = 6


def iso(ts: float) -> str:
    """Unix seconds as ISO 8601 UTC text, the form the built-in path passes to tools."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class Request:
    """What a clause asks, after its follow-up merge: the input of every plan builder."""

    intent: str
    text: str
    metrics: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    sensors: list[str] = field(default_factory=list)
    span: Mapping[str, Any] | None = None
    target: Mapping[str, Any] | None = None
    unit: str | None = None
    aggregates: list[str] = field(default_factory=list)
    order: str | None = None
    severity: str | None = None
    status: str | None = None
    counting: list[str] = field(default_factory=list)
    hosts: bool = False
    limit: int | None = None  # "top 3": how many of a ranking to show
    implied_metric: bool = False
    now: float = 0.0
    forge: bool = False

    @property
    def metric(self) -> str | None:
        """The first metric named."""
        return self.metrics[0] if self.metrics else None

    def where(self, *, sensor: bool = True) -> dict[str, str]:
        """Place filters: the first node, else the first location (and the sensor)."""
        out: dict[str, str] = {}
        if self.nodes:
            out["node"] = self.nodes[0]
        elif self.locations:
            out["location"] = self.locations[0]
        if sensor and self.sensors:
            out["sensor"] = self.sensors[0]
        return out

    def window(self, default_s: float | None = None) -> dict[str, str]:
        """`start`/`end` of the asked range, else the last `default_s` seconds, else none."""
        if self.span:
            return {"start": iso(self.span["start"]), "end": iso(self.span["end"])}
        if default_s is not None:
            return {"start": iso(self.now - default_s)}
        return {}

    def hints(self, **extra: Any) -> dict[str, Any]:
        """What every answer writer may use."""
        return {
            "unit": self.unit,
            "span": dict(self.span) if self.span else None,
            "question": self.text,
            **extra,
        }


Builder = Callable[[Request, IntentSpec], Plan]


def fan_out(
    name: str, r: Request, base: dict[str, Any], *, places: bool = True
) -> list[PlannedCall]:
    """One call per metric and per place when the question names several ("temperature and
    humidity in the office", "pi-node-1 and pi-node-2")."""
    metrics: list[str | None] = list(r.metrics) or [None]
    where: list[dict[str, str]] = [r.where()]
    if places and len(r.nodes) > 1:
        where = [{"node": n} for n in r.nodes]
    elif places and len(r.locations) > 1 and not r.nodes:
        where = [{"location": loc} for loc in r.locations]
    calls = []
    for metric in metrics:
        for place in where:
            args = {**({"metric": metric} if metric else {}), **place, **base}
            calls.append(PlannedCall(name, args))
    return calls[:MAX_FAN_OUT]
