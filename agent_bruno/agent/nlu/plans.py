"""Plan builders: an intent's slots to the tool calls that answer it (one function per plan).

Each builder takes the `Request` (the intent and the slots after any follow-up merge) and the
intent's spec, and returns a `Plan`: the calls, hints for the answer writer and any focus to
keep. An intent file names its builder in `plan:`; a new kind of request adds one here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent_bruno.agent.nlu.extract import Unknown
from agent_bruno.agent.nlu.intents import IntentSpec
from agent_bruno.agent.nlu.knowledge_plans import KNOWLEDGE_PLANS, graph_calls
from agent_bruno.agent.nlu.lexicon import lexicon
from agent_bruno.agent.nlu.plan import Plan, PlannedCall
from agent_bruno.health import HEALTH_METRICS

DAY = 86_400.0
MAX_FAN_OUT = 6
OVERVIEW_WINDOW_S = DAY


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


def _fan_out(
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


OPEN_WINDOW_S = 3600.0  # anomalies this recent are mentioned beside a value ("open")


def _readings(intent: str, tool: str) -> Builder:
    def build(r: Request, spec: IntentSpec) -> Plan:
        calls = _fan_out(tool, r, r.window())
        if intent == "current":
            # A value is said with what is wrong with its series now: open episodes, and
            # flagged readings of the last hour (data from before episodes existed).
            metric = {"metric": r.metric} if len(r.metrics) == 1 else {}
            calls.append(PlannedCall("anomaly_episodes", {**r.where(), **metric, "state": "open"}))
            calls.append(
                PlannedCall(
                    "anomalies", {**r.where(), **metric, "start": iso(r.now - OPEN_WINDOW_S)}
                )
            )
        hints = r.hints(fan_out=len(calls) > 1, aggregates=list(r.aggregates))
        return Plan(intent, tuple(calls), {}, hints)

    return build


def _host_metric(r: Request) -> str | None:
    """The metric of a ranking: a warmth word about the Pis themselves means their SoC."""
    if r.implied_metric and r.hosts and r.metric == "temperature" and not r.locations:
        return "soc_temp_c"
    return r.metric


_STAT_WORDS = (
    ("mean", re.compile(r"(?<![\w-])(?:average|avg|mean|typical|on average)(?![\w-])", re.I)),
    ("min", re.compile(r"(?<![\w-])(?:min|minimum|lowest reading|low point)(?![\w-])", re.I)),
    (
        "max",
        re.compile(r"(?<![\w-])(?:max|maximum|peak|highest reading|high point)(?![\w-])", re.I),
    ),
)


def _rank_statistic(r: Request) -> str | None:
    """The statistic a ranking compares: named outright ("highest average"), else none
    (the latest value, or the mean over a named range); "highest" alone is only the order."""
    return next((name for name, p in _STAT_WORDS if p.search(r.text)), None)


_SELECTS = re.compile(
    r"(?<![\w-])(?:which|where|wich|whch|rank\w*|sort\w*|order\w*|top|list|each|every|all"
    r"|across|compare\w*|who|what (?:node|pi|room|location|place|sensor))(?![\w-])",
    re.I,
)


def rank(r: Request, spec: IntentSpec) -> Plan:
    """Every series of the metric (within a location if one is named), to order; one ranking
    per metric when several are named."""
    if len(r.locations) + len(r.nodes) >= 2:
        return compare(r, spec)  # "which is warmer, pi-node-1 or pi-node-2?"
    if len(r.locations) + len(r.nodes) == 1 and not _SELECTS.search(r.text):
        # "the coldest the garage got": a statistic of one place, not a ranking
        return _readings("stats" if r.span or r.aggregates else "current", "metric_summary")(
            r, spec
        )
    metric = _host_metric(r)
    metrics = [metric, *r.metrics[1:]] if metric else []
    base: dict[str, Any] = dict(r.window())
    if r.locations and not r.nodes:
        base["location"] = r.locations[0]
    calls = tuple(
        PlannedCall("metric_summary", {"metric": m, **base}) for m in metrics[:MAX_FAN_OUT]
    ) or (PlannedCall("metric_summary", base),)
    by_node = r.hosts or bool(r.locations) or (metric in HEALTH_METRICS)
    both = bool(lexicon().order["high"].search(r.text) and lexicon().order["low"].search(r.text))
    hints = r.hints(
        order="both" if both else (r.order or "high"),
        aggregate=_rank_statistic(r),
        by="node" if by_node else "location",
    )
    if metric is None:
        hints["need"] = "metric"
    if metric == "temperature" and r.hosts and not r.implied_metric and not r.locations:
        hints["clarify"] = "soc"
    return Plan("rank", calls, {"metrics": metrics}, hints)


def _aggregate(r: Request) -> str | None:
    return r.aggregates[0] if r.aggregates else None


def compare(r: Request, spec: IntentSpec) -> Plan:
    """The same metric (or each metric they share) at two or more places."""
    places = [("node", n) for n in r.nodes] or [("location", p) for p in r.locations]
    if len(places) < 2:
        if r.metric and not places:
            return rank(r, spec)
        return _readings("current", "metric_summary")(r, spec)
    metric = {"metric": r.metric} if r.metric else {}
    calls = [
        PlannedCall("metric_summary", {**metric, kind: name, **r.window()})
        for kind, name in places[:MAX_FAN_OUT]
    ]
    return Plan("compare", tuple(calls), {}, r.hints(places=places))


def compare_time(r: Request, spec: IntentSpec) -> Plan:
    """The same series over the asked range (or now) and the other period."""
    assert r.target is not None
    metric = {"metric": r.metric} if r.metric else {}
    target = {"start": iso(r.target["start"]), "end": iso(r.target["end"])}
    calls = (
        PlannedCall("metric_summary", {**metric, **r.where(), **r.window()}),
        PlannedCall("metric_summary", {**metric, **r.where(), **target}),
    )
    periods = [r.span["label"] if r.span else "now", r.target["label"]]
    focus = {"intent": r.intent if r.intent != "compare" else "current"}
    return Plan("compare_time", calls, focus, r.hints(target=dict(r.target), periods=periods))


def anomalies(r: Request, spec: IntentSpec) -> Plan:
    """Flagged readings with the question's filters (one call per place when it names several)."""
    base: dict[str, Any] = {**({"metric": r.metric} if r.metric else {}), **r.window()}
    if r.severity:
        base["severity"] = r.severity
    places: list[dict[str, str]] = [r.where()]
    if len(r.nodes) > 1:
        places = [{"node": n} for n in r.nodes[:MAX_FAN_OUT]]
    elif len(r.locations) > 1 and not r.nodes:
        places = [{"location": loc} for loc in r.locations[:MAX_FAN_OUT]]
    calls = [PlannedCall("anomalies", {**place, **base}) for place in places]
    if len(places) == 1:
        calls.append(PlannedCall("anomaly_episodes", {**places[0], **base}))
    return Plan(
        "anomalies", tuple(calls), {}, r.hints(severity=r.severity, fan_out=len(places) > 1)
    )


