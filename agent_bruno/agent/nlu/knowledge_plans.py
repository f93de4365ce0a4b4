"""Plan builders over the knowledge graph: past incidents of a place, recording what people say
happened (and correcting it), and the graph calls a diagnosis adds.

Registered in `plans.PLANS` under the names an intent file's `plan:` uses: `incident_history`,
`incident_record`. A correction ("no, it was the door left open") is planned by
`incident_record` too: it changes the incident the asker recorded last.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from agent_bruno.agent.nlu.incidents import clock_phrase, parse_correction, parse_report
from agent_bruno.agent.nlu.intents import IntentSpec
from agent_bruno.agent.nlu.plan import Plan, PlannedCall
from agent_bruno.agent.nlu.request import Request
from agent_bruno.health import HEALTH_METRICS

HISTORY_LIMIT = 20
REPORT_EXAMPLE = '"the 14:23 spike in warehouse-b was an HVAC malfunction, resolved"'


def _subject(r: Request) -> dict[str, str]:
    """The one place a graph question is about: a sensor (with its node), a node or a location."""
    out: dict[str, str] = {}
    if r.nodes:
        out["node"] = r.nodes[0]
    elif r.locations:
        out["location"] = r.locations[0]
    if r.sensors and "location" not in out:
        out["sensor"] = r.sensors[0]
    return out


def graph_calls(r: Request) -> list[PlannedCall]:
    """What the graph adds to a "why" about a node or place: its context (what runs there,
    past incidents) and past incidents like its newest episode, with their causes."""
    subject = _subject(r)
    if not subject:
        return []
    context = {k: v for k, v in subject.items() if k != "sensor" or "node" not in subject}
    similar = dict(subject)
    if r.metric and r.metric not in HEALTH_METRICS:  # "high load": the node's newest episode
        similar["metric"] = r.metric
    return [PlannedCall("graph_context", context), PlannedCall("similar_incidents", similar)]


def incident_history(r: Request, spec: IntentSpec) -> Plan:
    """A place's (node's, sensor's) past incidents with their causes, and its episodes, newest
    first; everywhere's incidents when no place is named."""
    args: dict[str, Any] = {**_subject(r), "limit": HISTORY_LIMIT}
    if r.span:
        args.update(r.window())
    return Plan("incident_history", (PlannedCall("incidents", args),), {}, r.hints())


def incident_record(r: Request, spec: IntentSpec) -> Plan:
    """An incident as a sentence states it, to record; or a correction of the last one."""
    correction = parse_correction(r.text)
    if correction is not None:
        cause, status = correction
        args: dict[str, Any] = {"incident": "latest"}
        if cause:
            args["cause"] = cause
        if status:
            args["status"] = status
        return Plan("incident_record", (PlannedCall("correct_incident", args),), {}, r.hints())
    report = parse_report(r.text, r.now, UTC, [*r.locations, *r.nodes])
    # (the report's own time is not used: the tool reads `at` in the agent's time zone)
    if report is None:
        need = "cause" if (r.locations or r.nodes) else "place"
        return Plan("incident_record", (), {}, r.hints(need=need, example=REPORT_EXAMPLE))
    place = {"node": report.location} if report.location in r.nodes else {}
    record: dict[str, Any] = {
        **(place or {"location": report.location}),
        "at": clock_phrase(r.text) or "now",
        "cause": report.cause,
        "status": report.status,
        "summary": r.text[:2000],
    }
    if report.metric:
        record["metric"] = report.metric
    return Plan("incident_record", (PlannedCall("record_incident", record),), {}, r.hints())


KNOWLEDGE_PLANS = {"incident_history": incident_history, "incident_record": incident_record}
