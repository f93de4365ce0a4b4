"""Built-in answers: a plan and its tool results to text a person can trust.

Every number comes from a tool result and is given with its unit, where it was measured and
how fresh it is; gaps, offline nodes and unknown names are said plainly. Each answer writer
says what its intent asked and nothing else (a mean, not the current value beside it). The
writer of an intent is looked up in `WRITERS` by the intent file's `answer:` name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import tzinfo
from typing import Any

from agent_bruno.agent.compose import counts, knowledge, overview, readings, status, values
from agent_bruno.agent.compose.fmt import Formatter, join, label
from agent_bruno.agent.nlu.intents import intents
from agent_bruno.agent.nlu.plan import Plan, PlannedCall
from agent_bruno.agent.tools.base import ToolCallRecord, ToolResult

Writer = Callable[[Plan, Formatter, Sequence[ToolCallRecord]], str]
HELP_CONFIDENT = 0.5  # a clear "what can you do?", not a question nothing else matched
CAN_DO = (
    "I can tell you current readings and statistics (\"What's the temperature in the "
    'warehouse?", "lowest humidity in the office yesterday"), trends, rankings and comparisons, '
    'anomalies ("Show me sensor anomalies"), node health ("List all Pi nodes and their health '
    'status"), what is wrong and why ("Why is pi-node-3 under high load?"), and counts.'
)


def unknown_text(result: ToolResult) -> str:
    """ "There is no location called 'kitchen'", what exists, and a close match if one."""
    info = result.data
    kind, name = info["unknown"]["kind"], info["unknown"]["name"]
    known = ", ".join(info["known"]) or "none yet"
    text = f"I don't know a {kind} called '{name}'. Known {kind}s: {known}."
    if info.get("suggestion"):
        text += f" Did you mean '{info['suggestion']}'?"
    return text


def elsewhere_text(info: Mapping[str, Any]) -> str:
    """ "No CO2 is measured in the greenhouse; CO2 is measured in office (pi-node-4) …"."""
    what = label(info["metric"])
    asked = info["asked"]
    where = {"node": "on", "location": "in", "sensor": "by"}.get(asked["kind"], "in")
    places = join([f"{p['location']} ({p['node']})" for p in info["measured_at"]])
    said = f"No {what} is measured {where} {asked['name']}."
    return f"{said} {what[:1].upper()}{what[1:]} is measured in {places}."


def _problem(record: ToolCallRecord) -> str:
    """A failed or empty tool call in words."""
    result = record.result
    if result.status == "no_data" and "unknown" in result.data:
        return unknown_text(result)
    if result.status == "no_data" and result.data.get("measured_at"):
        return elsewhere_text(result.data)
    if result.status == "no_data":
        reason = result.error or "nothing matched"
        return f"No data: {reason[0].lower() + reason[1:]}."
    return f"I could not get that ({record.name}): {result.error}."


def _ok(calls: Sequence[ToolCallRecord], name: str | None = None) -> list[Mapping[str, Any]]:
    return [
        c.result.data for c in calls if c.result.status == "ok" and (name is None or c.name == name)
    ]


def _by_name(calls: Sequence[ToolCallRecord]) -> dict[str, Mapping[str, Any]]:
    return {c.name: c.result.data for c in calls if c.result.status == "ok"}


def _with_problems(text: str, calls: Sequence[ToolCallRecord]) -> str:
    problems = [_problem(c) for c in calls if c.result.status != "ok"]
    return "\n".join([t for t in [text, *problems] if t]) or "No data about that."


def _each(
    writer: Callable[[Formatter, Mapping[str, Any], Mapping[str, Any]], str], tool: str
) -> Writer:
    """A writer that answers each call of `tool` in turn (several places or metrics)."""

    def write(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
        parts = [
            writer(f, c.result.data, plan.hints)
            for c in calls
            if c.name == tool and c.result.status == "ok"
        ]
        failed = [c for c in calls if c.name == tool and c.result.status != "ok"]
        return "\n\n".join([*parts, *(_problem(c) for c in failed)]) or "No data about that."

    return write


def _current(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    text = values.current(f, _ok(calls, "metric_summary"), plan.hints, _by_name(calls))
    return _with_problems(text, [c for c in calls if c.name == "metric_summary"])


def _anomalies(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    """Flagged readings; and the episodes they form, where the reporters send episodes."""
    parts = [status.anomalies(f, d, plan.hints) for d in _ok(calls, "anomalies")]
    found = [d for d in _ok(calls, "anomaly_episodes") if d["total"]]
    parts = [status.episodes(f, d, plan.hints) for d in found] + parts
    failed = [c for c in calls if c.result.status != "ok"]
    return "\n\n".join([*parts, *(_problem(c) for c in failed)]) or "No data about that."


def _stats(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    return _with_problems(values.stats(f, _ok(calls, "metric_summary"), plan.hints), calls)


def _rank(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    data = _ok(calls, "metric_summary")
    if not data:
        return _with_problems("", calls)
    if plan.hints.get("need") == "metric":
        return "Rank by what? Name a metric, e.g. temperature, humidity, co2 or cpu."
    return "\n\n".join(readings.rank(f, d, plan.hints) for d in data)


def _compare(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    ok = _ok(calls, "metric_summary")
    if len(ok) < 2:
        return _with_problems("Not enough data to compare." if ok else "", calls)
    return _with_problems(readings.compare(f, ok, plan.hints), calls)


def _compare_time(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    ok = _ok(calls, "metric_summary")
    if len(ok) < 2:
        return _with_problems("Not enough data to compare." if ok else "", calls)
    return readings.compare_time(f, ok, plan.hints)


def _overview(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    return _with_problems(overview.overview(f, _by_name(calls), plan.hints), calls)


GRAPH_TOOLS = frozenset({"graph_context", "similar_incidents", "workloads", "incidents"})
LOAD_METRICS = frozenset({"cpu_percent", "load_1m"})


def _graph_problems(calls: Sequence[ToolCallRecord]) -> list[ToolCallRecord]:
    """Failed graph calls worth saying: not "the graph is off" nor "nothing similar"."""
    return [
        c
        for c in calls
        if c.name in GRAPH_TOOLS
        and c.result.status == "error"
        and "is off" not in str(c.result.error)
    ]


def _diagnosis(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    """The node's health, numbers and anomalies, and what the graph knows: the workload that
    dominates, past incidents like it with their causes, what was recommended."""
    results = _by_name(calls)
    text = overview.diagnosis(f, results, plan.hints)
    nodes = (results.get("node_health") or {}).get("nodes", [])
    extra: list[str] = []
    if len(nodes) == 1 and plan.hints.get("asked_metric") in LOAD_METRICS:
        premise = knowledge.not_loaded(f, nodes[0])
        if premise is not None:
            text = premise + "\n" + text
    cpu = nodes[0].get("health", {}).get("cpu_percent") if len(nodes) == 1 else None
    extra = knowledge.explain(
        f, results.get("graph_context"), results.get("similar_incidents"), cpu
    )
    edge = [c for c in calls if c.name not in GRAPH_TOOLS]
    return _with_problems("\n".join([text, *extra]), [*edge, *_graph_problems(calls)])


def _workloads(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    """One node's workloads from the graph, with their use; else what the heartbeats name."""
    graph = _ok(calls, "workloads")
    if graph:
        return knowledge.workloads(f, graph[0])
    return _each(status.workloads, "node_health")(plan, f, calls)