def _status(r: Request) -> str | None:
    """The node status a question filters on, if any ("which nodes are offline")."""
    if r.nodes:
        return None
    return (
        r.status if r.status in ("offline", "online", "unhealthy", "warning", "healthy") else None
    )


def health(r: Request, spec: IntentSpec) -> Plan:
    """Node status: one node, the nodes of a location, or all (filtered by status); a named
    metric without a status ("how's the disk on all the pis") is that metric's values."""
    if r.metrics and not _status(r) and not r.nodes:
        return rank(r, spec) if not r.locations else _readings("current", "metric_summary")(r, spec)
    args = (
        {"node": r.nodes[0]} if r.nodes else ({"location": r.locations[0]} if r.locations else {})
    )
    calls = [PlannedCall("node_health", args)]
    if len(r.nodes) > 1:
        calls = [PlannedCall("node_health", {"node": n}) for n in r.nodes[:MAX_FAN_OUT]]
    hints = r.hints(status=_status(r), fan_out=len(calls) > 1)
    return Plan("health", tuple(calls), {}, hints)


def workloads(r: Request, spec: IntentSpec) -> Plan:
    """What runs where, from the nodes' heartbeats; for one node, the graph's workloads with
    their CPU and memory too."""
    args = (
        {"node": r.nodes[0]} if r.nodes else ({"location": r.locations[0]} if r.locations else {})
    )
    calls = [PlannedCall("node_health", args)]
    if len(r.nodes) == 1:
        calls.append(PlannedCall("workloads", {"node": r.nodes[0]}))
    return Plan("workloads", tuple(calls), {}, r.hints())


