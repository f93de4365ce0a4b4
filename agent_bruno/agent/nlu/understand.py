"""Built-in language understanding: a question (and the thread's focus) to a `Plan`.

Deterministic and instant: the intent comes from cue words, the names from the catalog, the
time range from `timeexpr`, the display unit from `units`. A follow-up ("and the humidity?",
"what about pi-node-2?", "compare with yesterday") keeps what the thread's previous question
was about and changes only what the new one names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from agent_bruno.agent.nlu.extract import Mentions, extract
from agent_bruno.agent.nlu.plan import Plan, PlannedCall
from agent_bruno.agent.nlu.timeexpr import find_time_span
from agent_bruno.agent.nlu.units import requested_unit
from agent_bruno.agent.nlu.vocabulary import Vocabulary
from agent_bruno.health import HEALTH_METRICS


def _cue(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])", re.I)


CUES: dict[str, re.Pattern[str]] = {
    "diagnosis": _cue(
        r"why|what'?s wrong|what is wrong|what'?s causing|what is causing|causes?|causing"
        r"|diagnos\w*|root cause|troubleshoot\w*|explain|what happened|what'?s going on"
        r"|what'?s eating|eating|hogging|crawling|sluggish|struggling|overloaded|so slow|so busy"
        r"|stuck|drop(?:ped)? so|jump(?:ed)? so|what'?s behind|behind (?:it|that|this)|reason"
        r"|set off|triggered|keeps? (?:climbing|rising|dropping|falling)"
    ),
    "anomalies": _cue(
        r"anomal\w*|alerts?|alarms?|flag\w*|critical|warnings|unusual|abnormal|spikes?"
        r"|glitch\w*|incidents?|outliers?|odd|weird\w*|strange|off readings"
    ),
    "health": _cue(
        r"health\w*|status|offline|online|down|alive|reachable|heartbeats?|ok|okay|up and running"
        r"|running|responding|working|doing|last seen|seen last|check(?:ed|s)? in|last heard"
        r"|last report\w*|workloads?|services|pods|containers|runs? on|running on|uptime|state"
        r"|gone quiet|quiet|silent|stopped reporting|not reporting|dead|broken|anything wrong"
    ),
    "count": _cue(r"how many|number of|count (?:the|all|of|my)|total number"),
    "inventory": _cue(
        r"what (?:sensors|locations|rooms|nodes|metrics|devices)|which (?:sensors|locations"
        r"|rooms|metrics|devices)|list (?:all )?(?:the )?(?:sensors|locations|rooms|metrics)"
        r"|what do you (?:monitor|measure|know)|what can you|inventory"
    ),
    "rank": _cue(
        r"warmest|hottest|coldest|coolest|most humid|least humid|driest|dampest|wettest|highest"
        r"|lowest|busiest|rank\w*|sort\w*|order(?:ed)? by|top"
    ),
    "compare": _cue(r"compare\w*|comparison|vs\.?|versus|than|difference|differ"),
    "series": _cue(
        r"trend\w*|history|historical|over time|graph|plot|chart|timeline|time series|changed?"
        r"|evolution|evolve\w*|hourly|day by day|per hour"
    ),
    "raw": _cue(r"raw|local readings|drill[\s-]?down|individual readings|every reading"),
    "stats": _cue(
        r"average|avg|mean|min|minimum|max|maximum|peak|lowest|highest|range|stats|statistics"
        r"|typical"
    ),
}
_WHICH = _cue(r"which|where|what (?:room|location|place|node)|rank\w*|sort\w*|order|top|list")
_FOLLOW_UP = re.compile(
    r"^\s*(?:and|what about|how about|same for|and for|and in|also|now|ok(?:ay)?|then|just"
    r"|only|but|same|what if)\b",
    re.I,
)
_PRONOUN = _cue(r"it|its|it's|they|them|their|that node|that one|there|that")
_COMPARE_TO = re.compile(
    r"(?<![\w-])(?:compare[sd]?|comparison|vs\.?|versus)\s+(?:it\s+|that\s+|this\s+)?"
    r"(?:with|to|against)?\s*(?P<when>.+)$",
    re.I,
)
_NODE_STATUS = _cue(r"nodes?|pis?")
_EVER = _cue(r"on record|ever|all[\s-]time|so far|in history")
_IS_UP = _cue(r"(?:is|are)\s+(?:the\s+)?[\w\s-]{0,40}?\s+(?:up|down|alive|online|offline)")
_EVERYTHING = _cue(r"anything|something|everything|all (?:ok|okay|good|fine|well)|any problems?")
_STATUS_WORD = _cue(r"warnings?|offline|online|healthy|unhealthy|down")
_HIGH = _cue(r"warmest|hottest|most humid|dampest|wettest|highest|busiest|top|max\w*|peak")
_LOW = _cue(r"coldest|coolest|least humid|driest|lowest|min\w*")
_WARMER = _cue(r"warmer|hotter|higher|more humid|damper|more|busier|greater")
_COLDER = _cue(r"colder|cooler|lower|drier|less|fewer")
_SEVERITY = {"critical": _cue(r"critical"), "warning": _cue(r"warnings?(?! and)")}
DAY = 86_400.0


def iso(ts: float) -> str:
    """Unix seconds as ISO 8601 UTC text, the form the built-in path passes to tools."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _intent(text: str, m: Mentions) -> str | None:
    """The question's intent from its cue words; None when it names none."""
    has = {name: bool(p.search(text)) for name, p in CUES.items()}
    if has["diagnosis"] and (m.nodes or m.locations or m.metrics):
        return "diagnosis"
    if has["count"]:
        return "count"
    if has["inventory"] and not m.metrics:
        return "inventory"
    if has["raw"]:
        return "raw"
    if (
        has["anomalies"]
        and _NODE_STATUS.search(text)
        and _STATUS_WORD.search(text)
        and not re.search(r"anomal|alert|alarm|flagged|spike", text, re.I)
    ):
        return "health"
    if has["anomalies"]:
        return "anomalies"
    if re.search(
        r"(?<![\w-])(?:broken|wrong|problems?|issues?|trouble)(?![\w-])", text, re.I
    ) and not (m.metrics or m.locations or m.nodes):
        return "health"
    if len(m.locations) + len(m.nodes) >= 2 and (
        has["compare"] or _WARMER.search(text) or _COLDER.search(text) or " or " in f" {text} "
    ):
        return "compare"
    if has["rank"] and (_WHICH.search(text) or not (m.locations or m.nodes)):
        return "rank"
    if has["series"]:
        return "series"
    if has["health"] and not (set(m.metrics) - set(HEALTH_METRICS)):
        return "health"
    if _IS_UP.search(text) and not m.metrics:
        return "health"
    if re.search(r"(?<![\w-])(?:nodes|pis)(?![\w-])", text, re.I) and not m.metrics:
        return "health" if not m.locations else "current"
    if has["stats"]:
        return "stats"
    return None