def _history(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    data = _ok(calls, "incidents")
    return knowledge.history(f, data[0]) if data else _with_problems("", calls)


def _record(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    """What was recorded (or corrected) and linked; or what the sentence lacked."""
    need = plan.hints.get("need")
    if need is not None:
        what = "where it happened" if need == "place" else "what caused it"
        return (
            f"I could not tell {what}. Say what happened, where and when, and its cause, "
            f"e.g. {plan.hints.get('example')}."
        )
    recorded = _ok(calls, "record_incident")
    if recorded:
        return knowledge.recorded(f, recorded[0])
    corrected = _ok(calls, "correct_incident")
    if corrected:
        return knowledge.corrected(f, corrected[0])
    return _with_problems("", calls)


def _count(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    subjects = list(plan.hints.get("counting") or ["nodes"])
    parts = []
    for subject, call in zip(subjects, calls, strict=False):
        if call.result.status != "ok":
            parts.append(_problem(call))
        else:
            parts.append(counts.count(f, subject, call.result.data, plan.hints))
    return "\n".join(parts)


def _inventory(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    data = _ok(calls, "inventory")
    return status.inventory(f, data[0], plan.hints) if data else _with_problems("", calls)


def _help(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    data = _ok(calls, "inventory")
    if not data:
        return CAN_DO
    scores = plan.hints.get("scores") or [["help", 0.0]]
    asked = scores[0][0] == "help" and float(scores[0][1]) >= HELP_CONFIDENT
    return status.inventory(f, data[0], {**plan.hints, "help": True if asked else "unrecognised"})


def _unit_info(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    data = _ok(calls, "inventory")
    return status.unit_info(f, data[0], plan.hints) if data else _with_problems("", calls)


def _raw(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    if plan.hints.get("need") == "node":
        data = _ok(calls, "node_health")
        if not data:
            return _with_problems("", calls)
        names = join([n["node"] for n in data[0]["nodes"]])
        return f"Which node's raw readings? Name one: {names}."
    data = _ok(calls, "raw_readings")
    return status.raw(f, data[0], plan.hints) if data else _with_problems("", calls)


def _unsupported(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    return f"{plan.hints.get('unsupported') or 'I cannot do that yet.'} {CAN_DO}"


def _unknown(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    return "\n".join(_problem(c) if c.result.status != "ok" else "" for c in calls).strip() or (
        "No data about that."
    )


WRITERS: dict[str, Writer] = {
    "current": _current,
    "stats": _stats,
    "series": _each(readings.series, "metric_series"),
    "rank": _rank,
    "compare": _compare,
    "compare_time": _compare_time,
    "anomalies": _anomalies,
    "health": _each(status.health, "node_health"),
    "workloads": _workloads,
    "overview": _overview,
    "diagnosis": _diagnosis,
    "count": _count,
    "inventory": _inventory,
    "help": _help,
    "unit_info": _unit_info,
    "raw": _raw,
    "unsupported": _unsupported,
    "unknown": _unknown,
    "incident_history": _history,
    "incident_record": _record,
}


def writer_of(intent: str) -> Writer:
    """The answer writer of an intent (its file's `answer:`, else the one named like it)."""
    spec = intents().get(intent)
    name = spec.answer if spec is not None else intent
    return WRITERS.get(name) or WRITERS.get(intent) or _current


READ_AS = {
    "current": "a question about the latest values",
    "stats": "a question about statistics over a range",
    "series": "a question about the trend",
    "rank": "a ranking",
    "compare": "a comparison",
    "anomalies": "a question about anomalies",
    "health": "a question about node health",
    "overview": "a question about what is wrong",
    "diagnosis": "a question about why",
    "count": "a count",
    "workloads": "a question about workloads",
}


def _notes(plan: Plan) -> list[str]:
    """What the answer should say about how the question was read."""
    notes = []
    for said, meant in plan.hints.get("corrected") or []:
        notes.append(f"I took '{said}' to mean '{meant}'.")
    close = plan.hints.get("close")
    spec = intents().get(str(close)) if close else None
    if spec is not None and spec.description:
        what = spec.description.split(" (")[0].rstrip(".")
        notes.append(
            f"(I read this as {READ_AS.get(plan.intent, plan.intent)}; if you meant "
            f"{what[0].lower()}{what[1:]}, ask for that.)"
        )
    return notes


def _part_plan(data: Mapping[str, Any]) -> Plan:
    return Plan(
        str(data["intent"]),
        tuple(PlannedCall(c["name"], dict(c["args"])) for c in data.get("calls", ())),
        dict(data.get("focus") or {}),
        dict(data.get("hints") or {}),
    )


def _write(plan: Plan, calls: Sequence[ToolCallRecord], now: float, tz: tzinfo) -> str:
    f = Formatter(now, tz, plan.hints.get("unit"))
    if (
        not calls
        and plan.hints.get("unsupported") is None
        and plan.intent != "help"
        and not (plan.hints.get("need"))
    ):
        return "I have nothing to answer that with."
    text = writer_of(plan.intent)(plan, f, calls)
    notes = [*_notes(plan), *(f"({n})" for n in f.notes)]
    return "\n".join([text, *notes])


def compose(plan: Plan, calls: Sequence[ToolCallRecord], now: float, tz: tzinfo) -> str:
    """The answer to a planned question from its tool results."""
    if plan.intent != "multi":
        return _write(plan, calls, now, tz)
    answers, offset = [], 0
    for data in plan.hints["parts"]:
        part = _part_plan(data)
        mine = calls[offset : offset + len(part.calls)]
        offset += len(part.calls)
        answers.append(_write(part, mine, now, tz))
    return "\n\n".join(answers)


def records_from_dicts(items: Sequence[Mapping[str, Any]]) -> list[ToolCallRecord]:
    """Tool call records back from their checkpointed `as_dict()` form."""
    out = []
    for item in items:
        r = item["result"]
        result = ToolResult(r["status"], r["data"], r["error"], r["size"])
        out.append(ToolCallRecord(item["name"], item["args"], result))
    return out
