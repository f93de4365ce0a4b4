"""Plan builders for values: current readings, statistics and series of a place, rankings of
places or nodes by a metric, and comparisons between places or periods."""

from __future__ import annotations

import re
from typing import Any

from agent_bruno.agent.nlu.intents import IntentSpec
from agent_bruno.agent.nlu.lexicon import lexicon
from agent_bruno.agent.nlu.plan import Plan, PlannedCall
from agent_bruno.agent.nlu.request import MAX_FAN_OUT, Builder, Request, fan_out, iso
from agent_bruno.health import HEALTH_METRICS

OPEN_WINDOW_S = 3600.0  # anomalies this recent are mentioned beside a value ("open")


def readings(intent: str, tool: str) -> Builder:
    def build(r: Request, spec: IntentSpec) -> Plan:
        calls = fan_out(tool, r, r.window())
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
        return readings("stats" if r.span or r.aggregates else "current", "metric_summary")(r, spec)
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
        limit=r.limit,
    )
    if metric is None:
        hints["need"] = "metric"
    if metric == "temperature" and r.hosts and not r.implied_metric and not r.locations:
        hints["clarify"] = "soc"
    return Plan("rank", calls, {"metrics": metrics}, hints)


def compare(r: Request, spec: IntentSpec) -> Plan:
    """The same metric (or each metric they share) at two or more places."""
    places = [("node", n) for n in r.nodes] or [("location", p) for p in r.locations]
    if len(places) < 2:
        if r.metric and not places:
            return rank(r, spec)
        return readings("current", "metric_summary")(r, spec)
    metric = {"metric": r.metric} if r.metric else {}
    calls = [
        PlannedCall("metric_summary", {**metric, kind: name, **r.window()})
        for kind, name in places[:MAX_FAN_OUT]
    ]
    # "which is warmer, …?" names the answer first; "is A warmer than B?" keeps A first.
    order = r.order if _SELECTS.search(r.text) else None
    return Plan("compare", tuple(calls), {}, r.hints(places=places, order=order))


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