def _names(m: Mentions) -> dict[str, Any]:
    """The first name of each kind the question gives (None where it gives none)."""
    return {
        "metric": m.metrics[0] if m.metrics else None,
        "location": m.locations[0] if m.locations else None,
        "node": m.nodes[0] if m.nodes else None,
        "sensor": m.sensors[0] if m.sensors else None,
    }


def _merge(focus: Mapping[str, Any], names: dict[str, Any]) -> dict[str, Any]:
    """A follow-up's names over the thread's focus: a new place replaces the old one whole."""
    merged = {k: focus.get(k) for k in ("metric", "location", "node", "sensor")}
    if names["location"] or names["node"]:
        merged.update(location=names["location"], node=names["node"], sensor=None)
    if names["sensor"]:
        merged["sensor"] = names["sensor"]
    if names["metric"]:
        merged["metric"] = names["metric"]
    return merged


def _filters(names: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """Tool arguments of the non-empty names."""
    return {k: names[k] for k in keys if names.get(k)}


def _range_args(span: Mapping[str, Any] | None) -> dict[str, Any]:
    """`start`/`end` tool arguments of a span (none: the tool's default range)."""
    if not span:
        return {}
    return {"start": iso(span["start"]), "end": iso(span["end"])}


def understand(
    question: str,
    focus: Mapping[str, Any] | None,
    vocab: Vocabulary,
    now: float,
    tz: tzinfo,
    *,
    forge: bool = False,
) -> Plan:
    """The tool calls that answer `question`, and how to present them."""
    focus = focus or {}
    text = " ".join(question.split())
    rest = text
    target = None
    compared = _COMPARE_TO.search(text)
    if compared:
        when = find_time_span(compared.group("when"), now, tz)
        if when is not None:
            target = {"start": when.span.start, "end": when.span.end, "label": when.span.label}
            rest = text[: compared.start()]
    found = find_time_span(rest, now, tz)
    span = None
    if found is not None:
        span = {"start": found.span.start, "end": found.span.end, "label": found.span.label}
        rest = rest[: found.start_index] + " " + rest[found.end_index :]
    if span is None and _EVER.search(rest):
        span = {"start": now - 30 * DAY, "end": now, "label": "the last 30 days (all that is kept)"}
    unit = requested_unit(rest)
    mentions = extract(rest, vocab)
    names = _names(mentions)
    intent = _intent(rest, mentions)
    named = any(names.values())
    follow_up = bool(focus) and (
        _FOLLOW_UP.search(text) is not None
        or target is not None
        or (not named and (intent is None or _PRONOUN.search(rest) is not None))
    )
    if follow_up:
        names = _merge(focus, names)
        intent = intent or focus.get("intent")
        span = span or focus.get("span")
        unit = unit or (focus.get("unit") if not mentions.metrics else None)
    if target is not None:
        intent = "compare_time"
    if mentions.unknown:
        return _unknown_plan(mentions, names, intent, span, unit)
    intent = intent or ("current" if any(names.values()) else "help")
    new_focus = {"intent": intent, **names, "span": span, "unit": unit}
    hints: dict[str, Any] = {"unit": unit, "span": span, "question": text}
    if intent in ("rank", "stats"):
        hints["order"] = "low" if _LOW.search(rest) and not _HIGH.search(rest) else "high"
        hints["aggregate"] = _aggregate(rest)
    if target is not None:
        hints["target"] = target
    calls = _calls(intent, names, span, rest, mentions, hints, target, now, forge)
    if intent in _FAN_OUT and len(calls) == 1:
        calls = _fan_out(calls[0], mentions)
        hints["fan_out"] = len(calls) > 1
    if intent == "compare_time":  # a follow-up after a comparison asks about the values again
        previous = focus.get("intent")
        new_focus["intent"] = previous if previous not in (None, "compare_time") else "current"
    return Plan(intent, tuple(calls), new_focus, hints)


_FAN_OUT = ("current", "stats", "anomalies", "series", "health")
MAX_FAN_OUT = 6


def _fan_out(call: PlannedCall, m: Mentions) -> list[PlannedCall]:
    """One call per metric and per place when the question names several ("temperature and
    humidity in the office", "pi-node-1 and pi-node-2: any anomalies?")."""
    metrics = m.metrics if "metric" in call.args and len(m.metrics) > 1 else [None]
    places: list[tuple[str, str] | None] = [None]
    if len(m.nodes) > 1 and "node" in call.args:
        places = [("node", n) for n in m.nodes]
    elif len(m.locations) > 1 and "location" in call.args:
        places = [("location", loc) for loc in m.locations]
    out = []
    for metric in metrics:
        for where in places:
            args = dict(call.args)
            if metric is not None:
                args["metric"] = metric
            if where is not None:
                args[where[0]] = where[1]
            out.append(PlannedCall(call.name, args))
    return out[:MAX_FAN_OUT]


def _aggregate(text: str) -> str | None:
    """Which statistic a question asks for, if one."""
    if re.search(r"(?<![\w-])(?:average|avg|mean|typical)(?![\w-])", text, re.I):
        return "mean"
    if re.search(r"(?<![\w-])(?:min|minimum|lowest|coldest|coolest|driest)(?![\w-])", text, re.I):
        return "min"
    if re.search(
        r"(?<![\w-])(?:max|maximum|peak|highest|hottest|warmest|most humid)(?![\w-])", text, re.I
    ):
        return "max"
    return None


def _calls(
    intent: str,
    names: dict[str, Any],
    span: dict[str, Any] | None,
    text: str,
    mentions: Mentions,
    hints: dict[str, Any],
    target: dict[str, Any] | None,
    now: float,
    forge: bool,
) -> list[PlannedCall]:
    """The tool calls of an intent."""
    where = _filters(names, "location", "node", "sensor")
    metric = _filters(names, "metric")
    window = _range_args(span)
    if intent == "diagnosis":
        node = _filters(names, "node")
        calls = [
            PlannedCall("node_health", node),
            # A health metric ("high load") is read with its siblings: causes show across them.
            PlannedCall(
                "metric_summary",
                {**where, **({} if names["metric"] in HEALTH_METRICS else metric), **window},
            ),
            PlannedCall("anomalies", {**where, **(window or {"start": iso(now - DAY)})}),
        ]
        if forge:
            calls.append(PlannedCall("forge_analysis", {"question": hints["question"], **where}))
        return calls
    if intent == "health" and not any(names.values()) and _EVERYTHING.search(text):
        hints["overview"] = True
        return [
            PlannedCall("node_health", {}),
            PlannedCall("anomalies", {**(window or {"start": iso(now - DAY)})}),
        ]
    if intent == "health":
        return [PlannedCall("node_health", _filters(names, "node") or _filters(names, "location"))]
    if intent == "inventory" or intent == "help":
        return [PlannedCall("inventory", {})]
    if intent == "anomalies":
        severity = next((s for s, p in _SEVERITY.items() if p.search(text)), None)
        hints["severity"] = severity
        args = {**where, **metric, **window}
        if severity:
            args["severity"] = severity
        return [PlannedCall("anomalies", args)]
    if intent == "count":
        return _count_calls(text, names, window, hints)
    if intent == "raw":
        if not names.get("node"):
            hints["need"] = "node"
            return [PlannedCall("node_health", {})]
        return [PlannedCall("raw_readings", {**_filters(names, "node", "sensor", "metric"),
                                              **window})]  # fmt: skip
    if intent == "series":
        return [PlannedCall("metric_series", {**metric, **where, **window})]
    if intent == "rank":
        return [PlannedCall("metric_summary", {**metric, **window})]
    if intent == "compare":
        places = [("node", n) for n in mentions.nodes] or [
            ("location", p) for p in mentions.locations
        ]
        hints["places"] = places
        return [PlannedCall("metric_summary", {**metric, kind: name, **window})
                for kind, name in places]  # fmt: skip
    if intent == "compare_time" and target is not None:
        hints["periods"] = [span["label"] if span else "now", target["label"]]
        return [
            PlannedCall("metric_summary", {**metric, **where, **window}),
            PlannedCall("metric_summary", {**metric, **where, **_range_args(target)}),
        ]
    return [PlannedCall("metric_summary", {**metric, **where, **window})]


def _count_calls(
    text: str, names: dict[str, Any], window: dict[str, Any], hints: dict[str, Any]
) -> list[PlannedCall]:
    """Calls for "how many …" by what is counted."""
    where = _filters(names, "location", "node", "sensor")
    if CUES["anomalies"].search(text):
        hints["counting"] = "anomalies"
        severity = next((s for s, p in _SEVERITY.items() if p.search(text)), None)
        hints["severity"] = severity
        args = {**where, **_filters(names, "metric"), **window}
        if severity:
            args["severity"] = severity
        return [PlannedCall("anomalies", args)]
    if re.search(r"(?<![\w-])(?:sensors?|devices?|metrics?)(?![\w-])", text, re.I):
        hints["counting"] = "sensors"
        return [PlannedCall("inventory", {})]
    if re.search(r"(?<![\w-])(?:locations?|rooms?|places?)(?![\w-])", text, re.I):
        hints["counting"] = "locations"
        return [PlannedCall("inventory", {})]
    hints["counting"] = "nodes"
    lowered = text.lower()
    status = next((s for s in ("offline", "online", "healthy", "warning") if s in lowered), None)
    hints["status"] = status
    return [PlannedCall("node_health", {})]


def _unknown_plan(
    mentions: Mentions,
    names: dict[str, Any],
    intent: str | None,
    span: dict[str, Any] | None,
    unit: str | None,
) -> Plan:
    """A question naming something that does not exist: ask the tool that would have answered,
    with the name as given, so its result lists what exists."""
    first = mentions.unknown[0]
    args = {**_filters(names, "metric", "location", "node", "sensor"), first.kind: first.name}
    if first.kind == "node" and intent in (None, "health", "diagnosis"):
        call = PlannedCall("node_health", {"node": first.name})
    elif intent == "health" and first.kind == "location":
        call = PlannedCall("node_health", {"location": first.name})
    else:
        call = PlannedCall("metric_summary", {**args, **_range_args(span)})
    focus = {"intent": intent or "current", **names, "span": span, "unit": unit}
    return Plan("unknown", (call,), focus, {"unknown": [first.kind, first.name], "unit": unit})
