"""Plan builders: an intent's slots to the tool calls that answer it (one function per plan).

Each builder takes the `Request` (the intent and the slots after any follow-up merge) and the
intent's spec, and returns a `Plan`: the calls, hints for the answer writer and any focus to
keep. An intent file names its builder in `plan:`; a new kind of request adds one to `PLANS`.
The builders live by concern: values, rankings and comparisons in `value_plans.py`; what is
wrong and counts in `status_plans.py`; the knowledge graph's in `knowledge_plans.py`; the rest
(what exists, raw readings, unknown names, requests not served) here.
"""

from __future__ import annotations

from typing import Any

from agent_bruno.agent.nlu.extract import Unknown
from agent_bruno.agent.nlu.intents import IntentSpec
from agent_bruno.agent.nlu.knowledge_plans import KNOWLEDGE_PLANS
from agent_bruno.agent.nlu.plan import Plan, PlannedCall
from agent_bruno.agent.nlu.request import Builder, Request
from agent_bruno.agent.nlu.status_plans import (
    anomalies,
    count,
    diagnosis,
    health,
    overview,
    workloads,
)
from agent_bruno.agent.nlu.value_plans import compare, compare_time, rank, readings


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
    "current": readings("current", "metric_summary"),
    "stats": readings("stats", "metric_summary"),
    "series": readings("series", "metric_series"),
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
    "follow_up": readings("current", "metric_summary"),
    "unsupported": unsupported,
    **KNOWLEDGE_PLANS,
}
