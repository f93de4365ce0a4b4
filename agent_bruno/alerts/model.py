"""Alert rules as data: what a subscription watches, validated by pydantic, echoed in words.

Five kinds, one model each, told apart by `kind`:

- `threshold`: a metric above or below a value, optionally held for a duration, resolving only
  past the value plus a hysteresis band ("humidity below 30 % for 10 min").
- `rate`: a metric rising or falling by more than `delta` within `window_s`.
- `node`: a node going offline, or unhealthy (the agent's health assessment).
- `silent`: a sensor sending nothing for `after_s`.
- `episode`: anomaly episodes flagged by the reporters, by severity, kind and scope.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

Name = Annotated[str, Field(min_length=1, max_length=128)]
Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}
MAX_HOLD_S = 7 * 86_400.0


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scope(_Frozen):
    """Where a rule applies; an unset field matches everything."""

    cluster: Name | None = None
    location: Name | None = None
    node: Name | None = None
    sensor: Name | None = None

    def matches(self, cluster: str, location: str, node: str, sensor: str = "") -> bool:
        """Whether a series (or a node, with `sensor` empty) is inside the scope."""
        return (
            (self.cluster is None or self.cluster == cluster)
            and (self.location is None or self.location == location)
            and (self.node is None or self.node == node)
            and (self.sensor is None or not sensor or self.sensor == sensor)
        )

    def words(self) -> str:
        """The scope as a phrase ("in warehouse-b on pi-node-2"), empty when it is everything."""
        parts = []
        if self.sensor:
            parts.append(f"sensor {self.sensor}")
        if self.node:
            parts.append(f"on {self.node}")
        if self.location:
            parts.append(f"in {self.location}")
        if self.cluster:
            parts.append(f"in cluster {self.cluster}")
        return " ".join(parts)


class ThresholdRule(_Frozen):
    """A metric past a value, for at least `hold_s`; resolves past the value ± `hysteresis`."""

    kind: Literal["threshold"] = "threshold"
    metric: Name
    op: Literal["below", "above"]
    value: float = Field(allow_inf_nan=False)
    hold_s: float = Field(default=0.0, ge=0, le=MAX_HOLD_S)
    hysteresis: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    unit: str = Field(default="", max_length=32)
    severity: Severity = "warning"
    scope: Scope = Scope()

    @property
    def resolve_at(self) -> float:
        """The line a firing alert must cross back over to resolve."""
        return self.value + self.hysteresis if self.op == "below" else self.value - self.hysteresis


class RateRule(_Frozen):
    """A metric rising (or falling) by more than `delta` within `window_s`."""

    kind: Literal["rate"] = "rate"
    metric: Name
    direction: Literal["rise", "fall"]
    delta: float = Field(gt=0, allow_inf_nan=False)
    window_s: float = Field(gt=0, le=86_400)
    hysteresis: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    unit: str = Field(default="", max_length=32)
    severity: Severity = "warning"
    scope: Scope = Scope()


class NodeRule(_Frozen):
    """A node going offline (no heartbeat) or unhealthy (the health assessment's warning)."""

    kind: Literal["node"] = "node"
    condition: Literal["offline", "unhealthy"]
    severity: Severity = "critical"
    scope: Scope = Scope()


class SilentRule(_Frozen):
    """A sensor sending nothing for `after_s` (a node that is offline inhibits these)."""

    kind: Literal["silent"] = "silent"
    metric: Name | None = None
    after_s: float = Field(default=900.0, ge=60, le=MAX_HOLD_S)
    severity: Severity = "warning"
    scope: Scope = Scope()


class EpisodeRule(_Frozen):
    """Anomaly episodes at or above `min_severity`, of a kind, in a scope."""

    kind: Literal["episode"] = "episode"
    min_severity: Literal["warning", "critical"] = "critical"
    episode_kind: Literal["any", "sensor_fault", "process_anomaly"] = "any"
    metric: Name | None = None
    scope: Scope = Scope()

    @property
    def severity(self) -> Severity:
        """Notifications carry at least the rule's minimum severity."""
        return self.min_severity


Rule = Annotated[
    ThresholdRule | RateRule | NodeRule | SilentRule | EpisodeRule, Field(discriminator="kind")
]
RULE_ADAPTER: TypeAdapter[ThresholdRule | RateRule | NodeRule | SilentRule | EpisodeRule] = (
    TypeAdapter(Rule)
)
AnyRule = ThresholdRule | RateRule | NodeRule | SilentRule | EpisodeRule


class Timing(_Frozen):
    """Grouping timers as in Alertmanager: first wait, between changes, between repeats."""

    group_wait_s: float = Field(default=30.0, ge=0, le=3600)
    group_interval_s: float = Field(default=300.0, ge=1, le=86_400)
    repeat_interval_s: float = Field(default=4 * 3600.0, ge=60, le=7 * 86_400)

    @model_validator(mode="after")
    def _order(self) -> Timing:
        """A repeat faster than the group interval would never be seen."""
        if self.repeat_interval_s < self.group_interval_s:
            raise ValueError(
                f"repeat_interval_s {self.repeat_interval_s:g} is shorter than "
                f"group_interval_s {self.group_interval_s:g}"
            )
        return self


def duration_words(seconds: float) -> str:
    """Seconds as "90 s", "10 min", "2 h", "1 h 30 min", "3 days"."""
    s = round(seconds)
    if s < 120 and s % 60:
        return f"{s} s"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours >= 48 and not rest and hours % 24 == 0:
        return f"{hours // 24} days"
    return f"{hours} h" if not rest else f"{hours} h {rest} min"


def _num(value: float, unit: str) -> str:
    text = f"{value:g}"
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"


def describe(rule: AnyRule, short: bool = False) -> str:
    """The rule in words, as the agent echoes it back (`short`: without the resolve band)."""
    where = rule.scope.words()
    tail = f" {where}" if where else ""
    if isinstance(rule, ThresholdRule):
        held = f" for {duration_words(rule.hold_s)}" if rule.hold_s else ""
        band = (
            f"; resolves once back {'above' if rule.op == 'below' else 'below'} "
            f"{_num(rule.resolve_at, rule.unit)}"
            if rule.hysteresis and not short
            else ""
        )
        return f"{rule.metric}{tail} {rule.op} {_num(rule.value, rule.unit)}{held}{band}"
    if isinstance(rule, RateRule):
        verb = "rises" if rule.direction == "rise" else "falls"
        return (
            f"{rule.metric}{tail} {verb} by more than {_num(rule.delta, rule.unit)} "
            f"within {duration_words(rule.window_s)}"
        )
    if isinstance(rule, NodeRule):
        who = f"node {rule.scope.node}" if rule.scope.node else "any node"
        rest = rule.scope.model_copy(update={"node": None}).words()
        return f"{who}{' ' + rest if rest else ''} goes {rule.condition}"
    if isinstance(rule, SilentRule):
        what = f"a {rule.metric} sensor" if rule.metric else "any sensor"
        return f"{what}{tail} sends nothing for {duration_words(rule.after_s)}"
    kind = {
        "any": "anomalies",
        "sensor_fault": "sensor faults",
        "process_anomaly": "process anomalies",
    }
    metric = f" on {rule.metric}" if rule.metric else ""
    sev = "critical" if rule.min_severity == "critical" else "warning or critical"
    return f"{sev} {kind[rule.episode_kind]}{metric}{tail}"


def rule_metric(rule: AnyRule) -> str | None:
    """The metric a rule watches, if it watches one."""
    return getattr(rule, "metric", None)