def overview(r: Request, spec: IntentSpec) -> Plan:
    """What is wrong: nodes not healthy, flagged readings, sensors gone silent."""
    place = r.where(sensor=False)
    health_args = dict(place)
    window = r.window(OVERVIEW_WINDOW_S)
    calls = (
        PlannedCall("node_health", health_args),
        PlannedCall("anomaly_episodes", {**place, "state": "open"}),
        PlannedCall("anomalies", {**place, **window}),
        PlannedCall("metric_summary", dict(place)),
    )
    return Plan("overview", calls, {}, r.hints())


def diagnosis(r: Request, spec: IntentSpec) -> Plan:
    """Why: the node's health (or the location's nodes'), its numbers, anomalies, Forge."""
    where = r.where()
    target = (
        {"node": r.nodes[0]} if r.nodes else ({"location": r.locations[0]} if r.locations else {})
    )
    metric = {} if r.metric in HEALTH_METRICS or r.metric is None else {"metric": r.metric}
    calls = [
        PlannedCall("node_health", target),
        # A health metric ("high load") is read with its siblings: causes show across them.
        PlannedCall("metric_summary", {**where, **metric, **r.window()}),
        PlannedCall(
            "anomalies",
            {**where, **r.window(DAY), **({"severity": r.severity} if r.severity else {})},
        ),
        PlannedCall("anomaly_episodes", {**where, **r.window(DAY)}),
    ]
    calls += graph_calls(r)  # what runs there, past incidents like it and their causes
    if r.forge:
        calls.append(PlannedCall("forge_analysis", {"question": r.text, **where}))
    return Plan("diagnosis", tuple(calls), {}, r.hints(asked_metric=r.metric))


COUNTABLE = ("episodes", "readings", "anomalies", "sensors", "locations", "metrics", "nodes")


_COUNT_CUE = re.compile(
    r"(?<![\w-])(?:how\s+many|number\s+of|count(?:\s+of)?(?:\s+the)?|total(?:\s+number\s+of)?"
    r"|how\s+often)\s+(?:(?:different|distinct|separate|individual|other|more|kinds?\s+of"
    r"|types?\s+of)\s+)?(?P<noun>[\w-]+(?:\s+[\w-]+)?)",
    re.I,
)


def _counted_right_after_cue(text: str) -> set[str]:
    """What each "how many …" counts: the countable word right after it ("how many readings
    has the co2 sensor sent" counts readings, not sensors)."""
    out = set()
    for m in _COUNT_CUE.finditer(text):
        for name, pattern in lexicon().counting:
            if pattern.match(m.group("noun")) or pattern.match(m.group("noun").split()[-1]):
                out.add(name)
                break
    return out


def count(r: Request, spec: IntentSpec) -> Plan:
    """How many of each thing counted (several when the question lists several)."""
    subjects = [c for c in r.counting if c in COUNTABLE] or ["nodes"]
    asked = _counted_right_after_cue(r.text)
    if asked:
        subjects = [s for s in subjects if s in asked] or subjects
    if "anomalies" in subjects and "readings" in subjects:
        subjects.remove("readings")  # "flagged readings" are anomalies
    if "episodes" in subjects and "anomalies" in subjects:
        subjects.remove("anomalies")  # "anomaly episodes" are episodes
    if (
        "nodes" in subjects
        and len(subjects) > 1
        and not re.search(r"(?<![\w-])how many (?:pi\s+)?(?:nodes|pis)\b", r.text, re.I)
    ):
        subjects.remove("nodes")  # "sensors on the nodes": the nodes only say where
    calls: list[PlannedCall] = []
    parts: list[list[Any]] = []
    for subject in dict.fromkeys(subjects):
        if subject == "readings":
            call = PlannedCall(
                "metric_summary",
                {**({"metric": r.metric} if r.metric else {}), **r.where(), **r.window()},
            )
        elif subject == "anomalies":
            args: dict[str, Any] = {
                **r.where(),
                **({"metric": r.metric} if r.metric else {}),
                **r.window(DAY),
            }
            if r.severity:
                args["severity"] = r.severity
            call = PlannedCall("anomalies", args)
        elif subject == "episodes":
            episode_args: dict[str, Any] = {**r.where(), **r.window(DAY)}
            if r.severity:
                episode_args["severity"] = r.severity
            if re.search(r"(?<![\w-])(?:open|ongoing|active|current)(?![\w-])", r.text, re.I):
                episode_args["state"] = "open"
            call = PlannedCall("anomaly_episodes", episode_args)
        elif subject == "nodes":
            call = PlannedCall("node_health", {})
        else:
            call = PlannedCall("inventory", {})
        parts.append([subject, len(calls)])
        calls.append(call)
    hints = r.hints(
        counting=[p[0] for p in parts],
        severity=r.severity,
        status=_status(r),
        filters={"metric": r.metric, **r.where()},
    )
    return Plan("count", tuple(calls), {"counting": [p[0] for p in parts]}, hints)


