"""Built-in answers: a plan and its tool results to text a person can trust.

Every number comes from a tool result and is given with its unit, where it was measured and
how fresh it is; gaps, offline nodes and unknown names are said plainly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo
from typing import Any

from agent_bruno.agent.compose import readings, status
from agent_bruno.agent.compose.fmt import Formatter
from agent_bruno.agent.nlu.plan import Plan
from agent_bruno.agent.tools.base import ToolCallRecord, ToolResult


def unknown_text(result: ToolResult) -> str:
    """ "There is no location called 'kitchen'", what exists, and a close match if one."""
    info = result.data
    kind, name = info["unknown"]["kind"], info["unknown"]["name"]
    known = ", ".join(info["known"]) or "none yet"
    text = f"I don't know a {kind} called '{name}'. Known {kind}s: {known}."
    if info.get("suggestion"):
        text += f" Did you mean '{info['suggestion']}'?"
    return text


def _problem(record: ToolCallRecord) -> str:
    """A failed or empty tool call in words."""
    result = record.result
    if result.status == "no_data" and "unknown" in result.data:
        return unknown_text(result)
    if result.status == "no_data":
        reason = result.error or "nothing matched"
        return f"No data: {reason[0].lower() + reason[1:]}."
    return f"I could not get that ({record.name}): {result.error}."


def _answer(plan: Plan, f: Formatter, calls: Sequence[ToolCallRecord]) -> str:
    """The answer of one intent from its calls."""
    hints = plan.hints
    ok = [c for c in calls if c.result.status == "ok"]
    if plan.intent == "diagnosis":
        by_name = {c.name: c.result.data for c in ok}
        text = status.diagnosis(f, by_name, hints)
        problems = [_problem(c) for c in calls if c.result.status != "ok"]
        return "\n".join([t for t in [text, *problems] if t]) or "No data about that."
    if hints.get("overview") and len(ok) == 2:
        return status.overview(f, ok[0].result.data, ok[1].result.data, hints)
    failed = [c for c in calls if c.result.status != "ok"]
    if hints.get("fan_out"):
        parts = [_answer(_single(plan), f, [c]) for c in calls]
        return "\n\n".join(parts)
    if failed and (plan.intent not in ("compare", "compare_time") or not ok):
        return "\n".join(_problem(c) for c in failed)
    data = ok[0].result.data
    intent = plan.intent
    if intent == "count":
        counting = hints.get("counting")
        if counting == "anomalies":
            return status.anomalies(f, data, hints)
        if counting in ("sensors", "locations"):
            return status.count_inventory(f, data, hints, plan.focus)
        return status.count_nodes(f, data, hints, plan.focus)
    if intent in ("compare", "compare_time"):
        if len(ok) < 2:
            return "\n".join(_problem(c) for c in failed) or "Not enough data to compare."
        results = [c.result.data for c in ok]
        if intent == "compare":
            return readings.compare(f, results, hints)
        return readings.compare_time(f, results, hints)
    if intent == "help":
        return status.inventory(f, data, {**hints, "help": True})
    writer: Any = {
        "anomalies": status.anomalies,
        "health": status.health,
        "inventory": status.inventory,
        "raw": status.raw,
        "rank": readings.rank,
        "series": readings.series,
    }.get(intent, readings.current)
    if intent == "raw" and ok[0].name == "node_health":
        return (
            "Which node's raw readings? Name one: "
            + ", ".join(n["node"] for n in data["nodes"])
            + "."
        )
    return str(writer(f, data, hints))


def _single(plan: Plan) -> Plan:
    """The plan as one of its fanned-out calls sees it."""
    return Plan(plan.intent, plan.calls, plan.focus, {**plan.hints, "fan_out": False})


def compose(plan: Plan, calls: Sequence[ToolCallRecord], now: float, tz: tzinfo) -> str:
    """The answer to a planned question from its tool results."""
    f = Formatter(now, tz, plan.hints.get("unit"))
    if not calls:
        return "I have nothing to answer that with."
    text = _answer(plan, f, calls)
    if f.notes:
        text += "\n(" + "; ".join(f.notes) + ")"
    return text


def records_from_dicts(items: Sequence[Mapping[str, Any]]) -> list[ToolCallRecord]:
    """Tool call records back from their checkpointed `as_dict()` form."""
    out = []
    for item in items:
        r = item["result"]
        result = ToolResult(r["status"], r["data"], r["error"], r["size"])
        out.append(ToolCallRecord(item["name"], item["args"], result))
    return out
