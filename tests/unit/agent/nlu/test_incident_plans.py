"""The plans of graph questions in words: recording an incident a sentence states, correcting
the last one, asking for what is missing, a place's past incidents and what a "why" adds.

Each test compares the whole plan (its calls with their arguments and the answer's hints) that
`knowledge_plans` builds, since the tools record exactly what these arguments say.
"""

from __future__ import annotations

from datetime import UTC, datetime

from agent_bruno.agent.nlu.intents import intents
from agent_bruno.agent.nlu.knowledge_plans import (
    HISTORY_LIMIT,
    KNOWLEDGE_PLANS,
    REPORT_EXAMPLE,
    graph_calls,
    incident_history,
    incident_record,
)
from agent_bruno.agent.nlu.plan import PlannedCall
from agent_bruno.agent.nlu.request import Request

NOW = datetime(2026, 11, 30, 16, 5, tzinfo=UTC).timestamp()


def record(text: str, **slots: object) -> tuple[list[tuple[str, dict[str, object]]], dict]:
    r = Request("incident_record", text, now=NOW, **slots)  # type: ignore[arg-type]
    plan = incident_record(r, intents()["incident_record"])
    assert plan.intent == "incident_record"
    assert plan.focus == {}
    return [(c.name, c.args) for c in plan.calls], plan.hints


def hints(text: str, **extra: object) -> dict[str, object]:
    return {"unit": None, "span": None, "question": text, **extra}


def test_a_report_in_a_location_is_recorded_with_its_clock_cause_and_status():
    text = "the 14:23 spike in warehouse-b was an HVAC malfunction, resolved"
    calls, h = record(text, locations=["warehouse-b"])
    assert calls == [
        (
            "record_incident",
            {
                "location": "warehouse-b",
                "at": "14:23",
                "cause": "HVAC malfunction",
                "status": "resolved",
                "summary": text,
            },
        )
    ]
    assert h == hints(text)


def test_a_report_on_a_node_is_recorded_for_the_node_with_its_metric():
    text = "yesterday 9:05 the temperature on pi-node-3 was caused by a failing fan, still open"
    calls, _ = record(text, nodes=["pi-node-3"], metrics=["temperature"])
    assert calls == [
        (
            "record_incident",
            {
                "node": "pi-node-3",
                "at": "yesterday 09:05",
                "cause": "failing fan",
                "status": "open",
                "summary": text,
                "metric": "temperature",
            },
        )
    ]


def test_a_report_naming_its_location_not_its_node_is_recorded_for_the_location():
    text = "that spike in server-room was due to a cleaning crew"
    calls, _ = record(text, locations=["server-room"], nodes=["pi-node-1"])
    assert calls == [
        (
            "record_incident",
            {
                "location": "server-room",
                "at": "now",
                "cause": "cleaning crew",
                "status": "open",
                "summary": text,
            },
        )
    ]


def test_a_long_report_keeps_its_first_2000_characters_as_summary():
    text = "the spike in warehouse-b was caused by " + "a very long story " * 200
    calls, _ = record(text, locations=["warehouse-b"])
    [(name, args)] = calls
    assert name == "record_incident"
    assert args["summary"] == text[:2000]
    assert len(str(args["summary"])) == 2000


def test_a_report_without_a_cause_asks_for_the_cause_when_a_place_is_named():
    text = "record an incident for warehouse-b"
    calls, h = record(text, locations=["warehouse-b"])
    assert calls == []
    assert h == hints(text, need="cause", example=REPORT_EXAMPLE)
    calls, h = record("record an incident on pi-node-3", nodes=["pi-node-3"])
    assert calls == []
    assert h["need"] == "cause"


def test_a_report_without_a_place_asks_for_the_place():
    text = "log that the spike was an HVAC malfunction"
    calls, h = record(text)
    assert calls == []
    assert h == hints(text, need="place", example=REPORT_EXAMPLE)


def test_a_correction_changes_the_last_incident_cause_status_or_both():
    text = "no, it was the door left open"
    calls, h = record(text)
    assert calls == [("correct_incident", {"incident": "latest", "cause": "door left open"})]
    assert h == hints(text)
    calls, _ = record("No it was a blocked vent, resolved")
    assert calls == [
        (
            "correct_incident",
            {"incident": "latest", "cause": "blocked vent", "status": "resolved"},
        )
    ]
    calls, _ = record("actually it's not resolved")
    assert calls == [("correct_incident", {"incident": "latest", "status": "open"})]


def test_a_place_history_asks_for_its_incidents_newest_first():
    r = Request(
        "incident_history", "what happened in warehouse-b before?", locations=["warehouse-b"]
    )
    plan = incident_history(r, intents()["incident_history"])
    assert plan.intent == "incident_history"
    assert plan.calls == (
        PlannedCall("incidents", {"location": "warehouse-b", "limit": HISTORY_LIMIT}),
    )
    assert plan.hints == hints("what happened in warehouse-b before?")
    assert HISTORY_LIMIT == 20


def test_a_history_over_a_span_asks_for_that_window():
    span = {"start": NOW - 86_400, "end": NOW}
    r = Request("incident_history", "incidents on pi-node-3 yesterday", nodes=["pi-node-3"],
                locations=["warehouse-b"], sensors=["dht22-1"], span=span)  # fmt: skip
    plan = incident_history(r, intents()["incident_history"])
    assert plan.calls == (
        PlannedCall(
            "incidents",
            {
                "node": "pi-node-3",
                "sensor": "dht22-1",
                "limit": HISTORY_LIMIT,
                "start": "2026-11-29T16:05:00Z",
                "end": "2026-11-30T16:05:00Z",
            },
        ),
    )


def test_a_history_of_everywhere_names_no_place():
    r = Request("incident_history", "any incidents?")
    plan = incident_history(r, intents()["incident_history"])
    assert plan.calls == (PlannedCall("incidents", {"limit": HISTORY_LIMIT}),)


def test_a_why_about_a_node_adds_its_context_and_similar_incidents_of_its_metric():
    r = Request("diagnosis", "why is pi-node-3 hot?", nodes=["pi-node-3"], sensors=["dht22-1"],
                metrics=["temperature"])  # fmt: skip
    assert graph_calls(r) == [
        PlannedCall("graph_context", {"node": "pi-node-3"}),
        PlannedCall(
            "similar_incidents", {"node": "pi-node-3", "sensor": "dht22-1", "metric": "temperature"}
        ),
    ]


def test_a_why_about_a_location_sensor_keeps_the_location_only():
    r = Request("diagnosis", "why?", locations=["warehouse-b"], sensors=["dht22-1"])
    assert graph_calls(r) == [
        PlannedCall("graph_context", {"location": "warehouse-b"}),
        PlannedCall("similar_incidents", {"location": "warehouse-b"}),
    ]


def test_a_why_about_a_sensor_alone_keeps_the_sensor_in_the_context():
    r = Request("diagnosis", "why?", sensors=["dht22-1"], metrics=["cpu_percent"])
    assert graph_calls(r) == [
        PlannedCall("graph_context", {"sensor": "dht22-1"}),
        PlannedCall("similar_incidents", {"sensor": "dht22-1"}),
    ]


def test_a_why_about_nothing_adds_no_graph_call():
    assert graph_calls(Request("diagnosis", "why?", metrics=["temperature"])) == []


def test_both_graph_plans_are_registered_under_their_intent_names():
    assert {
        "incident_history": incident_history,
        "incident_record": incident_record,
    } == KNOWLEDGE_PLANS