def inventory(r: Request, spec: IntentSpec) -> Plan:
    """What exists."""
    return Plan(
        "inventory",
        (PlannedCall("inventory", {}),),
        {},
        r.hints(filters={"metric": r.metric, **r.where(sensor=False)}),
    )


def unit_info(r: Request, spec: IntentSpec) -> Plan:
    """The unit of each metric asked about (all metrics when none is named)."""
    return Plan("unit_info", (PlannedCall("inventory", {}),), {}, r.hints(metrics=list(r.metrics)))


def help_plan(r: Request, spec: IntentSpec) -> Plan:
    """What the agent can answer, with what exists."""
    return Plan("help", (PlannedCall("inventory", {}),), {}, r.hints())


def raw(r: Request, spec: IntentSpec) -> Plan:
    """A node's raw readings from its reporter; which node, when none is named."""
    if not r.nodes:
        if r.locations:
            return Plan(
                "raw",
                (PlannedCall("node_health", {"location": r.locations[0]}),),
                {},
                r.hints(need="node"),
            )
        return Plan("raw", (PlannedCall("node_health", {}),), {}, r.hints(need="node"))
    args: dict[str, Any] = {"node": r.nodes[0], **r.window()}
    if r.sensors:
        args["sensor"] = r.sensors[0]
    if r.metric:
        args["metric"] = r.metric
    return Plan("raw", (PlannedCall("raw_readings", args),), {}, r.hints())


def unsupported(r: Request, spec: IntentSpec) -> Plan:
    """A request the agent cannot serve: no calls; the answer says so and what it can do."""
    return Plan(spec.name, (), {"intent": "help"}, r.hints(unsupported=spec.reply))


def unknown_plan(first: Unknown, r: Request, focus: dict[str, Any]) -> Plan:
    """A question naming something that does not exist: ask the tool that would have answered,
    with the name as given, so its result lists what exists."""
    names = {"metric": r.metric, **r.where()}
    args = {k: v for k, v in names.items() if v}
    args[first.kind] = first.name
    if first.kind == "node" and r.intent in ("health", "diagnosis", "workloads", "overview"):
        call = PlannedCall("node_health", {"node": first.name})
    elif r.intent in ("health", "workloads") and first.kind == "location":
        call = PlannedCall("node_health", {"location": first.name})
    else:
        call = PlannedCall("metric_summary", {**args, **r.window()})
    hints = r.hints(unknown=[first.kind, first.name])
    return Plan("unknown", (call,), focus, hints)


PLANS: dict[str, Builder] = {
    "current": _readings("current", "metric_summary"),
    "stats": _readings("stats", "metric_summary"),
    "series": _readings("series", "metric_series"),
    "rank": rank,
    "compare": compare,
    "compare_time": compare_time,
    "anomalies": anomalies,
    "health": health,
    "workloads": workloads,
    "overview": overview,
    "diagnosis": diagnosis,
    "count": count,
    "inventory": inventory,
    "unit_info": unit_info,
    "help": help_plan,
    "raw": raw,
    "follow_up": _readings("current", "metric_summary"),
    "unsupported": unsupported,
    **KNOWLEDGE_PLANS,
}
