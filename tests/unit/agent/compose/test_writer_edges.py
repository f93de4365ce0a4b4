"""The answer writers where tool calls fail, come back empty or come from other tools: each
writer answers from its own tool's result, says every failure of its tools once and no other
tool's, and words the empty case; how the question was read is noted exactly; several answers
in one question each get their own calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from agent_bruno.agent.compose import WRITERS, _each, compose, status
from agent_bruno.agent.compose.fmt import Formatter
from agent_bruno.agent.nlu.plan import Plan
from agent_bruno.agent.tools.base import ToolCallRecord, ToolResult

NOW = datetime(2026, 11, 26, 14, 20, tzinfo=UTC).timestamp()
TZ = ZoneInfo("UTC")
NO_DATA = "No data about that."


def fmt(unit: str | None = None) -> Formatter:
    return Formatter(NOW, TZ, unit)


def plan(intent: str, **hints: Any) -> Plan:
    return Plan(intent, (), {}, hints)


def call(name: str, data: dict[str, Any] | None = None, state: str = "ok") -> ToolCallRecord:
    error = None if state == "ok" else f"{name} broke"
    return ToolCallRecord(name, {}, ToolResult(state, data or {}, error, 1))


def failed(name: str) -> ToolCallRecord:
    return call(name, {}, "error")


def write(intent: str, calls: list[ToolCallRecord], **hints: Any) -> str:
    return WRITERS[intent](plan(intent, **hints), fmt(), calls)


# A result of a tool no writer below reads: answering from it fails or shows the wrong thing.
STRANGER = call("node_health", {"nodes": []})

INVENTORY = {
    "nodes": {"pi-node-1": "warehouse"},
    "sensors": {"pi-node-1": {"dht22-1": ["humidity", "temperature"]}},
    "locations": {"warehouse": ["pi-node-1"]},
    "metrics": {"humidity": "%", "temperature": "°C"},
}


def series(**extra: Any) -> dict[str, Any]:
    return {"node": "pi-node-1", "location": "warehouse", "sensor": "dht22-1",
            "metric": "temperature", "unit": "°C", "latest": 21.5, "latest_ts": NOW - 120,
            "mean": 21.0, "min": 20.0, "max": 22.0, "count": 12, **extra}  # fmt: skip


def summary(*items: dict[str, Any], **filters: Any) -> dict[str, Any]:
    return {"series": list(items), "filters": filters}


def test_nothing_found_is_said_the_same_way_by_every_writer():
    assert write("rank", []) == NO_DATA
    assert write("health", []) == NO_DATA
    assert write("anomalies", [call("anomaly_episodes", {"total": 0, "episodes": []})]) == NO_DATA
    assert write("inventory", []) == NO_DATA
    assert write("unit_info", []) == NO_DATA


def test_failures_are_said_once_each_with_the_tool_and_its_error():
    assert write("inventory", [failed("inventory")]) == (
        "I could not get that (inventory): inventory broke."
    )
    assert write("unit_info", [failed("inventory")]) == (
        "I could not get that (inventory): inventory broke."
    )
    assert write("incident_history", [failed("incidents")]) == (
        "I could not get that (incidents): incidents broke."
    )
    assert write("raw", [failed("node_health")], need="node") == (
        "I could not get that (node_health): node_health broke."
    )
    assert write("rank", [failed("metric_summary")]) == (
        "I could not get that (metric_summary): metric_summary broke."
    )
    assert write("compare_time", [failed("metric_summary")]) == (
        "I could not get that (metric_summary): metric_summary broke."
    )


def test_a_writer_of_one_tool_says_only_that_tools_failures():
    nodes = {"nodes": [{"node": "pi-node-1", "location": "warehouse", "status": "healthy",
                        "reasons": [], "health": {}, "last_heartbeat": NOW - 60}],
             "counts": {"healthy": 1, "warning": 0, "offline": 0}}  # fmt: skip
    text = write("health", [call("node_health", nodes), failed("metric_summary")])
    assert text == "pi-node-1 (warehouse): healthy; last heartbeat 14:19 (1 min ago)"


def test_a_count_says_a_failed_subject_beside_the_counted_one():
    text = write(
        "count", [failed("node_health"), call("inventory", INVENTORY)],
        counting=["nodes", "sensors"],
    )  # fmt: skip
    lines = text.split("\n")
    assert lines[0] == "I could not get that (node_health): node_health broke."
    assert lines[1].startswith("There is 1 sensor in the homelab, on 1 node (pi-node-1: dht22-1)")


def test_each_writer_answers_from_its_own_tools_result_not_another():
    inv = write("inventory", [STRANGER, call("inventory", INVENTORY)])
    assert inv.startswith("Locations: warehouse.")
    units = write("unit_info", [STRANGER, call("inventory", INVENTORY)])
    assert units == "Humidity is in %; temperature is in °C."
    helped = write("help", [STRANGER, call("inventory", INVENTORY)], scores=[["help", 0.9]])
    assert helped.startswith("I answer questions about this homelab's sensors and nodes")
    history = write("incident_history", [STRANGER, call("incidents", {"incidents": []})])
    assert history == "Nothing is on record for anywhere: no incidents and no anomaly episodes."
    ranked = write("rank", [STRANGER, call("metric_summary", summary(series()))])
    assert ranked.startswith("warehouse has the highest temperature: 21.5 °C")
    one = write("compare", [STRANGER, call("metric_summary", summary(series()))])
    assert one == "Not enough data to compare."
    then = write("compare_time", [STRANGER, call("metric_summary", summary(series()))])
    assert then == "Not enough data to compare."


RECORDED = {"id": "inc-7", "location": "warehouse", "started": NOW - 3600, "status": "open",
            "root_causes": [{"description": "heater failed"}]}  # fmt: skip


def test_a_recorded_or_corrected_incident_is_echoed_from_its_own_call():
    writer = WRITERS["incident_record"]
    other = call("incidents", {"incidents": []})
    text = writer(
        plan("incident_record"), fmt(), [other, call("record_incident", {"recorded": RECORDED})]
    )
    assert text == (
        "Recorded incident inc-7 at warehouse, 13:20: root cause heater failed (open). "
        "No anomaly episode was found there around that time to link."
        ' Say "no, it was …" to correct it.'
    )
    fixed = {"corrected": {**RECORDED, "status": "resolved"},
             "was": {"root_causes": [{"description": "a stuck relay"}]}}  # fmt: skip
    text = writer(plan("incident_record"), fmt(), [other, call("correct_incident", fixed)])
    assert text == (
        "Corrected incident inc-7 at warehouse, 13:20: root cause heater failed (resolved). "
        "No anomaly episode was found there around that time to link. (was: a stuck relay)."
    )
    assert writer(plan("incident_record"), fmt(), [other]) == NO_DATA


def test_failed_graph_calls_are_said_in_a_diagnosis_but_not_a_graph_that_is_off():
    nodes = {"nodes": [{"node": "pi-node-3", "location": "server-room", "status": "warning",
                        "reasons": ["CPU 97 %"], "health": {"cpu_percent": 97.0},
                        "last_heartbeat": NOW - 60}],
             "counts": {"healthy": 0, "warning": 1, "offline": 0}}  # fmt: skip
    calls = [
        call("node_health", nodes),
        failed("graph_context"),
        ToolCallRecord("similar_incidents", {}, ToolResult("error", {}, "the graph is off", 1)),
        ToolCallRecord("incidents", {}, ToolResult("no_data", {}, "nothing similar", 1)),
    ]
    lines = write("diagnosis", calls).split("\n")
    assert lines[0] == (
        "pi-node-3 (server-room): warning (CPU 97 %); CPU 97.0 %; last heartbeat 14:19 (1 min ago)."
    )
    assert lines[1:] == ["I could not get that (graph_context): graph_context broke."]


def test_a_plan_that_needs_a_name_goes_to_its_writer_even_without_calls():
    assert compose(plan("raw", need="node"), [], NOW, TZ) == NO_DATA
    assert compose(plan("raw"), [], NOW, TZ) == "I have nothing to answer that with."


def test_the_runner_up_reading_is_offered_in_its_own_words():
    calls = [call("metric_summary", summary(series()))]
    text = compose(plan("rank", close="count"), calls, NOW, TZ)
    assert text.split("\n")[-1] == (
        "(I read this as a ranking; if you meant how many nodes, sensors, locations, metrics, "
        "anomalies or readings, ask for that.)"
    )


def part(intent: str, calls: int, **hints: Any) -> dict[str, Any]:
    return {"intent": intent, "calls": [{"name": "inventory", "args": {}}] * calls,
            "hints": hints}  # fmt: skip


def test_each_part_of_a_several_part_question_gets_its_own_calls():
    parts = [part("unit_info", 1, metrics=["humidity"]), part("unit_info", 1,
             metrics=["temperature"]), part("inventory", 1)]  # fmt: skip
    calls = [call("inventory", INVENTORY)] * 3
    answers = compose(Plan("multi", (), {}, {"parts": parts}), calls, NOW, TZ).split("\n\n")
    assert answers[:2] == ["Humidity is in %.", "Temperature is in °C."]
    assert answers[2].startswith("Locations: warehouse.")
    # A part whose plan has no calls (a clarifying question) takes none of them.
    bare = [{"intent": "raw", "hints": {"need": "node"}}, part("unit_info", 1)]
    answers = compose(Plan("multi", (), {}, {"parts": bare}), calls[:1], NOW, TZ).split("\n\n")
    assert answers == [NO_DATA, "Humidity is in %; temperature is in °C."]


def test_a_writer_made_for_one_tool_says_only_its_failures_and_words_nothing_found():
    # `_each` builds the writers of several-call answers (WRITERS holds the ones built at import).
    health = _each(status.health, "node_health")
    assert health(plan("health"), fmt(), [failed("metric_summary")]) == NO_DATA
    assert health(plan("health"), fmt(), [failed("node_health")]) == (
        "I could not get that (node_health): node_health broke."
    )


def test_a_history_is_of_the_incidents_call_not_another():
    history = write(
        "incident_history", [STRANGER, call("incidents", {"location": "garage", "incidents": []})]
    )
    assert history == "Nothing is on record for garage: no incidents and no anomaly episodes."


def test_the_third_part_of_a_question_gets_the_third_call():
    parts = [part("unit_info", 1), part("unit_info", 1), part("unit_info", 1)]
    calls = [call("inventory", {**INVENTORY, "metrics": {m: u}})
             for m, u in (("humidity", "%"), ("temperature", "°C"), ("co2", "ppm"))]  # fmt: skip
    answers = compose(Plan("multi", (), {}, {"parts": parts}), calls, NOW, TZ).split("\n\n")
    assert answers == ["Humidity is in %.", "Temperature is in °C.", "CO2 is in ppm."]


def test_a_metric_measured_only_elsewhere_says_where_it_is_measured():
    # What metric_summary answers when the metric exists, only not where it was asked.
    data = {"metric": "co2", "asked": {"kind": "location", "name": "greenhouse"},
            "measured_at": [{"location": "office", "node": "pi-node-4"},
                            {"location": "lab", "node": "pi-node-7"}]}  # fmt: skip
    record = ToolCallRecord("metric_summary", {}, ToolResult("no_data", data, "no match", 0))
    assert write("current", [record]) == (
        "No CO2 is measured in greenhouse. "
        "CO2 is measured in office (pi-node-4) and lab (pi-node-7)."
    )
    on_node = {**data, "asked": {"kind": "node", "name": "pi-node-1"}}
    record = ToolCallRecord("metric_summary", {}, ToolResult("no_data", on_node, "no match", 0))
    assert write("current", [record]).startswith("No CO2 is measured on pi-node-1. ")
    in_cluster = {**data, "asked": {"kind": "cluster", "name": "homelab"}}
    record = ToolCallRecord("metric_summary", {}, ToolResult("no_data", in_cluster, "no match", 0))
    assert write("current", [record]).startswith("No CO2 is measured in homelab. ")
    by_sensor = {**data, "asked": {"kind": "sensor", "name": "dht22-1"}}
    record = ToolCallRecord("metric_summary", {}, ToolResult("no_data", by_sensor, "no match", 0))
    assert write("current", [record]).startswith("No CO2 is measured by dht22-1. ")
